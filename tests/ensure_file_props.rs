//! Properties of ensure with file links (`shared_files`) over random
//! layouts: whatever sits at a link's place or a target's (a file, a
//! directory, a link elsewhere, nothing), ensure never removes or changes
//! it, creates only correct links and empty target files, and a second run
//! changes nothing.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{snapshot, Entry};
use homeswap::{check_account, ensure_account, LinkState, SharedLinks};
use proptest::prelude::*;

const FILES: [&str; 2] = ["history.jsonl", "settings.json"];

/// What sits at `<home>/N` or at `<shared_dir>/N` beforehand.
#[derive(Debug, Clone)]
enum Slot {
    Nothing,
    RightLink,
    LinkElsewhere,
    File(Vec<u8>),
    Dir,
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![
        Just(Slot::Nothing),
        Just(Slot::RightLink),
        Just(Slot::LinkElsewhere),
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(Slot::File),
        Just(Slot::Dir),
    ]
}

/// A target: absent, a file with bytes, or a directory.
fn target() -> impl Strategy<Value = Slot> {
    prop_oneof![
        Just(Slot::Nothing),
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(Slot::File),
        Just(Slot::Dir),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ensure_of_file_links_keeps_every_entry_and_is_idempotent(
        homes in proptest::collection::vec([slot(), slot()], 1..4),
        targets in [target(), target()],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let shared = SharedLinks::with_defaults(root.join("shared"))
            .with_files(FILES.iter().map(|s| s.to_string()).collect());
        std::fs::create_dir(shared.dir()).unwrap();
        for (name, t) in FILES.iter().zip(&targets) {
            let at = shared.dir().join(name);
            match t {
                Slot::File(b) => std::fs::write(&at, b).unwrap(),
                Slot::Dir => std::fs::create_dir(&at).unwrap(),
                _ => {}
            }
        }
        for (i, slots) in homes.iter().enumerate() {
            let home = root.join(format!("home-{i}"));
            std::fs::create_dir(&home).unwrap();
            for (name, s) in FILES.iter().zip(slots) {
                let at = home.join(name);
                match s {
                    Slot::Nothing => {}
                    Slot::RightLink => symlink(shared.dir().join(name), &at).unwrap(),
                    Slot::LinkElsewhere => symlink(root.join("elsewhere"), &at).unwrap(),
                    Slot::File(b) => std::fs::write(&at, b).unwrap(),
                    Slot::Dir => std::fs::create_dir(&at).unwrap(),
                }
            }
        }
        let before = snapshot(root);
        let run = || -> Vec<_> {
            (0..homes.len())
                .map(|i| ensure_account(&format!("a{i}"), &root.join(format!("home-{i}")), &shared, false))
                .collect()
        };
        let reports = run();
        let after = snapshot(root);
        for (path, entry) in &before {
            prop_assert_eq!(after.get(path), Some(entry), "{} changed", path.display());
        }
        for (path, entry) in &after {
            if before.contains_key(path) { continue; }
            let name = path.file_name().unwrap().to_str().unwrap();
            let in_shared = path.parent() == Some(Path::new("shared"));
            match entry {
                Entry::Link(t) => prop_assert_eq!(t, &shared.dir().join(name)),
                // A file link's new target: an empty file.
                Entry::File(b) => prop_assert!(in_shared && FILES.contains(&name) && b.is_empty()),
                // A directory link's new target.
                Entry::Dir => prop_assert!(in_shared && !FILES.contains(&name)),
                Entry::Other => prop_assert!(false, "unexpected {}", path.display()),
            }
        }
        for (i, report) in reports.iter().enumerate() {
            let now = check_account(&format!("a{i}"), &root.join(format!("home-{i}")), &shared);
            prop_assert_eq!(report.is_ok(), now.is_ok());
            for link in now.links.iter().filter(|l| FILES.contains(&l.link.as_str())) {
                let target_is_dir = shared.dir().join(&link.link).is_dir();
                // A file link whose target is a directory can never be ok.
                if target_is_dir && link.state != LinkState::Missing && link.state != LinkState::NotALink && link.state != LinkState::Divergent {
                    prop_assert_eq!(link.state, LinkState::Error);
                }
            }
        }
        let again = run();
        prop_assert_eq!(snapshot(root), after);
        for (first, second) in reports.iter().zip(&again) {
            prop_assert_eq!(first.is_ok(), second.is_ok());
            prop_assert_eq!(second.changes().count(), 0);
        }
    }
}
