//! Which account served the request whose numbers a status update
//! reports (its `rate_limits` come from the headers of the newest answer,
//! a 429 included).
//!
//! The caller has already found that the update is new (its counters or
//! its `rate_limits` differ from the session's previous update): an
//! update that repeats them reports no new request and records nothing.
//!
//! 1. The request went out after the session started (`SessionStart`, when
//!    recorded) and no longer than [`STATUS_LOOKBACK`] ago. When the
//!    active link named one account all that time, that account served it:
//!    no transcript is read (the common case).
//! 2. Otherwise the transcript names the newest answered request (the
//!    status line runs after its entries are written: seen at every update
//!    of the probes) and its send time places it. Its numbers are trusted
//!    only when the transcript accounts for every request the counters
//!    moved by (`prompt_cache.requests`): requests written elsewhere (a
//!    subagent's own transcript) could have brought the numbers.
//! 3. Otherwise homeswap cannot tell.

use std::path::Path;

use crate::config::Config;
use crate::state::StateDir;

use super::transcript;
use super::{Flips, Served, STATUS_LOOKBACK};

/// What a status update says about the requests behind its numbers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Update<'a> {
    /// The session (a safe id).
    pub(crate) session: &'a str,
    /// The transcript path the update gave.
    pub(crate) transcript: Option<&'a Path>,
    /// `prompt_cache.requests` now.
    pub(crate) requests: Option<u64>,
    /// `prompt_cache.requests` at the session's previous recorded update.
    pub(crate) previous_requests: Option<u64>,
    /// The transcript id of the request behind the previous numbers.
    pub(crate) previous_request: Option<&'a str>,
    /// Unix nanoseconds the session started, if `SessionStart` recorded it.
    pub(crate) started_ns: Option<u64>,
}

/// The account behind an update's numbers, and the transcript id of the
/// request they came from when the transcript was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attributed {
    /// Which account, or why it cannot be told.
    pub(crate) served: Served,
    /// The request's transcript id, when known.
    pub(crate) request: Option<String>,
}

/// The account that served the request behind `update`'s numbers.
pub(crate) fn served(config: &Config, state: &StateDir, update: &Update) -> Attributed {
    let flips = Flips::read(config, state);
    let lookback = flips
        .now_ns
        .saturating_sub(STATUS_LOOKBACK.as_nanos() as u64);
    let lo = update.started_ns.map_or(lookback, |s| s.max(lookback));
    let near = match flips.served_since(lo) {
        Served::By(account) => {
            return Attributed {
                served: Served::By(account),
                request: None,
            }
        }
        Served::Unknown(why) => why,
    };
    let unknown = |why: String| Attributed {
        served: Served::Unknown(format!("{near}, and {why}")),
        request: None,
    };
    let Some(path) = update.transcript else {
        return unknown("the update names no transcript".into());
    };
    let tail = match transcript::read(config, update.session, path) {
        Ok(t) => t,
        Err(e) => return unknown(e.to_string()),
    };
    let Some(latest) = tail.latest_answered(update.previous_request) else {
        return unknown("the transcript shows no answered request".into());
    };
    let moved = update
        .requests
        .zip(update.previous_requests)
        .map(|(now, before)| now.saturating_sub(before));
    let counted = latest.found_after || !tail.cut;
    if let Some(moved) = moved.filter(|m| counted && *m as usize > latest.answered_since) {
        return unknown(format!(
            "the counters moved by {moved} requests, of which the transcript shows {}: others (a subagent's) may have brought the numbers",
            latest.answered_since
        ));
    }
    Attributed {
        served: flips.served_at(latest.request.sent_ns),
        request: Some(latest.request.id.clone()),
    }
}
