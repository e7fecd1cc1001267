//! The last entries of the audit log (`<state_dir>/audit.jsonl`) for the
//! page: only the file's tail is read (at most [`TAIL_BYTES`]), whatever
//! the log's size, and lines are parsed leniently (a line that is not an
//! audit record is counted, never an error). Homeswap's own lines are far
//! shorter than the tail ([`crate::state::audit::MAX_LINE`]); a longer one
//! at the end is said to be there, not taken for an empty log.

use std::path::Path;

use crate::fs::read::read_tail;
use crate::state::audit::AuditRecord;

/// How much of the log's end is read: enough for the last dozen entries
/// even with long error lists, and small enough for every page load.
pub(crate) const TAIL_BYTES: u64 = 64 * 1024;

/// The last entries of the log, and what could not be shown.
#[derive(Debug, Default)]
pub(crate) struct RecentAudit {
    /// The last entries, oldest first.
    pub(crate) entries: Vec<AuditRecord>,
    /// Complete lines of the tail that were not audit entries.
    pub(crate) unreadable: usize,
    /// True when the log's last line is longer than the tail: the latest
    /// entries cannot be shown at all.
    pub(crate) overlong: bool,
    /// Why the log could not be read at all.
    pub(crate) error: Option<String>,
}

impl RecentAudit {
    /// True when the log holds nothing: no entry, nothing unreadable.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.unreadable == 0 && !self.overlong
    }
}

/// The last `keep` entries of the log at `path` (none when it is absent).
pub(crate) fn recent(path: &Path, keep: usize) -> RecentAudit {
    let (bytes, cut) = match read_tail(path, TAIL_BYTES) {
        Ok(Some(t)) => t,
        Ok(None) => return RecentAudit::default(),
        Err(e) => {
            return RecentAudit {
                error: Some(e.to_string()),
                ..RecentAudit::default()
            }
        }
    };
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // The last piece follows the last newline: empty, or a line still
    // being written. The first is cut when the tail starts mid-file; when
    // it is the only line, the last line is longer than the tail.
    lines.pop();
    let mut recent = RecentAudit {
        overlong: cut && lines.len() == 1,
        ..RecentAudit::default()
    };
    if cut && !lines.is_empty() {
        lines.remove(0);
    }
    for line in lines.iter().filter(|l| !l.trim_ascii().is_empty()) {
        match serde_json::from_slice::<AuditRecord>(line) {
            Ok(entry) => recent.entries.push(entry),
            Err(_) => recent.unreadable += 1,
        }
    }
    let drop = recent.entries.len().saturating_sub(keep);
    recent.entries.drain(..drop);
    recent
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(n: usize) -> String {
        format!("{{\"time\":\"t{n}\",\"action\":\"swap\",\"from\":\"a\",\"to\":\"b\",\"outcome\":\"swapped\",\"errors\":[],\"pid\":1}}\n")
    }

    #[test]
    fn only_the_last_entries_are_kept_oldest_first() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let text: String = (0..30).map(line).collect();
        std::fs::write(&p, text).unwrap();
        let r = recent(&p, 10);
        let times: Vec<_> = r.entries.iter().map(|e| e.time.clone()).collect();
        assert_eq!(times.first().unwrap(), "t20");
        assert_eq!(times.last().unwrap(), "t29");
        assert_eq!((r.unreadable, r.error), (0, None));
    }

    #[test]
    fn a_huge_log_is_read_from_its_tail_only_and_the_cut_line_dropped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut f = std::fs::File::create(&p).unwrap();
        // Garbage far before the tail is never read, so never counted.
        f.write_all(&vec![b'x'; 3 * TAIL_BYTES as usize]).unwrap();
        f.write_all(b"\n").unwrap();
        for n in 0..2000 {
            f.write_all(line(n).as_bytes()).unwrap();
        }
        let r = recent(&p, 10);
        assert_eq!(r.entries.len(), 10);
        assert_eq!(r.entries[9].time, "t1999");
        assert_eq!(r.unreadable, 0, "the line cut by the tail is dropped");
        assert!(!r.overlong);
    }

    #[test]
    fn a_last_line_longer_than_the_tail_is_said_to_be_there() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut text = line(1);
        text.push_str(&"x".repeat(TAIL_BYTES as usize + 10));
        text.push('\n');
        std::fs::write(&p, text).unwrap();
        let r = recent(&p, 10);
        assert!(r.overlong && r.entries.is_empty() && !r.is_empty(), "{r:?}");
    }

    #[test]
    fn garbage_lines_are_counted_and_a_line_without_its_newline_skipped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut text = line(1);
        text.push_str("not json\n[1]\n\u{0}\n{\"action\":7}\n\n");
        text.push_str(&line(2));
        text.push_str("{\"action\":\"swap\"");
        std::fs::write(&p, text).unwrap();
        let r = recent(&p, 10);
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.unreadable, 4);
    }

    #[test]
    fn an_absent_log_is_empty_and_a_fifo_or_symlink_an_error_without_a_hang() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let r = recent(&p, 10);
        assert!(r.entries.is_empty() && r.error.is_none());
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(recent(&p, 10).error.unwrap().contains("FIFO"));
        std::fs::remove_file(&p).unwrap();
        let elsewhere = d.path().join("elsewhere");
        std::fs::write(&elsewhere, line(1)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &p).unwrap();
        assert!(recent(&p, 10).error.is_some());
    }
}
