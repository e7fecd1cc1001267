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
