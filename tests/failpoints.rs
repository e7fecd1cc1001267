//! Failure and crash tests through the contract's failpoints, on the real
//! binary. Built only with `--features failpoints`.
#![cfg(feature = "failpoints")]

mod common;

use std::time::Duration;

use common::{snapshot, Sandbox};

fn latch_file(s: &Sandbox) -> std::path::PathBuf {
    s.state().join("latch.json")
}

fn intent_file(s: &Sandbox) -> std::path::PathBuf {
    s.state().join("intent.json")
}

// The seed's TestFlipEnsureFailureTriggersRollback.
#[test]
fn ensure_failure_after_the_flip_rolls_back_and_the_previous_account_stays_active() {
    let s = Sandbox::ready();
    let r = s.run_with(&["swap", "b"], "swap::ensure=return");
    assert_eq!(r.code, 1, "{r:?}");
    let lines = r.stderr_lines();
    assert_eq!(
        lines[0],
        "homeswap: swap a -> b failed and was rolled back; a is still active:"
    );
    assert_eq!(
        lines[1],
        "  account b: ensure failed: failpoint swap::ensure"
    );
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    assert!(!intent_file(&s).exists());
    assert!(!latch_file(&s).exists());
    assert_eq!(s.audit().last().unwrap()["outcome"], "rolled_back");
    // Not latched: the next swap works.
    s.ok(&["swap", "b"]);
}

#[test]
fn a_failed_flip_leaves_everything_as_it_was() {
    let s = Sandbox::ready();
    let before = snapshot(s.root());
    let r = s.run_with(&["swap", "b"], "swap::flip=return");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("failpoint swap::flip"), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    let mut after = snapshot(s.root());
    after.remove(std::path::Path::new("state/audit.jsonl"));
    let mut before = before;
    before.remove(std::path::Path::new("state/audit.jsonl"));
    assert_eq!(after, before);
}

