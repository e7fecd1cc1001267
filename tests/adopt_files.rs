//! `homeswap adopt` for a regular file where a file link belongs: moved,
//! removed as a duplicate, merged line by line (`*.jsonl`), or a conflict
//! (`--keep-both` keeps the account's copy beside the target's). Real
//! binary, real files.

mod common;

use common::Sandbox;

/// A ready sandbox (active account a) whose configuration shares
/// `history.jsonl` and `settings.json` as files, all links ok.
fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.set_config("shared_files", ["history.jsonl", "settings.json"]);
    s.ok(&["ensure"]);
    s.ok(&["swap", "a"]);
    s
}

/// Replaces b's link `name` by a regular file holding `bytes` (as a tool's
/// save that replaced the link would).
fn real_file(s: &Sandbox, name: &str, bytes: &[u8]) {
    std::fs::remove_file(s.link("b", name)).unwrap();
    std::fs::write(s.link("b", name), bytes).unwrap();
}

fn target(s: &Sandbox, name: &str) -> Vec<u8> {
    std::fs::read(s.shared().join(name)).unwrap()
}

fn is_linked(s: &Sandbox, account: &str, name: &str) -> bool {
    std::fs::read_link(s.link(account, name)).ok() == Some(s.shared().join(name))
}

#[test]
fn a_file_with_no_target_is_moved_into_place_and_linked() {
    let s = sandbox();
    std::fs::remove_file(s.shared().join("settings.json")).unwrap();
    real_file(&s, "settings.json", b"{\"theme\":\"dark\"}");
    let v = s.run(&["validate"]);
    assert!(
        v.stderr.contains("run 'homeswap adopt b'"),
        "validate says what to do: {v:?}"
    );
    let r = s.ok(&["adopt", "b"]);
    assert!(
        r.stdout
            .contains("  move       settings.json (a regular file)"),
        "{r:?}"
    );
    assert_eq!(target(&s, "settings.json"), b"{\"theme\":\"dark\"}");
    assert!(is_linked(&s, "b", "settings.json"));
    s.ok(&["validate"]);
}

#[test]
fn the_same_bytes_as_the_target_are_removed_once_compared_and_linked() {
    let s = sandbox();
    std::fs::write(s.shared().join("settings.json"), b"{}").unwrap();
    real_file(&s, "settings.json", b"{}");
    let r = s.ok(&["adopt", "b"]);
    assert!(r.stdout.contains("1 duplicate(s) removed"), "{r:?}");
    assert_eq!(target(&s, "settings.json"), b"{}");
    assert!(is_linked(&s, "b", "settings.json"));
}

#[test]
fn a_differing_jsonl_file_is_merged_without_losing_or_repeating_a_line() {
    let s = sandbox();
    std::fs::write(s.shared().join("history.jsonl"), b"{\"p\":1}\n{\"p\":2}\n").unwrap();
    // The last line has no newline: it still counts as a line.
    real_file(&s, "history.jsonl", b"{\"p\":2}\n{\"p\":3}\n{\"p\":4}");
    let dry = s.ok(&["adopt", "b", "--dry-run"]);
    assert!(
        dry.stdout.contains(
            "  merge      history.jsonl: 2 line(s) of the account appended to the target's"
        ),
        "{dry:?}"
    );
    assert!(
        !is_linked(&s, "b", "history.jsonl"),
        "a dry run changes nothing"
    );
    s.ok(&["adopt", "b"]);
    assert_eq!(
        target(&s, "history.jsonl"),
        b"{\"p\":1}\n{\"p\":2}\n{\"p\":3}\n{\"p\":4}\n"
    );
    assert!(is_linked(&s, "b", "history.jsonl"));
    // No temporary file left beside the target.
    let names: Vec<String> = std::fs::read_dir(s.shared())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("homeswap-tmp")),
        "{names:?}"
    );
    let audit = s.audit();
    assert_eq!(audit.last().unwrap()["outcome"], "adopted");
}

