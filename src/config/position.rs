//! Line and column of a key in the YAML text, for the errors only the
//! checks can see (serde's own errors carry yaml_serde's position).
//!
//! yaml_serde does not hand out positions of values that deserialized
//! fine, so the key is found again by indentation in block-style YAML.
//! Keys inside a flow mapping (`{a: /x}`) are not searched; the nearest
//! enclosing key found stands in for them.

/// The 1-based line and column of the key at `path` (e.g. `["serve",
/// "interval"]`), or of the deepest enclosing key found when the key itself
/// is not found; `None` when not even the first key is.
pub(super) fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    (1..=path.len())
        .rev()
        .find_map(|depth| find_key(text, &path[..depth]))
}

/// The 1-based line and column of the key at `path` in block-style YAML,
/// following indentation: each key of `path` must sit deeper than its
/// parent.
pub(super) fn find_key(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    let mut lines = text.lines().enumerate();
    for key in path {
        found = None;
        for (n, line) in lines.by_ref() {
            let body = line.trim_start();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            let indent = line.len() - body.len();
            if let Some(p) = parent_indent {
                if indent <= p {
                    return None; // left the parent's block without finding the key
                }
            }
            if key_of(body) == Some(key) {
                found = Some((n + 1, indent + 1));
                parent_indent = Some(indent);
                break;
            }
        }
        found?;
    }
    found
}

/// The key a block mapping line starts with (`key:`, `"key":`, `'key':`).
fn key_of(body: &str) -> Option<&str> {
    let (k, rest) = match body.chars().next()? {
        q @ ('"' | '\'') => {
            let end = body[1..].find(q)? + 1;
            (&body[1..end], &body[end + 1..])
        }
        _ => {
            let colon = body.find(':')?;
            (body[..colon].trim_end(), &body[colon..])
        }
    };
    let rest = rest.trim_start();
    (rest.starts_with(':')).then_some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_key_follows_nesting() {
        let text = "a:\n  x: 1\nb:\n  x: 2\n  y:\n    x: 3\n";
        assert_eq!(find_key(text, &["b", "x"]), Some((4, 3)));
        assert_eq!(find_key(text, &["b", "y", "x"]), Some((6, 5)));
        assert_eq!(find_key(text, &["a", "y"]), None);
    }

    #[test]
    fn quoted_keys_are_found_and_flow_keys_fall_back_to_their_parent() {
        let text = "accounts:\n  \"a\": /h/a\n  'b' : /h/b\nflow: {c: 1}\n";
        assert_eq!(find_key(text, &["accounts", "a"]), Some((2, 3)));
        assert_eq!(find_key(text, &["accounts", "b"]), Some((3, 3)));
        assert_eq!(locate(text, &["flow", "c"]), Some((4, 1)));
        assert_eq!(locate(text, &["nothing"]), None);
    }
}
