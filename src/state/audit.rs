//! The audit log: one JSON object per line in `<state_dir>/audit.jsonl` for
//! every swap attempt, recovery, latch clear and adoption.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::fs::error::{FsContext, FsError};
use crate::state::fleet::FleetAudit;
use crate::state::StateDir;

/// One line of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// RFC 3339 time the action ended.
    pub time: String,
    /// `swap`, `recover`, `latch_clear`, `adopt`, `failover` or `limits_clear`.
    pub action: &'static str,
    /// The account active before (if any).
    pub from: Option<String>,
    /// The account asked for (if any).
    pub to: Option<String>,
    /// How it ended, e.g. `swapped`, `rolled_back`, `partial`, `cleared`.
    pub outcome: String,
    /// Every error met on the way.
    pub errors: Vec<String>,
    /// Wall time of the action.
    pub duration_seconds: f64,
    /// The operator's reason (latch clear), or a failover's reason.
    pub reason: Option<String>,
    /// RFC 3339 end of the limit a failover recorded (action `failover`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The process that did it.
    pub pid: u32,
    /// What an adoption did (action `adopt` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopt: Option<AdoptCounts>,
    /// What the fleet view told a failover's choice (with `fleet` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetAudit>,
}

/// What one adoption moved into the shared targets, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AdoptCounts {
    /// The links adopted, e.g. `["projects"]`.
    pub links: Vec<String>,
    /// Entries moved into a target (a directory moved whole counts once).
    pub moved: usize,
    /// Account copies removed because the target held the same bytes.
    pub duplicates: usize,
    /// Conflicting entries kept beside the target's under a new name.
    pub kept_both: usize,
    /// Where those kept-both entries are now, for an operator to compare.
    #[serde(serialize_with = "crate::fs::pathfmt::paths")]
    pub kept_both_files: Vec<std::path::PathBuf>,
    /// True when this run finished an adoption a crash had interrupted.
    pub resumed: bool,
}

impl AuditEntry {
    /// A new entry stamped with the current time and pid.
    pub fn new(action: &'static str, outcome: impl Into<String>, duration: Duration) -> AuditEntry {
        AuditEntry {
            time: now_rfc3339(),
            action,
            from: None,
            to: None,
            outcome: outcome.into(),
            errors: Vec::new(),
            duration_seconds: duration.as_secs_f64(),
            reason: None,
            until: None,
            pid: std::process::id(),
            adopt: None,
            fleet: None,
        }
    }
}

/// The current time as RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Appends `entry` as one line and fsyncs it. One `write` of the whole line
/// on an `O_APPEND` file, so concurrent writers never interleave lines.
pub fn append(state: &StateDir, entry: &AuditEntry) -> Result<(), FsError> {
    let path = state.audit();
    let mut line = serde_json::to_vec(entry)
        .map_err(std::io::Error::other)
        .fs("encode the audit entry for", &path)?;
    line.push(b'\n');
    // Non-blocking: a FIFO planted here must not stall a swap after its
    // flip (the caller would never learn it succeeded); only a regular file
    // is appended to.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
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
    file.write_all(&line).fs("append to the audit log", &path)?;
    file.sync_data().fs("fsync the audit log", &path)
}
