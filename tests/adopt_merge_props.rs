//! Properties of the line merge of `*.jsonl` file links, on the function
//! and through `adopt` on real files: the target keeps its bytes and lines
//! in order and gains, in the account file's order, the lines it lacked; no
//! line and no byte of either file is lost, none is repeated beyond what
//! either file held, and merging again adds nothing.

mod common;

use std::collections::HashMap;

use homeswap::merge::{lines, merge_lines};
use homeswap::{adopt, AdoptRequest, Config, Context};
use proptest::prelude::*;

/// JSONL-ish files from few distinct lines (so they overlap often), some
/// empty lines, and sometimes no newline at the end.
fn jsonl() -> impl Strategy<Value = Vec<u8>> {
    let line = prop::sample::select(vec!["{\"p\":1}", "{\"p\":2}", "{\"p\":3}", "", "x y"]);
    (prop::collection::vec(line, 0..12), any::<bool>()).prop_map(|(ls, trailing)| {
        let mut out = ls.join("\n").into_bytes();
        if trailing && !ls.is_empty() {
            out.push(b'\n');
        }
        out
    })
}

fn counts<'a>(ls: &[&'a [u8]]) -> HashMap<&'a [u8], usize> {
    let mut m = HashMap::new();
    for l in ls {
        *m.entry(*l).or_default() += 1;
    }
    m
}

/// Checks every promised property of `merged` against its two inputs.
fn check(target: &[u8], ours: &[u8], merged: &[u8]) -> Result<(), TestCaseError> {
    // The target's bytes are kept, as a prefix (plus at most the newline
    // that ends its last line).
    prop_assert!(merged.starts_with(target));
    let (t, o, m) = (lines(target), lines(ours), lines(merged));
    // Its lines, in order, come first.
    prop_assert_eq!(&m[..t.len()], &t[..]);
    // Every line is there as often as the more of the two held it: none
    // lost, none repeated.
    let (ct, co, cm) = (counts(&t), counts(&o), counts(&m));
    for (l, n) in &cm {
        let want = ct
            .get(l)
            .copied()
            .unwrap_or(0)
            .max(co.get(l).copied().unwrap_or(0));
        prop_assert_eq!(*n, want, "line {:?}", String::from_utf8_lossy(l));
    }
    for l in ct.keys().chain(co.keys()) {
        prop_assert!(cm.contains_key(l));
    }
    // The appended lines keep the account file's order.
    let appended = &m[t.len()..];
    let mut it = o.iter();
    for a in appended {
        prop_assert!(
            it.any(|x| x == a),
            "order of {:?}",
            String::from_utf8_lossy(a)
        );
    }
    // A merged file is a JSONL file: ends with a newline once anything was appended.
    if !appended.is_empty() {
        prop_assert!(merged.ends_with(b"\n"));
    }
    // Merging again adds nothing.
    prop_assert_eq!(merge_lines(merged, ours).1, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn merging_loses_and_repeats_no_line(target in jsonl(), ours in jsonl()) {
        let (merged, appended) = merge_lines(&target, &ours);
        prop_assert_eq!(lines(&merged).len(), lines(&target).len() + appended);
        check(&target, &ours, &merged)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn adopting_a_history_file_merges_it_into_the_shared_one(
        target in jsonl(),
        ours in jsonl(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let config = root.join("homeswap.yaml");
        std::fs::create_dir(root.join("home-b")).unwrap();
        std::fs::create_dir(root.join("shared")).unwrap();
        std::fs::write(
            &config,
            format!(
                "accounts:\n  b: {}\nactive_link: {}\nshared_dir: {}\nshared: [projects]\nshared_files: [history.jsonl]\nstate_dir: {}\n",
                root.join("home-b").display(),
                root.join("active").display(),
                root.join("shared").display(),
                root.join("state").display()
            ),
        )
        .unwrap();
        let shared = root.join("shared/history.jsonl");
        let real = root.join("home-b/history.jsonl");
        std::fs::write(&shared, &target).unwrap();
        std::fs::write(&real, &ours).unwrap();
        let ctx = Context::new(Config::load(&config).unwrap());
        let req = AdoptRequest { account: "b".into(), ..AdoptRequest::default() };
        adopt(&ctx, &req).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(std::fs::read_link(&real).unwrap(), shared.clone());
        let merged = std::fs::read(&shared).unwrap();
        if target == ours {
            prop_assert_eq!(&merged, &target);
        }
        check(&target, &ours, &merged)?;
    }
}
