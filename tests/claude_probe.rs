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
    let updates = rec.of("statusline").len();
    turn_until(&tmux, "three", "ANSWER[three]");
    // Wait for the turn's end (its Stop hook and status update), so that
    // the next prompt is not queued behind it.
    wait_for("the status update after three", SCREEN_LIMIT, || {
        rec.of("statusline").len() > updates && rec.of("Stop").len() >= 3
    });
    // A prompt typed while an answer is held in mid-stream is queued.
    rig.api.hold("held");
    marks.push((probe::now(), "MARK type 'held' (its answer held)".into()));
    tmux.type_line("held");
    wait_for("the held request", SCREEN_LIMIT, || {
        rig.api
            .messages_calls()
            .iter()
            .any(|c| c.prompt() == Some("held"))
    });
    marks.push((
        probe::now(),
        "MARK type 'queued' while 'held' streams".into(),
    ));
    tmux.type_line("queued");
    std::thread::sleep(Duration::from_millis(1500));
    marks.push((probe::now(), "MARK release 'held'".into()));
    rig.api.release("held");
    tmux.wait_for("the queued answer", SCREEN_LIMIT, |s| {
        s.contains("ANSWER[queued]")
    });
    let updates = rec.of("statusline").len();
    let stops = rec.of("Stop").len();
    wait_for("the end of the queued turn", SCREEN_LIMIT, || {
        rec.of("statusline").len() > updates && rec.of("Stop").len() > stops
    });
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
        "UserPromptSubmit 'one': start {:.3}, end {:?}; its request at {:.3}",
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

/// One step of the mtime probe: what was done, which token the next
/// request carried.
struct Step {
    what: String,
    token: String,
}

/// Types `prompt`, waits for its answer, and returns the token its
/// request carried.
fn token_of_turn(rig: &Rig, tmux: &Tmux, prompt: &str) -> String {
    turn_until(tmux, prompt, &format!("ANSWER[{prompt}]"));
    rig.api
        .call_for(prompt)
        .token
        .unwrap_or_else(|| "-".to_string())
}

/// What a running session compares to tell that `.credentials.json`
/// changed: the mtime through the active link, to which precision, and
/// not the size or the file behind the link.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh)"]
fn probe_credentials_reload_rule() {
    if !claude::isolated_interactive("probe_credentials_reload_rule") {
        return;
    }
    let out = probe::out_dir("credentials_reload_rule");
    let rig = Rig::new(Sandbox::ready());
    let creds = |a: &str| rig.sb.home(a).join(".credentials.json");
    // A base time on a whole second, an hour ago.
    let base = Duration::from_secs(probe::now() as u64 - 3600);
    probe::set_mtime(&creds("a"), base);
    probe::set_mtime(&creds("b"), base);
    let tmux = rig.interactive();
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |what: &str, prompt: &str| {
        let token = token_of_turn(&rig, &tmux, prompt);
        steps.push(Step {
            what: what.to_string(),
            token,
        });
    };
    step("start on a; a and b share one mtime (to the ns)", "m1");
    probe::flip(&rig.sb.active(), &rig.sb.home("b"));
    step("flip to b, same mtime", "m2");
    let text = std::fs::read_to_string(creds("b")).unwrap();
    std::fs::write(creds("b"), format!("{text}\n\n\n")).unwrap();
    probe::set_mtime(&creds("b"), base);
    step(
        "b rewritten with another size (and ctime), mtime set back",
        "m3",
    );
    probe::set_mtime(&creds("b"), base + Duration::from_nanos(1));
    step("b's mtime +1 ns", "m4");
    probe::set_mtime(&creds("b"), base + Duration::from_nanos(100));
    step("b's mtime +100 ns", "m5");
    probe::set_mtime(&creds("b"), base + Duration::from_micros(1));
    step("b's mtime +1 us", "m6");
    probe::set_mtime(
        &creds("a"),
        base + Duration::from_micros(1) + Duration::from_millis(1),
    );
    probe::flip(&rig.sb.active(), &rig.sb.home("a"));
    step("a's mtime 1 ms after b's; flip to a", "m7");
    probe::set_mtime(
        &creds("b"),
        probe::mtime(&creds("a")) + Duration::from_secs(1),
    );
    probe::flip(&rig.sb.active(), &rig.sb.home("b"));
    step("b's mtime 1 s after a's; flip to b", "m8");
    probe::set_mtime(&creds("a"), probe::mtime(&creds("b")));
    probe::flip(&rig.sb.active(), &rig.sb.home("a"));
    step("a's mtime set equal to b's; flip to a", "m9");
    probe::set_mtime(
        &creds("a"),
        probe::mtime(&creds("a")) + Duration::from_millis(5),
    );
    step(
        "no flip; only a's (the target's) mtime moved by 5 ms (utimensat)",
        "m10",
    );
    probe::set_mtime(
        &creds("b"),
        probe::mtime(&creds("a")) - Duration::from_secs(7200),
    );
    probe::flip(&rig.sb.active(), &rig.sb.home("b"));
    step("b's mtime 2 h older than a's; flip to b", "m11");
    drop(step);
    let report: String = steps
        .iter()
        .map(|s| format!("{:<70} -> next request carried {}\n", s.what, s.token))
        .collect();
    save(&out, "steps.txt", &report);
    claude::hooks::report(&format!("credentials reload rule:\n{report}"));
    let tokens: Vec<&str> = steps.iter().map(|s| s.token.as_str()).collect();
    assert_eq!(tokens[0], "token-a");
    assert_eq!(tokens[1], "token-a", "same mtime: no reload");
    assert_eq!(tokens[2], "token-a", "size does not count");
    assert_eq!(tokens[5], "token-b", "1 us is seen");
    assert_eq!(tokens[6], "token-a", "1 ms is seen");
    assert_eq!(tokens[7], "token-b");
    assert_eq!(tokens[8], "token-b", "equal mtimes after a flip: no reload");
    assert_eq!(
        tokens[9], "token-a",
        "the target's own mtime moving makes it reload"
    );
    assert_eq!(tokens[10], "token-b", "an older mtime is a change too");
}

