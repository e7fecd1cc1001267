//! The sidecar counts every process's swaps from the audit log, each
//! exactly once: a CLI swap that rolled back shows in
//! `homeswap_swaps_total` within a second, the sidecar's own swaps count
//! once, and a restarted sidecar does not count old lines again.
#![cfg(feature = "failpoints")]

mod common;

use std::time::Duration;

use common::server::Server;
use common::{wait_for, Sandbox};

use common::TOKEN;

fn swaps(server: &Server, outcome: &str) -> f64 {
    server
        .metrics()
        .value(&format!("homeswap_swaps_total{{outcome=\"{outcome}\"}}"))
}

/// A CLI swap to `b` that fails at ensure and rolls back (exit 1).
fn cli_rollback(s: &Sandbox) {
    let r = s.run_with(&["swap", "b"], "swap::ensure=return");
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn swaps_of_every_process_are_counted_once_and_not_again_after_a_restart() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    assert_eq!(
        swaps(&server, "swapped"),
        0.0,
        "Sandbox::ready's swap is history"
    );

    cli_rollback(&s);
    wait_for(
        "the CLI's rolled-back swap in the sidecar's metrics",
        Duration::from_secs(1),
        || swaps(&server, "rolled_back") == 1.0,
    );

    let r = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"b"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(swaps(&server, "swapped"), 1.0, "counted as it answered");
    // The log is read in order: once a later line is counted, the admin
    // swap's own line has been read too, and must not have counted again.
    let r = s.run_with(&["swap", "a"], "swap::ensure=return");
    assert_eq!(r.code, 1, "{r:?}");
    wait_for("the second rollback", Duration::from_secs(1), || {
        swaps(&server, "rolled_back") == 2.0
    });
    assert_eq!(
        swaps(&server, "swapped"),
        1.0,
        "the sidecar's own swap once"
    );
    assert_eq!(
        server
            .metrics()
            .value("homeswap_swap_duration_seconds_count"),
        3.0
    );
    drop(server);

    let server = s.serve(None);
    let r = s.run_with(&["swap", "a"], "swap::ensure=return");
    assert_eq!(r.code, 1, "{r:?}");
    wait_for(
        "the rollback after the restart",
        Duration::from_secs(1),
        || swaps(&server, "rolled_back") >= 1.0,
    );
    assert_eq!(
        swaps(&server, "rolled_back"),
        1.0,
        "old lines not counted again"
    );
    assert_eq!(
        swaps(&server, "swapped"),
        0.0,
        "old lines not counted again"
    );
}

#[test]
fn a_rotated_audit_log_is_followed() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let log = s.state().join("audit.jsonl");
    std::fs::rename(&log, s.state().join("audit.jsonl.1")).unwrap();
    cli_rollback(&s);
    wait_for(
        "the rollback logged in the new file",
        Duration::from_secs(1),
        || swaps(&server, "rolled_back") == 1.0,
    );
    std::fs::write(&log, b"garbage that is not JSON\n").unwrap();
    cli_rollback(&s);
    wait_for(
        "the rollback after a truncation",
        Duration::from_secs(1),
        || swaps(&server, "rolled_back") == 2.0,
    );
}
