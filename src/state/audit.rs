//! The audit log: one JSON object per line in `<state_dir>/audit.jsonl` for
//! every swap attempt, recovery, latch clear, adoption, failover, limit
//! ended by hand and account added, removed, disabled or enabled. [`AuditRecord`] is the line's one shape: written here
//! (bounded, so one line never hides the log's end from a reader), and read
//! back by the status page and the sidecar's tail.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::fs::error::{FsContext, FsError};
use crate::state::fleet::FleetAudit;
pub(crate) use crate::state::outcome::{Action, Outcome};
use crate::state::StateDir;

/// The most entries a record lists of the errors (the rest are counted in
/// `errors_omitted`) and of an adoption's kept-both files (counted in its
/// `kept_both`).
pub(crate) const MAX_LISTED: usize = 20;

/// The most bytes a record keeps of one text (an error, a reason).
pub(crate) const MAX_TEXT: usize = 500;

/// The most bytes of one line homeswap writes: a quarter of what the
/// status page reads of the log's end, so the page always shows the last
/// entries.
pub(crate) const MAX_LINE: usize = 16 * 1024;

/// One line of the audit log. Every field but `action` and `outcome` reads
/// leniently (absent: empty), so a line another homeswap wrote still reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    /// RFC 3339 time the action ended.
    #[serde(default)]
    pub(crate) time: String,
    /// What was done.
    pub(crate) action: Action,
    /// The account active before (if any).
    #[serde(default)]
    pub(crate) from: Option<String>,
    /// The account asked for (if any).
    #[serde(default)]
    pub(crate) to: Option<String>,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// The errors met on the way (at most [`MAX_LISTED`]).
    #[serde(default)]
    pub(crate) errors: Vec<String>,
    /// How many more errors there were than `errors` lists.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) errors_omitted: usize,
    /// Wall time of the action.
    #[serde(default)]
    pub(crate) duration_seconds: f64,
    /// The operator's reason (latch clear), or a failover's reason.
    #[serde(default)]
    pub(crate) reason: Option<String>,
    /// RFC 3339 end of the limit a failover recorded (action `failover`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) until: Option<String>,
    /// The process that did it (0: not recorded).
    #[serde(default)]
    pub(crate) pid: u32,
    /// What an adoption did (action `adopt` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) adopt: Option<AdoptCounts>,
    /// The account added, removed, disabled or enabled (actions
    /// `account_*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<String>,
    /// That account's home, as shown (`account_add`, `account_remove`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) home: Option<String>,
    /// The files written (action `setup`; at most [`MAX_LISTED`]).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::fs::pathfmt::paths"
    )]
    pub(crate) files: Vec<PathBuf>,
    /// What the fleet view told a failover's choice (with `fleet` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fleet: Option<FleetAudit>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What a record says about whom and what, beside how it ended: the part
/// each operation fills in.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Subject {
    /// The account active before, or the one limited.
    pub(crate) from: Option<String>,
    /// The account asked for.
    pub(crate) to: Option<String>,
    /// The operator's or the failover's reason.
    pub(crate) reason: Option<String>,
    /// RFC 3339 end of a recorded limit.
    pub(crate) until: Option<String>,
    /// What an adoption did.
    pub(crate) adopt: Option<AdoptCounts>,
    /// The account an `account_*` action was about.
    pub(crate) account: Option<String>,
    /// Its home, as shown.
    pub(crate) home: Option<String>,
    /// The files written.
    pub(crate) files: Vec<PathBuf>,
    /// What the fleet view told a failover's choice.
    pub(crate) fleet: Option<FleetAudit>,
}

/// What one adoption moved into the shared targets, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptCounts {
    /// The links adopted, e.g. `["projects"]`.
    #[serde(default)]
    pub(crate) links: Vec<String>,
    /// Entries moved into a target (a directory moved whole counts once).
    #[serde(default)]
    pub(crate) moved: usize,
    /// Account copies removed because the target held the same bytes.
    #[serde(default)]
    pub duplicates: usize,
    /// Conflicting entries kept beside the target's under a new name.
    #[serde(default)]
    pub(crate) kept_both: usize,
    /// Where those kept-both entries are now, for an operator to compare
    /// (in the audit log, at most [`MAX_LISTED`] of them).
    #[serde(default, serialize_with = "crate::fs::pathfmt::paths")]
    pub(crate) kept_both_files: Vec<PathBuf>,
    /// True when this run finished an adoption a crash had interrupted.
    #[serde(default)]
    pub(crate) resumed: bool,
}

