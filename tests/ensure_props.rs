//! Properties of ensure over random layouts of homes: it never removes or
//! changes an entry that existed before, and a second run changes nothing.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{snapshot, Entry};
use homeswap::{check_account, ensure_account, LinkState, SharedLinks};
use proptest::prelude::*;

/// What sits at one `<home>/N` before ensure runs.
#[derive(Debug, Clone)]
enum Slot {
    Nothing,
    RightLink,
    RelativeLink,
    LinkElsewhere(String),
    File(Vec<u8>),
    DirWithFile(Vec<u8>),
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![
        Just(Slot::Nothing),
        Just(Slot::RightLink),
        Just(Slot::RelativeLink),
        "[a-z]{1,8}".prop_map(Slot::LinkElsewhere),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Slot::File),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Slot::DirWithFile),
    ]
}

/// One account: does its home exist, and what is at each of its links.
fn account() -> impl Strategy<Value = (bool, [Slot; 3])> {
    (prop::bool::weighted(0.85), [slot(), slot(), slot()])
}

/// Which shared targets exist beforehand, with a file inside.
fn targets() -> impl Strategy<Value = [Option<Vec<u8>>; 3]> {
    [
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32)),
    ]
}

fn build(
    root: &Path,
    shared: &SharedLinks,
    accounts: &[(bool, [Slot; 3])],
    targets: &[Option<Vec<u8>>; 3],
) {
    for (req, content) in shared.links().zip(targets) {
        if let Some(bytes) = content {
            std::fs::create_dir_all(&req.target).unwrap();
            std::fs::write(req.target.join("transcript.jsonl"), bytes).unwrap();
        }
    }
    for (i, (exists, slots)) in accounts.iter().enumerate() {
        let home = root.join(format!("home-{i}"));
        if !exists {
            continue;
        }
        std::fs::create_dir(&home).unwrap();
        for (req, slot) in shared.links().zip(slots) {
            let at = home.join(&req.name);
            match slot {
                Slot::Nothing => {}
                Slot::RightLink => symlink(&req.target, &at).unwrap(),
                Slot::RelativeLink => symlink(format!("../shared/{}", req.name), &at).unwrap(),
                Slot::LinkElsewhere(t) => symlink(root.join(t), &at).unwrap(),
                Slot::File(b) => std::fs::write(&at, b).unwrap(),
                Slot::DirWithFile(b) => {
                    std::fs::create_dir(&at).unwrap();
                    std::fs::write(at.join("inner"), b).unwrap();
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ensure_keeps_every_existing_entry_and_is_idempotent(
        accounts in proptest::collection::vec(account(), 1..4),
        targets in targets(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let shared = SharedLinks::with_defaults(root.join("shared"));
        build(root, &shared, &accounts, &targets);
        let before = snapshot(root);

        let homes: Vec<_> = (0..accounts.len()).map(|i| (format!("a{i}"), root.join(format!("home-{i}")))).collect();
        let reports: Vec<_> = homes.iter().map(|(n, h)| ensure_account(n, h, &shared, false)).collect();
        let after = snapshot(root);

        // Nothing that existed was removed or changed.
        for (path, entry) in &before {
            prop_assert_eq!(after.get(path), Some(entry), "{} changed", path.display());
        }
        // Everything new is a correct link or a shared target directory.
        for (path, entry) in &after {
            if before.contains_key(path) { continue; }
            let name = path.file_name().unwrap().to_str().unwrap();
            match entry {
                Entry::Link(t) => prop_assert_eq!(t, &shared.dir().join(name)),
                Entry::Dir => prop_assert!(path == Path::new("shared") || path.parent() == Some(Path::new("shared"))),
                other => prop_assert!(false, "unexpected new entry {} {:?}", path.display(), other),
            }
        }
        // What ensure said matches the disk.
        for ((n, h), report) in homes.iter().zip(&reports) {
            let now = check_account(n, h, &shared);
            prop_assert_eq!(report.is_ok(), now.is_ok());
            for (step, link) in report.steps.iter().zip(&now.links) {
                if matches!(step.before.state, LinkState::Missing | LinkState::TargetMissing) {
                    prop_assert_eq!(link.state, LinkState::Ok);
                }
            }
        }

        // A second run changes nothing and reports the same.
        let again: Vec<_> = homes.iter().map(|(n, h)| ensure_account(n, h, &shared, false)).collect();
        prop_assert_eq!(snapshot(root), after);
        for (first, second) in reports.iter().zip(&again) {
            prop_assert_eq!(first.is_ok(), second.is_ok());
            prop_assert_eq!(second.changes().count(), 0);
        }
    }
}