#[test]
fn another_difference_is_a_conflict_and_keep_both_keeps_the_accounts_copy_beside() {
    let s = sandbox();
    std::fs::write(s.shared().join("settings.json"), b"{\"theirs\":1}").unwrap();
    real_file(&s, "settings.json", b"{\"ours\":1}");
    let r = s.run(&["adopt", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "account b: settings.json: conflict: {} and {}: both are files, with different bytes",
            s.link("b", "settings.json").display(),
            s.shared().join("settings.json").display()
        )),
        "{r:?}"
    );
    assert_eq!(
        std::fs::read(s.link("b", "settings.json")).unwrap(),
        b"{\"ours\":1}"
    );

    let r = s.ok(&["adopt", "b", "--keep-both"]);
    assert!(is_linked(&s, "b", "settings.json"));
    assert_eq!(target(&s, "settings.json"), b"{\"theirs\":1}");
    let kept: Vec<_> = std::fs::read_dir(s.shared())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("settings.adopted-b-"))
        .collect();
    assert_eq!(kept.len(), 1, "{r:?}");
    assert!(kept[0].to_string_lossy().ends_with(".json"));
    assert_eq!(std::fs::read(&kept[0]).unwrap(), b"{\"ours\":1}");
    assert!(r.stdout.contains("1 file(s) need a look"), "{r:?}");
}

#[test]
fn a_directory_where_a_file_link_belongs_is_refused_with_nothing_changed() {
    let s = sandbox();
    std::fs::remove_file(s.link("b", "settings.json")).unwrap();
    std::fs::create_dir(s.link("b", "settings.json")).unwrap();
    let r = s.run(&["adopt", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "is a directory, not a regular file; adopt moves regular files into file links only"
        ),
        "{r:?}"
    );
    assert!(s.link("b", "settings.json").is_dir());
}

#[test]
fn adopt_link_names_a_file_link() {
    let s = sandbox();
    real_file(&s, "history.jsonl", b"x\n");
    real_file(&s, "settings.json", b"");
    // Only history.jsonl asked: settings.json would be left unlinked.
    let r = s.run(&["adopt", "b", "--link", "history.jsonl"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("is a regular file too and would be left unlinked"),
        "{r:?}"
    );
    s.ok(&[
        "adopt",
        "b",
        "--link",
        "history.jsonl",
        "--link",
        "settings.json",
    ]);
    assert!(is_linked(&s, "b", "history.jsonl") && is_linked(&s, "b", "settings.json"));
    assert_eq!(target(&s, "history.jsonl"), b"x\n");
}

/// A crash right after the merged file replaced the target, before the
/// account's copy was removed: the journal stays, the re-run merges again
/// (which adds nothing) and finishes. No line lost, none repeated.
#[cfg(feature = "failpoints")]
#[test]
fn a_crash_after_the_merge_is_finished_by_the_next_adopt_without_repeating_a_line() {
    let s = sandbox();
    std::fs::write(s.shared().join("history.jsonl"), b"1\n2\n").unwrap();
    real_file(&s, "history.jsonl", b"2\n3\n");
    let r = s.run_with(&["adopt", "b"], "adopt::after_move=panic");
    assert_eq!(r.code, 101, "the failpoint panics: {r:?}");
    assert!(s.state().join("adopt.json").exists(), "the journal stays");
    assert_eq!(target(&s, "history.jsonl"), b"1\n2\n3\n");
    assert_eq!(
        std::fs::read(s.link("b", "history.jsonl")).unwrap(),
        b"2\n3\n",
        "the account's copy is still there"
    );
    let r = s.ok(&["adopt", "b"]);
    assert!(
        r.stderr.contains("finished an interrupted adoption"),
        "{r:?}"
    );
    assert_eq!(target(&s, "history.jsonl"), b"1\n2\n3\n");
    assert!(is_linked(&s, "b", "history.jsonl"));
    assert!(!s.state().join("adopt.json").exists());
}

/// A step that fails after the file moved into place (the failpoint stands
/// in for an I/O error): the file is in the target, and the re-run links.
#[cfg(feature = "failpoints")]
#[test]
fn a_crash_after_a_move_of_a_file_is_finished_by_the_next_adopt() {
    let s = sandbox();
    std::fs::remove_file(s.shared().join("settings.json")).unwrap();
    real_file(&s, "settings.json", b"{\"a\":1}");
    let r = s.run_with(&["adopt", "b"], "adopt::after_move=return");
    assert_eq!(r.code, 1, "stopped part-way: {r:?}");
    assert!(r.stderr.contains("nothing is lost"), "{r:?}");
    assert_eq!(target(&s, "settings.json"), b"{\"a\":1}");
    s.ok(&["adopt", "b"]);
    assert!(is_linked(&s, "b", "settings.json"));
    assert_eq!(target(&s, "settings.json"), b"{\"a\":1}");
}
