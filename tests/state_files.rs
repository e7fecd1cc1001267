//! The state directory's files as an attacker or an accident leaves them
//! (a FIFO, a huge file) and interrupted swaps judged against the
//! configuration in force: no command hangs, nothing is read whole, nothing
//! is written under a path that is no longer a configured home.

mod common;

use std::time::Duration;

use common::Sandbox;
use nix::sys::stat::Mode;
use nix::unistd::mkfifo;

fn fifo(path: &std::path::Path) {
    mkfifo(path, Mode::from_bits_truncate(0o600)).unwrap();
}

#[test]
fn a_fifo_at_the_latch_file_counts_as_set_and_hangs_no_command() {
    let s = Sandbox::ready();
    fifo(&s.state().join("latch.json"));
    let r = s.run_bounded(&["status"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = s.run_bounded(&["swap", "b"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("is unreadable"), "{r:?}");
    assert!(r.stderr.contains("not a regular file"), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

#[test]
fn a_fifo_at_the_intent_record_is_moved_aside_and_hangs_no_command() {
    let s = Sandbox::ready();
    let intent = s.state().join("intent.json");
    fifo(&intent);
    let r = s.run_bounded(&["status"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("moved aside to"), "{r:?}");
    assert!(!intent.exists(), "no longer blocks recovery");
    let aside: Vec<_> = std::fs::read_dir(s.state())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("intent.json.unreadable-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "kept for the operator");
}

#[test]
fn a_fifo_at_the_audit_log_does_not_stall_a_swap_after_its_flip() {
    let s = Sandbox::ready();
    let audit = s.state().join("audit.jsonl");
    std::fs::remove_file(&audit).unwrap();
    fifo(&audit);
    let r = s.run_bounded(&["swap", "b"]);
    assert_eq!(r.code, 0, "the swap itself succeeded: {r:?}");
    assert_eq!(r.stdout.trim(), "swapped: a -> b");
    assert!(
        r.stderr.contains("audit log"),
        "the caller is warned: {r:?}"
    );
    assert_eq!(s.active_target().unwrap(), s.home("b"));
}

#[test]
fn a_huge_latch_file_is_refused_by_its_size_not_read_whole() {
    let s = Sandbox::ready();
    let f = std::fs::File::create(s.state().join("latch.json")).unwrap();
    f.set_len(1_500_000_000).unwrap(); // sparse: costs no disk
    let r = s.run_bounded(&["latch", "show"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("larger than"), "{r:?}");
    let r = s.run_bounded(&["swap", "b"]);
    assert_eq!(r.code, 3, "counts as set: {r:?}");
}

#[cfg(feature = "failpoints")]
#[test]
fn recovery_undoes_a_swap_to_an_account_no_longer_configured_and_writes_nothing_there() {
    let s = Sandbox::new();
    s.ok(&["ensure", "a"]);
    s.ok(&["swap", "a"]);
    // b's links do not exist yet: the swap makes them before its flip
    // (and would check them after it); recovery must add nothing.
    s.interrupted_swap("b");
    s.remove_config("accounts.b");
    let before = common::snapshot(&s.home("b"));

    let r = s.run(&["validate"]);
    assert!(r.stderr.contains("rolled_back"), "{r:?}");
    assert!(r.stderr.contains("no longer configured"), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    assert_eq!(
        common::snapshot(&s.home("b")),
        before,
        "nothing was created in the unconfigured home"
    );
    assert!(!s.state().join("intent.json").exists());
    let recover = s
        .audit()
        .into_iter()
        .find(|e| e["action"] == "recover")
        .unwrap();
    assert_eq!(recover["outcome"], "rolled_back");
}

#[test]
fn every_latch_clear_is_audited_even_with_no_latch_set() {
    let s = Sandbox::ready();
    s.ok(&["latch", "clear", "--reason", "just checking"]);
    let clears: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "latch_clear")
        .collect();
    assert_eq!(clears.len(), 1, "{clears:?}");
    assert_eq!(clears[0]["outcome"], "not_set");
    assert_eq!(clears[0]["reason"], "just checking");
}

#[test]
fn a_fifo_at_the_lock_file_refuses_a_swap_instead_of_hanging() {
    let s = Sandbox::ready();
    std::fs::remove_file(s.state().join("lock")).unwrap();
    fifo(&s.state().join("lock"));
    let r = s.run_bounded(&["swap", "b"]);
    assert_eq!(r.code, 1, "refused, nothing changed: {r:?}");
    assert!(r.stderr.contains("lock"), "{r:?}");
    assert!(r.stderr.contains("a FIFO"), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

#[test]
fn a_fifo_as_the_admin_token_file_stops_serve_instead_of_hanging() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::ready();
    s.add_serve_section();
    let token = s.root().join("admin-token");
    std::fs::remove_file(&token).unwrap();
    fifo(&token);
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = s.run_bounded(&["serve"]);
    assert_eq!(
        r.code, 2,
        "a token file error is a configuration error: {r:?}"
    );
    assert!(r.stderr.contains("not a regular file"), "{r:?}");
}

#[test]
fn an_unreadable_latch_file_is_named_by_latch_show_and_clear() {
    let s = Sandbox::ready();
    std::fs::write(s.state().join("latch.json"), b"{garbage").unwrap();
    let shown = s.ok(&["latch", "show"]).stdout;
    assert!(shown.starts_with("latch: SET: the latch file "), "{shown}");
    assert!(shown.contains("latch.json is unreadable"), "{shown}");
    assert!(shown.contains("removes the file"), "{shown}");
    assert!(
        !shown.contains("pid 0") && !shown.contains("since ?"),
        "{shown}"
    );

    let cleared = s.ok(&["latch", "clear", "--reason", "read it, nothing to keep"]);
    assert!(
        cleared.stdout.starts_with("latch cleared (the latch file "),
        "{cleared:?}"
    );
    assert!(
        cleared.stdout.contains("the file was removed"),
        "{cleared:?}"
    );
    assert!(!s.state().join("latch.json").exists());
    let clear = s
        .audit()
        .into_iter()
        .find(|e| e["action"] == "latch_clear")
        .unwrap();
    assert_eq!(clear["outcome"], "cleared");
    assert!(
        clear["errors"][0]
            .as_str()
            .unwrap()
            .contains("is unreadable"),
        "the audit says what was cleared: {clear}"
    );
}

/// A `SessionStart` event for session `id`, as Claude Code sends it.
fn session_start(id: &str) -> Vec<u8> {
    format!(r#"{{"session_id":"{id}","hook_event_name":"SessionStart","source":"startup"}}"#)
        .into_bytes()
}

/// Sets `path`'s modification time 30 days back, past the 14-day prune.
fn age_a_month(path: &std::path::Path) {
    let then = std::time::SystemTime::now() - Duration::from_secs(30 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(then)
        .unwrap();
}

#[test]
fn a_symlinked_sessions_dir_is_refused_and_nothing_is_written_or_pruned_through_it() {
    let s = Sandbox::ready();
    let elsewhere = s.root().join("documents");
    std::fs::create_dir(&elsewhere).unwrap();
    for name in ["thesis.docx", "photo.jpg", "notes.txt", "old-session.json"] {
        let f = elsewhere.join(name);
        std::fs::write(&f, b"the user's own").unwrap();
        age_a_month(&f);
    }
    let before = common::snapshot(&elsewhere);
    std::os::unix::fs::symlink(&elsewhere, s.state().join("sessions")).unwrap();

    let (r, _) = s.run_stdin(&["hook"], &session_start("s9"), None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("session s9"), "{r:?}");
    assert!(r.stderr.contains("symlink"), "says why: {r:?}");
    assert!(!r.stderr.contains("started on account"), "{r:?}");
    assert_eq!(
        common::snapshot(&elsewhere),
        before,
        "nothing written or removed there"
    );
    // Nor is a record read through it.
    std::fs::write(
        elsewhere.join("s9.json"),
        br#"{"account":"b","started":"x"}"#,
    )
    .unwrap();
    let status = r#"{"session_id":"s9","rate_limits":{"five_hour":{"used_percentage":10,"resets_at":4102444800}}}"#;
    let (r, _) = s.run_stdin(&["statusline"], status.as_bytes(), None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with("a "),
        "the active account, not the planted b: {r:?}"
    );
}

#[test]
fn the_prune_removes_only_old_session_records() {
    let s = Sandbox::ready();
    let dir = s.state().join("sessions");
    std::fs::create_dir(&dir).unwrap();
    let old_record = dir.join("0b5f6a4e-old.json");
    let fresh_record = dir.join("s-fresh.json");
    let kept: Vec<_> = [
        "README.txt",
        "notes.json.bak",
        "a b.json",
        ".json",
        "x.JSON",
    ]
    .iter()
    .map(|n| dir.join(n))
    .collect();
    for f in kept.iter().chain([&old_record, &fresh_record]) {
        std::fs::write(f, br#"{"account":"a","started":"2026-01-01T00:00:00Z"}"#).unwrap();
    }
    for f in kept.iter().chain([&old_record]) {
        age_a_month(f);
    }
    let linked = dir.join("linked.json");
    std::os::unix::fs::symlink(&kept[0], &linked).unwrap();

    let (r, _) = s.run_stdin(&["hook"], &session_start("s-new"), None);
    assert!(
        r.stderr.contains("session s-new started on account a"),
        "{r:?}"
    );
    assert!(!old_record.exists(), "an old record is pruned");
    assert!(fresh_record.exists(), "a fresh one is kept");
    for f in &kept {
        assert!(f.exists(), "{} is no session record: kept", f.display());
    }
    assert!(
        linked.symlink_metadata().is_ok(),
        "a symlink is no record: kept"
    );
    assert!(dir.join("s-new.json").exists());
}
