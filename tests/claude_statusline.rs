//! `homeswap statusline` under the real Claude Code, in interactive mode
//! (the only mode that runs a status line), with the sidecar serving.
//!
//! The stand-in reports usage in the headers the real API sends; Claude
//! Code turns them into the status JSON's `rate_limits` and runs homeswap's
//! status line, whose line shows under the prompt.
//!
//! `#[ignore]`d in a plain `cargo test` (root, tmux and the client);
//! `.ci/run` runs it with `cargo test --features failpoints --test
//! claude_statusline -- --ignored`.

mod claude;
mod common;

use std::time::{Duration, Instant};

use claude::tmux::SCREEN_LIMIT;
use claude::Rig;
use common::server::Server;
use common::{wait_for, Sandbox};

/// The usage series of one account and window.
fn usage_series(account: &str, window: &str) -> String {
    format!("homeswap_account_usage_ratio{{account=\"{account}\",window=\"{window}\"}}")
}

/// The failover entries of the audit log.
fn failovers(sb: &Sandbox) -> Vec<serde_json::Value> {
    sb.audit()
        .into_iter()
        .filter(|e| e["action"] == "failover")
        .collect()
}

/// Installs homeswap's status line and its `SessionStart` hook in every
/// home's `settings.json`, sets `failover.threshold: 95`, and serves.
fn install(rig: &Rig) -> Server {
    let bin = env!("CARGO_BIN_EXE_homeswap");
    let config = rig.sb.config.display().to_string();
    let command = format!("{bin} --config {config}");
    let settings = serde_json::json!({
        "statusLine": {"type": "command", "command": format!("{command} statusline")},
        "hooks": {"SessionStart": [{"hooks": [
            {"type": "command", "command": format!("{command} hook")}]}]}
    });
    for account in ["a", "b"] {
        std::fs::write(
            rig.sb.home(account).join("settings.json"),
            settings.to_string(),
        )
        .unwrap();
    }
    rig.sb.set_config("failover.threshold", 95);
    rig.sb.add_serve_section();
    rig.sb.serve(None)
}

/// The stand-in reports 42 % on `a`: the status line under the prompt
/// shows it and `/metrics` has it within a second. Then 96 % with
/// `threshold: 95`: exactly one failover to `b` with reason `usage`, and
/// none on the status updates after it.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn usage_shows_under_the_prompt_and_fails_over_once_at_the_threshold() {
    if !claude::isolated_interactive(
        "usage_shows_under_the_prompt_and_fails_over_once_at_the_threshold",
    ) {
        return;
    }
    let rig = Rig::new(Sandbox::ready());
    let server = install(&rig);
    rig.api.set_usage("a", 0.42, 0.13);
    rig.api.set_usage("b", 0.17, 0.05);
    let tmux = rig.interactive();

    tmux.turn("first", "a · 5h 42% · 7d 13%");
    let shown = Instant::now();
    let series = usage_series("a", "five_hour");
    wait_for("the usage in /metrics", Duration::from_secs(1), || {
        server.metrics().series.get(&series) == Some(&0.42)
    });
    let seen = shown.elapsed();
    eprintln!("claude_statusline: /metrics had a's 42 % {seen:?} after the screen showed it");
    let status = server.get("/api/v1/status").json();
    let a = &status["usage"]["accounts"][0];
    assert_eq!(a["account"], "a");
    assert_eq!(a["five_hour"]["used_percentage"], 42.0);
    assert!(failovers(&rig.sb).is_empty(), "42 % is below the threshold");

    rig.api.set_usage("a", 0.96, 0.20);
    tmux.turn("second", "5h 96%");
    wait_for("the usage failover", Duration::from_secs(10), || {
        rig.sb.active_target() == Some(rig.sb.home("b"))
    });
    let entries = failovers(&rig.sb);
    assert_eq!(entries.len(), 1, "one failover: {entries:?}");
    assert_eq!(entries[0]["reason"], "usage");
    assert_eq!(entries[0]["from"], "a");
    assert_eq!(entries[0]["to"], "b");
    assert_eq!(entries[0]["outcome"], "swapped");

    // More status updates of the same running session: no second failover.
    // (Sent more than a second after the swap: homeswap cannot tell which
    // account served a request sent closer to a flip.)
    rig.sb
        .wait_active_link_older_than(Duration::from_millis(1100));
    for prompt in ["third", "fourth"] {
        tmux.type_line(prompt);
        let answer = format!("ANSWER[{prompt}]");
        tmux.wait_for(&answer, SCREEN_LIMIT, |s| s.contains(&answer));
    }
    let after = failovers(&rig.sb);
    assert_eq!(after.len(), 1, "no second failover: {after:?}");
    assert_eq!(rig.sb.active_target(), Some(rig.sb.home("b")));
    // What the real client does after the swap: it reloads the changed
    // credentials, so its next request carries b's token and its
    // rate_limits are b's. They are recorded for b, the account that
    // served them; a keeps its 96 %.
    let third = rig.api.call_for("third");
    eprintln!(
        "claude_statusline: observed: after the failover the running session's request carried {:?}'s credential",
        third.account
    );
    assert_eq!(third.account.as_deref(), Some("b"));
    let b = usage_series("b", "five_hour");
    wait_for("b's numbers under b", Duration::from_secs(1), || {
        server.metrics().series.get(&b) == Some(&0.17)
    });
    let metrics = server.metrics();
    assert_eq!(
        metrics.series.get(&usage_series("a", "five_hour")),
        Some(&0.96),
        "a keeps its own numbers"
    );
    // a stays limited (reason usage) until its window resets, so the
    // numbers on a do not make it a failover target again.
    assert_eq!(
        metrics.value("homeswap_account_limited{account=\"a\"}"),
        1.0
    );
}
