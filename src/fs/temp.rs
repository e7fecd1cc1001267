//! The one scheme for temporary names. A crash-safe change of `<name>` is
//! prepared under `.<name>.homeswap-tmp.<pid>.<n>` in the same directory and
//! renamed into place, so a crash leaves at most an entry recognizably ours,
//! tied to the entry it was for, which recovery removes.
//!
//! The format is on disk: leftovers of older versions must still be
//! recognized, so it never changes. Adopt's earlier scheme
//! (`.<name>.homeswap-adopt-tmp.<pid>`) is recognized by [`is_temp`] for the
//! same reason.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU64, Ordering};

/// What sits between the target's name and the pid.
const MARK: &[u8] = b".homeswap-tmp.";

/// The mark of adopt's earlier temporary copies, recognized, never built.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "adopt's sweep switches to is_temp (issue 11)")
)]
const ADOPT_MARK: &[u8] = b".homeswap-adopt-tmp.";

/// Makes names unique within this process; the pid makes them unique
/// across processes.
static SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary name for a change of `target` (an entry name, not a
/// path): `.<target>.homeswap-tmp.<pid>.<n>`, never returned twice by one
/// process.
pub fn temp_name(target: &OsStr) -> OsString {
    let mut t = OsString::from(".");
    t.push(target);
    t.push(format!(
        ".homeswap-tmp.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    t
}

/// True when `name` is a temporary name [`temp_name`] built for `target`,
/// by this process or any other.
pub fn is_temp_of(name: &OsStr, target: &OsStr) -> bool {
    let (name, target) = (name.as_bytes(), target.as_bytes());
    name.strip_prefix(b".")
        .and_then(|rest| rest.strip_prefix(target))
        .and_then(|rest| rest.strip_prefix(MARK))
        .is_some_and(is_pid_and_seq)
}

/// True when `name` is any homeswap temporary name: this scheme's for any
/// target, or adopt's earlier one. For sweeping a whole directory.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "adopt's sweep switches to it (issue 11)")
)]
pub fn is_temp(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    let Some(rest) = bytes.strip_prefix(b".") else {
        return false;
    };
    // The target's own name may hold a mark, so every position counts.
    let marked = |mark: &[u8], tail: fn(&[u8]) -> bool| {
        (1..rest.len()).any(|i| rest[i..].starts_with(mark) && tail(&rest[i + mark.len()..]))
    };
    marked(MARK, is_pid_and_seq) || marked(ADOPT_MARK, is_digits)
}

/// `<pid>.<n>`, both decimal.
fn is_pid_and_seq(s: &[u8]) -> bool {
    let mut parts = s.splitn(2, |&b| b == b'.');
    matches!(
        (parts.next(), parts.next()),
        (Some(pid), Some(n)) if is_digits(pid) && is_digits(n)
    )
}

fn is_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

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
}
