//! The unified diff `setup claude-code --dry-run` prints: what `patch`
//! and a person both read.

/// The unified diff from `before` (named `old`) to `after` (named `new`),
/// with three lines of context; empty when they are the same.
pub(crate) fn unified(before: &str, after: &str, old: &str, new: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(old, new)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_shown_as_patch_reads_it() {
        let d = unified(
            "{\n  \"a\": 1\n}\n",
            "{\n  \"a\": 1,\n  \"b\": 2\n}\n",
            "/s.json",
            "/s.json",
        );
        assert_eq!(
            d,
            "--- /s.json\n+++ /s.json\n@@ -1,3 +1,4 @@\n {\n-  \"a\": 1\n+  \"a\": 1,\n+  \"b\": 2\n }\n"
        );
        assert_eq!(unified("x", "x", "a", "b"), "");
    }
}
