//! The real Claude Code and the whole home (issue 15's proofs): prompt
//! history and settings shared through file links across a swap, `homeswap
//! init` on a home Claude Code itself filled, and the entries Claude Code
//! creates that no list names (drift).
//!
//! Same rig as `tests/claude_e2e.rs`: the pinned client against the
//! stand-in Messages API, each test in a private network namespace,
//! `#[ignore]`d in a plain `cargo test`. Run as root with
//! `cargo test --features failpoints --test claude_files -- --ignored`.

mod claude;
mod common;

use std::collections::BTreeSet;
use std::path::Path;

use claude::files::{
    default_private, entries, example_lists, history_prompts, homeswap, share_files, Session,
    SCREEN_LIMIT,
};
use claude::Rig;
use common::Sandbox;

/// Writes an observation about Claude Code to the test's stderr directly
/// (the harness shows these lines in every run's log).
fn observed(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "claude_e2e: observed: {text}");
}

/// A ready sandbox (active `a`) whose configuration also shares
/// `history.jsonl` and `settings.json`, as examples/claude-code.yaml does.
fn rig_sharing_files() -> Rig {
    let sb = Sandbox::new();
    share_files(&sb);
    sb.ok(&["ensure"]);
    sb.ok(&["swap", "a"]);
    Rig::new(sb)
}

/// Asserts that each home's `name` is still the link to the shared
/// file, and that the shared file is one regular file.
fn assert_file_linked(rig: &Rig, name: &str) {
    let target = rig.sb.shared().join(name);
    for account in ["a", "b"] {
        let link = rig.sb.link(account, name);
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "account {account}: {name} is no longer a link: {meta:?}"
        );
        assert_eq!(std::fs::read_link(&link).unwrap(), target, "{link:?}");
    }
    let meta = std::fs::symlink_metadata(&target).unwrap();
    assert!(meta.file_type().is_file(), "{target:?}: {meta:?}");
    let real = claude::files_named(rig.sb.root(), |p| p.file_name() == Some(name.as_ref()));
    assert_eq!(real, [target], "one real {name} in the whole sandbox");
}

/// The text in the prompt box of an interactive screen (the line that
/// starts with `❯`; Claude Code puts a no-break space after the glyph).
fn input(screen: &str) -> String {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix('❯'))
        .next_back()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Proof 1: an interactive session on `a`, `homeswap swap b`, a new
/// interactive session on `b`: the prompt history is one file in the
/// shared dir holding the prompts of both, each home's entry is still
/// the link, and `b`'s up-arrow recalls the prompt typed on `a`.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn prompt_history_is_one_shared_file_across_a_swap() {
    if !claude::isolated_interactive("prompt_history_is_one_shared_file_across_a_swap") {
        return;
    }
    let rig = rig_sharing_files();
    let on_a = Session::start(&rig, &rig.sb.active(), "on-a");
    on_a.turn("history on a");
    assert_eq!(
        rig.api.call_for("history on a").account.as_deref(),
        Some("a")
    );
    on_a.exit();

    rig.sb.ok(&["swap", "b"]);
    let on_b = Session::start(&rig, &rig.sb.active(), "on-b");
    // A new process on b: up-arrow can only find a's prompts in the file
    // (newest first: the `/exit` that ended a's session, then the prompt).
    claude::files::press(&on_b, &["Up"]);
    on_b.tmux
        .wait_for("a's /exit recalled on b", SCREEN_LIMIT, |s| {
            input(s) == "/exit"
        });
    claude::files::press(&on_b, &["Up"]);
    on_b.tmux
        .wait_for("a's prompt recalled on b", SCREEN_LIMIT, |s| {
            input(s) == "history on a"
        });
    // Sent as recalled, with more typed after it.
    on_b.tmux.type_line(", recalled on b");
    on_b.tmux.wait_for("the answer on b", SCREEN_LIMIT, |s| {
        s.contains("ANSWER[history on a, recalled on b]")
    });
    let call = rig.api.call_for("history on a, recalled on b");
    assert_eq!(call.account.as_deref(), Some("b"));
    assert_eq!(
        call.prompts,
        ["history on a, recalled on b"],
        "a new conversation"
    );
    on_b.exit();

    let shared = rig.sb.shared().join("history.jsonl");
    let typed = |p: &str| !p.starts_with('/');
    common::wait_for("both prompts in the shared history", SCREEN_LIMIT, || {
        history_prompts(&shared).iter().filter(|p| typed(p)).count() >= 2
    });
    let prompts: Vec<String> = history_prompts(&shared)
        .into_iter()
        .filter(|p| typed(p))
        .collect();
    assert_eq!(
        prompts,
        ["history on a", "history on a, recalled on b"],
        "the shared history.jsonl holds both accounts' prompts, in order, once"
    );
    assert_file_linked(&rig, "history.jsonl");
    rig.sb.ok(&["validate"]);
}

