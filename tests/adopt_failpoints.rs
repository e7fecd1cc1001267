//! Crash tests of `homeswap adopt` through the `adopt::after_move`
//! failpoint, on the real binary. Built only with `--features failpoints`.
#![cfg(feature = "failpoints")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{snapshot, Entry, Sandbox};

/// b's projects as a real directory with `n` transcripts to move, one
/// duplicate and one conflict; returns every file (relative path, bytes)
/// the account had.
fn interrupted_case(s: &Sandbox, n: usize) -> BTreeMap<PathBuf, Vec<u8>> {
    let real = s.link("b", "projects");
    std::fs::remove_file(&real).unwrap();
    let shared = s.shared().join("projects");
    let mut files = BTreeMap::new();
    for i in 0..n {
        files.insert(
            PathBuf::from(format!("p{}/t{i}.jsonl", i % 3)),
            format!("transcript {i}\n").into_bytes(),
        );
    }
    files.insert(PathBuf::from("p0/same.jsonl"), b"same\n".to_vec());
    files.insert(PathBuf::from("p1/clash.jsonl"), b"ours\n".to_vec());
    for (rel, bytes) in &files {
        std::fs::create_dir_all(real.join(rel).parent().unwrap()).unwrap();
        std::fs::write(real.join(rel), bytes).unwrap();
    }
    std::fs::create_dir_all(shared.join("p0")).unwrap();
    std::fs::create_dir_all(shared.join("p1")).unwrap();
    std::fs::write(shared.join("p0/same.jsonl"), b"same\n").unwrap();
    std::fs::write(shared.join("p1/clash.jsonl"), b"theirs\n").unwrap();
    files
}

/// Every file content under `dirs`, sorted.
fn contents(dirs: &[&Path]) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = dirs
        .iter()
        .flat_map(|d| snapshot(d).into_values())
        .filter_map(|e| match e {
            Entry::File(b) => Some(b),
            _ => None,
        })
        .collect();
    all.sort();
    all
}

