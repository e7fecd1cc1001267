//! `homeswap adopt` on the real binary and real temporary directories: the
//! plan it prints, what ends up where, exit codes and the refusals.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::{snapshot, Entry, Sandbox};

/// Replaces b's `projects` link by a real directory, as Claude Code leaves
/// it when it ran before the home was linked; returns that directory.
fn real_projects(s: &Sandbox) -> PathBuf {
    let real = s.link("b", "projects");
    std::fs::remove_file(&real).unwrap();
    std::fs::create_dir(&real).unwrap();
    real
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Everything under the sandbox except the audit log and the lock, which
/// a refused run may touch.
fn disk(s: &Sandbox) -> std::collections::BTreeMap<PathBuf, Entry> {
    let mut all = snapshot(s.root());
    all.remove(Path::new("state/audit.jsonl"));
    all.remove(Path::new("state/lock"));
    all
}

/// b's projects with one new transcript, one nested new directory and one
/// transcript the shared target already holds byte for byte.
fn clean_case(s: &Sandbox) -> PathBuf {
    let real = real_projects(s);
    let shared = s.shared().join("projects");
    write(&real.join("-home-b-app/new.jsonl"), b"{\"new\":1}\n");
    write(&real.join("-home-b-lib/deep/x.jsonl"), b"deep\n");
    write(&real.join("-home-b-app/same.jsonl"), b"same\n");
    write(&shared.join("-home-b-app/same.jsonl"), b"same\n");
    write(&shared.join("-home-b-app/theirs.jsonl"), b"theirs\n");
    real
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let s = Sandbox::ready();
    clean_case(&s);
    let before = disk(&s);
    let r = s.ok(&["adopt", "b", "--dry-run"]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "plan for account b: projects: {} -> {}: 2 to move, 1 duplicate(s), 0 conflict(s)",
                s.link("b", "projects").display(),
                s.shared().join("projects").display()
            )
            .as_str(),
            "  move       -home-b-app/new.jsonl (a regular file)",
            "  duplicate  -home-b-app/same.jsonl (a regular file, same in the target)",
            "  move       -home-b-lib (a directory)",
            "dry run: nothing changed",
        ],
        "{r:?}"
    );
    assert_eq!(disk(&s), before);
    assert!(s.audit().iter().all(|e| e["action"] != "adopt"));
}

#[test]
fn adopt_moves_everything_links_the_directory_and_the_account_validates_ok() {
    let s = Sandbox::ready();
    clean_case(&s);
    let r = s.ok(&["adopt", "b"]);
    assert!(
        r.stdout
            .contains("adopted account b: 2 moved, 1 duplicate(s) removed, 0 kept both"),
        "{r:?}"
    );
    assert!(r.stdout.ends_with("ok: account b validates ok\n"), "{r:?}");
    assert_eq!(
        std::fs::read_link(s.link("b", "projects")).unwrap(),
        s.shared().join("projects")
    );
    let shared = s.shared().join("projects");
    assert_eq!(
        std::fs::read(shared.join("-home-b-app/new.jsonl")).unwrap(),
        b"{\"new\":1}\n"
    );
    assert_eq!(
        std::fs::read(shared.join("-home-b-lib/deep/x.jsonl")).unwrap(),
        b"deep\n"
    );
    assert_eq!(
        std::fs::read(shared.join("-home-b-app/same.jsonl")).unwrap(),
        b"same\n"
    );
    assert_eq!(
        std::fs::read(shared.join("-home-b-app/theirs.jsonl")).unwrap(),
        b"theirs\n"
    );
    s.ok(&["validate"]);
    assert!(
        !s.state().join("adopt.json").exists(),
        "the journal is removed"
    );
    let entry = s.audit().pop().unwrap();
    assert_eq!(entry["action"], "adopt");
    assert_eq!(entry["to"], "b");
    assert_eq!(entry["outcome"], "adopted");
    assert_eq!(entry["adopt"]["moved"], 2);
    assert_eq!(entry["adopt"]["duplicates"], 1);
    assert_eq!(entry["adopt"]["kept_both"], 0);
    // Nothing left to adopt: a second run succeeds and changes nothing.
    let before = disk(&s);
    s.ok(&["adopt", "b"]);
    assert_eq!(disk(&s), before);
}