/// `claude -p`: the hooks around a tool call, and a flip made between the
/// tool call's two requests (by the `PreToolUse` hook itself): does the
/// same process's follow-up request carry the new account's token?
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh)"]
fn probe_print_mode_signals() {
    if !claude::isolated("probe_print_mode_signals") {
        return;
    }
    let out = probe::out_dir("print_mode_signals");
    let rig = Rig::new(Sandbox::ready());
    let rec = Recorder::new(&rig.sb.root().join("rec"));
    let mut settings = rec.settings(
        &[
            ("SessionStart", 0.0),
            ("UserPromptSubmit", 0.5),
            ("PostToolUse", 0.5),
            ("Stop", 0.0),
            ("StopFailure", 3.0),
            ("SessionEnd", 0.0),
        ],
        false,
    );
    // PreToolUse records, then flips the active link to b.
    let link = rig.sb.active();
    let flip = format!(
        "{}; ln -sfn '{}' '{}.hook' && mv -T '{}.hook' '{}'",
        rec.command("PreToolUse", 0.0),
        rig.sb.home("b").display(),
        link.display(),
        link.display(),
        link.display()
    );
    settings["hooks"]["PreToolUse"] =
        serde_json::json!([{"matcher": "*", "hooks": [{"type": "command", "command": flip}]}]);
    for account in ["a", "b"] {
        std::fs::write(
            rig.sb.home(account).join("settings.json"),
            settings.to_string(),
        )
        .unwrap();
    }
    let file = rig.work.join("p.txt");
    let prompt = format!("write {} hi", file.display());
    let r = rig.claude(&["-p", &prompt, "--permission-mode", "acceptEdits"]);
    assert_eq!(r.code, 0, "{r:?}");
    // Then b at its limit: a StopFailure whose hook sleeps 3 s (and ignores TERM).
    rig.api.limit("b", probe::now() as u64 + 7200);
    let t_limited = probe::now();
    let r2 = rig.claude(&["-p", "at the limit"]);
    let exited = probe::now();
    let deadline = probe::now() + 10.0;
    while rec.of("StopFailure").is_empty() && probe::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    save(&out, "claude-p-limited.txt", &format!("{r2:?}"));
    let calls = rig.api.calls();
    let mut lines = probe::call_lines(&calls);
    lines.extend(probe::event_lines(&rec.events()));
    lines.push((t_limited, "MARK claude -p 'at the limit' started".into()));
    lines.push((exited, format!("MARK claude -p exited {}", r2.code)));
    for t in rig.transcripts() {
        lines.extend(probe::transcript_lines(&t));
    }
    save(&out, "timeline.txt", &probe::timeline(lines));
    let full: Vec<String> = rec
        .events()
        .iter()
        .map(|e| {
            serde_json::json!({"kind": e.kind, "start": e.start, "end": e.end, "payload": e.payload})
                .to_string()
        })
        .collect();
    save(&out, "events.jsonl", &full.join("\n"));
    let turn: Vec<_> = calls
        .iter()
        .filter(|c| c.is_messages() && c.prompt() == Some(prompt.as_str()))
        .collect();
    assert_eq!(turn.len(), 2, "{turn:#?}");
    claude::hooks::report(&format!(
        "claude -p: the tool call's first request carried {:?}, the follow-up after the PreToolUse flip {:?}",
        turn[0].token, turn[1].token
    ));
    let sf = &rec
        .of("StopFailure")
        .first()
        .cloned()
        .expect("a StopFailure record");
    claude::hooks::report(&format!(
        "claude -p StopFailure: hook started {:.3}s after the 429, claude exited {:.3}s after the hook started, the hook (TERM ignored, sleeping 3 s) ended: {:?}",
        sf.start - probe::secs(calls.last().unwrap().at),
        exited - sf.start,
        sf.end.map(|e| e - sf.start)
    ));
}
