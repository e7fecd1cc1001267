//! The file-system primitives on real files in temporary directories:
//! what kind an entry is, which names are homeswap's temporaries, and a
//! directory descriptor that never follows a symlink below the path it was
//! opened by.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::symlink;
use std::path::Path;

use homeswap::{is_temp, is_temp_of, temp_name, DirFd, EntryKind};
use nix::errno::Errno;

// What kind an entry is: converted from its mode in one place.
/// The kind `fstatat` reports for `name` under `dir`.
fn kind_at(dir: &DirFd, name: &str) -> EntryKind {
    dir.kind(OsStr::new(name)).unwrap().unwrap()
}

#[test]
fn every_kind_a_home_can_hold_is_recognized_from_a_real_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::create_dir(p.join("dir")).unwrap();
    std::fs::write(p.join("file"), b"x").unwrap();
    symlink(p.join("dir"), p.join("link")).unwrap();
    nix::unistd::mkfifo(
        &p.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(p.join("sock")).unwrap();
    let dir = DirFd::open(p).unwrap();
    assert_eq!(kind_at(&dir, "dir"), EntryKind::Dir);
    assert_eq!(kind_at(&dir, "file"), EntryKind::File);
    // Not followed: a symlink to a directory is a symlink.
    assert_eq!(kind_at(&dir, "link"), EntryKind::Symlink);
    assert_eq!(kind_at(&dir, "fifo"), EntryKind::Fifo);
    assert_eq!(kind_at(&dir, "sock"), EntryKind::Socket);
    assert_eq!(dir.kind(OsStr::new("absent")).unwrap(), None);
}

#[test]
fn devices_are_recognized() {
    // /dev/null is on every Linux host; a block device need not be.
    let null = nix::sys::stat::lstat("/dev/null").unwrap();
    assert_eq!(EntryKind::of(&null), EntryKind::CharDevice);
    assert_eq!(EntryKind::from_mode(0o060_644), EntryKind::BlockDevice);
    assert_eq!(EntryKind::from_mode(0), EntryKind::Other);
}

#[test]
fn the_text_reads_in_a_sentence() {
    assert_eq!(EntryKind::Dir.to_string(), "a directory");
    assert_eq!(EntryKind::File.to_string(), "a regular file");
    assert_eq!(EntryKind::Fifo.to_string(), "a FIFO");
    assert_eq!(EntryKind::Socket.to_string(), "a socket");
    assert_eq!(EntryKind::CharDevice.to_string(), "a character device");
    assert!(EntryKind::Fifo.is_special() && EntryKind::Other.is_special());
    assert!(!EntryKind::Symlink.is_special() && !EntryKind::File.is_special());
}

// Temporary names: built for one target, recognized only as its own.
/// An entry name from text.
fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
fn a_built_name_is_hidden_unique_and_recognized_as_its_targets() {
    let a = temp_name(os("active"));
    let b = temp_name(os("active"));
    assert_ne!(a, b);
    let prefix = format!(".active.homeswap-tmp.{}.", std::process::id());
    assert!(a.to_str().unwrap().starts_with(&prefix), "{a:?}");
    assert!(is_temp_of(&a, os("active")));
    assert!(is_temp(&a));
    assert!(!is_temp_of(&a, os("activ")));
    assert!(!is_temp_of(&a, os("latch.json")));
}

#[test]
fn leftovers_of_older_versions_are_recognized() {
    // The format atomic writes have always used.
    assert!(is_temp_of(os(".active.homeswap-tmp.4242.0"), os("active")));
    assert!(is_temp_of(
        os(".intent.json.homeswap-tmp.1.17"),
        os("intent.json")
    ));
    // Adopt's earlier copies are found by a sweep.
    assert!(is_temp(os(".x.jsonl.homeswap-adopt-tmp.977")));
}

#[test]
fn other_names_are_not_taken_for_temporaries() {
    for name in [
        "active",
        ".active",
        "active.homeswap-tmp.1.0",
        ".active.homeswap-tmp.",
        ".active.homeswap-tmp.1",
        ".active.homeswap-tmp.1.",
        ".active.homeswap-tmp.x.0",
        ".active.homeswap-tmp.1.0.bak",
        ".active.homeswap-tmp.1.0/x",
        ".other.homeswap-tmp.1.0",
        "..active.homeswap-tmp.1.0",
    ] {
        assert!(!is_temp_of(os(name), os("active")), "{name}");
    }
    for name in [
        "projects",
        ".homeswap-tmp.1.0",
        "notes.homeswap-tmp.1.0",
        ".x.homeswap-adopt-tmp.",
        ".x.homeswap-tmp.1.0.bak",
    ] {
        assert!(!is_temp(os(name)), "{name}");
    }
}

