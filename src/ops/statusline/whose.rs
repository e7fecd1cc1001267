//! Step 2 of a status update: whose numbers it reports.
//!
//! Claude Code repeats the last `rate_limits` exactly, counters and all,
//! when a status update follows no new request (a tool finishing, `/cost`
//! closed): the session's previous update is kept
//! (`sessions::StatusSeen`), and an update that repeats it brings nothing
//! new: it is shown as the account it was recorded for, and nothing is
//! recorded (no transcript read, no lock, no write: the common case).
//!
//! An update that differs reports a new answer (or a 429, which moves
//! `rate_limits` and not the counters): `ops::served::update` tells which
//! account served its request. Its numbers are recorded for that account
//! only; the others keep theirs. Where that cannot be told, nothing is
//! recorded and the status line says so (stderr and one `attribution`
//! line in the audit log), and shows the numbers as `?`'s.

use crate::config::Config;
use crate::ops::served::update::{self, Update as Reported};
use crate::ops::served::{audit_unknown, Served};
use crate::state::sessions::{self, SeenWindow, StatusSeen};
use crate::state::usage::Window;
use crate::state::StateDir;

use super::input::StatusInput;

/// Whose numbers an update shows, and what is to be done with them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Whose {
    /// The account the numbers are recorded for; `None`: not known.
    pub(crate) account: Option<String>,
    /// Whether they are new numbers of that account's, to record.
    pub(crate) fresh: bool,
    /// What to remember of the session once they are recorded (`None`:
    /// nothing new to remember).
    pub(crate) seen: Option<(String, StatusSeen)>,
}

/// Whose numbers `input` reports; `notes` gets what the person should
/// know. `active` is named for an update that reports no numbers.
pub(crate) fn whose(
    config: &Config,
    state: &StateDir,
    input: &StatusInput,
    active: Option<&str>,
    notes: &mut Vec<String>,
) -> Whose {
    let nothing = |account: Option<String>| Whose {
        account,
        fresh: false,
        seen: None,
    };
    if input.windows.is_empty() {
        return nothing(active.map(str::to_string));
    }
    let Some(id) = input
        .session_id
        .as_deref()
        .filter(|id| sessions::is_safe_id(id))
    else {
        let why = "the update names no session, so which account served its numbers cannot be told";
        unplaced(state, None, why, why, notes);
        return nothing(None);
    };
    let before = match sessions::seen(state, id) {
        Ok(s) => s,
        Err(e) => {
            notes.push(format!("homeswap statusline: {e}"));
            None
        }
    };
    let now = reported(input);
    if let Some(b) = before.as_ref().filter(|b| b.same_report(&now)) {
        return nothing(b.account.clone());
    }
    let started_ns = sessions::recall(state, id)
        .ok()
        .flatten()
        .and_then(|r| r.started_ns());
    let asked = Reported {
        session: id,
        transcript: input.transcript_path.as_deref(),
        requests: input.requests,
        previous_requests: before.as_ref().and_then(|b| b.requests),
        previous_request: before.as_ref().and_then(|b| b.request.as_deref()),
        started_ns,
    };
    let attributed = update::served(config, state, &asked);
    let mut seen = StatusSeen {
        request: attributed.request,
        ..now
    };
    let account = match attributed.served {
        Served::By(account) => Some(account),
        Served::Unknown(why) => {
            let said = format!(
                "which account served the request behind these numbers cannot be told: {why}"
            );
            unplaced(state, Some(id), &said, &why, notes);
            None
        }
    };
    seen.account.clone_from(&account);
    Whose {
        fresh: account.is_some(),
        account,
        seen: Some((id.to_string(), seen)),
    }
}

/// Numbers homeswap cannot place: `said` goes to the person (with "not
/// recorded"), `why` into one `attribution` line of the audit log.
fn unplaced(
    state: &StateDir,
    session: Option<&str>,
    said: &str,
    why: &str,
    notes: &mut Vec<String>,
) {
    notes.push(format!("homeswap statusline: {said}; not recorded"));
    if let Some(e) = audit_unknown(state, session, "usage", why) {
        notes.push(format!("homeswap statusline: not in the audit log: {e}"));
    }
}

/// What `input` reports, as the session's record keeps it.
fn reported(input: &StatusInput) -> StatusSeen {
    let window = |w: Window| {
        input
            .windows
            .iter()
            .find(|(x, _)| *x == w)
            .map(|(_, r)| SeenWindow {
                used_percentage: r.used_percentage,
                resets_at: r.resets_at,
            })
    };
    StatusSeen {
        requests: input.requests,
        api_ms: input.api_ms,
        five_hour: window(Window::FiveHour),
        seven_day: window(Window::SevenDay),
        account: None,
        request: None,
    }
}

/// Remembers what the update showed of its session, once its numbers
/// are recorded (a failure costs only a repeat of the work next time).
pub(crate) fn remember(state: &StateDir, seen: &(String, StatusSeen), notes: &mut Vec<String>) {
    if let Err(e) = sessions::see(state, &seen.0, &seen.1) {
        notes.push(format!("homeswap statusline: {e}"));
    }
}
