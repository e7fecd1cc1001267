//! `homeswap demo`'s banner: the lines it prints to paste work as printed,
//! and it says when it could not use its default ports.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::server::http;
use common::wait_for;

/// A running demo; killed on drop.
struct Demo {
    child: Child,
    banner: String,
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts the demo in a kept directory and reads its banner.
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("sandbox");
        let mut child = Command::new(env!("CARGO_BIN_EXE_homeswap"))
            .arg("demo")
            .arg("--dir")
            .arg(&root)
            .env_remove("HOMESWAP_CONFIG")
            .env_remove("FAILPOINTS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Ctrl-C") {
                break;
            }
        }
        Demo {
            child,
            banner,
            _dir: dir,
            root,
        }
    }

    /// The pasteable command on the line that ends with `# comment`.
    fn command(&self, comment: &str) -> String {
        let line = self
            .banner
            .lines()
            .find(|l| l.contains(comment))
            .unwrap_or_else(|| panic!("no line with {comment:?} in\n{}", self.banner));
        line.split(" # ").next().unwrap().trim().to_string()
    }

    /// The read-only listener's address, from the metrics URL.
    fn read_only(&self) -> SocketAddr {
        let url = self
            .banner
            .lines()
            .find_map(|l| l.trim().strip_prefix("metrics     http://"))
            .unwrap_or_else(|| panic!("no metrics URL in\n{}", self.banner));
        url.trim_end_matches("/metrics").parse().unwrap()
    }
}

/// The two tests run one after the other: one holds the default ports,
/// and a demo of the other could otherwise free them at the wrong moment.
static ONE_DEMO_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn sh(line: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .env_remove("HOMESWAP_CONFIG")
        .output()
        .unwrap()
}

fn readyz(addr: SocketAddr) -> u16 {
    http(addr, "GET", "/readyz", &[], b"").status
}

#[test]
fn the_printed_break_and_repair_lines_work_as_printed() {
    let _one = ONE_DEMO_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let demo = Demo::start();
    let addr = demo.read_only();
    let link = demo.root.join("claude-b/projects");
    let shared = demo.root.join("claude-shared/projects");
    assert_eq!(readyz(addr), 200);

    let broken = sh(&demo.command("# break a link"));
    assert!(broken.status.success(), "{broken:?}");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        std::path::Path::new("/tmp")
    );
    wait_for("/readyz to turn 503", Duration::from_secs(10), || {
        readyz(addr) == 503
    });

    let repair = sh(&demo.command("# repair it"));
    assert!(repair.status.success(), "{repair:?}\n{}", demo.banner);
    assert_eq!(std::fs::read_link(&link).unwrap(), shared);
    wait_for("/readyz to turn 200 again", Duration::from_secs(10), || {
        readyz(addr) == 200
    });
    // And the printed validate line agrees.
    let validate = demo
        .banner
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with(" validate"))
        .unwrap()
        .to_string();
    let v = sh(&validate);
    assert_eq!(v.status.code(), Some(0), "{v:?}");
}

#[test]
fn the_demo_says_when_its_default_ports_were_taken_and_which_it_uses() {
    let _one = ONE_DEMO_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // Hold both default ports. A bind that fails means another process
    // holds the port, which takes it just as well.
    let _held: Vec<TcpListener> = ["127.0.0.1:9464", "127.0.0.1:9465"]
        .iter()
        .filter_map(|a| TcpListener::bind(a).ok())
        .collect();
    let demo = Demo::start();
    let addr = demo.read_only();
    assert_ne!(addr.port(), 9464, "{}", demo.banner);
    let notes: Vec<&str> = demo
        .banner
        .lines()
        .filter(|l| l.starts_with("Note:"))
        .collect();
    assert_eq!(notes.len(), 2, "{}", demo.banner);
    assert!(
        notes[0].contains("127.0.0.1:9464 was taken")
            && notes[0].ends_with(&format!("uses {addr} instead.")),
        "{notes:?}"
    );
    assert!(notes[1].contains("127.0.0.1:9465 was taken"), "{notes:?}");
    assert_eq!(readyz(addr), 200, "the moved listener is the one serving");
}

#[test]
fn the_status_page_is_the_first_url_printed_and_answers_html() {
    let _one = ONE_DEMO_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let demo = Demo::start();
    let first_url = demo
        .banner
        .lines()
        .find(|l| l.contains("http://"))
        .unwrap_or_else(|| panic!("no URL in\n{}", demo.banner));
    let addr = demo.read_only();
    assert_eq!(
        first_url.trim(),
        format!("status page http://{addr}/    (open it in a browser)")
    );
    let r = http(addr, "GET", "/", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
}