#[test]
fn names_that_are_not_utf8_work() {
    let target = OsString::from_vec(b"h\xffome".to_vec());
    let t = temp_name(&target);
    assert!(is_temp_of(&t, &target));
    assert!(is_temp(&t));
    assert!(!is_temp_of(&t, os("home")));
}

// A directory descriptor: `*at` calls that never follow a symlink.
#[test]
fn opening_a_symlink_to_a_directory_is_refused_and_names_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = tmp.path().join("link");
    symlink(&real, &link).unwrap();
    let err = DirFd::open(&link).unwrap_err();
    assert!(
        matches!(err.errno(), Some(e) if e == Errno::ELOOP as i32 || e == Errno::ENOTDIR as i32),
        "{err}"
    );
    assert!(err.to_string().contains(link.to_str().unwrap()), "{err}");
    assert!(
        err.to_string().starts_with("cannot open the directory "),
        "{err}"
    );
    // Through a descriptor, too.
    let parent = DirFd::open(tmp.path()).unwrap();
    let err = parent.open_dir(OsStr::new("link")).unwrap_err();
    assert!(
        matches!(err.errno(), Some(e) if e == Errno::ELOOP as i32 || e == Errno::ENOTDIR as i32),
        "{err}"
    );
    assert!(err.to_string().contains(link.to_str().unwrap()), "{err}");
    // A configured path may be a symlink: followed once, on purpose.
    let followed = DirFd::open_following(&link).unwrap();
    assert_eq!(followed.path(), link);
    assert!(parent.open_dir(OsStr::new("real")).is_ok());
}

#[test]
fn a_regular_file_is_not_opened_as_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = DirFd::open(&file).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ENOTDIR as i32), "{err}");
}

#[test]
fn entries_are_made_read_and_removed_through_the_descriptor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DirFd::open(tmp.path()).unwrap();
    let n = OsStr::new;
    dir.mkdir(n("d"), 0o700).unwrap();
    dir.symlink(n("l"), Path::new("/nowhere")).unwrap();
    assert_eq!(dir.read_link(n("l")).unwrap(), Path::new("/nowhere"));
    // A dangling symlink is a symlink, and is not replaced.
    assert_eq!(dir.kind(n("l")).unwrap(), Some(EntryKind::Symlink));
    let err = dir.symlink(n("l"), Path::new("/else")).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EEXIST as i32));
    assert!(err.to_string().contains("cannot create the link "), "{err}");
    let err = dir.mkdir(n("d"), 0o700).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EEXIST as i32));
    std::io::Write::write_all(&mut dir.create_file(n("f"), 0o600).unwrap(), b"hi").unwrap();
    assert!(dir.create_file(n("f"), 0o600).is_err());
    // Never through a symlink, even to a file that does not exist yet.
    assert!(dir.create_file(n("l"), 0o600).is_err());
    assert_eq!(dir.list().unwrap(), [n("d"), n("f"), n("l")]);
    let sub = dir.open_dir(n("d")).unwrap();
    dir.rename_noreplace(n("f"), &sub, n("g")).unwrap();
    assert_eq!(std::fs::read(tmp.path().join("d/g")).unwrap(), b"hi");
    dir.symlink(n("f"), Path::new("/x")).unwrap();
    let err = sub.rename_noreplace(n("g"), &dir, n("f")).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EEXIST as i32));
    assert!(err.to_string().contains("/f"), "{err}");
    sub.rename(n("g"), &dir, n("f")).unwrap();
    assert_eq!(dir.kind(n("f")).unwrap(), Some(EntryKind::File));
    dir.hard_link(n("f"), &sub, n("h")).unwrap();
    dir.unlink(n("f")).unwrap();
    sub.unlink(n("h")).unwrap();
    assert!(dir.rmdir(n("l")).is_err());
    dir.unlink(n("l")).unwrap();
    dir.rmdir(n("d")).unwrap();
    dir.sync().unwrap();
    assert!(dir.list().unwrap().is_empty());
    assert_eq!(dir.stat(n("d")).unwrap().map(|_| ()), None);
}

#[test]
fn opening_a_fifo_or_a_symlink_as_a_file_neither_blocks_nor_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    nix::unistd::mkfifo(
        &p.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    std::fs::write(p.join("file"), b"bytes").unwrap();
    symlink(p.join("file"), p.join("link")).unwrap();
    let dir = DirFd::open(p).unwrap();
    // No writer: a blocking open would hang this test forever.
    let err = dir.open_file(OsStr::new("fifo")).unwrap_err();
    assert!(
        err.to_string().contains("it is a FIFO, not a regular file"),
        "{err}"
    );
    assert!(
        err.to_string().contains(p.join("fifo").to_str().unwrap()),
        "{err}"
    );
    let err = dir.open_file(OsStr::new("link")).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::ELOOP as i32), "{err}");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut dir.open_file(OsStr::new("file")).unwrap(), &mut text)
        .unwrap();
    assert_eq!(text, "bytes");
}
