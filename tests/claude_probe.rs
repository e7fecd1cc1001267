//! Probes of the pinned Claude Code: the facts issue 21 (which account
//! served a request) and issue 22 item 7 (how `history.jsonl` is appended)
//! are built on, checked against the real binary. Each probe writes what it
//! saw (a timeline of requests, hook and status-line runs, strace lines and
//! transcript entries) under `target/claude-probe/<probe>/` (or
//! `$HOMESWAP_PROBE_OUT`) and asserts the facts the findings
//! (`/work/briefing/claude-findings.md`) rely on.
//!
//! `#[ignore]`d: they need root, tmux, strace and the client. Run one as
//! root with `cargo test --test claude_probe -- --ignored --nocapture NAME`.

mod claude;
mod common;

use std::path::Path;
use std::time::Duration;

use claude::probe::{self, Recorder};
use claude::tmux::{Tmux, SCREEN_LIMIT};
use claude::Rig;
use common::{wait_for, Sandbox};

/// Syscalls the probes trace: file lookups, opens, writes and renames.
const FILE_CALLS: &str = "statx,newfstatat,stat,lstat,openat,open,rename,renameat,renameat2,mkdir,rmdir,unlink,unlinkat,utimensat,write,pwrite64,writev,close,flock,fcntl,fsync,fdatasync,ftruncate,lseek";

/// Starts Claude Code interactively on the active link under strace
/// (`log`), with `settings` in every home, and waits for its prompt.
fn straced_session(rig: &Rig, settings: &serde_json::Value, log: &Path) -> Tmux {
    for account in ["a", "b"] {
        std::fs::write(
            rig.sb.home(account).join("settings.json"),
            settings.to_string(),
        )
        .unwrap();
    }
    let argv = probe::straced(log, FILE_CALLS, &rig.interactive_argv(&[]));
    let tmux = Tmux::start(
        &rig.sb.root().join("probe.sock"),
        &rig.work,
        &rig.env(&rig.sb.active()),
        &argv,
    );
    tmux.wait_for("the prompt", SCREEN_LIMIT, |s| {
        s.contains("Claude Code v") && s.contains('❯')
    });
    tmux
}

/// Types `prompt` and waits for `answer` on the screen.
fn turn_until(tmux: &Tmux, prompt: &str, answer: &str) {
    tmux.type_line(prompt);
    tmux.wait_for(answer, SCREEN_LIMIT, |s| s.contains(answer));
}

/// The one transcript of the sandbox.
fn transcript(rig: &Rig) -> std::path::PathBuf {
    let t = rig.transcripts();
    assert_eq!(t.len(), 1, "{t:?}");
    t[0].clone()
}

/// Writes `text` to `dir/name` and says where.
fn save(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
    claude::hooks::report(&format!("wrote {}", dir.join(name).display()));
}

