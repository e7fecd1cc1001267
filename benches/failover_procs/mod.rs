//! The processes of the failover bench: `homeswap serve` with its log
//! read, one-shot commands, the timed run and the inotify watch of the
//! active link, and the audit log's `failover` lines.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

pub mod load;

/// The binary under test (built by cargo for the bench).
const BIN: &str = env!("CARGO_BIN_EXE_homeswap");

/// The times of one run.
pub struct Sample {
    /// Spawn to the active link flipped.
    pub flip: Duration,
    /// Spawn to the process's exit.
    pub exit: Duration,
    /// The failover's own time, from its audit line (`duration_seconds`:
    /// the library's `failover`, lock to audit); none for a bare swap.
    pub library: Option<Duration>,
}

/// The new `failover` lines of the audit log since the last call: the pid
/// that wrote each and its `duration_seconds`.
pub struct AuditReader {
    /// `<state_dir>/audit.jsonl`.
    pub path: PathBuf,
    /// How much of it was read.
    pub offset: usize,
}

impl AuditReader {
    pub fn failovers(&mut self) -> Vec<(u32, Duration)> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let new = text.get(self.offset..).unwrap_or("");
        // Only whole lines; a line being written is read next time.
        let end = new.rfind('\n').map_or(0, |i| i + 1);
        self.offset += end;
        new[..end]
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["action"] == "failover")
            .map(|v| {
                (
                    v["pid"].as_u64().unwrap_or(0) as u32,
                    Duration::from_secs_f64(v["duration_seconds"].as_f64().unwrap_or(0.0)),
                )
            })
            .collect()
    }
}

/// `homeswap serve`, killed and reaped on drop (also on a panic).
pub struct Server {
    child: Child,
    /// How many `failover` lines the sidecar has logged.
    pub failovers: Arc<AtomicUsize>,
}

impl Server {
    /// The sidecar's pid (the one its audit lines carry).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for it to stop (it removes nothing we need).
    pub fn stop(mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `homeswap serve` and waits until its admin socket is ready.
pub fn serve(config: &Path) -> Server {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["serve", "--log-format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start homeswap serve");
    let stderr = child.stderr.take().unwrap();
    let failovers = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let counter = failovers.clone();
    // Keeps reading the logs, so the sidecar never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            match v["message"].as_str() {
                Some("failover") => {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                Some("admin socket ready") => {
                    let _ = tx.send(());
                }
                Some("failover failed") => eprintln!("sidecar: {line}"),
                _ => {}
            }
        }
    });
    let server = Server { child, failovers };
    rx.recv_timeout(Duration::from_secs(60))
        .expect("homeswap serve did not report its admin socket within 60 s");
    server
}

/// Starts `homeswap --config C ARGS`, its output piped, `stdin` written.
fn spawn_with(config: &Path, args: &[&str], stdin: &[u8]) -> Child {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start homeswap");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child
}

/// Runs `homeswap --config C ARGS` with `stdin`; panics unless it exits 0.
pub fn run(config: &Path, args: &[&str], stdin: &[u8]) -> String {
    let child = spawn_with(config, args, stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "homeswap {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Watches the active link's directory from a thread blocked in `read`;
/// each event naming the link is sent with the time it was read.
pub fn watch_active(dir: &Path, name: &str) -> mpsc::Receiver<Instant> {
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC).expect("inotify_init1");
    inotify
        .add_watch(dir, AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_CREATE)
        .expect("inotify_add_watch");
    let (tx, rx) = mpsc::channel();
    let name = std::ffi::OsString::from(name);
    std::thread::spawn(move || loop {
        let Ok(events) = inotify.read_events() else {
            return;
        };
        let at = Instant::now();
        if events.iter().any(|e| e.name.as_ref() == Some(&name)) && tx.send(at).is_err() {
            return;
        }
    });
    rx
}

/// One timed run: spawns `homeswap ARGS` with `stdin`, waits for the
/// active link to point at `to`, then for the process to exit.
pub fn timed(
    config: &Path,
    args: &[&str],
    stdin: &[u8],
    events: &mpsc::Receiver<Instant>,
    active: &Path,
    to: &Path,
) -> (Sample, String) {
    while events.try_recv().is_ok() {}
    let start = Instant::now();
    let child = spawn_with(config, args, stdin);
    let flipped = loop {
        let at = events
            .recv_timeout(Duration::from_secs(10))
            .expect("the active link did not change within 10 s");
        // An event of the reset read late shows the old home: not the flip.
        if std::fs::read_link(active).is_ok_and(|t| t == to) {
            break at;
        }
    };
    let out = child.wait_with_output().unwrap();
    let exited = Instant::now();
    assert!(out.status.success(), "homeswap {args:?}: {}", out.status);
    // The hook must print nothing Claude Code would read; `swap` reports there.
    assert!(
        args[0] != "hook" || out.stdout.is_empty(),
        "homeswap {args:?} printed to stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        Sample {
            flip: flipped - start,
            exit: exited - start,
            library: None,
        },
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
