//! `homeswap failover`, `limits` and `limits clear` on real homes: the
//! contract's five steps, the settle rule, exhaustion, the latch, busy, and
//! bad input (those that need failpoints only with `--features
//! failpoints`), each seen through exit codes, output, the active link, the
//! limits and the audit log.

mod common;

use std::time::{Duration, SystemTime};

use common::Sandbox;

/// A sandbox with these accounts, links ensured, `a` active, and `extra`
/// appended to the configuration.
fn sandbox(accounts: &[&str], extra: &str) -> Sandbox {
    Sandbox::with_accounts(accounts, extra)
}

fn abc() -> Sandbox {
    sandbox(&["a", "b", "c"], "")
}

fn rfc3339(from_now: Duration) -> String {
    humantime::format_rfc3339_seconds(SystemTime::now() + from_now).to_string()
}

fn limits(s: &Sandbox) -> serde_json::Value {
    let r = s.ok(&["limits", "--json"]);
    serde_json::from_str(&r.stdout).unwrap()
}

fn limited(s: &Sandbox, account: &str) -> bool {
    limits(s)["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == account)
        .unwrap()["limited"]
        .as_bool()
        .unwrap()
}

fn failovers(s: &Sandbox) -> Vec<serde_json::Value> {
    s.audit()
        .into_iter()
        .filter(|e| e["action"] == "failover")
        .collect()
}

fn swaps(s: &Sandbox) -> usize {
    s.audit()
        .iter()
        .filter(|e| e["action"] == "swap" && e["outcome"] == "swapped")
        .count()
}

#[test]
fn a_failover_records_the_limit_and_swaps_to_the_next_account() {
    let s = abc();
    let until = rfc3339(Duration::from_secs(3600));
    let r = s.ok(&["failover", "--reason", "rate_limit", "--until", &until]);
    assert_eq!(s.active_account(), "b");
    assert!(r.stdout.contains("failed over: a -> b"), "{r:?}");
    assert!(
        r.stdout
            .contains("at their next request, without a restart"),
        "{r:?}"
    );
    assert!(!r.stdout.contains("claude --continue"), "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("account a: limited until {until} (given)")),
        "{r:?}"
    );
    let l = limits(&s);
    let a = &l["accounts"][0];
    assert_eq!(
        (a["account"].as_str(), a["limited"].as_bool()),
        (Some("a"), Some(true))
    );
    assert_eq!(
        (a["reason"].as_str(), a["source"].as_str()),
        (Some("rate_limit"), Some("given"))
    );
    assert_eq!(a["until"].as_str(), Some(until.as_str()));
    assert_eq!(l["last_failover"]["to"], "b");
    let f = failovers(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        (
            f[0]["from"].as_str(),
            f[0]["to"].as_str(),
            f[0]["reason"].as_str()
        ),
        (Some("a"), Some("b"), Some("rate_limit"))
    );
    assert_eq!(f[0]["outcome"], "swapped");
    assert_eq!(f[0]["until"].as_str(), Some(until.as_str()));
    // The swap itself is audited as a swap too: the swap's one core.
    assert_eq!(swaps(&s), 2); // `swap a` in the set-up, then this one
                              // The status shows the limit, as text and JSON.
    let st = s.ok(&["status"]);
    assert!(st.stdout.contains("limit:    a"), "{st:?}");
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(doc["limits"][0]["limited"], true);
    assert_eq!(doc["limits"][1]["limited"], false);
    assert_eq!(doc["limits_error"], serde_json::Value::Null);
}

#[test]
fn a_from_that_is_no_longer_active_is_already_moved_but_still_recorded() {
    let s = abc();
    s.ok(&["failover", "--from", "a"]);
    assert_eq!(s.active_account(), "b");
    // b hits its limit too, but the report names a: already handled.
    let r = s.ok(&["failover", "--from", "c", "--reason", "auth"]);
    assert!(r.stdout.contains("c is no longer active (b is)"), "{r:?}");
    assert!(r.stdout.contains("already moved: b is active"), "{r:?}");
    assert_eq!(s.active_account(), "b");
    assert!(limited(&s, "c"));
    assert!(!limited(&s, "b"));
    assert_eq!(failovers(&s)[1]["outcome"], "already_moved");
}

#[test]
fn without_from_a_second_failover_within_settle_is_the_same_event() {
    let s = abc();
    s.ok(&["failover"]);
    assert_eq!(s.active_account(), "b");
    let r = s.ok(&["failover", "--reason", "rate_limit"]);
    assert!(
        r.stdout.contains("less than failover.settle (1m) ago"),
        "{r:?}"
    );
    assert_eq!(s.active_account(), "b");
    // The late report must not mark the new account limited.
    assert!(!limited(&s, "b"));
    assert_eq!(swaps(&s), 2);
}

#[test]
fn with_settle_zero_two_limits_fail_over_twice_in_order_and_wrap() {
    let s = sandbox(
        &["a", "b", "c"],
        "failover:\n  settle: 0s\n  order: [c, a, b]\n",
    );
    // After a comes b in [c, a, b].
    s.ok(&["failover"]);
    assert_eq!(s.active_account(), "b");
    // After b the order wraps to c.
    s.ok(&["failover"]);
    assert_eq!(s.active_account(), "c");
    // a and b are limited, c is active: nothing is left.
    let r = s.run(&["failover"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(s.active_account(), "c");
}

#[test]
fn the_default_order_is_the_order_accounts_are_written_in() {
    let s = sandbox(&["a", "c", "b"], "");
    s.ok(&["failover"]);
    assert_eq!(s.active_account(), "c");
}

#[test]
fn exhausted_names_every_account_and_why_and_swaps_nothing() {
    let s = abc();
    // c is limited (reported while a is active: already moved for c).
    s.ok(&[
        "failover",
        "--from",
        "c",
        "--until",
        &rfc3339(Duration::from_secs(600)),
    ]);
    // b's links cannot be made ok: a directory where a link belongs.
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    std::fs::create_dir(s.link("b", "projects")).unwrap();
    let r = s.run(&["failover", "--reason", "rate_limit"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(s.active_account(), "a");
    assert!(
        r.stderr
            .contains("no account to fail over to from a, nothing swapped"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("account b: its links cannot be made ok"),
        "{r:?}"
    );
    assert!(r.stderr.contains("not_a_link"), "{r:?}");
    assert!(
        r.stderr.contains("account c: limited (manual) until"),
        "{r:?}"
    );
    assert_eq!(failovers(&s).last().unwrap()["outcome"], "exhausted");
    // a's limit was recorded even so.
    assert!(limited(&s, "a"));
}

#[test]
fn an_account_whose_links_ensure_can_repair_is_eligible() {
    let s = abc();
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    s.ok(&["failover"]);
    assert_eq!(s.active_account(), "b");
    assert!(s.link("b", "projects").is_symlink());
}

#[test]
#[cfg(feature = "failpoints")]
fn the_latch_refuses_a_failover_with_exit_3() {
    let s = abc();
    let r = s.run_with(&["swap", "b"], "swap::ensure=return;swap::rollback=return");
    assert_eq!(r.code, 3, "{r:?}");
    let before = s.active_target();
    let r = s.run(&["failover"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("the partial-swap latch is set"), "{r:?}");
    assert_eq!(s.active_target(), before);
    assert_eq!(failovers(&s)[0]["outcome"], "refused");
}

#[test]
#[cfg(feature = "failpoints")]
fn a_failed_swap_leaves_the_state_unchanged_with_exit_1() {
    let s = abc();
    let r = s.run_with(&["failover"], "swap::ensure=return");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("failover a -> b did not happen: state unchanged"),
        "{r:?}"
    );
    assert_eq!(s.active_account(), "a");
    assert_eq!(failovers(&s)[0]["outcome"], "failed");
    // A failed swap does not start the settle window: the next one runs.
    s.ok(&["failover"]);
    assert_eq!(s.active_account(), "b");
}

#[test]
#[cfg(feature = "failpoints")]
fn the_after_choose_failpoint_stops_before_the_swap() {
    let s = abc();
    let r = s.run_with(&["failover"], "failover::after_choose=return");
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(s.active_account(), "a");
    assert!(
        r.stderr.contains("failpoint failover::after_choose"),
        "{r:?}"
    );
}

#[test]
#[cfg(feature = "failpoints")]
fn a_failover_waits_for_a_held_lock_then_reports_busy_with_exit_4() {
    let s = abc();
    let holder = s.held_swap("c", "");
    let r = s.run(&["failover"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("another homeswap holds"), "{r:?}");
    assert_eq!(holder.release().code, 0);
    assert_eq!(failovers(&s)[0]["outcome"], "busy");
}

#[test]
fn bad_input_is_a_usage_error() {
    let s = abc();
    for (args, want) in [
        (&["failover", "--from", "zz"][..], "unknown account \"zz\""),
        (
            &["failover", "--until", "tomorrow"][..],
            "bad until \"tomorrow\"",
        ),
        (
            &["failover", "--reason", "bored"][..],
            "invalid value 'bored'",
        ),
        (&["limits", "clear", "zz"][..], "unknown account \"zz\""),
    ] {
        let r = s.run(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains(want), "{args:?}: {r:?}");
    }
    assert_eq!(s.active_account(), "a");
}

#[test]
fn a_reset_time_in_the_past_falls_back_to_the_cooldown_and_says_so() {
    let s = sandbox(&["a", "b"], "failover:\n  cooldown: 2h\n");
    let r = s.ok(&["failover", "--until", "2020-01-01T00:00:00Z"]);
    assert!(
        r.stdout
            .contains("is in the past; the limit lasts failover.cooldown (2h)"),
        "{r:?}"
    );
    assert_eq!(limits(&s)["accounts"][0]["source"], "cooldown");
}

#[test]
fn limits_clear_ends_a_limit() {
    let s = abc();
    s.ok(&["failover"]);
    assert!(limited(&s, "a"));
    let r = s.ok(&["limits", "clear", "a"]);
    assert_eq!(r.stdout.trim(), "account a: limit cleared");
    assert!(!limited(&s, "a"));
    let r = s.ok(&["limits", "clear", "a"]);
    assert_eq!(r.stdout.trim(), "account a: was not limited");
    let clears: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "limits_clear")
        .map(|e| (e["from"].clone(), e["outcome"].clone()))
        .collect();
    assert_eq!(
        clears,
        [
            ("a".into(), "cleared".into()),
            ("a".into(), "not_limited".into())
        ]
    );
    let text = s.ok(&["limits"]).stdout;
    assert!(text.contains("a            not limited"), "{text}");
    assert!(text.contains("last failover: a -> b at"), "{text}");
}

#[test]
fn an_unreadable_limits_file_is_reported_and_never_touches_the_latch() {
    let s = abc();
    std::fs::write(s.state().join("limits.json"), b"\0garbage").unwrap();
    let r = s.ok(&["limits"]);
    assert!(r.stderr.contains("parse the limits"), "{r:?}");
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    assert!(
        doc["limits_error"]
            .as_str()
            .unwrap()
            .contains("limits.json"),
        "{doc}"
    );
    assert_eq!(doc["latch"], serde_json::Value::Null);
    let r = s.ok(&["failover"]);
    assert!(
        r.stderr
            .contains("no limits are known, and the file is written anew"),
        "{r:?}"
    );
    assert_eq!(s.active_account(), "b");
    assert!(limited(&s, "a"));
    assert!(!s.state().join("latch.json").exists());
}

#[test]
fn with_no_account_active_the_first_eligible_in_the_order_is_chosen() {
    let s = sandbox(&["a", "b", "c"], "failover:\n  order: [b, c, a]\n");
    std::fs::remove_file(s.active()).unwrap();
    let r = s.ok(&["failover"]);
    assert!(r.stdout.contains("failed over: (none) -> b"), "{r:?}");
    assert_eq!(s.active_account(), "b");
    // Nothing was limited: there was no account to blame.
    assert!(!limits(&s)["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["limited"] == true));
}

#[test]
fn a_hand_edited_limit_far_past_the_year_9999_is_shown_not_a_crash() {
    let s = abc();
    std::fs::write(
        s.state().join("limits.json"),
        r#"{"accounts":{"a":{"reason":"manual","since":18446744073709551615,"until":18446744073709551615,"source":"given"}}}"#,
    )
    .unwrap();
    let text = s.ok(&["limits"]).stdout;
    assert!(text.contains("9999-12-31T23:59:59Z"), "{text}");
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(doc["limits"][0]["until"], "9999-12-31T23:59:59Z", "{doc}");
}