/// Interactive: which hook and status-line runs come before and after
/// which request, which `.credentials.json` lookups come before each
/// request, and what the status JSON holds when no request was made.
#[test]
#[ignore = "needs root, tmux, strace and Claude Code (bash tests/claude/install.sh)"]
fn probe_interactive_signals() {
    if !probe::have_strace() {
        panic!("needs strace (apt-get install strace)");
    }
    if !claude::isolated_interactive("probe_interactive_signals") {
        return;
    }
    let out = probe::out_dir("interactive_signals");
    let rig = Rig::new(Sandbox::ready());
    rig.api.set_usage("a", 0.42, 0.13);
    rig.api.set_usage("b", 0.17, 0.05);
    let rec = Recorder::new(&rig.sb.root().join("rec"));
    let settings = rec.settings(
        &[
            ("SessionStart", 0.0),
            ("UserPromptSubmit", 1.0),
            ("PreToolUse", 0.5),
            ("PostToolUse", 0.5),
            ("Stop", 0.0),
            ("StopFailure", 0.0),
            ("SessionEnd", 0.0),
            ("Notification", 0.0),
        ],
        true,
    );
    let log = rig.sb.root().join("strace.log");
    let tmux = straced_session(&rig, &settings, &log);
    let mut marks: Vec<probe::Line> = Vec::new();

    marks.push((probe::now(), "MARK type 'one'".into()));
    turn_until(&tmux, "one", "ANSWER[one]");
    wait_for("a status update after one", SCREEN_LIMIT, || {
        rec.of("statusline")
            .iter()
            .any(|e| e.payload["rate_limits"]["five_hour"]["used_percentage"] == 42)
    });

    let file = rig.work.join("probe.txt");
    marks.push((probe::now(), "MARK type 'write'".into()));
    turn_until(
        &tmux,
        &format!("write {} hello", file.display()),
        "ANSWER[done]",
    );

    // Idle: does the status line run without a request?
    let idle = probe::now();
    std::thread::sleep(Duration::from_secs(3));
    marks.push((idle, "MARK idle 3 s".into()));

    marks.push((probe::now(), "MARK /cost".into()));
    tmux.type_line("/cost");
    std::thread::sleep(Duration::from_secs(2));
    probe::press(&rig.sb.root().join("probe.sock"), &["Escape"]);
    std::thread::sleep(Duration::from_secs(2));
    marks.push((probe::now(), "MARK /cost closed".into()));

    let flipped = probe::flip(&rig.sb.active(), &rig.sb.home("b"));
    marks.push((flipped, "MARK active link flipped to b".into()));
    std::thread::sleep(Duration::from_secs(2));

    marks.push((probe::now(), "MARK type 'three'".into()));
    turn_until(&tmux, "three", "ANSWER[three]");
    rig.api.limit("b", probe::now() as u64 + 7200);
    marks.push((probe::now(), "MARK type 'four' (b limited)".into()));
    tmux.type_line("four");
    tmux.wait_for("the limit", SCREEN_LIMIT, |s| {
        s.contains("Usage limit") || s.contains("limit")
    });
    wait_for("StopFailure", SCREEN_LIMIT, || {
        !rec.of("StopFailure").is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    tmux.type_line("/exit");
    tmux.wait_exit(SCREEN_LIMIT);

    // What was seen, as one timeline.
    let calls = rig.api.calls();
    let events = rec.events();
    let creds = probe::strace_lines(&log, ".credentials.json");
    let hist = probe::strace_lines(&log, "history.jsonl");
    let tr = transcript(&rig);
    let tr_sys = probe::strace_lines(&log, &probe::file_name(&tr));
    let mut lines = probe::call_lines(&calls);
    lines.extend(probe::event_lines(&events));
    lines.extend(probe::sys_lines(&creds));
    lines.extend(probe::sys_lines(&hist));
    lines.extend(probe::sys_lines(&tr_sys));
    lines.extend(probe::transcript_lines(&tr));
    lines.extend(marks);
    save(&out, "timeline.txt", &probe::timeline(lines));
    let full: Vec<String> = events
        .iter()
        .map(|e| {
            serde_json::json!({"kind": e.kind, "start": e.start, "end": e.end, "payload": e.payload})
                .to_string()
        })
        .collect();
    save(&out, "events.jsonl", &full.join("\n"));
    save(
        &out,
        "transcript.jsonl",
        &std::fs::read_to_string(&tr).unwrap(),
    );
    let _ = std::fs::copy(&log, out.join("strace.log"));
    save(&out, "screen.txt", &tmux.screen());

    // The facts.
    let messages: Vec<_> = calls.iter().filter(|c| c.is_messages()).collect();
    let one = messages.iter().find(|c| c.prompt() == Some("one")).unwrap();
    let submit = rec
        .of("UserPromptSubmit")
        .into_iter()
        .find(|e| e.payload["prompt"] == "one")
        .unwrap();
    claude::hooks::report(&format!(
        "UserPromptSubmit 'one': start {:.3}, end {:.3}; its request at {:.3}",
        submit.start,
        submit.end,
        probe::secs(one.at)
    ));
    let three = messages
        .iter()
        .find(|c| c.prompt() == Some("three"))
        .unwrap();
    assert_eq!(three.account.as_deref(), Some("b"));
}
