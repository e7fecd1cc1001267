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
    // The request waits for UserPromptSubmit to exit.
    assert!(
        submit.end.is_some_and(|end| end < probe::secs(one.at)),
        "{submit:?}"
    );
    let three = messages
        .iter()
        .find(|c| c.prompt() == Some("three"))
        .unwrap();
    assert_eq!(three.account.as_deref(), Some("b"));
    // Each Messages request is preceded by a link-following stat of the
    // credentials (within 0.5 s): the reload check.
    let checks: Vec<f64> = creds
        .iter()
        .filter(|s| s.text.starts_with("statx(") && !s.text.contains("AT_SYMLINK_NOFOLLOW"))
        .map(|s| s.t)
        .collect();
    for c in &messages {
        let at = probe::secs(c.at);
        assert!(
            checks.iter().any(|t| *t <= at && at - t < 0.5),
            "no credentials stat right before {:?}",
            c.prompt()
        );
    }
    let submitted = |prompt: &str| {
        rec.of("UserPromptSubmit")
            .into_iter()
            .find(|e| e.payload["prompt"] == prompt)
            .unwrap()
    };
    // A queued prompt's UserPromptSubmit carries the running turn's prompt_id.
    assert_eq!(
        submitted("held").payload["prompt_id"],
        submitted("queued").payload["prompt_id"]
    );
    // The 429 moves rate_limits, not the request counter.
    let status = rec.of("statusline");
    let last = &status[status.len() - 1].payload;
    let before = &status[status.len() - 2].payload;
    assert_eq!(last["rate_limits"]["five_hour"]["used_percentage"], 100);
    assert_eq!(
        last["prompt_cache"]["requests"],
        before["prompt_cache"]["requests"]
    );
    // StopFailure names the failing (not queued) turn's prompt.
    assert_eq!(
        rec.of("StopFailure")[0].payload["prompt_id"],
        submitted("four").payload["prompt_id"]
    );
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

