//! `homeswap account disable` and `enable`: the failover choice skips a
//! disabled account (CLI, hook and status line all go through it), a
//! swap that names one goes ahead with a warning, and the hold is shown
//! by `status` (document and text), `limits`, the status page and
//! `homeswap_account_disabled`.

mod common;

use std::time::Duration;

use common::Sandbox;

fn abc() -> Sandbox {
    Sandbox::with_accounts(&["a", "b", "c"], "failover:\n  settle: 0s\n")
}

/// The `limits` entry of `account` in `status --json`.
fn status_entry(s: &Sandbox, account: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    doc["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["account"] == account)
        .unwrap()
        .clone()
}

#[test]
fn a_disabled_account_is_skipped_by_failover_until_enabled() {
    let s = abc();
    let r = s.ok(&["account", "disable", "b", "--reason", "card expired"]);
    assert!(
        r.stdout.contains("account b: disabled since ") && r.stdout.contains("(card expired)"),
        "{r:?}"
    );
    let r = s.ok(&["failover", "--from", "a", "--reason", "manual"]);
    assert!(r.stdout.contains("failed over: a -> c"), "{r:?}");
    assert_eq!(s.active_account(), "c");
    // From c the order wraps past b to a.
    s.ok(&["limits", "clear", "a"]);
    s.ok(&["failover", "--from", "c", "--reason", "manual"]);
    assert_eq!(s.active_account(), "a");
    // With b disabled and c limited: exhausted, saying why for each.
    let r = s.run(&["failover", "--from", "a", "--reason", "rate_limit"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("account b: disabled since") && r.stderr.contains("(card expired)"),
        "{r:?}"
    );
    assert_eq!(s.active_account(), "a");
    // Enabled: failover may choose it again.
    let r = s.ok(&["account", "enable", "b"]);
    assert!(r.stdout.contains("account b: enabled"), "{r:?}");
    s.ok(&["failover", "--from", "a", "--reason", "rate_limit"]);
    assert_eq!(s.active_account(), "b");
    let holds: Vec<String> = s
        .audit_outcomes()
        .into_iter()
        .filter(|o| o.starts_with("account_"))
        .collect();
    assert_eq!(
        holds,
        ["account_disable disabled", "account_enable enabled"]
    );
}

#[test]
fn disable_and_enable_say_when_nothing_changes_and_refuse_unknown_accounts() {
    let s = abc();
    s.ok(&["account", "disable", "c"]);
    let r = s.ok(&["account", "disable", "c", "--reason", "later"]);
    assert!(
        r.stdout.contains("account c: already disabled since"),
        "{r:?}"
    );
    let r = s.ok(&["account", "enable", "b"]);
    assert!(r.stdout.contains("account b: was not disabled"), "{r:?}");
    for verb in ["disable", "enable"] {
        let r = s.run(&["account", verb, "zz"]);
        assert_eq!(r.code, 2, "{verb}: {r:?}");
        assert!(r.stderr.contains("unknown account \"zz\""), "{r:?}");
    }
}

#[test]
fn a_swap_to_a_disabled_account_goes_ahead_with_a_warning() {
    let s = abc();
    s.ok(&["account", "disable", "b"]);
    let r = s.ok(&["swap", "b"]);
    assert_eq!(s.active_account(), "b");
    assert!(
        r.stderr.contains("warning: account b is disabled")
            && r.stderr.contains("failover still skips it"),
        "{r:?}"
    );
    // Still held out: a failover from b does not come back to it.
    s.ok(&["failover", "--from", "b", "--reason", "manual"]);
    assert_eq!(s.active_account(), "c");
}

#[test]
fn disabling_the_active_account_leaves_it_active_and_says_so() {
    let s = abc();
    let r = s.ok(&["account", "disable", "a"]);
    assert_eq!(s.active_account(), "a");
    assert!(
        r.stdout
            .contains("a is the active account and stays active"),
        "{r:?}"
    );
}

#[test]
fn status_and_limits_show_the_hold_in_json_and_text() {
    let s = abc();
    assert_eq!(status_entry(&s, "b")["disabled"], serde_json::Value::Null);
    s.ok(&["account", "disable", "b", "--reason", "card expired"]);
    let b = status_entry(&s, "b");
    assert_eq!(b["disabled"]["reason"], "card expired");
    assert!(
        b["disabled"]["since"].as_str().unwrap().ends_with('Z'),
        "{b}"
    );
    let text = s.ok(&["status"]).stdout;
    assert!(
        text.lines().any(|l| l.starts_with("disabled: b since ")
            && l.ends_with("(card expired): held out of failover")),
        "{text}"
    );
    let limits = s.ok(&["limits"]).stdout;
    let line = limits.lines().find(|l| l.starts_with("b ")).unwrap();
    assert!(
        line.contains("not limited · disabled since") && line.contains("(card expired)"),
        "{limits}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["limits", "--json"]).stdout).unwrap();
    assert_eq!(json["accounts"][1]["disabled"]["reason"], "card expired");
    assert_eq!(json["accounts"][0]["disabled"], serde_json::Value::Null);
}

#[test]
fn an_unreadable_disabled_file_is_reported_and_the_choice_goes_on_without_it() {
    let s = abc();
    std::fs::write(s.state().join("disabled.json"), b"{not json").unwrap();
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    assert!(
        doc["disabled_error"]
            .as_str()
            .unwrap()
            .contains("disabled.json"),
        "{doc}"
    );
    let r = s.ok(&["failover", "--from", "a"]);
    assert!(r.stderr.contains("disabled.json"), "{r:?}");
    assert_eq!(s.active_account(), "b");
    // A disable writes it anew, saying so.
    let r = s.ok(&["account", "disable", "c"]);
    assert!(r.stderr.contains("written anew"), "{r:?}");
    assert!(status_entry(&s, "c")["disabled"].is_object());
}

#[test]
fn the_page_and_the_metric_show_a_disabled_account_within_a_second() {
    let s = abc();
    s.add_serve_section();
    let server = s.serve(None);
    let m = server.metrics();
    assert_eq!(m.value("homeswap_account_disabled{account=\"b\"}"), 0.0);
    s.ok(&["account", "disable", "b", "--reason", "<card>"]);
    common::wait_for("the metric", Duration::from_secs(1), || {
        server
            .metrics()
            .value("homeswap_account_disabled{account=\"b\"}")
            == 1.0
    });
    let m = server.metrics();
    assert_eq!(m.value("homeswap_account_disabled{account=\"a\"}"), 0.0);
    assert_eq!(m.types["homeswap_account_disabled"], "gauge");
    let html = server.get("/").text();
    assert!(
        html.contains("<strong>b</strong>: <span class=\"good\">free</span> · <span class=\"warn\">DISABLED</span> since "),
        "{html}"
    );
    assert!(
        html.contains("(&lt;card&gt;): held out of failover"),
        "{html}"
    );
    s.ok(&["account", "enable", "b"]);
    common::wait_for("the metric back at 0", Duration::from_secs(1), || {
        server
            .metrics()
            .value("homeswap_account_disabled{account=\"b\"}")
            == 0.0
    });
}
