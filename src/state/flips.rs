//! The active link's recent flips, `<state_dir>/flips.json`: when each
//! flip made the link name another home, what it named before and since
//! when. Claude Code reads its credentials through the active link just
//! before each request, so these times tell which account served a
//! request sent at a given moment (`ops::served`).
//!
//! Every flip homeswap makes (a swap's flip, its rollback, a recovery's)
//! is noted here *before* the new link is renamed into place, under the
//! swaps' lock: a reader never sees the link name a home the history does
//! not know about. A note whose rename then failed is withdrawn; one a
//! crash left behind is told by the live link still being the one the
//! note says it replaced (`ops::served::timeline`).
//!
//! The history is bounded ([`KEEP`] flips) and written without `fsync`:
//! it describes running Claude Code processes, which a machine crash ends
//! too, and a lost or unreadable history only makes homeswap unable to
//! tell (never wrong) for requests sent before the live link's own flip.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::fs::error::FsError;
use crate::state::StateDir;

/// How many flips are kept: far more than happen while one request is
/// answered (the longest a request is looked back at is an hour).
pub(crate) const KEEP: usize = 32;

/// One flip of the active link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FlipRecord {
    /// Unix nanoseconds the new link was made (its own mtime), just before
    /// it was renamed over the old one.
    pub(crate) at_ns: u64,
    /// What the link named before; `None`: there was no link.
    #[serde(default)]
    pub(crate) from: Option<PathBuf>,
    /// When the replaced link had been made (its mtime), if there was one.
    #[serde(default)]
    pub(crate) from_since_ns: Option<u64>,
    /// What it names after; `None`: the link was removed (a rollback to
    /// no active account).
    #[serde(default)]
    pub(crate) to: Option<PathBuf>,
}

/// The recent flips, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FlipHistory {
    /// At most [`KEEP`] flips, oldest first.
    #[serde(default)]
    pub(crate) flips: Vec<FlipRecord>,
}

impl FlipHistory {
    /// Reads the history; no file is no flip known.
    pub(crate) fn read(state: &StateDir) -> Result<FlipHistory, FsError> {
        StateDir::read_record(
            &state.flips(),
            "read the flip history",
            "parse the flip history",
        )
        .map(Option::unwrap_or_default)
    }

    /// Adds `flip`, dropping the oldest beyond [`KEEP`]; the caller holds
    /// the swaps' lock. An unreadable history is started anew.
    pub(crate) fn note(state: &StateDir, flip: FlipRecord) -> Result<(), FsError> {
        let mut history = FlipHistory::read(state).unwrap_or_default();
        history.flips.push(flip);
        let extra = history.flips.len().saturating_sub(KEEP);
        history.flips.drain(..extra);
        history.write(state)
    }

    /// Removes the note of the flip made at `at_ns`, whose rename failed;
    /// the caller holds the swaps' lock.
    pub(crate) fn withdraw(state: &StateDir, at_ns: u64) -> Result<(), FsError> {
        let mut history = FlipHistory::read(state)?;
        let before = history.flips.len();
        history.flips.retain(|f| f.at_ns != at_ns);
        if history.flips.len() == before {
            return Ok(());
        }
        history.write(state)
    }

    fn write(&self, state: &StateDir) -> Result<(), FsError> {
        state.write_record_unsynced(&state.flips(), "write the flip history", self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flip(at_ns: u64, to: &str) -> FlipRecord {
        FlipRecord {
            at_ns,
            from: Some(PathBuf::from("/h/x")),
            from_since_ns: Some(at_ns - 1),
            to: Some(PathBuf::from(to)),
        }
    }

    #[test]
    fn flips_are_kept_in_order_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(FlipHistory::read(&state).unwrap(), FlipHistory::default());
        for i in 1..=(KEEP as u64 + 5) {
            FlipHistory::note(&state, flip(i * 10, "/h/a")).unwrap();
        }
        let h = FlipHistory::read(&state).unwrap();
        assert_eq!(h.flips.len(), KEEP);
        assert_eq!(h.flips[0].at_ns, 60, "the oldest went");
        assert_eq!(h.flips[KEEP - 1].at_ns, (KEEP as u64 + 5) * 10);
        FlipHistory::withdraw(&state, 60).unwrap();
        let h = FlipHistory::read(&state).unwrap();
        assert_eq!(h.flips.len(), KEEP - 1);
        assert_eq!(h.flips[0].at_ns, 70);
    }

    #[test]
    fn an_unreadable_history_is_an_error_to_readers_and_started_anew_by_a_flip() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::write(state.flips(), b"{\"flips\": 7").unwrap();
        assert!(FlipHistory::read(&state).is_err());
        FlipHistory::note(&state, flip(5, "/h/b")).unwrap();
        assert_eq!(
            FlipHistory::read(&state).unwrap().flips,
            vec![flip(5, "/h/b")]
        );
    }
}