impl AuditRecord {
    /// The record of `action` ending in `outcome` with `errors`, about
    /// `subject`, stamped with the current time and this process's pid.
    pub(crate) fn new(
        action: Action,
        outcome: Outcome,
        errors: Vec<String>,
        subject: Subject,
        duration: Duration,
    ) -> AuditRecord {
        AuditRecord {
            time: now_rfc3339(),
            action,
            from: subject.from,
            to: subject.to,
            outcome,
            errors,
            errors_omitted: 0,
            duration_seconds: duration.as_secs_f64(),
            reason: subject.reason,
            until: subject.until,
            pid: std::process::id(),
            adopt: subject.adopt,
            account: subject.account,
            home: subject.home,
            files: subject.files,
            fleet: subject.fleet,
        }
    }

    /// The line, at most [`MAX_LINE`] bytes: lists cut to [`MAX_LISTED`]
    /// entries and texts to [`MAX_TEXT`] bytes, then errors and files
    /// dropped from the end until it fits (each error counted).
    fn encode(mut self) -> Result<Vec<u8>, serde_json::Error> {
        let listed = self.errors.len().min(MAX_LISTED);
        self.errors_omitted += self.errors.len() - listed;
        self.errors.truncate(listed);
        self.errors.iter_mut().for_each(clip);
        [
            &mut self.from,
            &mut self.to,
            &mut self.reason,
            &mut self.until,
            &mut self.account,
            &mut self.home,
        ]
        .into_iter()
        .flatten()
        .for_each(clip);
        self.files.truncate(MAX_LISTED);
        if let Some(a) = &mut self.adopt {
            a.kept_both_files.truncate(MAX_LISTED);
            a.links.iter_mut().for_each(clip);
        }
        if let Some(f) = &mut self.fleet {
            f.reason.iter_mut().for_each(clip);
            for p in &mut f.passed_over {
                clip(&mut p.account);
                clip(&mut p.instance);
            }
        }
        loop {
            let line = serde_json::to_vec(&self)?;
            let files = self.adopt.as_mut().map(|a| &mut a.kept_both_files);
            if line.len() <= MAX_LINE {
                return Ok(line);
            } else if self.errors.pop().is_some() {
                self.errors_omitted += 1;
            } else if files.and_then(Vec::pop).is_none() && self.files.pop().is_none() {
                // Only the clipped texts are left: within the bound.
                return Ok(line);
            }
        }
    }
}

/// Cuts `text` to at most [`MAX_TEXT`] bytes, on a character boundary,
/// marking the cut.
fn clip(text: &mut String) {
    if text.len() <= MAX_TEXT {
        return;
    }
    let mut end = MAX_TEXT - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
}

/// The current time as RFC 3339 (UTC, seconds).
pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Appends `record` as one line (bounded) and fsyncs it. One `write` of
/// the whole line on an `O_APPEND` file, so concurrent writers never
/// interleave lines. A file that does not end in a newline holds the part
/// of a line a full disk cut short: this record starts on a line of its
/// own, so the fragment stays one garbage line and takes no record with it.
/// Writers take `flock` on the log around that look and their write, so
/// none takes another's line in progress for a fragment (readers take no
/// lock).
pub(crate) fn append(state: &StateDir, record: AuditRecord) -> Result<(), FsError> {
    let path = state.audit();
    let mut line = record
        .encode()
        .map_err(std::io::Error::other)
        .fs("encode the audit entry for", &path)?;
    line.push(b'\n');
    // Non-blocking: a FIFO planted here must not stall a swap after its
    // flip (the caller would never learn it succeeded); only a regular file
    // is appended to.
    let file = std::fs::OpenOptions::new()
        .create(true)
        .read(true) // its last byte: see `ends_unterminated`
        .append(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(&path)
        .fs("open the audit log", &path)?;
    let meta = file.metadata().fs("inspect the audit log", &path)?;
    if !meta.file_type().is_file() {
        return Err(FsError::new(
            "append to the audit log",
            &path,
            std::io::Error::other("it is not a regular file"),
        ));
    }
    let mut file = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| std::io::Error::from(e))
        .fs("lock the audit log", &path)?;
    let len = file.metadata().fs("inspect the audit log", &path)?.len();
    if ends_unterminated(&file, len) {
        line.insert(0, b'\n');
    }
    file.write_all(&line).fs("append to the audit log", &path)?;
    file.sync_data().fs("fsync the audit log", &path)
}