/// The `settings.json` a hook sets: each run appends the hook's event and
/// the home the active link names (`readlink $CLAUDE_CONFIG_DIR`) to `log`.
fn hooks(log: &Path) -> serde_json::Value {
    let hook = |event: &str| {
        serde_json::json!([{"hooks": [{"type": "command", "command": format!(
            "printf '{event} %s\\n' \"$(readlink \"$CLAUDE_CONFIG_DIR\")\" >> '{}'",
            log.display()
        )}]}])
    };
    serde_json::json!({"hooks": {
        "SessionStart": hook("SessionStart"),
        "UserPromptSubmit": hook("UserPromptSubmit"),
    }})
}

/// The lines of the hook log.
fn hook_lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Proof 2: `settings.json` shared through a link is Claude Code's
/// settings on both accounts (a hook set in it fires on `a` and, after a
/// swap, on `b`), and a change Claude Code writes itself (`/model haiku`,
/// saved as the default for new sessions) goes into the shared file and
/// keeps every home's link: the next session on `a` uses the model chosen
/// on `b`.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn shared_settings_hook_fires_on_both_and_client_writes_keep_the_link() {
    if !claude::isolated_interactive(
        "shared_settings_hook_fires_on_both_and_client_writes_keep_the_link",
    ) {
        return;
    }
    let rig = rig_sharing_files();
    let log = rig.sb.root().join("hooks.log");
    let shared = rig.sb.shared().join("settings.json");
    std::fs::write(&shared, hooks(&log).to_string()).unwrap();
    let (home_a, home_b) = (rig.sb.home("a"), rig.sb.home("b"));
    let line = |event: &str, home: &Path| format!("{event} {}", home.display());

    rig.claude_ok(&["-p", "hooked on a"]);
    assert_eq!(
        rig.api.call_for("hooked on a").account.as_deref(),
        Some("a")
    );
    rig.sb.ok(&["swap", "b"]);
    rig.claude_ok(&["-p", "hooked on b"]);
    assert_eq!(
        rig.api.call_for("hooked on b").account.as_deref(),
        Some("b")
    );
    assert_eq!(
        hook_lines(&log),
        [
            line("SessionStart", &home_a),
            line("UserPromptSubmit", &home_a),
            line("SessionStart", &home_b),
            line("UserPromptSubmit", &home_b),
        ],
        "the hooks of the one shared settings.json fire on both accounts"
    );

    // Claude Code writes its settings itself: /model saves the choice as
    // the default for new sessions, in the user settings.json.
    let before = std::fs::read_to_string(&shared).unwrap();
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let inode_before = inode(&shared);
    let session = Session::start(&rig, &rig.sb.active(), "model");
    session.tmux.type_line("/model haiku");
    session.tmux.wait_for("the model saved", SCREEN_LIMIT, |s| {
        s.contains("saved as your default")
    });
    session.exit();
    let after = std::fs::read_to_string(&shared).unwrap();
    assert_ne!(before, after, "Claude Code wrote the shared settings.json");
    let settings: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(settings["model"], "haiku", "{after}");
    assert_eq!(
        settings["hooks"],
        hooks(&log)["hooks"],
        "Claude Code kept the hooks it did not change: {after}"
    );
    assert_file_linked(&rig, "settings.json");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o777;
        let how = if inode(&shared) == inode_before {
            "rewritten in place"
        } else {
            "replaced by a rename (a new inode)"
        };
        observed(&format!(
            "settings.json after Claude Code's /model write through the link: the shared file {how}, mode {mode:o}, still a link in both homes"
        ));
    }
    rig.sb.ok(&["validate"]);

    // The change made on b rules a's next session too.
    rig.sb.ok(&["swap", "a"]);
    rig.claude_ok(&["-p", "after the model change"]);
    let call = rig.api.call_for("after the model change");
    assert_eq!(call.account.as_deref(), Some("a"));
    let model = call.model.unwrap_or_default();
    assert!(
        model.contains("haiku"),
        "a's session uses the model chosen on b: {model}"
    );
    assert_eq!(
        hook_lines(&log).last().map(String::as_str),
        Some(line("UserPromptSubmit", &home_a).as_str())
    );
    assert_file_linked(&rig, "settings.json");
    rig.sb.ok(&["validate"]);
}

