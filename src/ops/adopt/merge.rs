//! Merging two JSONL files line by line (prompt history, transcripts): the
//! target keeps its bytes and its lines in order and gains, appended in the
//! account file's order, every line of the account's file it does not
//! already hold.
//!
//! Lines are compared whole, without their `\n`; a last line without a
//! newline is a line. They are counted with their multiplicity: a line the
//! account holds twice and the target once is appended once. So, for every
//! line, the merged file holds it as often as the more of the two did: no
//! line of either file is lost, and none is repeated beyond that. Merging
//! again adds nothing (which makes a re-run after a crash a no-op).
//!
//! Every appended line ends with `\n`; when the target's last line has no
//! newline, one is added after it first, so that two lines never run into
//! one.

use std::collections::HashMap;

/// The lines of `bytes`, without their `\n` (a last line without one is a
/// line; an empty input has none).
pub fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == b'\n').collect()
}

/// The merged file and how many lines of `ours` it appended to `target`.
pub fn merge_lines(target: &[u8], ours: &[u8]) -> (Vec<u8>, usize) {
    let mut held: HashMap<&[u8], usize> = HashMap::new();
    for l in lines(target) {
        *held.entry(l).or_default() += 1;
    }
    let mut out = target.to_vec();
    let mut appended = 0;
    for l in lines(ours) {
        match held.get_mut(l) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                if !out.is_empty() && !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.extend_from_slice(l);
                out.push(b'\n');
                appended += 1;
            }
        }
    }
    (out, appended)
}

/// Whether a file link's entry is merged line by line when it differs.
pub(crate) fn is_jsonl(name: &str) -> bool {
    name.ends_with(".jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_keeps_its_lines_and_gains_the_missing_ones_in_order() {
        let (m, n) = merge_lines(b"a\nb\n", b"x\nb\ny\n");
        assert_eq!(m, b"a\nb\nx\ny\n");
        assert_eq!(n, 2);
    }

    #[test]
    fn a_last_line_without_newline_is_a_line_on_both_sides() {
        assert_eq!(merge_lines(b"a\nb", b"b\nc").0, b"a\nb\nc\n");
        assert_eq!(merge_lines(b"a", b"a\n"), (b"a".to_vec(), 0));
        assert_eq!(merge_lines(b"", b"z"), (b"z\n".to_vec(), 1));
    }

    #[test]
    fn multiplicity_counts_and_merging_again_adds_nothing() {
        let (m, n) = merge_lines(b"a\n", b"a\na\n\n");
        assert_eq!((m.as_slice(), n), (&b"a\na\n\n"[..], 2));
        assert_eq!(merge_lines(&m, b"a\na\n\n").1, 0);
        assert_eq!(lines(b"\n"), [b""]);
        assert!(lines(b"").is_empty());
    }
}
