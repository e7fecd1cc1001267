//! The configured paths (every home, `shared_dir`, `state_dir`,
//! `active_link`) must be separate: none equal to another, none inside
//! another. A home inside another home or inside the shared dir would have
//! `adopt` move one account's whole home, credentials included, into the
//! shared transcripts; a state dir or an active link inside a home would be
//! shared, adopted or reported as that home's own entry.
//!
//! Paths are compared lexically, component by component, after the checks
//! refused `..` (so `/h/b/../a` cannot pass for a sibling of `/h/a`); `.`,
//! doubled and trailing `/` do not count. Sorted by components, a path
//! that contains others sorts right before them, so one sort and a look at
//! each neighbour find any overlap: O(n log n) in the number of paths.

use std::path::{Component, Path};

/// One configured path and the key it was given under.
pub(super) struct Named<'a> {
    /// Dotted key, e.g. `accounts.b`.
    pub(crate) key: String,
    /// The path as written.
    pub(crate) path: &'a Path,
}

/// Two configured paths that are not separate.
pub(super) struct Overlap<'n, 'a> {
    /// The path inside the other (for equal paths: the one listed later).
    pub(crate) inner: &'n Named<'a>,
    /// The path that contains `inner` or equals it.
    pub(crate) outer: &'n Named<'a>,
    /// Whether the two are the same path.
    pub(crate) equal: bool,
}

impl Overlap<'_, '_> {
    /// The message for the error under `inner.key`.
    pub(super) fn message(&self) -> String {
        let relation = if self.equal {
            "is the same path as"
        } else {
            "is inside"
        };
        format!(
            "{} {relation} {} ({}): homes, shared_dir, state_dir and active_link \
             must be separate paths, none inside another",
            self.inner.path.display(),
            self.outer.key,
            self.outer.path.display()
        )
    }
}

/// The first overlap among `paths` in path order, if any.
pub(super) fn find<'n, 'a>(paths: &'n [Named<'a>]) -> Option<Overlap<'n, 'a>> {
    let parts: Vec<Vec<Component>> = paths
        .iter()
        .map(|n| n.path.components().collect())
        .collect();
    let mut order: Vec<usize> = (0..paths.len()).collect();
    // Equal paths keep their listed order, so the later one is `inner`.
    order.sort_by(|&i, &j| parts[i].cmp(&parts[j]).then(i.cmp(&j)));
    order.windows(2).find_map(|w| {
        let (outer, inner) = (w[0], w[1]);
        parts[inner].starts_with(&parts[outer]).then(|| Overlap {
            inner: &paths[inner],
            outer: &paths[outer],
            equal: parts[inner].len() == parts[outer].len(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(list: &[(&str, &'static str)]) -> Vec<Named<'static>> {
        list.iter()
            .map(|(k, p)| Named {
                key: k.to_string(),
                path: Path::new(*p),
            })
            .collect()
    }

    fn pair(list: &[(&str, &'static str)]) -> Option<(String, String, bool)> {
        let paths = named(list);
        find(&paths).map(|o| (o.inner.key.clone(), o.outer.key.clone(), o.equal))
    }

    #[test]
    fn a_path_inside_another_is_found_even_with_siblings_sorting_between() {
        // `/h/a-b` sorts between `/h/a` and `/h/a/x` as bytes, not as components.
        let got = pair(&[("a", "/h/a"), ("b", "/h/a-b"), ("c", "/h/a/x")]);
        assert_eq!(got, Some(("c".into(), "a".into(), false)));
    }

    #[test]
    fn equal_paths_name_the_later_one_and_spelling_does_not_matter() {
        let got = pair(&[("a", "/h/a"), ("b", "/h//./a/")]);
        assert_eq!(got, Some(("b".into(), "a".into(), true)));
    }

    #[test]
    fn siblings_are_separate() {
        assert!(pair(&[("a", "/h/a"), ("b", "/h/ab"), ("c", "/h/a.b"), ("d", "/h2")]).is_none());
    }
}
