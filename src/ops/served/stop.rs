//! Which account served the request a `StopFailure` reports.
//!
//! 1. The request went out after the session started (the `SessionStart`
//!    record, when there is one) and no longer than [`STOP_LOOKBACK`] ago.
//!    When the active link named one account all that time (the common
//!    case), that account served it: no transcript is read.
//! 2. Otherwise a flip lies in that window (right after a swap, or in a
//!    storm, where another session's hook has just failed over): the
//!    transcript tells when the failing request went out: the last
//!    `api-request` of the event's prompt followed by its error entry.
//!    Claude Code writes those some 100 ms after the fact, often after
//!    the hook started (seen in `-p` and interactive runs), so the tail is
//!    read again every [`POLL`] until `until`.
//! 3. No transcript, or no sign of the request by then: homeswap cannot
//!    tell.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::state::StateDir;

use super::transcript::{self, TranscriptError};
use super::{Flips, Served, STOP_LOOKBACK};

/// How often the transcript is read again while its entries are awaited.
pub(crate) const POLL: Duration = Duration::from_millis(25);

/// What a `StopFailure` hands homeswap about its request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FailedTurn<'a> {
    /// The session (a safe id), if the event named one.
    pub(crate) session: Option<&'a str>,
    /// The failed turn's prompt id.
    pub(crate) prompt_id: Option<&'a str>,
    /// The transcript path the event gave.
    pub(crate) transcript: Option<&'a Path>,
    /// Unix nanoseconds the session started, if `SessionStart` recorded it.
    pub(crate) started_ns: Option<u64>,
}

/// The account that served the failed request, or why that cannot be
/// told; waits for the transcript until `until` at most.
pub(crate) fn served(
    config: &Config,
    state: &StateDir,
    turn: &FailedTurn,
    until: Instant,
) -> Served {
    let flips = Flips::read(config, state);
    let lookback = flips.now_ns.saturating_sub(STOP_LOOKBACK.as_nanos() as u64);
    let lo = turn.started_ns.map_or(lookback, |s| s.max(lookback));
    let near = match flips.served_since(lo) {
        Served::By(account) => return Served::By(account),
        Served::Unknown(why) => why,
    };
    let (Some(session), Some(prompt), Some(path)) = (turn.session, turn.prompt_id, turn.transcript)
    else {
        return Served::Unknown(format!(
            "{near}, and the event names no transcript and prompt to place the request by"
        ));
    };
    // A flip after this read came after the request too (the hook runs
    // after its answer): the flips as read place it.
    match awaited(config, session, prompt, path, until) {
        Ok(sent_ns) => flips.served_at(sent_ns),
        Err(why) => Served::Unknown(format!("{near}, and {why}")),
    }
}

/// The failed request's send time from the transcript, read again until
/// it shows or `until` passes.
fn awaited(
    config: &Config,
    session: &str,
    prompt: &str,
    path: &Path,
    until: Instant,
) -> Result<u64, String> {
    loop {
        match transcript::read(config, session, path) {
            Ok(tail) => {
                if let Some(r) = tail.failing_request(prompt) {
                    return Ok(r.sent_ns);
                }
            }
            // A file not written yet may come; a refused one will not.
            Err(TranscriptError::Missing) => {}
            Err(e) => return Err(e.to_string()),
        }
        if Instant::now() + POLL > until {
            return Err("the transcript did not show the failed request in time".to_string());
        }
        std::thread::sleep(POLL);
    }
}