/// Whether the last of the file's `len` bytes is not a newline.
fn ends_unterminated(file: &std::fs::File, len: u64) -> bool {
    use std::os::unix::fs::FileExt;
    let mut last = [0u8];
    len > 0 && file.read_at(&mut last, len - 1).is_ok_and(|n| n == 1) && last[0] != b'\n'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writers_leave_one_whole_line_each_and_no_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::thread::scope(|s| {
            for t in 0..4 {
                let state = &state;
                s.spawn(move || {
                    for i in 0..20 {
                        append(state, record(vec![], &format!("{t}-{i}"))).unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(state.audit()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 80);
        for l in lines {
            serde_json::from_str::<AuditRecord>(l).unwrap();
        }
    }

    #[test]
    fn a_record_after_a_line_a_full_disk_cut_short_starts_a_line_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let path = state.audit();
        std::fs::write(&path, b"{\"time\":\"2026-1").unwrap();
        append(&state, record(vec![], "after")).unwrap();
        append(&state, record(vec![], "again")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "{\"time\":\"2026-1");
        let reasons: Vec<Option<String>> = lines[1..]
            .iter()
            .map(|l| serde_json::from_str::<AuditRecord>(l).unwrap().reason)
            .collect();
        assert_eq!(reasons, [Some("after".into()), Some("again".into())]);
    }

    fn record(errors: Vec<String>, reason: &str) -> AuditRecord {
        let subject = Subject {
            from: Some("a".into()),
            reason: Some(reason.into()),
            adopt: Some(AdoptCounts {
                kept_both_files: vec![PathBuf::from("\u{1}".repeat(4000)); 50],
                ..AdoptCounts::default()
            }),
            ..Subject::default()
        };
        AuditRecord::new(
            Action::Failover,
            Outcome::Exhausted,
            errors,
            subject,
            Duration::ZERO,
        )
    }

    #[test]
    fn a_record_of_any_size_is_one_bounded_line_that_counts_what_it_left_out() {
        // Control characters take six bytes each in JSON.
        let errors = vec!["\u{1b}".repeat(5000); 500];
        let line = record(errors, &"\u{7}".repeat(70_000)).encode().unwrap();
        assert!(line.len() <= MAX_LINE, "{} bytes", line.len());
        let back: AuditRecord = serde_json::from_slice(&line).unwrap();
        assert_eq!(back.errors.len() + back.errors_omitted, 500);
        assert!(back.reason.unwrap().ends_with('…'));
    }

    #[test]
    fn a_small_record_is_written_whole_and_reads_back_the_same() {
        let r = record(vec!["one".into(), "two".into()], "why");
        let mut small = r.clone();
        small.adopt = None;
        let back: AuditRecord = serde_json::from_slice(&small.clone().encode().unwrap()).unwrap();
        assert_eq!(back, small);
        assert!(!String::from_utf8(small.encode().unwrap())
            .unwrap()
            .contains("errors_omitted"));
    }

    #[test]
    fn a_line_without_the_optional_fields_still_reads() {
        let r: AuditRecord = serde_json::from_str(r#"{"action":"swap","outcome":"busy"}"#).unwrap();
        assert_eq!(
            (r.action, r.outcome, r.pid),
            (Action::Swap, Outcome::Busy, 0)
        );
        assert!(serde_json::from_str::<AuditRecord>(r#"{"action":"swap"}"#).is_err());
    }
}
