//! One partial-swap latch per process: the sidecar's latch is the one its
//! start-up recovery set, survives a reload (even one that moves the state
//! dir, even when it never reached the disk) and is cleared when an
//! operator clears it from another process.
#![cfg(feature = "failpoints")]

mod common;

use std::time::Duration;

use common::server::Server;
use common::{make_link, wait_for, Sandbox};
use nix::sys::signal::Signal;

use common::TOKEN;

fn partial_swap(server: &Server) -> f64 {
    server.metrics().value("homeswap_partial_swap")
}

fn validations(server: &Server) -> f64 {
    server.metrics().value("homeswap_validations_total")
}

/// Makes the sidecar validate again (a link of `a` re-created as it was,
/// which its watcher reports) and waits until it has.
fn wait_for_a_new_validation(s: &Sandbox, server: &Server) {
    let before = validations(server);
    std::fs::remove_file(s.link("a", "session-env")).unwrap();
    make_link(&s.shared().join("session-env"), &s.link("a", "session-env"));
    wait_for("a new validation", Duration::from_secs(10), || {
        validations(server) > before
    });
}

#[test]
fn a_latch_recovery_held_in_memory_at_start_is_the_sidecars_until_cleared() {
    let s = Sandbox::ready();
    s.interrupted_swap("b");
    // b cannot be ensured, so recovery must roll back; the rollback and
    // the latch file both fail: the latch lives in memory only.
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    make_link(&s.root().join("elsewhere"), &s.link("b", "projects"));
    s.add_serve_section();
    let server = s.serve(Some("swap::rollback=return;latch::write=return"));

    assert!(!s.state().join("latch.json").exists(), "memory only");
    assert_eq!(partial_swap(&server), 1.0);
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503);
    assert!(ready.text().contains("latch"), "{}", ready.text());
    let refused = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"a"}"#);
    assert_eq!(refused.status, 423, "{}", refused.text());

    // The operator repairs b (active now) and clears through the API.
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    make_link(&s.shared().join("projects"), &s.link("b", "projects"));
    let clear = server.admin_post(
        "/api/v1/latch/clear",
        Some(TOKEN),
        r#"{"reason":"relinked"}"#,
    );
    assert_eq!(clear.status, 200, "{}", clear.text());
    assert_eq!(partial_swap(&server), 0.0);
    wait_for("ready", Duration::from_secs(5), || {
        server.get("/readyz").status == 200
    });
}

#[test]
fn a_sidecar_latch_cleared_from_the_cli_is_clear_in_the_sidecar_within_a_second() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("swap::ensure=return;swap::rollback=return"));
    let r = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"b"}"#);
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(s.state().join("latch.json").exists());
    assert_eq!(partial_swap(&server), 1.0);

    // b is active and its links are fine (only the failpoint failed), so
    // the runbook's fix is allowed; the CLI runs without failpoints.
    s.ok(&["latch", "clear", "--reason", "checked b by hand"]);
    wait_for(
        "the sidecar to see the clear",
        Duration::from_secs(1),
        || partial_swap(&server) == 0.0,
    );
    wait_for("ready", Duration::from_secs(1), || {
        server.get("/readyz").status == 200
    });
    let r = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"b"}"#);
    assert_ne!(r.status, 423, "still latched: {}", r.text());
}

#[test]
fn a_swap_that_latches_after_a_reload_latches_the_reloaded_sidecar() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let (server, swap) = s.serve_with_a_held_swap(
        "b",
        "swap::ensure=return;swap::rollback=return;latch::write=return",
    );
    // The swap is past its flip and held there: reload under it.
    assert_eq!(s.active_target(), Some(s.home("b")));
    server.signal(Signal::SIGHUP);
    wait_for("the reload", Duration::from_secs(10), || {
        server.logged("configuration reloaded")
    });
    assert!(
        s.state().join("intent.json").exists(),
        "the swap was still running when the reload happened"
    );
    let r = swap.release();
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(!s.state().join("latch.json").exists(), "memory only");
    wait_for_a_new_validation(&s, &server);
    assert_eq!(partial_swap(&server), 1.0);
    assert_eq!(server.get("/readyz").status, 503);
}

#[test]
fn a_reload_that_moves_the_state_dir_keeps_a_latch_held_in_memory() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some(
        "swap::ensure=return;swap::rollback=return;latch::write=return",
    ));
    let r = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"b"}"#);
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(partial_swap(&server), 1.0);

    let moved = s.root().join("state-moved");
    s.set_config("state_dir", &moved);
    server.signal(Signal::SIGHUP);
    wait_for("the reload", Duration::from_secs(10), || {
        server.logged("configuration reloaded")
    });
    wait_for_a_new_validation(&s, &server);
    assert_eq!(partial_swap(&server), 1.0);
    let r = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"a"}"#);
    assert_eq!(r.status, 423, "{}", r.text());
    let status = server.get("/api/v1/status").json();
    let why = status["latch"]["memory_only"].as_str().unwrap_or_default();
    assert!(why.contains("/api/v1/latch/clear"), "{status}");
}
