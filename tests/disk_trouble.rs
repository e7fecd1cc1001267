//! Disk trouble: a full (ENOSPC) or read-only (EROFS) file system under the
//! state directory or a home, made real with a small tmpfs. The latch must
//! still hold in memory, every error must be reported with its path, and
//! nothing may be left half-written. The tmpfs tests need root (CI runs
//! them with `-- --ignored`); the audit-log case needs nothing.
#![cfg(feature = "failpoints")]

mod common;

use std::path::Path;

use common::mount::Mount;
use common::{snapshot, Sandbox, TOKEN};

/// Entries of the state dir other than the filler and the lock: what a
/// half-written write would leave.
fn state_leftovers(state: &Path) -> Vec<String> {
    snapshot(state)
        .into_keys()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.contains(".homeswap-tmp."))
        .collect()
}

#[test]
#[ignore = "needs root (mounts a tmpfs); run by .ci/run"]
fn a_full_state_dir_refuses_the_swap_before_the_flip() {
    let s = Sandbox::ready();
    let mount = Mount::tmpfs(&s.state(), "size=64k,nr_inodes=32");
    mount.fill();
    let r = s.run(&["swap", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("No space left on device"), "{r:?}");
    assert!(r.stderr.contains(&s.state().display().to_string()), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    assert_eq!(state_leftovers(&s.state()), Vec::<String>::new());
    assert!(!s.state().join("intent.json").exists());
}

/// The sidecar swaps with ensure and rollback failing; while it is held
/// after the flip, the state dir's file system breaks (`break_fs`). The
/// latch cannot be written, yet the sidecar must hold it.
fn latch_survives_a_broken_state_dir(break_fs: impl FnOnce(&Mount)) {
    let s = Sandbox::ready();
    let mount = Mount::tmpfs(&s.state(), "size=256k,nr_inodes=64");
    s.add_serve_section();
    // The hold's files are in the sandbox's root, not on the tmpfs.
    let (server, swap) = s.serve_with_a_held_swap("b", "swap::ensure=return;swap::rollback=return");
    assert!(s.state().join("intent.json").exists());
    break_fs(&mount);
    let r = swap.release();
    assert_eq!(r.status, 500, "{}", r.text());
    let body = r.json();
    assert_eq!(body["outcome"], "partial");
    assert!(
        body["error"].as_str().unwrap().contains("in memory only"),
        "{body}"
    );
    // Held in memory: metrics, readiness and further swaps all see it.
    assert_eq!(server.metrics().value("homeswap_partial_swap"), 1.0);
    assert_eq!(server.get("/readyz").status, 503);
    let again = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"a"}"#);
    assert_eq!(again.status, 423, "{}", again.text());
    // Nothing half-written: no latch file, no temporary.
    assert!(!s.state().join("latch.json").exists());
    assert_eq!(state_leftovers(&s.state()), Vec::<String>::new());
    // The intent record stays, so a restart re-applies the swap's rules.
    assert!(s.state().join("intent.json").exists());
    drop(server);
    drop(mount);
}

#[test]
#[ignore = "needs root (mounts a tmpfs); run by .ci/run"]
fn the_latch_holds_in_memory_when_the_state_dir_fills_up_mid_swap() {
    latch_survives_a_broken_state_dir(Mount::fill);
}

#[test]
#[ignore = "needs root (mounts a tmpfs); run by .ci/run"]
fn the_latch_holds_in_memory_when_the_state_dir_turns_read_only_mid_swap() {
    latch_survives_a_broken_state_dir(|m| m.remount("ro"));
}

#[test]
#[ignore = "needs root (mounts a tmpfs); run by .ci/run"]
fn a_full_home_makes_the_swap_roll_back_with_the_path_in_the_error() {
    let s = Sandbox::ready();
    // b's home: an empty tmpfs with no inode left for its links.
    let mount = Mount::tmpfs(&s.home("b"), "size=64k,nr_inodes=8");
    mount.fill();
    let r = s.run(&["swap", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("No space left on device"), "{r:?}");
    assert!(
        r.stderr
            .contains(&s.link("b", "session-env").display().to_string()),
        "{r:?}"
    );
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    assert!(!s.state().join("latch.json").exists());
}

#[test]
fn an_unwritable_audit_log_is_reported_and_does_not_fail_the_swap() {
    let s = Sandbox::ready();
    // A directory where the log file belongs: every append fails.
    let audit = s.state().join("audit.jsonl");
    std::fs::remove_file(&audit).unwrap();
    std::fs::create_dir(&audit).unwrap();
    let r = s.run(&["swap", "b"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("audit.jsonl"), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("b"));
}
