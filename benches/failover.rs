//! Failover latency of the real `homeswap` binary (issue 14): the time from
//! starting `homeswap hook` with a `StopFailure` `rate_limit` event on its
//! stdin until the active link points at the next account, and until the
//! hook exits. Three kinds of run, in the same run of the bench:
//!
//! - **sidecar**: `homeswap serve` runs with `serve.admin.socket`, and the
//!   hook asks it over the socket (checked: the sidecar logs one
//!   `failover` line per run);
//! - **local**: the hook with no `serve.admin` configured, so it runs the
//!   library under the lock (what it does when no sidecar answers);
//! - **bare swap**: `homeswap swap NEXT`, timed the same way (the
//!   reference).
//!
//! The sandbox has 3 accounts (real directories in a temp dir, every link
//! `ok`). Before each timed run, untimed: the session's `SessionStart` goes
//! through the hook (so the `StopFailure` is a failover `from` the active
//! account, which the settle rule leaves alone), and after it, untimed:
//! `homeswap limits clear` and `homeswap swap` back, then a pause of
//! 100 ms so the sidecar's own revalidation of the reset is over. The
//! sidecar runs through the whole bench; the local runs use a copy of the
//! configuration without `serve.admin`, so their hook does not ask it.
//!
//! The flip is seen through inotify on the active link's directory (a
//! thread blocked in `read`, so waiting costs no CPU): the first
//! `IN_MOVED_TO`/`IN_CREATE` of the active link's name after which
//! `readlink` shows the new home. The kinds of run are interleaved one by
//! one (their order rotating), so a neighbour's load falls on all alike.
//!
//! `cargo bench --bench failover` (add `-- --smoke` for a seconds-long
//! check).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use support::{ms, percentile, table, Layout, Opts};

/// The binary under test (built by cargo for the bench).
const BIN: &str = env!("CARGO_BIN_EXE_homeswap");

/// The issue's goal for the hook through the sidecar.
const GOAL_P99: Duration = Duration::from_millis(50);

fn main() {
    let opts = Opts::from_args();
    println!(
        "## homeswap failover benchmarks{}",
        if opts.smoke {
            " (smoke: timings mean nothing)"
        } else {
            ""
        }
    );
    if opts.runs("failover") {
        failover_latency(&opts);
    }
}

/// The three kinds of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sidecar,
    Local,
    Bare,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Sidecar => "hook through the sidecar (socket)",
            Mode::Local => "hook without a sidecar (library under the lock)",
            Mode::Bare => "bare `homeswap swap` (reference)",
        }
    }
}

/// The times of one run.
struct Sample {
    flip: Duration,
    exit: Duration,
    /// The failover's own time, from its audit line (`duration_seconds`:
    /// the library's `failover`, lock to audit); none for a bare swap.
    library: Option<Duration>,
}

/// The new `failover` lines of the audit log since the last call: the pid
/// that wrote each and its `duration_seconds`.
struct AuditReader {
    path: PathBuf,
    offset: usize,
}