// The seed's TestFlipEnsureAndRollbackFailure, plus the latch across processes.
#[test]
fn ensure_and_rollback_failing_set_a_latch_that_outlives_the_process() {
    let s = Sandbox::ready();
    // b has a missing link, which the failed ensure leaves missing.
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    let r = s.run_with(&["swap", "b"], "swap::ensure=return;swap::rollback=return");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.starts_with("homeswap: partial swap a -> b"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("rollback failed: cannot restore the link"),
        "{r:?}"
    );
    assert_eq!(
        s.active_target().unwrap(),
        s.home("b"),
        "the flip stays where the rollback failed"
    );
    let latch: serde_json::Value =
        serde_json::from_slice(&std::fs::read(latch_file(&s)).unwrap()).unwrap();
    assert_eq!(
        (latch["from"].as_str(), latch["to"].as_str()),
        (Some("a"), Some("b"))
    );
    assert_eq!(latch["errors"].as_array().unwrap().len(), 2);
    assert!(!intent_file(&s).exists());

    // New processes: every swap is refused, whichever account.
    for to in ["a", "b"] {
        let r = s.run(&["swap", to]);
        assert_eq!(r.code, 3, "{to}: {r:?}");
        assert!(r.stderr.contains("the partial-swap latch is set"), "{r:?}");
    }
    assert_eq!(s.active_target().unwrap(), s.home("b"));

    // Cleared only once the active account (b) is healthy.
    let r = s.run(&["latch", "clear", "--reason", "too early"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("account b: projects: missing"), "{r:?}");
    assert_eq!(s.run(&["swap", "a"]).code, 3);
    s.ok(&["ensure", "b"]);
    s.ok(&["latch", "clear", "--reason", "relinked b/projects"]);
    assert!(!latch_file(&s).exists());
    s.ok(&["swap", "a"]);
    assert_eq!(
        s.audit_outcomes(),
        [
            "swap swapped",
            "swap partial",
            "swap refused",
            "swap refused",
            "latch_clear refused",
            "swap refused",
            "latch_clear cleared",
            "swap swapped"
        ]
    );
}

#[test]
fn a_latch_that_cannot_be_persisted_is_reported_and_the_next_command_retries() {
    let s = Sandbox::ready();
    let r = s.run_with(
        &["swap", "b"],
        "swap::ensure=return;swap::rollback=return;latch::write=return",
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("the latch holds in memory only"), "{r:?}");
    assert!(r.stderr.contains("failpoint latch::write"), "{r:?}");
    assert!(!latch_file(&s).exists());
    // The record stays so the failure is not forgotten: the next command
    // applies the swap's rules again (here b ensures fine: finished).
    assert!(intent_file(&s).exists());
    let r = s.ok(&["status"]);
    assert!(
        r.stderr.contains("recovered an interrupted swap a -> b"),
        "{r:?}"
    );
    assert!(!intent_file(&s).exists());
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    s.ok(&["validate"]);
}

#[test]
fn a_crash_after_the_flip_is_recovered_by_the_next_command() {
    let s = Sandbox::ready();
    std::fs::remove_file(s.link("b", "session-env")).unwrap();
    let r = s.run_with(&["swap", "b"], "swap::after_flip=panic");
    assert_eq!(r.code, 101, "the failpoint panics: {r:?}");
    assert!(intent_file(&s).exists());
    assert_eq!(s.active_target().unwrap(), s.home("b"));

    let r = s.ok(&["validate"]);
    assert!(
        r.stderr.contains("recovered an interrupted swap a -> b"),
        "{r:?}"
    );
    assert!(r.stderr.contains("swapped"), "{r:?}");
    assert!(!intent_file(&s).exists());
    assert_eq!(
        std::fs::read_link(s.link("b", "session-env")).unwrap(),
        s.shared().join("session-env")
    );
}

#[test]
fn a_process_killed_after_the_flip_is_recovered_by_the_next_swap() {
    let s = Sandbox::ready();
    s.interrupted_swap("b");

    // The kernel released the dead process's lock: no busy, no wait.
    let r = s.ok(&["swap", "a"]);
    assert!(
        r.stderr.contains("recovered an interrupted swap a -> b"),
        "{r:?}"
    );
    assert_eq!(r.stdout.trim(), "swapped: b -> a");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    s.ok(&["validate"]);
}

#[test]
fn a_second_swap_reports_busy_while_the_first_holds_the_lock() {
    let s = Sandbox::ready();
    let first = s.held_swap("b", "");
    let r = s.run(&["swap", "a"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("another homeswap holds"), "{r:?}");
    // The busy process did not take the live intent for a crashed one.
    assert!(intent_file(&s).exists());
    let out = first.release();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    assert!(!intent_file(&s).exists());
    assert_eq!(
        s.audit_outcomes(),
        ["swap swapped", "swap busy", "swap swapped"]
    );
}

#[test]
fn a_second_swap_waits_for_a_short_first_one() {
    let s = Sandbox::ready();
    let first = s.held_swap("b", "");
    // The second is waiting for the lock when the first goes on.
    let second = s.spawn(&["swap", "a"], None);
    s.wait_at_lock(second.id());
    assert_eq!(first.release().code, 0);
    let r = common::finish_within(second, Duration::from_secs(20), "the second swap");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout.trim(),
        "swapped: b -> a",
        "it ran after the first one finished"
    );
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

#[test]
fn read_only_commands_do_not_recover_a_swap_that_is_still_running() {
    let s = Sandbox::ready();
    let first = s.held_swap("b", "");
    let r = s.ok(&["status"]);
    assert!(r.stdout.contains("swap:     in progress"), "{r:?}");
    assert!(!r.stderr.contains("recovered"), "{r:?}");
    assert_eq!(first.release().code, 0);
}

#[test]
fn a_rollback_restores_a_previous_target_that_is_not_utf8_byte_for_byte() {
    use std::os::unix::ffi::OsStrExt;
    let s = Sandbox::ready();
    let odd = std::path::Path::new(std::ffi::OsStr::from_bytes(b"/tmp/\xff-old-home"));
    std::fs::remove_file(s.active()).unwrap();
    std::os::unix::fs::symlink(odd, s.active()).unwrap();
    let r = s.run_with(&["swap", "b"], "swap::ensure=return");
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(s.active_target().unwrap(), odd);
    assert!(!intent_file(&s).exists());
}

/// A Claude Code session appends through the active link the moment the
/// flip lands: the new account's links must be there already, or its
/// prompt goes into the home instead of the shared history and the swap
/// then finds a real file where the link belongs (found by tests/chaos.rs).
#[test]
fn an_account_without_its_links_gets_them_before_the_flip_makes_it_active() {
    use std::io::Write;
    let s = Sandbox::ready();
    s.set_config("shared_files", ["history.jsonl"]);
    s.ok(&["ensure"]);
    // b as an account just added: a home with none of its links.
    for name in common::LINKS.iter().chain(&["history.jsonl"]) {
        std::fs::remove_file(s.link("b", name)).unwrap();
    }
    let held = s.held_swap("b", "");
    assert_eq!(s.active_target(), Some(s.home("b")));
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(s.active().join("history.jsonl"))
        .unwrap()
        .write_all(b"{\"prompt\":\"right after the flip\"}\n")
        .unwrap();
    let r = held.release();
    assert_eq!(r.code, 0, "{r:?}");
    for name in common::LINKS.iter().chain(&["history.jsonl"]) {
        let link = std::fs::symlink_metadata(s.link("b", name)).unwrap();
        assert!(link.file_type().is_symlink(), "b's {name} is not a link");
    }
    assert_eq!(
        std::fs::read_to_string(s.shared().join("history.jsonl")).unwrap(),
        "{\"prompt\":\"right after the flip\"}\n"
    );
    // What the swap created is still reported.
    assert!(r.stdout.contains("history.jsonl"), "{r:?}");
}
