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
            .contains("adopt:    interrupted for account b"),
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
