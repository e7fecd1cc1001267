//! `homeswap setup claude-code` with the real Claude Code: what it writes
//! into a user's own shared `settings.json` is what the pinned client runs.
//!
//! - `claude -p` at its limit runs the `StopFailure` hook setup installed
//!   (Claude Code's debug log names the command) and homeswap fails over;
//!   the user's own hook, kept by setup, still runs.
//! - An interactive session shows the status line setup installed, around
//!   the user's own (`--wrap`); after `setup claude-code --remove` a new
//!   session shows the user's own alone again.
//!
//! Both run with `shared_files: [settings.json]`: setup writes the shared
//! file, each home's `settings.json` stays the link to it (Claude Code
//! reads it through the active link). `tests/claude_failover.rs` covers
//! the per-home files (its rig installs through setup too).
//!
//! `#[ignore]`d like the other Claude Code suites (root, tmux and the
//! client); `.ci/run` runs it with `cargo test --features failpoints
//! --test claude_setup -- --ignored`.

mod claude;
mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use claude::hooks::{self, failovers, limited_turn, reset_in_two_hours, Turn, ACCOUNTS};
use claude::tmux::SCREEN_LIMIT;
use claude::Rig;
use common::Sandbox;

/// Three accounts sharing `settings.json`, each home seeded for Claude
/// Code, and the user's own settings in the shared file: `settings`, with
/// `ROOT` standing for the sandbox's directory.
fn rig_with_settings(settings: &str) -> Rig {
    let sb = Sandbox::with_accounts(&ACCOUNTS, "shared_files: [settings.json]\n");
    let rig = Rig::new(sb);
    rig.seed_home(&rig.sb.home("c"), "c");
    rig.set_credentials_mtime("c", SystemTime::now() - Duration::from_secs(1800));
    let root = rig.sb.root().display().to_string();
    std::fs::write(shared_settings(&rig), settings.replace("ROOT", &root)).unwrap();
    rig
}

fn shared_settings(rig: &Rig) -> std::path::PathBuf {
    rig.sb.shared().join("settings.json")
}

/// `homeswap setup claude-code ARGS`; insists on exit 0 and no warning.
fn setup(rig: &Rig, args: &[&str]) -> common::Run {
    let mut all = vec!["setup", "claude-code"];
    all.extend(args);
    let r = rig.sb.ok(&all);
    assert_eq!(r.stderr, "", "{r:?}");
    for a in ACCOUNTS {
        assert_eq!(
            std::fs::read_link(rig.sb.link(a, "settings.json")).unwrap(),
            shared_settings(rig),
            "{a}'s settings.json is still the link"
        );
    }
    r
}

/// The lines of `path` (none when it does not exist).
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn after_setup_claude_p_at_its_limit_runs_the_installed_hook_and_fails_over() {
    if !claude::isolated("after_setup_claude_p_at_its_limit_runs_the_installed_hook_and_fails_over")
    {
        return;
    }
    let rig = rig_with_settings(
        r#"{
  "cleanupPeriodDays": 30,
  "hooks": {
    "UserPromptSubmit": [
      {"hooks": [{"type": "command", "command": "echo prompt >> ROOT/user-hook.log"}]}
    ]
  }
}
"#,
    );
    let r = setup(&rig, &[]);
    assert!(
        r.stdout.contains("added homeswap's StopFailure hook"),
        "{r:?}"
    );
    let user_log = rig.sb.root().join("user-hook.log");

    let first = rig.claude_ok(&["-p", "work on a"]);
    assert!(first.stdout.contains("ANSWER[work on a]"), "{first:?}");
    assert_eq!(rig.api.call_for("work on a").account.as_deref(), Some("a"));
    assert_eq!(
        lines(&user_log),
        ["prompt"],
        "the user's own hook still runs"
    );

    // a at its limit: Claude Code runs the hook setup installed (its debug
    // log names the command, checked by limited_turn) and homeswap fails
    // over to b.
    let reset = reset_in_two_hours();
    rig.api.limit("a", reset);
    let turn = Turn {
        args: &["--continue", "-p", "more on a"],
        env: &[],
        debug_log: true,
        server: None,
    };
    let f = limited_turn(&rig, &turn, |_| true).lines;
    hooks::assert_one_swapping_failover(&f, "a", "b");
    assert_eq!(rig.sb.active_account(), "b");

    let next = rig.claude_ok(&["--continue", "-p", "carry on on b"]);
    assert!(next.stdout.contains("ANSWER[carry on on b]"), "{next:?}");
    assert_eq!(
        rig.api.call_for("carry on on b").account.as_deref(),
        Some("b")
    );
    assert_eq!(failovers(&rig.sb).len(), 1);
    assert!(lines(&user_log).len() >= 3, "{:?}", lines(&user_log));
    rig.sb.ok(&["validate"]);
}

#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn an_interactive_session_shows_the_installed_status_line_around_the_users_own() {
    if !claude::isolated_interactive(
        "an_interactive_session_shows_the_installed_status_line_around_the_users_own",
    ) {
        return;
    }
    let rig = rig_with_settings(
        r#"{"statusLine": {"type": "command", "command": "sh ROOT/shared/my-status.sh"}}"#,
    );
    // The user's script lives in the shared dir (every account finds it):
    // setup warns about none.
    std::fs::write(
        rig.sb.shared().join("my-status.sh"),
        "cat > /dev/null; echo 'MINE-STATUS'\n",
    )
    .unwrap();
    let r = setup(&rig, &[]);
    assert!(r.stdout.contains("kept your status line"), "{r:?}");
    rig.api.set_usage("a", 0.42, 0.13);

    let tmux = rig.interactive();
    let screen = tmux.turn("first", "a · 5h 42% · 7d 13%");
    assert!(screen.contains("MINE-STATUS"), "{screen}");
    // The user's line first, homeswap's after it.
    let mine = screen.find("MINE-STATUS").unwrap();
    let ours = screen.find("a · 5h 42% · 7d 13%").unwrap();
    assert!(mine < ours, "{screen}");
    tmux.type_line("/exit");
    tmux.wait_exit(SCREEN_LIMIT);
    drop(tmux);

    // --remove: the user's own status line alone, in a new session.
    let r = setup(&rig, &["--remove"]);
    assert!(r.stdout.contains("put your status line"), "{r:?}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shared_settings(&rig)).unwrap()).unwrap();
    assert_eq!(
        v["statusLine"]["command"],
        format!("sh {}/shared/my-status.sh", rig.sb.root().display())
    );
    let tmux = rig.interactive_on(&rig.sb.active(), &rig.sb.root().join("tmux-2.sock"));
    let screen = tmux.turn("second", "MINE-STATUS");
    assert!(!screen.contains("5h 42%"), "{screen}");
    tmux.type_line("/exit");
    tmux.wait_exit(SCREEN_LIMIT);
}
