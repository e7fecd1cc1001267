//! The failover with the real Claude Code in the loop (issue 14's proof).
//!
//! Three accounts `a`, `b`, `c`, each home with its own credential and
//! the README's hook snippet (`homeswap --config ... hook` for
//! `SessionStart` and `StopFailure`) in its `settings.json`. The stand-in
//! Messages API puts accounts at their limit ([`StandIn::limit`]); the
//! pinned Claude Code meets the 429, shows the limit, fires its
//! `StopFailure` hook, and homeswap fails over: by itself in the first
//! scenario, through the sidecar's admin socket in the second.
//!
//! `#[ignore]`d like `tests/claude_e2e.rs` (root and the client needed;
//! skipped with a message without them, a failure with
//! `HOMESWAP_CLAUDE_REQUIRED=1`): run as root with
//! `HOMESWAP_CLAUDE_REQUIRED=1 cargo test --test claude_failover -- --ignored`.
//!
//! [`StandIn::limit`]: claude::standin::StandIn::limit

mod claude;
mod common;

use std::path::Path;
use std::time::Duration;

use claude::hooks::{self, active, failovers, limits, reset_in_two_hours, three_accounts};
use claude::Rig;
use common::wait_for;

/// How long the hook's effects may take to show after `claude` exited
/// (Claude Code waits for its `StopFailure` hook before it exits; the
/// margin is for a loaded machine).
const HOOK_LIMIT: Duration = Duration::from_secs(10);

/// What `claude -p` prints at a spent five-hour window.
const LIMIT_MESSAGE: &str = "You've hit your 5-hour limit";

/// `claude ARGS` with a debug log (`--debug-file`), where Claude Code
/// writes what its hooks printed on stderr; returns the run and the log.
fn claude_logged(rig: &Rig, args: &[&str], log: &Path) -> (common::Run, String) {
    let mut all = args.to_vec();
    let log_arg = log.to_str().unwrap().to_string();
    all.extend(["--debug-file", &log_arg]);
    let r = rig.claude(&all);
    (r, std::fs::read_to_string(log).unwrap_or_default())
}

/// Scenario 1, without a sidecar: `a` at its limit; `claude -p` shows the
/// limit, its `StopFailure` hook fails over to `b` (the limit's end read
/// from Claude Code's message), and `claude --continue` carries on the same
/// conversation with `b`'s credential.
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn the_hook_fails_over_a_limited_session_and_continue_carries_on_on_b() {
    if !claude::isolated("the_hook_fails_over_a_limited_session_and_continue_carries_on_on_b") {
        return;
    }
    let rig = three_accounts();
    let first = rig.claude_ok(&["-p", "work on a"]);
    assert!(first.stdout.contains("ANSWER[work on a]"), "{first:?}");
    let opening = rig.api.call_for("work on a");
    assert_eq!(opening.account.as_deref(), Some("a"));

    let reset = reset_in_two_hours();
    rig.api.limit("a", reset);
    let (limited, log) = claude_logged(
        &rig,
        &["--continue", "-p", "more on a"],
        &rig.sb.root().join("limited.log"),
    );
    assert_eq!(limited.code, 1, "{limited:?}");
    assert!(limited.stdout.contains(LIMIT_MESSAGE), "{limited:?}");
    let rejected = rig.api.call_for("more on a");
    assert_eq!((rejected.status, rejected.account.as_deref()), (429, Some("a")));
    for l in log.lines().filter(|l| l.contains("homeswap") || l.contains("StopFailure")) {
        println!("LOG {l}");
    }

    wait_for("the hook's failover in the audit log", HOOK_LIMIT, || {
        !failovers(&rig.sb).is_empty()
    });
    let f = failovers(&rig.sb);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["from"], "a", "{f:#?}");
    assert_eq!(f[0]["to"], "b", "{f:#?}");
    assert_eq!(f[0]["reason"], "rate_limit", "{f:#?}");
    assert_eq!(f[0]["outcome"], "swapped", "{f:#?}");
    assert_eq!(
        hooks::unix_of(f[0]["until"].as_str().unwrap()),
        reset,
        "the limit ends when Claude Code's message says: {f:#?}"
    );
    assert_eq!(active(&rig.sb), "b");
    let l = limits(&rig.sb);
    assert_eq!(l["a"]["limited"], true, "{l:#?}");
    assert_eq!(l["a"]["reason"], "rate_limit", "{l:#?}");
    assert_eq!(l["a"]["source"], "message", "{l:#?}");
    assert_eq!(l["a"]["until_unix"], reset, "{l:#?}");
    for other in ["b", "c"] {
        assert_eq!(l[other]["limited"], false, "{l:#?}");
    }

    let cont = rig.claude_ok(&["--continue", "-p", "carry on on b"]);
    assert!(cont.stdout.contains("ANSWER[carry on on b]"), "{cont:?}");
    let call = rig.api.call_for("carry on on b");
    assert_eq!(call.account.as_deref(), Some("b"), "{call:#?}");
    let prompts: Vec<&str> = call.prompts.iter().map(|p| p.trim()).collect();
    assert_eq!(prompts, ["work on a", "more on a", "carry on on b"]);
    assert!(call.messages > rejected.messages, "{call:#?} {rejected:#?}");
    assert_eq!(call.session, opening.session, "the same conversation");
    assert_eq!(rig.transcripts().len(), 1, "{:?}", rig.transcripts());
    panic!("explore");
}