/// Proof 3: `homeswap init --from DIR` on a home Claude Code itself
/// filled (an interactive prompt, a `-p` turn that edits a file, then a
/// two-turn conversation in `-p` mode), then `claude --continue` with
/// `CLAUDE_CONFIG_DIR=DIR` (now the active link) continues the
/// conversation from before init.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn init_on_a_home_claude_code_filled_then_continue() {
    if !claude::isolated_interactive("init_on_a_home_claude_code_filled_then_continue") {
        return;
    }
    let rig = Rig::new(Sandbox::new());
    let dir = rig.sb.root().join("claude");
    std::fs::create_dir(&dir).unwrap();
    rig.seed_home(&dir, "a");
    let seeded = entries(&dir);

    let session = Session::start(&rig, &dir, "before-init");
    session.turn("typed before init");
    session.exit();
    // A conversation that edits a file: Claude Code backs it up in
    // file-history, under that conversation's id.
    let notes = rig.work.join("notes.txt");
    std::fs::write(&notes, "original\n").unwrap();
    let edit = format!("write {} edited before init", notes.display());
    let edited = rig.claude_on(&dir, &["-p", &edit, "--permission-mode", "acceptEdits"]);
    assert_eq!(edited.code, 0, "{edited:?}");
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "edited before init"
    );
    let edit_session = rig.api.call_for(&edit).session.unwrap();
    // The conversation init must not break: the most recent one.
    let first = rig.claude_on(&dir, &["-p", "first before init"]);
    assert_eq!(first.code, 0, "{first:?}");
    let second = rig.claude_on(&dir, &["--continue", "-p", "second before init"]);
    assert_eq!(second.code, 0, "{second:?}");
    let before = rig.api.call_for("second before init");
    assert_eq!(before.prompts, ["first before init", "second before init"]);
    let made: BTreeSet<String> = entries(&dir).difference(&seeded).cloned().collect();
    observed(&format!(
        "entries Claude Code created in a fresh home (an interactive prompt, an edit, a two-turn -p conversation): {made:?}"
    ));
    for name in ["projects", "file-history", "history.jsonl"] {
        assert!(made.contains(name), "{name}: {made:?}");
    }
    let in_home: Vec<String> = claude::files_named(&rig.user_home, |_| true)
        .iter()
        .map(|p| {
            p.strip_prefix(&rig.user_home)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    observed(&format!(
        "files Claude Code left in $HOME (CLAUDE_CONFIG_DIR set): {in_home:?}"
    ));

    let config = rig.sb.root().join("init.yaml");
    let init = homeswap(
        &config,
        &rig.user_home,
        &["init", "--from", dir.to_str().unwrap()],
    );
    assert_eq!(init.code, 0, "{init:?}");
    let home = rig.sb.root().join("claude-a");
    let shared = rig.sb.root().join("claude-shared");
    assert_eq!(std::fs::read_link(&dir).unwrap(), home, "{init:?}");
    for name in ["projects", "file-history"] {
        assert!(shared.join(name).is_dir(), "{name} moved: {init:?}");
    }
    let typed: Vec<String> = history_prompts(&shared.join("history.jsonl"))
        .into_iter()
        .filter(|p| !p.starts_with('/'))
        .collect();
    assert_eq!(
        typed,
        ["typed before init"],
        "the prompt history moved into the shared dir (-p turns write none)"
    );

    let cont = rig.claude_on(&dir, &["--continue", "-p", "after init"]);
    assert_eq!(cont.code, 0, "{cont:?}");
    assert!(cont.stdout.contains("ANSWER[after init]"), "{cont:?}");
    let call = rig.api.call_for("after init");
    assert_eq!(call.account.as_deref(), Some("a"));
    assert_eq!(
        call.prompts,
        ["first before init", "second before init", "after init"],
        "--continue through the new active link carries the conversation from before init"
    );
    assert_eq!(call.session, before.session, "the same session");
    assert!(
        call.messages > before.messages,
        "{} messages after init, {} before",
        call.messages,
        before.messages
    );
    let transcripts = rig.transcripts();
    assert!(
        transcripts
            .iter()
            .all(|t| t.starts_with(shared.join("projects"))),
        "every transcript is in the shared dir: {transcripts:?}"
    );
    let id = before.session.clone().unwrap();
    assert_eq!(
        transcripts
            .iter()
            .filter(|t| Rig::session_of(t) == id)
            .count(),
        1,
        "one transcript of the continued conversation: {transcripts:?}"
    );
    // The backup of the file before the edit: in the shared file-history,
    // under the editing conversation's id.
    let backups = claude::files_named(&shared.join("file-history").join(&edit_session), |_| true);
    assert!(
        backups
            .iter()
            .any(|b| std::fs::read_to_string(b).unwrap() == "original\n"),
        "{backups:?}"
    );
    let v = homeswap(&config, &rig.user_home, &["validate"]);
    assert_eq!(v.code, 0, "{v:?}");
    observed(&format!(
        "validate after init and --continue: {:?}",
        v.stderr.trim()
    ));
}

/// Proof 4: with the default lists (no `shared_files`), Claude Code
/// creates `history.jsonl` in the active home, an entry no list names:
/// `validate` warns about it (exit 0: a warning is not a problem) and a
/// running sidecar's `homeswap_unmanaged_entries{account="a"}` rises to
/// it. Also records every top-level entry the client made in the home,
/// and checks that examples/claude-code.yaml and the default `private`
/// list classify each one.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn unmanaged_entry_claude_code_created_shows_in_validate_and_metric() {
    if !claude::isolated_interactive(
        "unmanaged_entry_claude_code_created_shows_in_validate_and_metric",
    ) {
        return;
    }
    let sb = Sandbox::ready();
    sb.add_serve_section();
    let rig = Rig::new(sb);
    let home = rig.sb.home("a");
    let before = entries(&home);
    let server = rig.sb.serve(None);
    let series = "homeswap_unmanaged_entries{account=\"a\"}";
    let unmanaged = || server.metrics().value(series);
    assert_eq!(unmanaged(), 0.0, "nothing unmanaged before Claude Code ran");

    let session = Session::start(&rig, &rig.sb.active(), "drift");
    session.turn("drift prompt");
    session.exit();
    rig.claude_ok(&["-p", "drift in print mode"]);
    let made: BTreeSet<String> = entries(&home).difference(&before).cloned().collect();
    observed(&format!(
        "entries Claude Code created in an active home next to homeswap's links: {made:?}"
    ));

    let links = common::LINKS;
    let expected: BTreeSet<&String> = made
        .iter()
        .filter(|n| !links.contains(&n.as_str()) && !default_private(n))
        .collect();
    assert!(expected.contains(&"history.jsonl".to_string()), "{made:?}");
    let v = rig.sb.run(&["validate"]);
    assert_eq!(
        v.code, 0,
        "an unmanaged entry is a warning, not a problem: {v:?}"
    );
    for name in &expected {
        assert!(
            v.stderr
                .contains(&format!("account a: unmanaged entry: {name} (")),
            "{name}: {v:?}"
        );
    }
    assert!(
        v.stderr.contains(
            "account a: unmanaged entry: history.jsonl (a regular file): neither shared nor private; add it to shared_files or private"
        ),
        "{v:?}"
    );
    let warned = v.stderr.matches("unmanaged entry: ").count();
    assert_eq!(warned, expected.len(), "{expected:?}: {v:?}");

    // The sidecar watches the homes: the metric follows without a scrape
    // interval (the rig's interval is an hour).
    common::wait_for("the unmanaged-entries metric", SCREEN_LIMIT, || {
        unmanaged() >= 1.0
    });
    assert_eq!(unmanaged(), expected.len() as f64);
    let ready = server.get("/readyz");
    assert_eq!(
        ready.status,
        200,
        "a warning is not unready: {}",
        ready.text()
    );

    // What examples/claude-code.yaml (with the default private list) does
    // with each entry the client made.
    let (dirs, files) = example_lists();
    let classify = |n: &str| {
        if dirs.iter().any(|d| d == n) {
            "shared"
        } else if files.iter().any(|f| f == n) {
            "shared_files"
        } else if default_private(n) {
            "private"
        } else {
            "UNCLASSIFIED"
        }
    };
    let all: Vec<String> = entries(&home)
        .iter()
        .map(|n| format!("{n}: {}", classify(n)))
        .collect();
    observed(&format!(
        "every entry of the home, as examples/claude-code.yaml classifies it: {all:?}"
    ));
    assert!(
        all.iter().all(|l| !l.ends_with("UNCLASSIFIED")),
        "examples/claude-code.yaml misses an entry Claude Code creates: {all:?}"
    );
}