#[test]
fn the_plan_names_fifos_and_sockets_by_their_kind_and_moves_them_as_they_are() {
    let s = Sandbox::ready();
    let real = real_projects(&s);
    let shared = s.shared().join("projects");
    nix::unistd::mkfifo(
        &real.join("pipe"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    nix::unistd::mkfifo(
        &real.join("clash"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    write(&shared.join("clash"), b"theirs\n");
    let sock = std::os::unix::net::UnixListener::bind(real.join("sock")).unwrap();
    let r = s.run(&["adopt", "b", "--dry-run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("  move       pipe (a FIFO)\n"), "{r:?}");
    assert!(r.stdout.contains("  move       sock (a socket)\n"), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "account b: projects: conflict: {} and {}: a FIFO in the account, a regular file in the target",
            real.join("clash").display(),
            shared.join("clash").display()
        )),
        "{r:?}"
    );
    // Kept both, the FIFO and the socket move as they are, never opened.
    s.ok(&["adopt", "b", "--keep-both"]);
    drop(sock);
    let kind = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type();
    use std::os::unix::fs::FileTypeExt;
    assert!(kind(&shared.join("pipe")).is_fifo());
    assert!(kind(&shared.join("sock")).is_socket());
    assert_eq!(std::fs::read(shared.join("clash")).unwrap(), b"theirs\n");
    let kept: Vec<PathBuf> = std::fs::read_dir(&shared)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("/clash.adopted-b-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kind(&kept[0]).is_fifo());
    s.ok(&["validate"]);
}

#[test]
fn a_conflict_without_keep_both_changes_nothing_and_every_conflict_is_listed() {
    let s = Sandbox::ready();
    let real = clean_case(&s);
    let shared = s.shared().join("projects");
    write(&real.join("-home-b-app/t.jsonl"), b"ours\n");
    write(&shared.join("-home-b-app/t.jsonl"), b"theirs, longer\n");
    write(&real.join("clash"), b"a file here");
    std::fs::create_dir(shared.join("clash")).unwrap();
    let before = disk(&s);
    let r = s.run(&["adopt", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    let lines = r.stderr_lines();
    assert_eq!(
        lines[0],
        format!(
            "account b: projects: conflict: {} and {}: both are files, with different bytes",
            real.join("-home-b-app/t.jsonl").display(),
            shared.join("-home-b-app/t.jsonl").display()
        )
    );
    assert_eq!(
        lines[1],
        format!(
            "account b: projects: conflict: {} and {}: a regular file in the account, a directory in the target",
            real.join("clash").display(),
            shared.join("clash").display()
        )
    );
    assert!(
        lines[2].starts_with("homeswap: adopt b: 2 conflict(s), nothing changed; "),
        "{r:?}"
    );
    assert!(lines[2].contains("--keep-both"), "{r:?}");
    assert!(
        r.stdout
            .contains("  conflict   -home-b-app/t.jsonl: both are files, with different bytes"),
        "{r:?}"
    );
    assert_eq!(disk(&s), before);
    assert_eq!(s.audit().pop().unwrap()["outcome"], "conflicts");
    // The dry run says the same, also with exit 1.
    assert_eq!(s.run(&["adopt", "b", "--dry-run"]).code, 1);
    assert_eq!(disk(&s), before);
}

#[test]
fn keep_both_keeps_the_accounts_copy_beside_the_targets_with_the_extension_last() {
    let s = Sandbox::ready();
    let real = real_projects(&s);
    let shared = s.shared().join("projects");
    write(&real.join("p/x.jsonl"), b"ours\n");
    write(&shared.join("p/x.jsonl"), b"theirs\n");
    let r = s.ok(&["adopt", "b", "--keep-both"]);
    let kept: Vec<String> = std::fs::read_dir(shared.join("p"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "x.jsonl")
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let name = &kept[0];
    // x.adopted-b-YYYYMMDDTHHMMZ.jsonl
    let stamp = name
        .strip_prefix("x.adopted-b-")
        .and_then(|n| n.strip_suffix(".jsonl"))
        .unwrap_or_else(|| panic!("kept as {name}"));
    assert_eq!(stamp.len(), 14, "{name}");
    assert!(
        stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
        "{name}"
    );
    assert_eq!(
        std::fs::read(shared.join("p").join(name)).unwrap(),
        b"ours\n"
    );
    assert_eq!(
        std::fs::read(shared.join("p/x.jsonl")).unwrap(),
        b"theirs\n"
    );
    assert!(r.stdout.contains("1 file(s) need a look"), "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("  {}", shared.join("p").join(name).display())),
        "{r:?}"
    );
    let entry = s.audit().pop().unwrap();
    assert_eq!(entry["adopt"]["kept_both"], 1);
    assert_eq!(
        entry["adopt"]["kept_both_files"][0],
        shared.join("p").join(name).display().to_string()
    );
    s.ok(&["validate"]);
}

#[test]
fn a_symlink_inside_the_real_directory_is_moved_as_a_symlink_and_never_followed() {
    let s = Sandbox::ready();
    let real = real_projects(&s);
    let outside = s.root().join("outside");
    write(&outside.join("secret.jsonl"), b"not ours to move\n");
    symlink(&outside, real.join("elsewhere")).unwrap();
    s.ok(&["adopt", "b"]);
    let moved = s.shared().join("projects/elsewhere");
    assert_eq!(std::fs::read_link(&moved).unwrap(), outside);
    assert_eq!(
        std::fs::read(outside.join("secret.jsonl")).unwrap(),
        b"not ours to move\n"
    );
}

#[test]
fn adopt_is_refused_with_exit_3_while_the_latch_is_set() {
    let s = Sandbox::ready();
    clean_case(&s);
    std::fs::write(
        s.state().join("latch.json"),
        r#"{"set_at":"2026-01-01T00:00:00Z","from":"a","to":"b","errors":["ensure failed"],"pid":1}"#,
    )
    .unwrap();
    let before = disk(&s);
    let r = s.run(&["adopt", "b"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("the partial-swap latch is set"), "{r:?}");
    assert_eq!(disk(&s), before);
}

#[test]
fn adopting_the_active_account_is_refused_unless_forced() {
    let s = Sandbox::ready();
    s.ok(&["swap", "b"]);
    clean_case(&s);
    let before = disk(&s);
    let r = s.run(&["adopt", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("b is the active account"), "{r:?}");
    assert!(r.stderr.contains("--force-active"), "{r:?}");
    assert_eq!(disk(&s), before);
    s.ok(&["adopt", "b", "--force-active"]);
    s.ok(&["validate"]);
}

#[test]
fn an_unknown_account_or_link_is_a_usage_error() {
    let s = Sandbox::ready();
    clean_case(&s);
    let before = disk(&s);
    let r = s.run(&["adopt", "zz"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.stderr.trim(),
        "homeswap: unknown account \"zz\": configured accounts are a, b"
    );
    let r = s.run(&["adopt", "b", "--link", "transcripts"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("unknown link \"transcripts\""), "{r:?}");
    assert_eq!(disk(&s), before);
}

#[test]
fn adopt_refuses_when_another_link_of_the_account_could_not_end_ok() {
    let s = Sandbox::ready();
    clean_case(&s);
    std::fs::remove_file(s.link("b", "session-env")).unwrap();
    symlink("/tmp/somewhere-else", s.link("b", "session-env")).unwrap();
    std::fs::remove_file(s.link("b", "file-history")).unwrap();
    std::fs::create_dir(s.link("b", "file-history")).unwrap();
    let before = disk(&s);
    // file-history is a real directory too, but not asked for.
    let r = s.run(&["adopt", "b", "--link", "projects"]);
    assert_eq!(r.code, 1, "{r:?}");
    let lines = r.stderr_lines();
    assert_eq!(
        lines[0], "homeswap: adopt b refused, nothing changed:",
        "{r:?}"
    );
    assert!(
        lines[1].starts_with("  account b: session-env: divergent: points to /tmp/somewhere-else"),
        "{r:?}"
    );
    assert!(
        lines[2].contains("file-history") && lines[2].contains("add --link file-history"),
        "{r:?}"
    );
    assert_eq!(disk(&s), before);
}

#[test]
fn adopt_across_file_systems_copies_verifies_and_removes_the_original() {
    use std::os::unix::fs::MetadataExt;
    let s = Sandbox::new();
    // The shared dir on another file system, so every move is EXDEV.
    let Some(other_fs) = common::other_fs::for_test(
        s.root(),
        "adopt_across_file_systems_copies_verifies_and_removes_the_original",
    ) else {
        return;
    };
    assert_ne!(
        std::fs::metadata(other_fs.dir.path()).unwrap().dev(),
        std::fs::metadata(s.home("b")).unwrap().dev(),
        "the cross-file-system path is exercised"
    );
    let shared = other_fs.dir.path().join("shared");
    s.set_config("shared_dir", &shared);
    std::fs::create_dir(s.link("b", "projects")).unwrap();
    let real = s.link("b", "projects");
    write(&real.join("new/a.jsonl"), b"aaa\n");
    write(&real.join("top.jsonl"), b"top\n");
    symlink("/x", real.join("lnk")).unwrap();
    write(&shared.join("projects/new/b.jsonl"), b"bbb\n");
    s.ok(&["adopt", "b"]);
    assert_eq!(
        std::fs::read(shared.join("projects/new/a.jsonl")).unwrap(),
        b"aaa\n"
    );
    assert_eq!(
        std::fs::read(shared.join("projects/new/b.jsonl")).unwrap(),
        b"bbb\n"
    );
    assert_eq!(
        std::fs::read(shared.join("projects/top.jsonl")).unwrap(),
        b"top\n"
    );
    assert_eq!(
        std::fs::read_link(shared.join("projects/lnk")).unwrap(),
        Path::new("/x")
    );
    assert_eq!(std::fs::read_link(&real).unwrap(), shared.join("projects"));
    let names: Vec<String> = std::fs::read_dir(shared.join("projects"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("homeswap-tmp")),
        "no temporary copy is left: {names:?}"
    );
}
