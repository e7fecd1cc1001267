//! The sidecar's admin API under failures, through the contract's
//! failpoints (set for the sidecar process). Built only with
//! `--features failpoints`.
#![cfg(feature = "failpoints")]

mod common;

use std::time::Duration;

use common::{wait_for, Sandbox};

use common::TOKEN;

#[test]
fn a_partial_swap_answers_500_latches_423_and_clears_back_to_ready() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("swap::ensure=return;swap::rollback=return"));
    let swap =
        |to: &str| server.admin_post("/api/v1/swap", Some(TOKEN), &format!(r#"{{"to":"{to}"}}"#));

    let r = swap("b");
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.json()["outcome"], "partial");
    assert!(s.state().join("latch.json").exists());
    let m = server.metrics();
    assert_eq!(m.value("homeswap_partial_swap"), 1.0);
    assert_eq!(m.value("homeswap_swaps_total{outcome=\"partial\"}"), 1.0);
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503);
    assert!(ready.json()["reasons"][0]
        .as_str()
        .unwrap()
        .starts_with("the partial-swap latch is set since"));
    assert_eq!(server.get("/api/v1/status").json()["latch"]["to"], "b");

    let r = swap("a");
    assert_eq!(r.status, 423, "{}", r.text());
    assert_eq!(
        server
            .metrics()
            .value("homeswap_swaps_total{outcome=\"refused\"}"),
        1.0
    );
    // The CLI sees the same latch.
    assert_eq!(s.run(&["swap", "a"]).code, 3);

    // Clear: 400 without a reason, then 409 while b (active now) is broken,
    // then 200 once it is repaired.
    let clear = |body: &str| server.admin_post("/api/v1/latch/clear", Some(TOKEN), body);
    assert_eq!(clear("{}").status, 400);
    assert_eq!(clear(r#"{"reason":""}"#).status, 400);
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    let r = clear(r#"{"reason":"too early"}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.json()["errors"][0]
        .as_str()
        .unwrap()
        .starts_with("account b: projects: missing"));
    s.ok(&["ensure", "b"]);
    let r = clear(r#"{"reason":"relinked b/projects"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["cleared"], true);
    assert_eq!(server.metrics().value("homeswap_partial_swap"), 0.0);
    assert_eq!(server.get("/readyz").status, 200);
    // The log lines come through a pipe read by another thread.
    for message in ["partial-swap latch is set", "latch cleared"] {
        wait_for(message, Duration::from_secs(5), || server.logged(message));
    }
}

#[test]
fn a_rolled_back_swap_answers_409_and_keeps_the_previous_account() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("swap::ensure=return"));
    let r = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"b"}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["outcome"], "rolled_back");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    let m = server.metrics();
    assert_eq!(
        m.value("homeswap_swaps_total{outcome=\"rolled_back\"}"),
        1.0
    );
    assert_eq!(m.value("homeswap_active_account{account=\"a\"}"), 1.0);
    assert_eq!(m.value("homeswap_partial_swap"), 0.0);
}

#[test]
fn cli_and_http_swaps_share_the_lock() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let (_server, http_swap) = s.serve_with_a_held_swap("b", "");
    let r = s.run(&["swap", "a"]);
    assert_eq!(
        r.code, 4,
        "the CLI must report busy while the sidecar swaps: {r:?}"
    );
    let r = http_swap.release();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    assert_eq!(
        s.audit_outcomes(),
        ["swap swapped", "swap busy", "swap swapped"]
    );
}

#[test]
fn sigterm_lets_a_swap_in_flight_finish() {
    const SHUTTING_DOWN: &str = "shutting down: no new connections; finishing requests in flight";
    let s = Sandbox::ready();
    s.add_serve_section();
    let (mut server, http_swap) = s.serve_with_a_held_swap("b", "");
    // The swap is past its flip (the active link is b's) and held there
    // (the intent record is still there).
    let intent = s.state().join("intent.json");
    assert!(intent.exists() && s.active_target() == Some(s.home("b")));
    server.signal(nix::sys::signal::Signal::SIGTERM);
    wait_for(
        "the sidecar to start shutting down",
        Duration::from_secs(10),
        || server.logged(SHUTTING_DOWN),
    );
    // The signal landed while the swap was in flight: the sidecar began
    // its shutdown before the swap ended and before its answer was sent.
    assert!(
        intent.exists(),
        "the swap ended before the sidecar saw SIGTERM: nothing was tested"
    );
    assert!(
        !http_swap.is_answered(),
        "the swap was answered before SIGTERM"
    );

    // The answer still arrives, whole, and says what happened.
    let r = http_swap.release();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-length")
            .map(|l| l.parse::<usize>().unwrap()),
        Some(r.body.len()),
        "a cut answer"
    );
    let body = r.json();
    assert_eq!(
        (body["active"].as_str(), body["outcome"].as_str()),
        (Some("b"), Some("swapped"))
    );
    // And the sidecar then stops on its own, gracefully.
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    assert!(!intent.exists());
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    s.ok(&["validate"]);
    wait_for("the last log line", Duration::from_secs(5), || {
        server.logged("stopped")
    });
    let messages: Vec<String> = server
        .logs
        .lock()
        .unwrap()
        .iter()
        .filter_map(|v| v["message"].as_str().map(str::to_string))
        .collect();
    let at = |m: &str| {
        messages
            .iter()
            .position(|x| x == m)
            .unwrap_or_else(|| panic!("no {m:?} in {messages:#?}"))
    };
    assert!(
        at(SHUTTING_DOWN) < at("swap") && at("swap") < at("stopped"),
        "shutdown began during the swap and ended after it: {messages:#?}"
    );
}
