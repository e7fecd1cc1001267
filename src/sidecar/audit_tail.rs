//! Following the audit log (`<state_dir>/audit.jsonl`), so that the
//! sidecar counts the swaps every process makes (the CLI, hooks, another
//! sidecar), not only its own.
//!
//! Each line is counted once: a tail starts at the end of the file as it
//! is when the sidecar starts (what is already there was counted by
//! whoever ran then), then reads only the bytes appended since its last
//! read. A line whose newline has not arrived yet waits for it. A file
//! replaced (another inode) is first read to its end, then the new one is
//! read from its beginning; a file shorter than what was read (truncated
//! in place) is read again from its beginning. Lines that are not audit
//! records (the writer's own type, `state::audit::AuditRecord`) are skipped
//! and counted as garbage, never a panic.
//!
//! The reader is generic: it hands every record, whatever its `action`,
//! to its caller, which picks the actions it counts.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::state::audit::AuditRecord;

/// A line longer than this is garbage: dropped up to its newline, so a
/// runaway writer cannot make the sidecar hold an unbounded line.
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// How much one read asks for.
const CHUNK: usize = 64 * 1024;

/// The file being followed.
#[derive(Debug)]
struct Followed {
    /// Kept open, so that its inode cannot be reused by a new file while
    /// this one is followed.
    file: File,
    /// Its device and inode.
    id: (u64, u64),
    /// Bytes of it already read.
    offset: u64,
}

/// A reader of the lines appended to the audit log.
#[derive(Debug)]
pub(crate) struct AuditTail {
    /// `<state_dir>/audit.jsonl`.
    path: PathBuf,
    /// The open file; `None` while there is none.
    followed: Option<Followed>,
    /// The start of a line whose newline has not been read yet.
    partial: Vec<u8>,
    /// Whether the current line went over [`MAX_LINE`] and is being dropped.
    dropping: bool,
}

/// What one [`AuditTail::poll`] read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PollStats {
    /// Complete lines handed to the caller.
    pub(crate) records: usize,
    /// Complete lines that were not audit records.
    pub(crate) garbage: usize,
}

impl AuditTail {
    /// A tail of `path` from its current end.
    pub(crate) fn at_end(path: PathBuf) -> AuditTail {
        let followed = open(&path).map(|mut f| {
            f.offset = f.file.metadata().map(|m| m.len()).unwrap_or(0);
            f
        });
        AuditTail {
            path,
            followed,
            partial: Vec::new(),
            dropping: false,
        }
    }

    /// The file this tail follows.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Hands every complete line appended since the last call to `each`.
    pub(crate) fn poll(&mut self, mut each: impl FnMut(AuditRecord)) -> PollStats {
        let mut stats = PollStats::default();
        let now = std::fs::symlink_metadata(&self.path)
            .ok()
            .filter(|m| m.file_type().is_file())
            .map(|m| (m.dev(), m.ino()));
        if self.followed.as_ref().map(|f| f.id) != now {
            // Replaced or removed: what was appended to the old file
            // before that still counts.
            if let Some(mut old) = self.followed.take() {
                self.read_new(&mut old, &mut each, &mut stats);
            }
            self.partial.clear();
            self.dropping = false;
            self.followed = now.and_then(|_| open(&self.path));
        }
        if let Some(mut f) = self.followed.take() {
            let len = f.file.metadata().map(|m| m.len()).unwrap_or(f.offset);
            if len < f.offset {
                // Truncated in place: everything in it now is new.
                f.offset = 0;
                self.partial.clear();
                self.dropping = false;
            }
            self.read_new(&mut f, &mut each, &mut stats);
            self.followed = Some(f);
        }
        stats
    }

    /// Reads `f` from its offset to its end, line by line.
    fn read_new(
        &mut self,
        f: &mut Followed,
        each: &mut impl FnMut(AuditRecord),
        stats: &mut PollStats,
    ) {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match f.file.read_at(&mut buf, f.offset) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(path = %crate::fs::pathfmt::shown(&self.path), error = %e, "cannot read the audit log");
                    return;
                }
            };
            f.offset += n as u64;
            self.split_lines(&buf[..n], each, stats);
        }
    }

    /// Completes lines with `bytes`; keeps the unfinished end for later.
    fn split_lines(
        &mut self,
        mut bytes: &[u8],
        each: &mut impl FnMut(AuditRecord),
        stats: &mut PollStats,
    ) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            let (head, rest) = (&bytes[..nl], &bytes[nl + 1..]);
            bytes = rest;
            if std::mem::take(&mut self.dropping) {
                self.partial.clear();
                stats.garbage += 1;
                continue;
            }
            let line = if self.partial.is_empty() {
                head
            } else {
                self.partial.extend_from_slice(head);
                &self.partial[..]
            };
            if !line.trim_ascii().is_empty() {
                match serde_json::from_slice::<AuditRecord>(line) {
                    Ok(r) => {
                        stats.records += 1;
                        each(r);
                    }
                    Err(_) => stats.garbage += 1,
                }
            }
            self.partial.clear();
        }
        if self.dropping {
            return;
        }
        if self.partial.len() + bytes.len() > MAX_LINE {
            self.partial.clear();
            self.dropping = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }
}