/// Proof 5 (issue 22, item 7): `homeswap adopt b` merges b's own
/// `history.jsonl` into the shared one while an interactive session on `a`
/// appends to it. Claude Code appends under `<realpath>.lock`; adopt holds
/// that lock through the merge (here for 2.5 s more, by the failpoint
/// after the merge): the prompt typed meanwhile is kept back by Claude
/// Code until adopt releases the lock, then lands in the merged file,
/// once, with every line of b's copy and of the earlier prompts.
#[cfg(feature = "failpoints")]
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn adopt_merges_the_history_while_a_session_appends_and_loses_no_prompt() {
    if !claude::isolated_interactive(
        "adopt_merges_the_history_while_a_session_appends_and_loses_no_prompt",
    ) {
        return;
    }
    let rig = rig_sharing_files();
    let shared = rig.sb.shared().join("history.jsonl");
    let b_copy = rig.sb.link("b", "history.jsonl");
    std::fs::remove_file(&b_copy).unwrap();
    let b_lines: String = (0..2_000)
        .map(|i| format!("{{\"display\":\"b-{i}\",\"timestamp\":{i}}}\n"))
        .collect();
    std::fs::write(&b_copy, &b_lines).unwrap();

    let on_a = Session::start(&rig, &rig.sb.active(), "on-a");
    on_a.turn("before adopt");
    common::wait_for("the first prompt in the history", SCREEN_LIMIT, || {
        history_prompts(&shared).iter().any(|p| p == "before adopt")
    });

    let mut adopt = rig
        .sb
        .spawn(&["adopt", "b"], Some("adopt::after_move=sleep(2500)"));
    // Merged (b's lines are in the shared file) and still holding the lock.
    common::wait_for("the merge under the lock", SCREEN_LIMIT, || {
        rig.sb.shared().join("history.jsonl.lock").is_dir()
            && history_prompts(&shared).iter().any(|p| p == "b-1999")
    });
    on_a.tmux.type_line("during adopt");
    // Either the prompt shows in the history (Claude Code did not wait for
    // the lock) or adopt finishes first.
    let start = std::time::Instant::now();
    let mut early = false;
    while adopt.try_wait().unwrap().is_none() {
        if history_prompts(&shared).iter().any(|p| p == "during adopt") {
            early = true;
            break;
        }
        assert!(start.elapsed() < SCREEN_LIMIT, "adopt did not finish");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = common::Run::from(adopt.wait_with_output().unwrap());
    assert!(
        !early,
        "the prompt reached the history while adopt held Claude Code's lock: {r:?}"
    );
    assert_eq!(r.code, 0, "{r:?}");
    on_a.tmux
        .wait_for("the answer typed during adopt", SCREEN_LIMIT, |s| {
            s.contains("ANSWER[during adopt]")
        });
    common::wait_for("the prompt typed during adopt", SCREEN_LIMIT, || {
        history_prompts(&shared).iter().any(|p| p == "during adopt")
    });
    on_a.turn("after adopt");
    on_a.exit();

    let prompts = history_prompts(&shared);
    for want in ["before adopt", "during adopt", "after adopt"] {
        assert_eq!(
            prompts.iter().filter(|p| *p == want).count(),
            1,
            "{want}: {prompts:?}"
        );
    }
    for i in 0..2_000 {
        let want = format!("b-{i}");
        assert_eq!(prompts.iter().filter(|p| **p == want).count(), 1, "{want}");
    }
    let order: Vec<&String> = prompts.iter().filter(|p| p.contains("adopt")).collect();
    assert_eq!(order, ["before adopt", "during adopt", "after adopt"]);
    assert!(!rig.sb.shared().join("history.jsonl.lock").exists());
    assert_file_linked(&rig, "history.jsonl");
    rig.sb.ok(&["validate"]);
    observed(
        "a prompt typed while adopt held history.jsonl.lock was appended once adopt released it",
    );
}