fn expected_after(files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<Vec<u8>> {
    // The account's files, plus the target's two (the duplicate counted once).
    let mut all: Vec<Vec<u8>> = files.values().cloned().collect();
    all.push(b"theirs\n".to_vec());
    all.sort();
    all
}

#[test]
fn a_crash_halfway_through_loses_nothing_and_the_next_adopt_finishes() {
    let s = Sandbox::ready();
    let files = interrupted_case(&s, 9);
    let real = s.link("b", "projects");
    let shared = s.shared().join("projects");
    // Moves are 9 transcripts plus the kept-both copy: panic after the 4th.
    let r = s.run_with(
        &["adopt", "b", "--keep-both"],
        "adopt::after_move=4*off->panic",
    );
    assert_eq!(r.code, 101, "the failpoint panics: {r:?}");
    assert!(s.state().join("adopt.json").exists(), "the journal stays");
    assert!(real.is_dir() && !real.is_symlink(), "stopped part-way");
    // Nothing in neither place: every content is in the account or the target.
    let mut seen = contents(&[&real, &shared]);
    seen.dedup();
    let mut wanted = expected_after(&files);
    wanted.dedup();
    assert_eq!(seen, wanted);
    let moved_already = snapshot(&shared).len();
    let status = s.ok(&["status"]);
    assert!(
        status
            .stdout
            .contains("adopt:    an interrupted adoption of account b"),
        "{status:?}"
    );

    // The re-run needs no --keep-both: the journal remembers the choice.
    let r = s.ok(&["adopt", "b"]);
    assert!(
        r.stderr
            .contains("finished an interrupted adoption of account b"),
        "{r:?}"
    );
    assert!(r.stdout.contains("1 file(s) need a look"), "{r:?}");
    assert_eq!(std::fs::read_link(&real).unwrap(), shared);
    assert_eq!(contents(&[&shared]), expected_after(&files));
    assert!(snapshot(&shared).len() > moved_already);
    assert!(!s.state().join("adopt.json").exists());
    s.ok(&["validate"]);
    let entry = s.audit().pop().unwrap();
    assert_eq!(entry["outcome"], "adopted");
    assert_eq!(entry["adopt"]["resumed"], true);
}

#[test]
fn a_failed_move_stops_part_way_with_exit_1_and_a_rerun_finishes() {
    let s = Sandbox::ready();
    let files = interrupted_case(&s, 4);
    let r = s.run_with(
        &["adopt", "b", "--keep-both"],
        "adopt::after_move=1*off->return",
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("stopped part-way in projects"), "{r:?}");
    assert!(
        r.stderr.contains("run 'homeswap adopt b' again to finish"),
        "{r:?}"
    );
    assert!(r.stderr.contains("failpoint adopt::after_move"), "{r:?}");
    assert_eq!(s.audit().pop().unwrap()["outcome"], "stopped");

    s.ok(&["adopt", "b"]);
    assert_eq!(
        contents(&[&s.shared().join("projects")]),
        expected_after(&files)
    );
    s.ok(&["validate"]);
}

#[test]
fn an_interrupted_adoption_of_another_account_is_finished_first() {
    let s = Sandbox::ready();
    let files = interrupted_case(&s, 3);
    let r = s.run_with(&["adopt", "b", "--keep-both"], "adopt::after_move=panic");
    assert_eq!(r.code, 101, "{r:?}");
    // Adopting a (nothing to adopt) finishes b's first.
    let r = s.ok(&["adopt", "a", "--force-active"]);
    assert!(
        r.stderr
            .contains("finished an interrupted adoption of account b"),
        "{r:?}"
    );
    assert_eq!(
        contents(&[&s.shared().join("projects")]),
        expected_after(&files)
    );
    s.ok(&["validate"]);
}

#[test]
fn a_resumed_adoption_removes_temporary_copies_a_crash_left_in_either_naming_and_nothing_else() {
    let s = Sandbox::ready();
    let files = interrupted_case(&s, 3);
    let r = s.run_with(&["adopt", "b", "--keep-both"], "adopt::after_move=panic");
    assert_eq!(r.code, 101, "{r:?}");
    // What a copy across file systems leaves when killed before its link:
    // this version's temporary name and an older version's.
    let p0 = s.shared().join("projects/p0");
    let ours = [
        p0.join(".t0.jsonl.homeswap-tmp.4242.0"),
        p0.join(".t3.jsonl.homeswap-adopt-tmp.4242"),
    ];
    for t in &ours {
        std::fs::write(t, b"half a copy").unwrap();
    }
    // An operator's files that only look like temporaries, and a directory.
    let theirs = [
        p0.join(".notes.homeswap-tmp.mine"),
        p0.join(".t0.jsonl.homeswap-tmp.1.0.bak"),
    ];
    for t in &theirs {
        std::fs::write(t, b"keep me").unwrap();
    }
    let dir = p0.join(".d.homeswap-tmp.1.0");
    std::fs::create_dir(&dir).unwrap();

    let r = s.ok(&["adopt", "b"]);
    assert!(
        r.stderr.contains("finished an interrupted adoption"),
        "{r:?}"
    );
    for t in &ours {
        assert!(t.symlink_metadata().is_err(), "{} is left", t.display());
    }
    for t in &theirs {
        assert_eq!(std::fs::read(t).unwrap(), b"keep me");
        std::fs::remove_file(t).unwrap();
    }
    assert!(dir.is_dir());
    std::fs::remove_dir(&dir).unwrap();
    assert_eq!(
        contents(&[&s.shared().join("projects")]),
        expected_after(&files)
    );
    s.ok(&["validate"]);
}

#[test]
fn a_stopped_adoption_without_link_records_the_links_it_was_adopting_in_the_audit_log() {
    let s = Sandbox::ready();
    interrupted_case(&s, 3);
    // No --link: every real directory is adopted, here just projects.
    let r = s.run_with(&["adopt", "b", "--keep-both"], "adopt::after_move=return");
    assert_eq!(r.code, 1, "{r:?}");
    let entry = s.audit().pop().unwrap();
    assert_eq!(entry["action"], "adopt", "{entry}");
    assert_eq!(entry["outcome"], "stopped", "{entry}");
    assert_eq!(
        entry["adopt"]["links"],
        serde_json::json!(["projects"]),
        "{entry}"
    );
    assert_eq!(entry["adopt"]["moved"], 1, "{entry}");
}

/// Removes account `gone` from the configuration and adds a new account
/// `c` (its home created, its links ensured).
fn drop_account_and_add_c(s: &Sandbox, gone: &str) {
    s.remove_config(&format!("accounts.{gone}"));
    s.set_config("accounts.c", s.home("c"));
    std::fs::create_dir(s.home("c")).unwrap();
    s.ok(&["ensure", "c"]);
}

#[test]
fn a_leftover_journal_of_a_removed_account_does_not_hold_another_accounts_adopt_hostage() {
    let s = Sandbox::ready();
    let files = interrupted_case(&s, 6);
    let r = s.run_with(
        &["adopt", "b", "--keep-both"],
        "adopt::after_move=2*off->panic",
    );
    assert_eq!(r.code, 101, "{r:?}");
    let journal = s.state().join("adopt.json");
    let stale = std::fs::read(&journal).unwrap();
    let real_b = s.link("b", "projects");
    let b_left = snapshot(&real_b);
    drop_account_and_add_c(&s, "b");

    // Adopting the removed account itself is a usage error, as ever.
    let r = s.run(&["adopt", "b"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("unknown account \"b\""), "{r:?}");

    // c's adoption proceeds, and says precisely what the journal is.
    let real_c = s.link("c", "projects");
    std::fs::remove_file(&real_c).unwrap();
    std::fs::create_dir(&real_c).unwrap();
    std::fs::write(real_c.join("c.jsonl"), b"c's transcript\n").unwrap();
    let r = s.ok(&["adopt", "c"]);
    assert_eq!(
        std::fs::read(s.shared().join("projects/c.jsonl")).unwrap(),
        b"c's transcript\n"
    );
    assert_eq!(
        std::fs::read_link(&real_c).unwrap(),
        s.shared().join("projects")
    );
    let warning = r
        .stderr_lines()
        .into_iter()
        .find(|l| l.contains("interrupted adoption of account b"))
        .unwrap_or_else(|| panic!("no warning about b's journal: {r:?}"))
        .to_string();
    assert!(warning.starts_with("homeswap: warning: "), "{warning}");
    for part in [
        "by pid ",
        "b is no longer configured",
        "add b back",
        "'homeswap adopt b'",
        &format!("remove {}", journal.display()),
        "moved entries stay in the shared target",
    ] {
        assert!(warning.contains(part), "{part:?} missing: {warning}");
    }
    assert!(!r.stderr.contains("does not exist"), "{r:?}");
    // Nothing of b was touched, and b's record is still there.
    assert_eq!(snapshot(&real_b), b_left);
    assert_eq!(std::fs::read(&journal).unwrap(), stale);

    // c's own adoption interrupted while b's record waits: both survive.
    std::fs::remove_file(&real_c).unwrap();
    std::fs::create_dir(&real_c).unwrap();
    std::fs::write(real_c.join("c2.jsonl"), b"c2\n").unwrap();
    std::fs::write(real_c.join("c3.jsonl"), b"c3\n").unwrap();
    let r = s.run_with(&["adopt", "c"], "adopt::after_move=panic");
    assert_eq!(r.code, 101, "{r:?}");
    let r = s.ok(&["adopt", "c"]);
    assert!(
        r.stderr
            .contains("finished an interrupted adoption of account c"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("interrupted adoption of account b"),
        "{r:?}"
    );
    assert_eq!(std::fs::read(&journal).unwrap(), stale);

    // Re-added, b's adoption finishes with the choices it recorded.
    s.set_config("accounts.b", s.home("b"));
    let r = s.ok(&["adopt", "b"]);
    assert!(
        r.stderr
            .contains("finished an interrupted adoption of account b"),
        "{r:?}"
    );
    assert!(r.stdout.contains("1 file(s) need a look"), "{r:?}");
    assert!(!journal.exists());
    let mut wanted = expected_after(&files);
    wanted.extend([
        b"c's transcript\n".to_vec(),
        b"c2\n".to_vec(),
        b"c3\n".to_vec(),
    ]);
    wanted.sort();
    assert_eq!(contents(&[&s.shared().join("projects")]), wanted);
    s.ok(&["validate"]);
}

#[test]
fn a_dry_run_after_a_crash_does_not_claim_to_have_finished_the_adoption() {
    let s = Sandbox::ready();
    interrupted_case(&s, 3);
    let r = s.run_with(&["adopt", "b", "--keep-both"], "adopt::after_move=panic");
    assert_eq!(r.code, 101, "{r:?}");
    let journal = std::fs::read(s.state().join("adopt.json")).unwrap();
    let r = s.ok(&["adopt", "b", "--dry-run"]);
    assert!(r.stdout.ends_with("dry run: nothing changed\n"), "{r:?}");
    assert!(!r.stderr.contains("finished"), "{r:?}");
    assert_eq!(
        std::fs::read(s.state().join("adopt.json")).unwrap(),
        journal
    );
}

/// An adoption of one link (`--link projects`) killed part-way, then a
/// second real directory planted in the account: `adopt b` without
/// `--link` (every link, as its refusal advised) finishes the first and
/// adopts the second, where it used to refuse for ever ("would be left
/// unlinked; add --link session-env or leave out --link"). Found by the
/// chaos disk run, seed 2026120231.
#[test]
fn a_resumed_adoption_without_link_adopts_a_directory_planted_since() {
    let s = Sandbox::ready();
    let files = interrupted_case(&s, 6);
    let r = s.run_with(
        &["adopt", "b", "--keep-both", "--link", "projects"],
        "adopt::after_move=2*off->panic",
    );
    assert_eq!(r.code, 101, "the failpoint panics: {r:?}");
    assert!(s.state().join("adopt.json").exists(), "the journal stays");
    let env = s.link("b", "session-env");
    std::fs::remove_file(&env).unwrap();
    std::fs::create_dir(&env).unwrap();
    std::fs::write(env.join("planted-later"), b"kept\n").unwrap();

    let r = s.ok(&["adopt", "b"]);
    assert!(
        r.stderr
            .contains("finished an interrupted adoption of account b"),
        "{r:?}"
    );
    let shared = s.shared();
    assert_eq!(
        std::fs::read_link(s.link("b", "projects")).unwrap(),
        shared.join("projects")
    );
    assert_eq!(
        std::fs::read_link(&env).unwrap(),
        shared.join("session-env")
    );
    assert_eq!(
        std::fs::read(shared.join("session-env/planted-later")).unwrap(),
        b"kept\n"
    );
    assert_eq!(
        contents(&[&shared.join("projects")]),
        expected_after(&files)
    );
    assert!(!s.state().join("adopt.json").exists());
    s.ok(&["validate"]);
}
