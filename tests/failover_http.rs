//! `POST /api/v1/failover` on the real sidecar over real sockets: the
//! contract's statuses, the failover metrics, every process's failovers
//! counted from the audit log, and the limit gauges following the limits
//! file within a second.
#![cfg(feature = "failpoints")]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::server::Server;
use common::{wait_for, Sandbox};

use common::TOKEN;

fn failover(server: &Server, body: &str) -> common::server::Response {
    server.admin_post("/api/v1/failover", Some(TOKEN), body)
}

fn failovers(server: &Server, reason: &str, outcome: &str) -> f64 {
    server.metrics().value(&format!(
        "homeswap_failovers_total{{outcome=\"{outcome}\",reason=\"{reason}\"}}"
    ))
}

fn limited(server: &Server, account: &str) -> f64 {
    server.metrics().value(&format!(
        "homeswap_account_limited{{account=\"{account}\"}}"
    ))
}

fn reset_at(server: &Server, account: &str) -> f64 {
    server.metrics().value(&format!(
        "homeswap_account_limit_reset_timestamp_seconds{{account=\"{account}\"}}"
    ))
}

#[test]
fn a_failover_answers_200_counts_and_shows_the_limit() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    // Every label combination exists from the start.
    for reason in ["rate_limit", "auth", "usage", "manual"] {
        for outcome in [
            "swapped",
            "already_moved",
            "exhausted",
            "failed",
            "refused",
            "partial",
            "busy",
        ] {
            assert_eq!(failovers(&server, reason, outcome), 0.0);
        }
    }
    assert_eq!((limited(&server, "a"), reset_at(&server, "a")), (0.0, 0.0));

    let until = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let until_text =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(until)).to_string();
    let body = format!(r#"{{"from":"a","reason":"rate_limit","until":"{until_text}"}}"#);
    let r = failover(&server, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(
        (
            j["outcome"].as_str(),
            j["active"].as_str(),
            j["from"].as_str()
        ),
        (Some("swapped"), Some("b"), Some("a"))
    );
    assert_eq!(j["limit"]["until"].as_str(), Some(until_text.as_str()));
    assert!(
        j["hint"]
            .as_str()
            .unwrap()
            .contains("at their next request, without a restart"),
        "{j}"
    );
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    assert_eq!(failovers(&server, "rate_limit", "swapped"), 1.0);
    assert_eq!(
        server
            .metrics()
            .value("homeswap_swaps_total{outcome=\"swapped\"}"),
        1.0
    );
    assert_eq!(
        (limited(&server, "a"), reset_at(&server, "a")),
        (1.0, until as f64)
    );
    assert_eq!(limited(&server, "b"), 0.0);
    let st = server.get("/api/v1/status").json();
    assert_eq!(st["limits"][0]["limited"], true);
    assert_eq!(st["limits"][0]["until"].as_str(), Some(until_text.as_str()));

    // The same event again: already moved.
    let r = failover(&server, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["outcome"], "already_moved");
    assert_eq!(r.json()["active"], "b");

    // b too: nothing left.
    let r = failover(&server, r#"{"from":"b"}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    let j = r.json();
    assert_eq!(j["outcome"], "exhausted");
    assert!(
        j["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("account a: limited (rate_limit) until"),
        "{j}"
    );
    assert_eq!(failovers(&server, "manual", "exhausted"), 1.0);
    assert_eq!(limited(&server, "b"), 1.0);

    // A limit cleared by another process shows within a second.
    s.ok(&["limits", "clear", "a"]);
    wait_for("a's limit gauge to drop", Duration::from_secs(3), || {
        limited(&server, "a") == 0.0 && reset_at(&server, "a") == 0.0
    });
}

#[test]
fn bad_requests_get_the_contract_statuses() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    for (body, status, outcome) in [
        (r#"{"from":"zz"}"#, 404, "refused"),
        (r#"{"form":"a"}"#, 400, "bad_request"),
        (r#"{"reason":"bored"}"#, 400, "bad_request"),
        (r#"{"until":"tomorrow"}"#, 400, "bad_request"),
        ("not json", 400, "bad_request"),
    ] {
        let r = failover(&server, body);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.json()["outcome"], outcome, "{body}");
        assert!(!r.json()["errors"].as_array().unwrap().is_empty());
    }
    let big = format!(r#"{{"from":"{}"}}"#, "a".repeat(70 * 1024));
    assert_eq!(failover(&server, &big).status, 413);
    assert_eq!(
        server.admin_post("/api/v1/failover", None, "{}").status,
        401
    );
    assert_eq!(
        server
            .admin_post("/api/v1/failover", Some("wrong"), "{}")
            .status,
        403
    );
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

#[test]
fn a_partial_swap_answers_500_then_the_latch_423() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("swap::ensure=return;swap::rollback=return"));
    let r = failover(&server, "{}");
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.json()["outcome"], "partial");
    let r = failover(&server, "{}");
    assert_eq!(r.status, 423, "{}", r.text());
    assert_eq!(r.json()["outcome"], "refused");
    assert_eq!(failovers(&server, "manual", "partial"), 1.0);
    assert_eq!(failovers(&server, "manual", "refused"), 1.0);
}

#[test]
fn a_held_lock_answers_503_and_a_failed_swap_409() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let holder = s.held_swap("b", "");
    let r = failover(&server, r#"{"reason":"auth"}"#);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["outcome"], "busy");
    assert_eq!(holder.release().code, 0);
    // The CLI's swap and failovers of other processes are counted too.
    let r = s.run_with(&["failover", "--reason", "usage"], "swap::ensure=return");
    assert_eq!(r.code, 1, "{r:?}");
    wait_for("the CLI's failover counted", Duration::from_secs(3), || {
        failovers(&server, "usage", "failed") == 1.0
    });
    assert_eq!(failovers(&server, "auth", "busy"), 1.0);
}

#[test]
fn a_failover_stopped_after_choosing_answers_409() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("failover::after_choose=return"));
    let r = failover(&server, "{}");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["outcome"], "refused");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    // No swap was attempted.
    assert_eq!(
        server
            .metrics()
            .value("homeswap_swaps_total{outcome=\"refused\"}"),
        0.0
    );
}
