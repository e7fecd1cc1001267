//! The cost of `homeswap statusline` as Claude Code pays it: a process
//! spawned per status update with the status JSON on stdin, waited for.
//! The release binary is run N times on a realistic status update (two
//! accounts, a session record, `failover.threshold` set):
//!
//! - *unchanged*: the usage is the one recorded (the common case: no lock,
//!   no write);
//! - *changed*: the five-hour percentage alternates, so every call takes
//!   the usage lock and writes `usage.json` (temp + fsync + rename + fsync
//!   of the directory);
//! - the floor: `/bin/true` spawned the same way (same stdin piped, waited
//!   for).
//!
//! The three are interleaved call by call, so a noisy neighbour slows all
//! alike. Prints p50/p99 and the ratios to `/bin/true`.
//!
//! `cargo bench --bench statusline` (N = 500; `-- --smoke` for N = 20,
//! `-- --calls 2000` for another N).

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::{ms, percentile, table, Layout, Opts};

/// The status update of one session (the shape Claude Code sends).
fn status(session: &str, five: u32) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    format!(
        r#"{{"session_id":"{session}","transcript_path":"/home/u/.claude/projects/-w/{session}.jsonl","cwd":"/w","model":{{"id":"claude-opus-4-1","display_name":"Opus"}},"workspace":{{"current_dir":"/w","project_dir":"/w"}},"version":"2.1.328","output_style":{{"name":"default"}},"cost":{{"total_cost_usd":0.0123,"total_duration_ms":45000,"total_api_duration_ms":2300,"total_lines_added":156,"total_lines_removed":23}},"context_window":{{"total_input_tokens":15234,"total_output_tokens":4521,"context_window_size":200000}},"exceeds_200k_tokens":false,"rate_limits":{{"five_hour":{{"used_percentage":{five},"resets_at":{}}},"seven_day":{{"used_percentage":13,"resets_at":{}}}}}}}"#,
        now + 3 * 3600,
        now + 5 * 24 * 3600
    )
    .into_bytes()
}

/// Spawns `program args`, writes `input` to its stdin, waits; the time.
fn call(program: &str, args: &[&str], input: &[u8]) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env_remove("HOMESWAP_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        // /bin/true may exit before reading: a broken pipe is expected.
        let _ = stdin.write_all(input);
    }
    let out = child.wait_with_output().expect("wait");
    let took = start.elapsed();
    assert!(out.status.success(), "{program} {args:?} failed");
    took
}

fn main() {
    let opts = Opts::from_args();
    let args: Vec<String> = std::env::args().collect();
    let calls = args
        .iter()
        .position(|a| a == "--calls")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if opts.smoke { 20 } else { 500 });
    let bin = env!("CARGO_BIN_EXE_homeswap");
    let layout = Layout::new(2, true);
    let mut yaml = std::fs::read_to_string(&layout.config_path).expect("config");
    yaml.push_str("failover:\n  threshold: 95\n");
    std::fs::write(&layout.config_path, yaml).expect("config");
    let config = layout.config_path.display().to_string();
    let state = layout.dir.path().join("state");
    remember_session(&state, "bench-session", &layout.homes[0].0);
    let homeswap = ["--config", config.as_str(), "statusline"];
    let same = status("bench-session", 42);
    let changing = [status("bench-session", 43), status("bench-session", 44)];
    // Warm up: page cache, the record written once.
    for _ in 0..10 {
        call(bin, &homeswap, &same);
        call("/bin/true", &[], &same);
    }
    let (mut floor, mut unchanged, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..calls {
        floor.push(call("/bin/true", &[], &same));
        unchanged.push(call(bin, &homeswap, &same));
        changed.push(call(bin, &homeswap, &changing[i % 2]));
        // Back to the recorded value, untimed, so the next unchanged call is one.
        call(bin, &homeswap, &same);
    }
    check_recorded(&state, &layout.homes[0].0);
    let p50 = |s: &[Duration]| percentile(s, 50.0);
    let p99 = |s: &[Duration]| percentile(s, 99.0);
    let ratio = |a: Duration, b: Duration| format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64());
    let row = |name: &str, s: &[Duration]| {
        vec![
            name.to_string(),
            ms(p50(s)),
            ms(p99(s)),
            ratio(p50(s), p50(&floor)),
            ratio(p99(s), p99(&floor)),
        ]
    };
    println!(
        "## homeswap statusline: {calls} calls each, interleaved{}",
        if opts.smoke {
            " (smoke: timings mean nothing)"
        } else {
            ""
        }
    );
    table(
        "statusline per call (spawn, stdin, wait)",
        &["call", "p50 ms", "p99 ms", "p50 / true", "p99 / true"],
        &[
            row("/bin/true (floor)", &floor),
            row("statusline, usage unchanged", &unchanged),
            row("statusline, usage changed (lock + write)", &changed),
        ],
    );
}

/// The record the hook writes at SessionStart, the session started now
/// (after the active link was made: its requests are the active
/// account's, no transcript needed).
fn remember_session(state: &Path, id: &str, account: &str) {
    let dir = state.join("sessions");
    std::fs::create_dir_all(&dir).expect("sessions dir");
    // A session that starts within 10 ms of a flip cannot be told apart
    // from one that started before it (the link's mtime comes from the
    // kernel's coarse clock, ops::served::FLIP_CLOCK_SLACK): start clear.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    std::fs::write(
        dir.join(format!("{id}.json")),
        format!(
            r#"{{"account":"{account}","started":"2026-01-01T00:00:00Z","started_ms":{}}}"#,
            now.as_millis()
        ),
    )
    .expect("session record");
}

/// Every call recorded its numbers for the session's account (none was
/// left unattributed): the bench measured the paths it names.
fn check_recorded(state: &Path, account: &str) {
    let usage = std::fs::read_to_string(state.join("usage.json")).expect("usage.json");
    let v: serde_json::Value = serde_json::from_str(&usage).expect("usage.json parses");
    assert_eq!(
        v["accounts"][account]["five_hour"]["used_percentage"], 42.0,
        "the changed calls recorded for {account}: {usage}"
    );
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap_or_default();
    assert!(
        !audit.contains("\"attribution\""),
        "some calls could not tell whose numbers they were: {audit}"
    );
}