/// Opens the log for reading without following a symlink or blocking on
/// a FIFO; `None` unless it is a regular file.
fn open(path: &Path) -> Option<Followed> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    meta.file_type().is_file().then(|| Followed {
        id: (meta.dev(), meta.ino()),
        file,
        offset: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn line(outcome: &str) -> String {
        // Outcomes are the contract's words.
        format!("{{\"action\":\"swap\",\"outcome\":\"{outcome}\",\"pid\":7,\"duration_seconds\":0.5}}\n")
    }

    fn outcomes(t: &mut AuditTail) -> (Vec<String>, PollStats) {
        let mut seen = Vec::new();
        let stats = t.poll(|r| seen.push(r.outcome.as_str().to_string()));
        (seen, stats)
    }

    #[test]
    fn lines_already_there_at_start_are_not_read_and_new_ones_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        append(&p, &line("swapped"));
        let mut t = AuditTail::at_end(p.clone());
        assert_eq!(outcomes(&mut t).0, Vec::<String>::new());
        append(&p, &line("rolled_back"));
        assert_eq!(outcomes(&mut t).0, ["rolled_back"]);
        assert_eq!(outcomes(&mut t).0, Vec::<String>::new(), "read once");
    }

    #[test]
    fn a_file_created_after_start_is_read_from_its_beginning() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut t = AuditTail::at_end(p.clone());
        assert_eq!(outcomes(&mut t).0, Vec::<String>::new());
        append(&p, &line("swapped"));
        assert_eq!(outcomes(&mut t).0, ["swapped"]);
    }

    #[test]
    fn a_partial_line_is_counted_once_its_newline_arrives() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut t = AuditTail::at_end(p.clone());
        let l = line("partial");
        let (a, b) = l.split_at(10);
        append(&p, a);
        assert_eq!(outcomes(&mut t), (vec![], PollStats::default()));
        append(&p, b);
        assert_eq!(outcomes(&mut t).0, ["partial"]);
    }

    #[test]
    fn garbage_lines_are_skipped_without_a_panic() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut t = AuditTail::at_end(p.clone());
        append(
            &p,
            "not json\n\n[1,2]\n{\"outcome\":\"swapped\"}\n\u{0}\u{ff}\n",
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"\xff\xfe{\n")
            .unwrap();
        append(&p, &line("busy"));
        let (seen, stats) = outcomes(&mut t);
        assert_eq!(seen, ["busy"]);
        assert_eq!(stats.garbage, 5);
    }

    #[test]
    fn an_overlong_line_is_dropped_up_to_its_newline() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let mut t = AuditTail::at_end(p.clone());
        append(&p, &"x".repeat(MAX_LINE + 10));
        assert_eq!(outcomes(&mut t).0, Vec::<String>::new());
        assert!(t.partial.is_empty(), "nothing of it is held");
        append(&p, &format!("xxx\n{}", line("swapped")));
        let (seen, stats) = outcomes(&mut t);
        assert_eq!((seen, stats.garbage), (vec!["swapped".to_string()], 1));
    }

    #[test]
    fn a_rotated_log_is_finished_then_the_new_one_read_from_its_beginning() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        append(&p, &line("swapped"));
        let mut t = AuditTail::at_end(p.clone());
        append(&p, &line("busy"));
        std::fs::rename(&p, d.path().join("audit.jsonl.1")).unwrap();
        append(&p, &line("refused"));
        assert_eq!(outcomes(&mut t).0, ["busy", "refused"]);
        append(&p, &line("partial"));
        assert_eq!(outcomes(&mut t).0, ["partial"]);
    }

    #[test]
    fn a_truncated_log_is_read_again_from_its_beginning() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        append(&p, &line("swapped"));
        append(&p, &line("swapped"));
        let mut t = AuditTail::at_end(p.clone());
        std::fs::write(&p, line("rolled_back")).unwrap();
        assert_eq!(outcomes(&mut t).0, ["rolled_back"]);
    }

    #[test]
    fn a_symlink_or_fifo_in_place_of_the_log_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.jsonl");
        let elsewhere = d.path().join("elsewhere");
        append(&elsewhere, &line("swapped"));
        std::os::unix::fs::symlink(&elsewhere, &p).unwrap();
        let mut t = AuditTail::at_end(p.clone());
        assert_eq!(outcomes(&mut t).0, Vec::<String>::new());
        std::fs::remove_file(&p).unwrap();
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(outcomes(&mut t).0, Vec::<String>::new(), "and no hang");
    }
}
