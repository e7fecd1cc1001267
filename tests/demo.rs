//! `homeswap demo`: what it prints works as printed.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::hold::Hold;
use common::server::{http, Metrics};

fn after<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {text}"))
        + marker.len();
    text[start..].split_whitespace().next().unwrap()
}

/// A running `homeswap demo` and what its banner said.
struct Demo {
    child: Child,
    banner: String,
    root: PathBuf,
    addr: SocketAddr,
    admin: SocketAddr,
    token: String,
    /// The `message` of each JSON log line on stderr, in order.
    logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts the demo (with `hold` armed, if given) and reads its banner.
    fn start(hold: Option<&Hold>) -> Demo {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_homeswap"));
        cmd.args(["demo", "--log-format", "json"])
            .env_remove("HOMESWAP_CONFIG")
            .env_remove("FAILPOINTS")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(hold) = hold {
            cmd.env("FAILPOINTS", hold.failpoint());
        }
        let mut child = cmd.spawn().unwrap();
        if let Some(hold) = hold {
            // The demo's own swap to `a`, before its banner, passes the
            // failpoint too: let it through.
            hold.wait_reached();
            hold.release();
        }
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                let v: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "message": line }));
                let message = v["message"].as_str().unwrap_or_default().to_string();
                sink.lock().unwrap().push(message);
            }
        });
        let mut banner = String::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Ctrl-C") {
                break;
            }
        }
        let root = PathBuf::from(after(&banner, "in "));
        let metrics_url = after(&banner, "metrics     http://");
        let addr = metrics_url.trim_end_matches("/metrics").parse().unwrap();
        let admin = after(&banner, "admin API   http://").parse().unwrap();
        let token = after(&banner, "admin token ").to_string();
        Demo {
            child,
            banner,
            root,
            addr,
            admin,
            token,
            logs,
        }
    }

    fn logged(&self, message: &str) -> bool {
        self.logs.lock().unwrap().iter().any(|m| m == message)
    }

    fn sigterm(&self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
    }
}

#[test]
fn the_demo_serves_what_it_prints_and_cleans_up_on_sigterm() {
    let mut demo = Demo::start(None);
    let (banner, root, addr, admin) = (&demo.banner, demo.root.clone(), demo.addr, demo.admin);
    let token = demo.token.clone();
    assert_eq!(token.len(), 64, "{banner}");
    assert!(banner.contains(&format!("curl -s -H 'Authorization: Bearer {token}' -d '{{\"to\":\"b\"}}' http://{admin}/api/v1/swap")), "{banner}");

    assert_eq!(http(addr, "GET", "/readyz", &[], b"").status, 200);
    let r = http(
        admin,
        "POST",
        "/api/v1/swap",
        &[("Authorization", &format!("Bearer {token}"))],
        br#"{"to":"b"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let m = Metrics::parse(&http(addr, "GET", "/metrics", &[], b"").text());
    assert_eq!(m.value("homeswap_active_account{account=\"b\"}"), 1.0);
    assert_eq!(
        std::fs::read_link(root.join("claude")).unwrap(),
        root.join("claude-b")
    );
    // The printed CLI line works on the same sandbox.
    let cli = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .args([
            "--config",
            root.join("homeswap.yaml").to_str().unwrap(),
            "validate",
        ])
        .output()
        .unwrap();
    assert_eq!(cli.status.code(), Some(0), "{cli:?}");

    demo.sigterm();
    assert_eq!(demo.child.wait().unwrap().code(), Some(0));
    assert!(!root.exists(), "the temporary sandbox is removed");
    common::wait_for(
        "the demo's last log line",
        std::time::Duration::from_secs(5),
        || demo.logged("stopped"),
    );
}

/// SIGTERM while a swap is in flight (past its flip, held there by a
/// failpoint): the swap is answered in full, and only then does the demo
/// stop and remove its sandbox.
#[cfg(feature = "failpoints")]
#[test]
fn sigterm_during_a_demo_swap_lets_it_finish_before_the_sandbox_goes() {
    use std::time::Duration;
    const SHUTTING_DOWN: &str = "shutting down: no new connections; finishing requests in flight";

    // The hold's files live outside the sandbox the demo removes.
    let holds = tempfile::tempdir().unwrap();
    let hold = Hold::new(holds.path(), "swap::after_flip");
    let mut demo = Demo::start(Some(&hold));
    let (root, admin, token) = (demo.root.clone(), demo.admin, demo.token.clone());
    let swap = std::thread::spawn(move || {
        http(
            admin,
            "POST",
            "/api/v1/swap",
            &[("Authorization", &format!("Bearer {token}"))],
            br#"{"to":"b"}"#,
        )
    });
    let intent = root.join("state").join("intent.json");
    hold.wait_reached();
    assert!(intent.exists());
    assert_eq!(
        std::fs::read_link(root.join("claude")).ok(),
        Some(root.join("claude-b"))
    );
    demo.sigterm();
    common::wait_for(
        "the demo to start shutting down",
        Duration::from_secs(10),
        || demo.logged(SHUTTING_DOWN),
    );
    // The signal landed inside the swap: it has neither ended nor answered.
    assert!(
        intent.exists(),
        "the swap ended before the demo saw SIGTERM: nothing was tested"
    );
    assert!(!swap.is_finished(), "the swap was answered before SIGTERM");
    assert!(
        root.exists(),
        "the sandbox was removed under a swap in flight"
    );
    hold.release();

    let r = swap.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(
        (body["active"].as_str(), body["outcome"].as_str()),
        (Some("b"), Some("swapped"))
    );
    assert_eq!(demo.child.wait().unwrap().code(), Some(0));
    assert!(!root.exists(), "the temporary sandbox is removed");
    let logs = demo.logs.lock().unwrap().clone();
    let at = |m: &str| {
        logs.iter()
            .position(|x| x == m)
            .unwrap_or_else(|| panic!("no {m:?} in {logs:#?}"))
    };
    assert!(
        at(SHUTTING_DOWN) < at("swap") && at("swap") < at("stopped"),
        "shutdown began during the swap and ended after it: {logs:#?}"
    );
}

#[test]
fn the_demo_refuses_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep"), b"mine").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .args(["demo", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(std::fs::read(dir.path().join("keep")).unwrap(), b"mine");
}
