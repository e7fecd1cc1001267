//! Properties of adopt over random trees in the account's real directory and
//! in the shared target (nested directories, identical and differing files,
//! empty directories, a file where the other side has a directory):
//!
//! - with `--keep-both`, afterwards the target holds every file content of
//!   both trees, minus only the account's byte-identical duplicates, and
//!   every file the target had is still at its path with its bytes;
//! - without `--keep-both`, a conflict leaves both trees byte for byte as
//!   they were.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{snapshot, Entry};
use homeswap::{adopt, AdoptError, AdoptRequest, Config, Context};
use proptest::prelude::*;

/// One entry of a generated tree.
#[derive(Debug, Clone)]
enum Node {
    /// A file holding one of a few contents, so that equal bytes are common.
    File(Vec<u8>),
    /// A directory (possibly empty).
    Dir(BTreeMap<String, Node>),
}

/// Few names, shared by files and directories on both sides, so that
/// paths collide often and sometimes with different types.
fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a.jsonl", "b", "c.txt", "d"]).prop_map(str::to_string)
}

fn contents() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![b"".to_vec(), b"one\n".to_vec(), b"two\n".to_vec()]),
        prop::collection::vec(any::<u8>(), 0..48),
    ]
}

fn tree() -> impl Strategy<Value = BTreeMap<String, Node>> {
    let leaf = contents().prop_map(Node::File);
    let node = leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::btree_map(name(), inner, 0..4).prop_map(Node::Dir)
    });
    prop::collection::btree_map(name(), node, 0..5)
}

fn build(dir: &Path, tree: &BTreeMap<String, Node>) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, node) in tree {
        match node {
            Node::File(bytes) => std::fs::write(dir.join(name), bytes).unwrap(),
            Node::Dir(children) => build(&dir.join(name), children),
        }
    }
}

/// The model: the account's files that duplicate the target's (same path,
/// same bytes, reached through directories on both sides), and whether
/// any path conflicts.
fn model(
    ours: &BTreeMap<String, Node>,
    theirs: &BTreeMap<String, Node>,
    dups: &mut Vec<Vec<u8>>,
) -> bool {
    let mut conflict = false;
    for (name, node) in ours {
        match (node, theirs.get(name)) {
            (_, None) => {}
            (Node::Dir(a), Some(Node::Dir(b))) => conflict |= model(a, b, dups),
            (Node::File(a), Some(Node::File(b))) if a == b => dups.push(a.clone()),
            _ => conflict = true,
        }
    }
    conflict
}

fn file_contents(root: &Path) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = snapshot(root)
        .into_values()
        .filter_map(|e| match e {
            Entry::File(bytes) => Some(bytes),
            _ => None,
        })
        .collect();
    all.sort();
    all
}

struct Layout {
    _dir: tempfile::TempDir,
    ctx: Context,
    real: PathBuf,
    target: PathBuf,
}

fn layout() -> Layout {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let config = root.join("homeswap.yaml");
    std::fs::create_dir(root.join("home-b")).unwrap();
    std::fs::write(
        &config,
        format!(
            "accounts:\n  b: {}\nactive_link: {}\nshared_dir: {}\nshared: [projects]\nstate_dir: {}\n",
            root.join("home-b").display(),
            root.join("active").display(),
            root.join("shared").display(),
            root.join("state").display()
        ),
    )
    .unwrap();
    let ctx = Context::new(Config::load(&config).unwrap());
    Layout {
        real: root.join("home-b/projects"),
        target: root.join("shared/projects"),
        _dir: dir,
        ctx,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn adopt_loses_nothing_but_byte_identical_duplicates(
        ours in tree(),
        theirs in tree(),
        keep_both in any::<bool>(),
    ) {
        let l = layout();
        build(&l.real, &ours);
        build(&l.target, &theirs);
        let (real_before, target_before) = (snapshot(&l.real), snapshot(&l.target));
        let mut dups = Vec::new();
        let conflict = model(&ours, &theirs, &mut dups);

        let req = AdoptRequest { account: "b".into(), keep_both, ..AdoptRequest::default() };
        let result = adopt(&l.ctx, &req);

        if conflict && !keep_both {
            prop_assert!(matches!(result, Err(AdoptError::Conflicts { .. })), "{:?}", result);
            prop_assert_eq!(snapshot(&l.real), real_before);
            prop_assert_eq!(snapshot(&l.target), target_before);
            return Ok(());
        }
        let report = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(report.counts.duplicates, dups.len());

        // The real directory is now the link.
        prop_assert_eq!(std::fs::read_link(&l.real).unwrap(), l.target.clone());
        // Union of both trees' contents, minus only the duplicates.
        let mut expected: Vec<Vec<u8>> = file_contents_of(&real_before)
            .into_iter()
            .chain(file_contents_of(&target_before))
            .collect();
        for d in &dups {
            let i = expected.iter().position(|e| e == d).unwrap();
            expected.remove(i);
        }
        expected.sort();
        prop_assert_eq!(file_contents(&l.target), expected);
        // Nothing of the target's was overwritten or moved.
        let after = snapshot(&l.target);
        for (path, entry) in &target_before {
            prop_assert_eq!(after.get(path), Some(entry), "{}", path.display());
        }
    }
}

fn file_contents_of(snap: &BTreeMap<PathBuf, Entry>) -> Vec<Vec<u8>> {
    snap.values()
        .filter_map(|e| match e {
            Entry::File(bytes) => Some(bytes.clone()),
            _ => None,
        })
        .collect()
}