impl AuditReader {
    fn failovers(&mut self) -> Vec<(u32, Duration)> {
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
struct Server {
    child: Child,
    /// How many `failover` lines the sidecar has logged.
    failovers: Arc<AtomicUsize>,
}

impl Server {
    /// SIGTERM, then waits for it to stop (it removes nothing we need).
    fn stop(mut self) {
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
fn serve(config: &Path) -> Server {
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

/// Runs `homeswap --config C ARGS` with `stdin`; panics unless it exits 0.
fn run(config: &Path, args: &[&str], stdin: &[u8]) -> String {
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
fn watch_active(dir: &Path, name: &str) -> mpsc::Receiver<Instant> {
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
fn timed(
    config: &Path,
    args: &[&str],
    stdin: &[u8],
    events: &mpsc::Receiver<Instant>,
    active: &Path,
    to: &Path,
) -> (Sample, String) {
    while events.try_recv().is_ok() {}
    let start = Instant::now();
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

/// The sandbox: 3 linked accounts and two configurations of it that differ
/// only in `serve.admin`: the sidecar's (and the hook's that asks it) with
/// the admin socket, and one without it, for the hook that runs the library
/// itself.
fn sandbox() -> (Layout, PathBuf) {
    let layout = Layout::new(3, true);
    let base = std::fs::read_to_string(&layout.config_path).unwrap();
    let serve = "serve:\n  listen: 127.0.0.1:0\n  interval: 1h\n";
    let local = layout.dir.path().join("local.yaml");
    std::fs::write(&local, format!("{base}{serve}")).unwrap();
    let socket = layout.dir.path().join("admin.sock");
    std::fs::write(
        &layout.config_path,
        format!("{base}{serve}  admin:\n    socket: {}\n", socket.display()),
    )
    .unwrap();
    (layout, local)
}

fn failover_latency(opts: &Opts) {
    let cycles = if opts.smoke { 3 } else { 250 };
    let (layout, local) = sandbox();
    let with_socket = layout.config_path.clone();
    let (a, b) = (layout.homes[0].0.clone(), layout.homes[1].0.clone());
    let to = layout.home(1).to_path_buf();
    let back = layout.home(0).to_path_buf();
    let events = watch_active(layout.dir.path(), "active");
    let message = "You've hit your 5-hour limit \u{b7} resets 9:46am (UTC)";
    let server = serve(&with_socket);
    let sidecar_pid = server.child.id();
    let mut audit = AuditReader {
        path: layout.dir.path().join("state/audit.jsonl"),
        offset: 0,
    };
    let mut samples: Vec<(Mode, Sample)> = Vec::new();
    let mut session = 0u32;

    // One run of `mode`, with its untimed start and reset.
    let mut one = |mode: Mode| {
        session += 1;
        let id = format!("bench-{session}");
        let config = match mode {
            Mode::Local => &local,
            _ => &with_socket,
        };
        let (args, stdin): (Vec<&str>, Vec<u8>) = match mode {
            Mode::Bare => (vec!["swap", &b], Vec::new()),
            _ => {
                let start = format!(
                    r#"{{"hook_event_name":"SessionStart","session_id":"{id}","source":"startup"}}"#
                );
                let said = run(config, &["hook"], start.as_bytes());
                assert!(said.contains(&format!("started on account {a}")), "{said}");
                let event = format!(
                    r#"{{"hook_event_name":"StopFailure","session_id":"{id}","error":"rate_limit","last_assistant_message":{}}}"#,
                    serde_json::to_string(message).unwrap()
                );
                (vec!["hook"], event.into_bytes())
            }
        };
        let before = server.failovers.load(Ordering::SeqCst);
        let (mut sample, said) = timed(config, &args, &stdin, &events, &layout.active, &to);
        if mode != Mode::Bare {
            assert!(
                said.contains(&format!("failed over {a} -> {b}")),
                "{mode:?}: {said}"
            );
            // The audit line says which process failed over: the sidecar
            // for the sidecar's runs, the hook itself for the local ones.
            let lines = audit.failovers();
            assert_eq!(lines.len(), 1, "{mode:?}: one failover per run");
            let (pid, took) = lines[0];
            assert_eq!(
                pid == sidecar_pid,
                mode == Mode::Sidecar,
                "{mode:?}: pid {pid}"
            );
            sample.library = Some(took);
        }
        if mode == Mode::Sidecar {
            // The sidecar logs the failover before it answers; the log
            // thread may read the line a moment after the hook exited.
            let deadline = Instant::now() + Duration::from_secs(5);
            while server.failovers.load(Ordering::SeqCst) == before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(
                server.failovers.load(Ordering::SeqCst),
                before + 1,
                "the hook went through the sidecar"
            );
        }
        if mode != Mode::Bare {
            run(config, &["limits", "clear", &a], b"");
        }
        run(config, &["swap", &a], b"");
        assert_eq!(std::fs::read_link(&layout.active).unwrap(), back);
        // The sidecar's revalidation of the run and the reset (after its
        // 50 ms pause) is over before the next run starts.
        std::thread::sleep(Duration::from_millis(100));
        samples.push((mode, sample));
    };

    // Each cycle runs every kind once, in an order that rotates, so a
    // neighbour's burst of load falls on every kind alike.
    let kinds = [Mode::Sidecar, Mode::Local, Mode::Bare];
    for cycle in 0..cycles {
        for k in 0..kinds.len() {
            one(kinds[(cycle + k) % kinds.len()]);
        }
    }
    // Only the sidecar's runs went through it.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.failovers.load(Ordering::SeqCst),
        cycles,
        "the sidecar made exactly the failovers of the sidecar's runs"
    );
    server.stop();
    report(&samples, cycles);
}

fn report(samples: &[(Mode, Sample)], n: usize) {
    let of = |mode: Mode, f: fn(&Sample) -> Duration| -> Vec<Duration> {
        samples
            .iter()
            .filter(|(m, _)| *m == mode)
            .map(|(_, s)| f(s))
            .collect()
    };
    let flip = |s: &Sample| s.flip;
    let exit = |s: &Sample| s.exit;
    let library = |s: &Sample| s.library.unwrap_or_default();
    let bare_flip = of(Mode::Bare, flip);
    let bare_exit = of(Mode::Bare, exit);
    let (bf50, bf99) = (percentile(&bare_flip, 50.0), percentile(&bare_flip, 99.0));
    let (be50, be99) = (percentile(&bare_exit, 50.0), percentile(&bare_exit, 99.0));
    let ratio = |x: Duration, r: Duration| format!("{:.2}×", x.as_secs_f64() / r.as_secs_f64());
    let mut rows = Vec::new();
    for mode in [Mode::Sidecar, Mode::Local, Mode::Bare] {
        let f = of(mode, flip);
        let e = of(mode, exit);
        let (f50, f99, e50, e99) = (
            percentile(&f, 50.0),
            percentile(&f, 99.0),
            percentile(&e, 50.0),
            percentile(&e, 99.0),
        );
        let lib = of(mode, library);
        let lib = match mode {
            Mode::Bare => ["-".to_string(), "-".to_string()],
            _ => [ms(percentile(&lib, 50.0)), ms(percentile(&lib, 99.0))],
        };
        rows.push(vec![
            mode.label().to_string(),
            f.len().to_string(),
            ms(f50),
            ms(f99),
            ms(percentile(&f, 100.0)),
            ratio(f50, bf50),
            ratio(f99, bf99),
            ms(e50),
            ms(e99),
            ms(percentile(&e, 100.0)),
            ratio(e50, be50),
            ratio(e99, be99),
            lib[0].clone(),
            lib[1].clone(),
        ]);
    }
    table(
        &format!("Failover latency: process start to the active link flipped, and to exit ({n} runs per kind, 3 accounts)"),
        &[
            "kind of run",
            "runs",
            "flip p50 ms",
            "flip p99 ms",
            "flip max ms",
            "flip p50 vs bare",
            "flip p99 vs bare",
            "exit p50 ms",
            "exit p99 ms",
            "exit max ms",
            "exit p50 vs bare",
            "exit p99 vs bare",
            "failover() p50 ms",
            "failover() p99 ms",
        ],
        &rows,
    );
    let p99 = percentile(&of(Mode::Sidecar, flip), 99.0);
    println!(
        "goal: p99 through the sidecar under {} ms: {} ms, {}",
        GOAL_P99.as_millis(),
        ms(p99),
        if p99 < GOAL_P99 { "met" } else { "NOT met" }
    );
}
