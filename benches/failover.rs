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
//! Then the same under load (`failover_loaded`, issue 26): two busy loops
//! per core and ten sessions' `homeswap statusline` every 50 ms
//! (`failover_procs/load.rs`) while the runs are timed.
//!
//! `cargo bench --bench failover` (add `-- --smoke` for a seconds-long
//! check; `-- failover` or `-- failover_loaded` for one of the two).

mod failover_procs;
mod support;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use failover_procs::{run, serve, timed, watch_active, AuditReader, Sample};
use support::{ms, percentile, table, Layout, Opts};

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
        failover_latency(&opts, false);
    }
    if opts.runs("failover_loaded") {
        failover_latency(&opts, true);
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

fn failover_latency(opts: &Opts, loaded: bool) {
    let cycles = match (opts.smoke, loaded) {
        (true, _) => 3,
        (false, false) => 250,
        (false, true) => 100,
    };
    let (layout, local) = sandbox();
    let with_socket = layout.config_path.clone();
    let (a, b) = (layout.homes[0].0.clone(), layout.homes[1].0.clone());
    let to = layout.home(1).to_path_buf();
    let back = layout.home(0).to_path_buf();
    let events = watch_active(layout.dir.path(), "active");
    let message = "You've hit your 5-hour limit \u{b7} resets 9:46am (UTC)";
    let server = serve(&with_socket);
    let sidecar_pid = server.pid();
    let mut audit = AuditReader {
        path: layout.dir.path().join("state/audit.jsonl"),
        offset: 0,
    };
    let mut samples: Vec<(Mode, Sample)> = Vec::new();
    let mut session = 0u32;
    let load = loaded.then(|| failover_procs::load::Load::start(&with_socket));
    let began = Instant::now();

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
                // Clear of the last flip by more than the 10 ms a flip's
                // coarse-clock time may lag (ops::served): else the
                // session's window holds it and the hook cannot tell.
                std::thread::sleep(Duration::from_millis(20));
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
    let load_note = load.map(|l| {
        let calls = l.calls.load(Ordering::SeqCst);
        drop(l);
        format!(
            ", under load: 2 busy loops per core and {calls} status-line calls in {:.0} s",
            began.elapsed().as_secs_f64()
        )
    });
    // Only the sidecar's runs went through it.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.failovers.load(Ordering::SeqCst),
        cycles,
        "the sidecar made exactly the failovers of the sidecar's runs"
    );
    server.stop();
    report(&samples, cycles, &load_note.unwrap_or_default());
}

fn report(samples: &[(Mode, Sample)], n: usize, load: &str) {
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
        &format!("Failover latency: process start to the active link flipped, and to exit ({n} runs per kind, 3 accounts{load})"),
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
    let ratio99 = p99.as_secs_f64() / bf99.as_secs_f64();
    println!(
        "goal: flip p99 through the sidecar within 1.5× the bare swap's: {ratio99:.2}×, {}",
        if ratio99 <= 1.5 { "met" } else { "NOT met" }
    );
    println!(
        "goal: p99 through the sidecar under {} ms: {} ms, {}",
        GOAL_P99.as_millis(),
        ms(p99),
        if p99 < GOAL_P99 { "met" } else { "NOT met" }
    );
}