/// Starts `claude ARGS` on the active link (as [`Rig::claude`] does) with
/// `extra` in its environment, under strace into `strace` when given.
fn spawn_claude(
    rig: &Rig,
    extra: &[(String, String)],
    strace: Option<&Path>,
    args: &[&str],
) -> std::process::Child {
    let mut argv: Vec<String> = vec![rig.bin.display().to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    if let Some(log) = strace {
        argv = probe::straced(log, FILE_CALLS, &argv);
    }
    std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(&rig.work)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(rig.env(&rig.sb.active()))
        .envs(extra.iter().cloned())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` (at most [`claude::TURN_LIMIT`]) and returns its run.
fn finish(child: std::process::Child) -> common::Run {
    let start = std::time::Instant::now();
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > claude::TURN_LIMIT {
            let _ = child.kill();
            panic!("claude still running after {:?}", claude::TURN_LIMIT);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    common::Run::from(child.wait_with_output().unwrap())
}

/// Gives `account` an expired access token (refresh token `refresh-ACCOUNT`),
/// its file's mtime kept where the rig put it.
fn expire(rig: &Rig, account: &str) {
    let path = rig.sb.home(account).join(".credentials.json");
    let before = probe::mtime(&path);
    let creds = serde_json::json!({"claudeAiOauth": {
        "accessToken": format!("token-{account}"), "refreshToken": format!("refresh-{account}"),
        "expiresAt": 1000,
        "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
        "subscriptionType": "max"}});
    std::fs::write(&path, creds.to_string()).unwrap();
    probe::set_mtime(&path, before);
}

/// The `claudeAiOauth` object of `account`'s credentials.
fn oauth(rig: &Rig, account: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(rig.sb.home(account).join(".credentials.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["claudeAiOauth"].clone()
}

/// The entries of a home that the refresh lock protocol leaves.
fn lock_entries(rig: &Rig, account: &str) -> Vec<String> {
    let mut v: Vec<String> = claude::files::entries(&rig.sb.home(account))
        .into_iter()
        .filter(|e| e.contains("lock"))
        .collect();
    let legacy = rig.sb.root().join(format!("home-{account}.lock"));
    if legacy.exists() {
        v.push(format!("../{}", probe::file_name(&legacy)));
    }
    v
}

/// An expired access token is refreshed offline: the request Claude Code
/// sends to the TLS stand-in, what it writes back, and the lock files'
/// lifecycle (strace).
#[test]
#[ignore = "needs root, strace and Claude Code (bash tests/claude/install.sh)"]
fn probe_oauth_refresh_offline() {
    if !claude::isolated_with_names(
        "probe_oauth_refresh_offline",
        &["strace"],
        &claude::tls::OAUTH_HOSTS,
    ) {
        return;
    }
    let out = probe::out_dir("oauth_refresh_offline");
    let rig = Rig::new(Sandbox::ready());
    let oauth_api = claude::tls::TokenEndpoint::start(&rig.sb.root().join("pki"));
    expire(&rig, "a");
    let log = rig.sb.root().join("strace.log");
    let r = finish(spawn_claude(
        &rig,
        &oauth_api.env(),
        Some(&log),
        &["-p", "after a refresh"],
    ));
    assert_eq!(r.code, 0, "{r:?}");
    let tokens = oauth_api.token_calls();
    assert_eq!(tokens.len(), 1, "{:#?}", oauth_api.calls());
    let t = &tokens[0];
    claude::hooks::report(&format!(
        "token request: {} {} host={:?} body={}",
        t.method, t.path, t.host, t.body
    ));
    assert_eq!(t.body["grant_type"], "refresh_token");
    assert_eq!(t.body["refresh_token"], "refresh-a");
    let call = rig.api.call_for("after a refresh");
    assert_eq!(call.token.as_deref(), Some("token-a-r1"), "{call:#?}");
    let written = oauth(&rig, "a");
    assert_eq!(written["refreshToken"], "refresh-a-r1");
    assert!(
        lock_entries(&rig, "a").is_empty(),
        "{:?}",
        lock_entries(&rig, "a")
    );
    let mut lines: Vec<probe::Line> = Vec::new();
    for needle in [
        "oauth_refresh",
        "home-a.lock",
        "storage-write",
        ".credentials.json",
    ] {
        lines.extend(probe::sys_lines(&probe::strace_lines(&log, needle)));
    }
    lines.dedup_by(|x, y| x.1 == y.1);
    for c in oauth_api.calls() {
        lines.push((
            probe::secs(c.at),
            format!(
                "OAUTH {} {} host={:?} auth={:?} body={}",
                c.method, c.path, c.host, c.authorization, c.body
            ),
        ));
        if let (Some(at), Some(a)) = (c.answered_at, &c.answer) {
            lines.push((probe::secs(at), format!("OAUTH-ANSWER {a}")));
        }
    }
    lines.extend(probe::call_lines(&rig.api.calls()));
    save(&out, "timeline.txt", &probe::timeline(lines));
    save(&out, "credentials-a.json", &written.to_string());
    let _ = std::fs::copy(&log, out.join("strace.log"));
}

/// A refresh held open at the token endpoint while the active link flips
/// to `b`: what is written where, and what the lock files become.
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh)"]
fn probe_oauth_refresh_flip_while_held() {
    if !claude::isolated_with_names(
        "probe_oauth_refresh_flip_while_held",
        &[],
        &claude::tls::OAUTH_HOSTS,
    ) {
        return;
    }
    let out = probe::out_dir("oauth_refresh_flip_while_held");
    let rig = Rig::new(Sandbox::ready());
    let oauth_api = claude::tls::TokenEndpoint::start(&rig.sb.root().join("pki"));
    expire(&rig, "a");
    oauth_api.hold();
    let child = spawn_claude(
        &rig,
        &oauth_api.env(),
        None,
        &["-p", "flip while refreshing"],
    );
    wait_for("the token request", Duration::from_secs(30), || {
        !oauth_api.token_calls().is_empty()
    });
    let during = lock_entries(&rig, "a");
    let owner = std::fs::read_to_string(rig.sb.home("a").join(".oauth_refresh.lock.owner"))
        .unwrap_or_default();
    let flipped = probe::flip(&rig.sb.active(), &rig.sb.home("b"));
    std::thread::sleep(Duration::from_millis(500));
    oauth_api.release();
    let r = finish(child);
    let after_a = lock_entries(&rig, "a");
    let after_b = lock_entries(&rig, "b");
    let report = format!(
        "held: a's lock entries {during:?}\nowner record: {owner}\nflipped at {flipped:.3}\nclaude exit {}\nafter: a's lock entries {after_a:?}, b's {after_b:?}\na's credentials: {}\nb's credentials: {}\ntoken answers: {:?}\nMessages requests: {:?}\n",
        r.code,
        oauth(&rig, "a"),
        oauth(&rig, "b"),
        oauth_api.token_calls().iter().map(|c| c.answer.clone()).collect::<Vec<_>>(),
        rig.api.messages_calls().iter().map(|c| c.token.clone()).collect::<Vec<_>>(),
    );
    save(&out, "report.txt", &report);
    assert!(
        during.contains(&".oauth_refresh.lock".to_string()),
        "{during:?}"
    );
    assert!(
        during.contains(&".oauth_refresh.lock.owner".to_string()),
        "{during:?}"
    );
    assert!(during.contains(&"../home-a.lock".to_string()), "{during:?}");
    assert_eq!(r.code, 0, "{r:?}");
    // The refresh of a was answered (its refresh token spent) but nothing
    // was written: a still holds the spent token, b is untouched.
    assert_eq!(oauth(&rig, "a")["refreshToken"], "refresh-a");
    assert_eq!(oauth(&rig, "b")["refreshToken"], "refresh-b");
    // The lock and its owner record stay behind in a; the legacy lock went.
    assert!(
        after_a.contains(&".oauth_refresh.lock".to_string()),
        "{after_a:?}"
    );
    assert!(
        !after_a.contains(&"../home-a.lock".to_string()),
        "{after_a:?}"
    );
}

/// The protocol a swap can follow: hold the outgoing home's refresh lock
/// (`mkdir home-a/.oauth_refresh.lock`) while the link flips. A Claude Code
/// that needs a refresh meanwhile waits (ELOCKED, retried every 1-2 s), and
/// after the flip it finds b's credentials instead of refreshing a.
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh)"]
fn probe_oauth_refresh_waits_for_a_held_lock() {
    if !claude::isolated_with_names(
        "probe_oauth_refresh_waits_for_a_held_lock",
        &["strace"],
        &claude::tls::OAUTH_HOSTS,
    ) {
        return;
    }
    let out = probe::out_dir("oauth_refresh_waits_for_a_held_lock");
    let rig = Rig::new(Sandbox::ready());
    let oauth_api = claude::tls::TokenEndpoint::start(&rig.sb.root().join("pki"));
    expire(&rig, "a");
    let lock = rig.sb.home("a").join(".oauth_refresh.lock");
    std::fs::create_dir(&lock).unwrap();
    let taken = probe::now();
    let log = rig.sb.root().join("strace.log");
    let child = spawn_claude(
        &rig,
        &oauth_api.env(),
        Some(&log),
        &["-p", "while the lock is held"],
    );
    // Let it meet the held lock a few times, then flip and let go.
    std::thread::sleep(Duration::from_secs(4));
    let flipped = probe::flip(&rig.sb.active(), &rig.sb.home("b"));
    std::fs::remove_dir(&lock).unwrap();
    let released = probe::now();
    let r = finish(child);
    assert_eq!(r.code, 0, "{r:?}");
    let mkdirs: Vec<probe::Sys> = probe::strace_lines(&log, "mkdir(")
        .into_iter()
        .filter(|s| s.text.contains("oauth_refresh") || s.text.contains(".lock\""))
        .collect();
    let mut lines = probe::sys_lines(&mkdirs);
    lines.push((
        taken,
        "MARK the test took home-a/.oauth_refresh.lock".into(),
    ));
    lines.push((flipped, "MARK flipped to b".into()));
    lines.push((released, "MARK the test released the lock".into()));
    lines.extend(probe::call_lines(&rig.api.calls()));
    save(&out, "timeline.txt", &probe::timeline(lines));
    let call = rig.api.call_for("while the lock is held");
    claude::hooks::report(&format!(
        "refresh lock held by the test: {} token requests; the request carried {:?}",
        oauth_api.token_calls().len(),
        call.token
    ));
    assert!(
        oauth_api.token_calls().is_empty(),
        "{:#?}",
        oauth_api.calls()
    );
    assert_eq!(call.token.as_deref(), Some("token-b"));
    assert_eq!(oauth(&rig, "a")["refreshToken"], "refresh-a");
}

/// What the binary trusts for the token endpoint: `NODE_EXTRA_CA_CERTS`,
/// `SSL_CERT_FILE`, the system bundle (the test CA appended to a copy
/// bind-mounted over `/etc/ssl/certs/ca-certificates.crt`, in the test's
/// private mount namespace), or nothing.
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh)"]
fn probe_oauth_trust_settings() {
    if !claude::isolated_with_names("probe_oauth_trust_settings", &[], &claude::tls::OAUTH_HOSTS) {
        return;
    }
    let out = probe::out_dir("oauth_trust_settings");
    let rig = Rig::new(Sandbox::ready());
    let oauth_api = claude::tls::TokenEndpoint::start(&rig.sb.root().join("pki"));
    let ca = oauth_api.ca_file().display().to_string();
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    let mut report = String::new();
    let mut refreshed = Vec::new();
    for (what, env) in [
        ("none", vec![]),
        (
            "NODE_EXTRA_CA_CERTS",
            vec![("NODE_EXTRA_CA_CERTS".to_string(), ca.clone())],
        ),
        (
            "SSL_CERT_FILE",
            vec![("SSL_CERT_FILE".to_string(), ca.clone())],
        ),
        ("system bundle", vec![]),
    ] {
        if what == "system bundle" {
            let copy = rig.sb.root().join("ca-certificates.crt");
            let mut text = std::fs::read_to_string(system).unwrap_or_default();
            text.push_str(&std::fs::read_to_string(oauth_api.ca_file()).unwrap());
            std::fs::write(&copy, text).unwrap();
            let st = std::process::Command::new("mount")
                .arg("--bind")
                .arg(&copy)
                .arg(system)
                .status()
                .unwrap();
            assert!(st.success(), "mount --bind over {}", system.display());
        }
        expire(&rig, "a");
        let before = oauth_api
            .token_calls()
            .iter()
            .filter(|c| c.answer.is_some())
            .count();
        let prompt = format!("trust {what}");
        let r = finish(spawn_claude(&rig, &env, None, &["-p", &prompt]));
        let answered = oauth_api
            .token_calls()
            .iter()
            .filter(|c| c.answer.is_some())
            .count()
            > before;
        let token = rig.api.call_for(&prompt).token.unwrap_or_default();
        report.push_str(&format!(
            "{what:<20} exit {} token answered: {answered:<5} the request carried {token}\n",
            r.code
        ));
        refreshed.push(answered);
    }
    save(&out, "report.txt", &report);
    claude::hooks::report(&format!("trust settings: {report:?}"));
    assert_eq!(refreshed, [false, true, true, true], "{report}");
}

/// A hook or status-line command that first copies the session's
/// transcripts (the shared `projects/`) to `rec/snap.<ns>.<kind>/`, so a
/// probe sees what the transcript held when Claude Code started it.
fn snapshotting(rig: &Rig, rec: &Recorder, kind: &str) -> String {
    let dir = rig.sb.root().join("rec");
    format!(
        "d='{}'/snap.$(date +%s.%N).{kind}; cp -r '{}' \"$d\"; {}",
        dir.display(),
        rig.sb.shared().join("projects").display(),
        rec.command(kind, 0.0)
    )
}

/// The `api-request` entries and the API error entries of one transcript
/// file (or snapshot), as (type, timestamp, id, querySource, promptId).
fn request_entries(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "api-request" || v["isApiErrorMessage"] == true)
        .collect()
}

/// The transcripts of a snapshot directory.
fn snapshot_transcripts(dir: &Path) -> Vec<std::path::PathBuf> {
    claude::files_named(dir, |p| p.extension().is_some_and(|e| e == "jsonl"))
}

/// Issue 21's signals for "which account served": what the transcript
/// holds when each status update and each `StopFailure` runs, which
/// requests get an `api-request` entry and with which fields, how
/// `prompt_cache.requests` counts them, whether status updates come while
/// an answer streams, and how far an `api-request` timestamp is from the
/// request's arrival. Interactive, with a flip while an answer is held.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh)"]
fn probe_served_signals() {
    if !claude::isolated_interactive("probe_served_signals") {
        return;
    }
    let out = probe::out_dir("served_signals");
    let rig = Rig::new(Sandbox::ready());
    rig.api.set_usage("a", 0.42, 0.13);
    rig.api.set_usage("b", 0.17, 0.05);
    let rec = Recorder::new(&rig.sb.root().join("rec"));
    let mut settings = rec.settings(
        &[
            ("UserPromptSubmit", 0.0),
            ("PostToolUse", 0.0),
            ("Stop", 0.0),
            ("StopFailure", 0.0),
        ],
        true,
    );
    settings["statusLine"]["command"] = snapshotting(&rig, &rec, "statusline").into();
    settings["hooks"]["StopFailure"][0]["hooks"][0]["command"] =
        snapshotting(&rig, &rec, "StopFailure").into();
    let straced = std::env::var_os("PROBE_STRACE").is_some();
    let log = rig.sb.root().join("strace.log");
    let tmux = if straced {
        straced_session(&rig, &settings, &log)
    } else {
        for account in ["a", "b"] {
            std::fs::write(
                rig.sb.home(account).join("settings.json"),
                settings.to_string(),
            )
            .unwrap();
        }
        rig.interactive()
    };
    let socket = if straced {
        rig.sb.root().join("probe.sock")
    } else {
        rig.sb.root().join("tmux.sock")
    };
    let mut marks: Vec<probe::Line> = Vec::new();
    let status_count = || rec.of("statusline").len();

    turn_until(&tmux, "one", "ANSWER[one]");
    let file = rig.work.join("probe.txt");
    turn_until(
        &tmux,
        &format!("write {} hello", file.display()),
        "ANSWER[done]",
    );
    wait_for("Stop after the tool turn", SCREEN_LIMIT, || {
        rec.of("Stop").len() >= 2
    });
    std::thread::sleep(Duration::from_secs(1));

    // A long answer on a, held mid-stream; keystrokes while it streams; a
    // flip to b; the answer completes after the flip.
    rig.api.hold("long");
    marks.push((probe::now(), "MARK type 'long' (held)".into()));
    tmux.type_line("long");
    wait_for("the long request", SCREEN_LIMIT, || {
        rig.api
            .messages_calls()
            .iter()
            .any(|c| c.prompt() == Some("long"))
    });
    let before_keys = status_count();
    std::thread::sleep(Duration::from_millis(700));
    // Type without Enter: keystrokes only.
    let _ = std::process::Command::new("tmux")
        .arg("-S")
        .arg(&socket)
        .args(["send-keys", "-t", "e2e", "-l", "abc"])
        .output();
    marks.push((probe::now(), "MARK typed 'abc' while 'long' streams".into()));
    std::thread::sleep(Duration::from_millis(1500));
    let after_keys = status_count();
    let flipped = probe::flip(&rig.sb.active(), &rig.sb.home("b"));
    marks.push((flipped, "MARK flipped to b while 'long' streams".into()));
    std::thread::sleep(Duration::from_millis(1000));
    marks.push((probe::now(), "MARK release 'long'".into()));
    rig.api.release("long");
    tmux.wait_for("the long answer", SCREEN_LIMIT, |s| {
        s.contains("ANSWER[long]")
    });
    wait_for("Stop after long", SCREEN_LIMIT, || {
        rec.of("Stop").len() >= 3
    });
    std::thread::sleep(Duration::from_secs(1));
    // Clear the typed 'abc' (Ctrl-U), then a prompt on b.
    probe::press(&socket, &["C-u"]);
    std::thread::sleep(Duration::from_millis(300));
    turn_until(&tmux, "three", "ANSWER[three]");
    wait_for("Stop after three", SCREEN_LIMIT, || {
        rec.of("Stop").len() >= 4
    });
    std::thread::sleep(Duration::from_secs(1));

    rig.api.limit("b", probe::now() as u64 + 7200);
    marks.push((probe::now(), "MARK type 'four' (b limited)".into()));
    tmux.type_line("four");
    wait_for("StopFailure", SCREEN_LIMIT, || {
        !rec.of("StopFailure").is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    tmux.type_line("/exit");
    tmux.wait_exit(SCREEN_LIMIT);

    let calls = rig.api.calls();
    let tr = transcript(&rig);
    let mut lines = probe::call_lines(&calls);
    lines.extend(probe::event_lines(&rec.events()));
    lines.extend(probe::transcript_lines(&tr));
    if straced {
        lines.extend(probe::sys_lines(&probe::strace_lines(
            &log,
            ".credentials.json",
        )));
        let _ = std::fs::copy(&log, out.join("strace.log"));
    }
    lines.extend(marks);
    save(&out, "timeline.txt", &probe::timeline(lines));
    save(
        &out,
        "transcript.jsonl",
        &std::fs::read_to_string(&tr).unwrap(),
    );
    let full: Vec<String> = rec
        .events()
        .iter()
        .map(|e| {
            serde_json::json!({"kind": e.kind, "start": e.start, "end": e.end, "payload": e.payload})
                .to_string()
        })
        .collect();
    save(&out, "events.jsonl", &full.join("\n"));

    // The api-request entries, and each request's arrival at the stand-in.
    let entries = request_entries(&tr);
    let mut report = String::new();
    for e in &entries {
        report.push_str(&format!("ENTRY {}\n", e));
    }
    for c in calls.iter().filter(|c| c.is_messages()) {
        report.push_str(&format!(
            "CALL {:.3} {:?} {:?} status {}\n",
            probe::secs(c.at),
            c.prompt(),
            c.account,
            c.status
        ));
    }
    // What each snapshot (status update, StopFailure) held.
    let mut snaps: Vec<_> = std::fs::read_dir(rig.sb.root().join("rec"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| probe::file_name(p).starts_with("snap."))
        .collect();
    snaps.sort();
    for s in &snaps {
        let held: Vec<String> = snapshot_transcripts(s)
            .iter()
            .flat_map(|t| request_entries(t))
            .map(|v| {
                format!(
                    "{}@{}",
                    v["type"].as_str().unwrap_or("error"),
                    v["timestamp"].as_str().unwrap_or("?")
                )
            })
            .collect();
        report.push_str(&format!("SNAP {} holds {:?}\n", probe::file_name(s), held));
    }
    for e in rec.of("statusline") {
        report.push_str(&format!(
            "STATUS {:.3} requests {} api_ms {} 5h {}\n",
            e.start,
            e.payload["prompt_cache"]["requests"],
            e.payload["cost"]["total_api_duration_ms"],
            e.payload["rate_limits"]["five_hour"]["used_percentage"]
        ));
    }
    report.push_str(&format!(
        "status updates while 'long' streamed: {} before the keys, {} after\n",
        before_keys, after_keys
    ));
    save(&out, "report.txt", &report);
    claude::hooks::report(&format!("served signals:\n{report}"));
}

/// `claude -p`: what the transcript holds when `StopFailure` starts (is the
/// failing request's `api-request` entry, or its error entry, written
/// yet?), and how far each `api-request` timestamp is from the request's
/// arrival at the stand-in, over several runs.
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh)"]
fn probe_served_print_mode() {
    if !claude::isolated("probe_served_print_mode") {
        return;
    }
    let out = probe::out_dir("served_print_mode");
    let rig = Rig::new(Sandbox::ready());
    let rec = Recorder::new(&rig.sb.root().join("rec"));
    let mut settings = rec.settings(&[("UserPromptSubmit", 0.0), ("StopFailure", 0.0)], false);
    settings["hooks"]["StopFailure"][0]["hooks"][0]["command"] =
        format!("trap '' TERM; {}", snapshotting(&rig, &rec, "StopFailure")).into();
    for account in ["a", "b"] {
        std::fs::write(
            rig.sb.home(account).join("settings.json"),
            settings.to_string(),
        )
        .unwrap();
    }
    let mut report = String::new();
    for i in 0..5 {
        let r = rig.claude(&["-p", &format!("ok {i}")]);
        assert_eq!(r.code, 0, "{r:?}");
    }
    rig.api.limit("a", probe::now() as u64 + 7200);
    for i in 0..5 {
        let before = rec.of("StopFailure").len();
        let r = rig.claude(&["-p", &format!("limited {i}")]);
        assert_eq!(r.code, 1, "{r:?}");
        wait_for("StopFailure", Duration::from_secs(10), || {
            rec.of("StopFailure").len() > before
        });
    }
    std::thread::sleep(Duration::from_secs(2));
    let calls = rig.api.calls();
    for c in calls.iter() {
        report.push_str(&format!(
            "CALL {:.3} {} {} {:?} status {} session {:?}\n",
            probe::secs(c.at),
            c.method,
            c.path,
            c.prompt(),
            c.status,
            c.session
        ));
    }
    for t in rig.transcripts() {
        for e in request_entries(&t) {
            let ts = e["timestamp"]
                .as_str()
                .and_then(|s| humantime::parse_rfc3339(s).ok())
                .map(probe::secs)
                .unwrap_or_default();
            report.push_str(&format!(
                "ENTRY {} ts {:.3} {}\n",
                probe::file_name(&t),
                ts,
                e
            ));
        }
    }
    let mut snaps: Vec<_> = std::fs::read_dir(rig.sb.root().join("rec"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| probe::file_name(p).starts_with("snap."))
        .collect();
    snaps.sort();
    for s in &snaps {
        for t in snapshot_transcripts(s) {
            let held: Vec<String> = request_entries(&t)
                .iter()
                .map(|v| {
                    format!(
                        "{}@{}",
                        v["type"].as_str().unwrap_or("error"),
                        v["timestamp"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            let lines = std::fs::read_to_string(&t)
                .unwrap_or_default()
                .lines()
                .count();
            report.push_str(&format!(
                "SNAP {} {} ({lines} lines) holds {:?}\n",
                probe::file_name(s),
                probe::file_name(&t),
                held
            ));
        }
    }
    for e in rec.of("StopFailure") {
        report.push_str(&format!("STOPFAILURE {:.3} {}\n", e.start, e.payload));
    }
    save(&out, "report.txt", &report);
    claude::hooks::report(&format!("served print mode:\n{report}"));
}

/// What an `api-request` entry's timestamp is: the time the request was
/// sent, or when its answer began? A request whose answer is held back
/// (the stand-in's gate: nothing is answered until a second session's
/// request arrives 2 s later) shows it; under strace, how far it is from
/// the link-following `statx` of the credentials before the request.
#[test]
#[ignore = "needs root, strace and Claude Code (bash tests/claude/install.sh)"]
fn probe_api_request_timestamp() {
    if !claude::isolated("probe_api_request_timestamp") {
        return;
    }
    let out = probe::out_dir("api_request_timestamp");
    let rig = Rig::new(Sandbox::ready());
    let mut report = String::new();
    rig.api.gate("gated ", 2);
    let log = rig.sb.root().join("strace.log");
    let first = spawn_claude(&rig, &[], Some(&log), &["-p", "gated 1"]);
    std::thread::sleep(Duration::from_secs(2));
    let second = spawn_claude(&rig, &[], None, &["-p", "gated 2"]);
    let released = probe::now();
    let (r1, r2) = (finish(first), finish(second));
    assert_eq!((r1.code, r2.code), (0, 0), "{r1:?} {r2:?}");
    report.push_str(&format!("gate released about {released:.3}\n"));
    for i in 0..6 {
        let r = finish(spawn_claude(
            &rig,
            &[],
            Some(&log),
            &["-p", &format!("plain {i}")],
        ));
        assert_eq!(r.code, 0, "{r:?}");
    }
    let stats: Vec<f64> = probe::strace_lines(&log, ".credentials.json")
        .iter()
        .filter(|s| s.text.starts_with("statx(") && !s.text.contains("AT_SYMLINK_NOFOLLOW"))
        .map(|s| s.t)
        .collect();
    for c in rig.api.messages_calls() {
        let at = probe::secs(c.at);
        let session = c.session.clone().unwrap_or_default();
        let ts: Vec<f64> = rig
            .transcripts()
            .iter()
            .filter(|t| Rig::session_of(t) == session)
            .flat_map(|t| request_entries(t))
            .filter(|v| v["type"] == "api-request")
            .filter_map(|v| {
                v["timestamp"]
                    .as_str()
                    .and_then(|s| humantime::parse_rfc3339(s).ok())
            })
            .map(probe::secs)
            .collect();
        let stat = stats.iter().rfind(|t| **t <= at).copied();
        report.push_str(&format!(
            "{:?}: arrived {at:.3}, api-request {:?}, ts - arrival {:?} ms, last statx before arrival {:?} ms before it\n",
            c.prompt(),
            ts,
            ts.first().map(|t| ((t - at) * 1000.0).round()),
            stat.map(|s| ((at - s) * 1000.0).round())
        ));
    }
    let _ = std::fs::copy(&log, out.join("strace.log"));
    save(&out, "report.txt", &report);
    claude::hooks::report(&format!("api-request timestamps:\n{report}"));
}

/// Whether a session's first request waits for its `SessionStart` hook
/// (the served-account model takes the hook's time as a lower bound of
/// every request's): the hook sleeps 1.5 s, in `-p` and interactive.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh)"]
fn probe_session_start_is_awaited() {
    if !claude::isolated_interactive("probe_session_start_is_awaited") {
        return;
    }
    let rig = Rig::new(Sandbox::ready());
    let rec = Recorder::new(&rig.sb.root().join("rec"));
    let settings = rec.settings(&[("SessionStart", 1.5)], false);
    for account in ["a", "b"] {
        std::fs::write(
            rig.sb.home(account).join("settings.json"),
            settings.to_string(),
        )
        .unwrap();
    }
    let r = rig.claude(&["-p", "first"]);
    assert_eq!(r.code, 0, "{r:?}");
    let tmux = rig.interactive();
    turn_until(&tmux, "second", "ANSWER[second]");
    tmux.type_line("/exit");
    tmux.wait_exit(SCREEN_LIMIT);
    let starts = rec.of("SessionStart");
    let mut report = String::new();
    for (prompt, start) in ["first", "second"].iter().zip(&starts) {
        let at = probe::secs(rig.api.call_for(prompt).at);
        report.push_str(&format!(
            "{prompt}: SessionStart {:.3} .. {:?}, first request {at:.3}\n",
            start.start, start.end
        ));
        assert!(start.end.is_some_and(|e| e < at), "{report}");
    }
    claude::hooks::report(&format!("SessionStart before the first request:\n{report}"));
}
