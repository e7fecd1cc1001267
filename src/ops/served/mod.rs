//! One model of which account served a session's requests, used by the
//! hook (whose limit a `StopFailure` is), the status line (whose usage a
//! status update reports) and, through them, the failover (`from`).
//!
//! **The rule**: a request is served by the home the active link named
//! when Claude Code sent it. Claude Code 2.1.328 checks
//! `<CLAUDE_CONFIG_DIR>/.credentials.json` (through the link) right before
//! each request and reloads it when its mtime changed; the account is
//! decided at that check (tests/claude_probe.rs).
//!
//! **When a request was sent**: the session transcript's `api-request`
//! entry (`transcript`), stamped when the request goes out, 13 to 141 ms
//! after the credentials check in the runs measured (never before it). So
//! a flip more than [`AFTER`] after that stamp came after the check, and
//! one more than [`BEFORE`] before it came before the check; a flip in
//! between: homeswap cannot tell. Without the transcript, a request is
//! known only to have gone out after a lower bound (the session's start as
//! the hook's `SessionStart` recorded it: Claude Code waits for that hook
//! before its first request; else a look-back that no request outlives)
//! and before now: any flip in that window is a doubt.
//!
//! **When the link was flipped**: the bounded flip history every swap
//! notes before its rename, checked against the live link
//! (`timeline`, `state::flips`).
//!
//! Where it cannot tell, the caller records nothing and says why
//! ([`Served::Unknown`]); it never guesses.

pub(crate) mod stop;
pub(crate) mod timeline;
pub(crate) mod transcript;
pub(crate) mod update;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

use crate::config::Config;
use crate::state::audit::{self, Action, AuditRecord, Outcome, Subject};
use crate::state::flips::FlipHistory;
use crate::state::StateDir;

use timeline::{Doubt, LiveLink, Timeline};

/// How long before a request's `api-request` stamp its credentials check
/// may have been: far over the 141 ms measured under load and strace.
pub(crate) const BEFORE: Duration = Duration::from_secs(1);

/// How long after the stamp the check may have been: never seen; this is
/// the stamp's millisecond and the clocks' slack.
pub(crate) const AFTER: Duration = Duration::from_millis(10);

/// How far a flip's recorded time may lag the moment it was made: flip
/// times come from the link's own modification time, which the kernel
/// stamps from its coarse clock (up to one tick, 1 to 10 ms, behind the
/// clock `SystemTime` reads). Seen: a `SessionStart` recorded 0.4 ms after
/// the flip of a swap that came after it.
pub(crate) const FLIP_CLOCK_SLACK: Duration = Duration::from_millis(10);

/// How far back a `StopFailure`'s request may have gone out, at most: a
/// limit or authentication error is answered at once (and Claude Code
/// gives up on a request after 10 minutes by default).
pub(crate) const STOP_LOOKBACK: Duration = Duration::from_secs(15 * 60);

/// How far back the request a status update reports may have gone out,
/// at most: an answer streams for 10 minutes at most by default.
pub(crate) const STATUS_LOOKBACK: Duration = Duration::from_secs(3600);

/// Which account served a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Served {
    /// This configured account.
    By(String),
    /// Homeswap cannot tell, and why (one sentence).
    Unknown(String),
}

/// The active link's flips as known at one moment.
pub(crate) struct Flips<'c> {
    config: &'c Config,
    timeline: Timeline,
    /// Unix nanoseconds of the moment.
    pub(crate) now_ns: u64,
    /// Why the history could not be read, when it could not.
    unreadable: Option<String>,
}

impl<'c> Flips<'c> {
    /// Reads the flip history and the live link now.
    pub(crate) fn read(config: &'c Config, state: &StateDir) -> Flips<'c> {
        let now_ns = unix_ns(SystemTime::now());
        let (history, unreadable) = match FlipHistory::read(state) {
            Ok(h) => (h, None),
            Err(e) => (FlipHistory::default(), Some(e.to_string())),
        };
        let live = LiveLink::read(&config.active_link);
        Flips {
            config,
            timeline: Timeline::build(&history.flips, live.as_ref(), now_ns),
            now_ns,
            unreadable,
        }
    }

    /// The account that served a request stamped `sent_ns` in the
    /// transcript.
    pub(crate) fn served_at(&self, sent_ns: u64) -> Served {
        let lo = sent_ns.saturating_sub(BEFORE.as_nanos() as u64);
        let hi = sent_ns.saturating_add(AFTER.as_nanos() as u64);
        self.served_during(lo, hi, &format!("sent at {}", clock(sent_ns)), true)
    }

    /// The account that served a request whose credentials check came
    /// after `lo_ns` (and before now): `lo_ns` is a bound homeswap saw
    /// pass before the request (its session's `SessionStart` hook, which
    /// Claude Code waits for before the first request), or a look-back no
    /// request outlives; no margin.
    pub(crate) fn served_since(&self, lo_ns: u64) -> Served {
        // A flip just after `lo_ns` may be recorded just before it.
        let lo = lo_ns.saturating_sub(FLIP_CLOCK_SLACK.as_nanos() as u64);
        self.served_during(
            lo,
            self.now_ns,
            &format!("sent after {}", clock(lo_ns)),
            false,
        )
    }

    fn served_during(&self, lo: u64, hi: u64, what: &str, margins: bool) -> Served {
        match self.timeline.named_during(lo, hi) {
            Ok(home) => match self.config.account_for_home(home) {
                Some(a) => Served::By(a.to_string()),
                None => Served::Unknown(format!(
                    "the active link named {}, which is no configured account's home, when the request was {what}",
                    crate::fs::pathfmt::shown(home)
                )),
            },
            Err(doubt) => Served::Unknown(self.doubt(&doubt, what, margins)),
        }
    }

    /// The sentence for a doubt; `margins`: the request's time is a
    /// stamp, with the margins around it.
    fn doubt(&self, d: &Doubt, what: &str, margins: bool) -> String {
        let flips: Vec<String> = d
            .flips
            .iter()
            .map(|(at, to)| {
                let to = to
                    .as_deref()
                    .map(|t| self.name(t))
                    .unwrap_or_else(|| "a home not known".into());
                format!("to {to} at {}", clock(*at))
            })
            .collect();
        let mut why = if flips.is_empty() {
            format!("the active link's flips around the request ({what}) are not recorded")
        } else if !margins {
            format!(
                "the active link was flipped ({}) since the request may have gone out ({what})",
                flips.join(", ")
            )
        } else {
            format!(
                "the active link was flipped ({}) too close to the request ({what}; margins: {} before, {} after) to tell which account it went out on",
                flips.join(", "),
                human(BEFORE),
                human(AFTER)
            )
        };
        if d.unrecorded && !flips.is_empty() {
            why.push_str("; part of that time is not recorded");
        }
        if let Some(u) = &self.unreadable {
            why.push_str(&format!(" ({u})"));
        }
        why
    }

    /// An account's name for a home, else the path.
    fn name(&self, home: &Path) -> String {
        self.config
            .account_for_home(home)
            .map(str::to_string)
            .unwrap_or_else(|| crate::fs::pathfmt::shown(home).to_string())
    }
}

/// Says in the audit log (one `"action":"attribution"` line, outcome
/// `unknown`) that which account served session `session`'s request could
/// not be told, so nothing was recorded for it; `reason` is what would
/// have been (`rate_limit`, `auth`: a limit; `usage`: usage numbers). The
/// error, when the line could not be written.
pub(crate) fn audit_unknown(
    state: &StateDir,
    session: Option<&str>,
    reason: &str,
    why: &str,
) -> Option<String> {
    let what = format!("session {}: {why}", session.unwrap_or("(unnamed)"));
    let subject = Subject {
        reason: Some(reason.to_string()),
        ..Subject::default()
    };
    let record = AuditRecord::new(
        Action::Attribution,
        Outcome::Unknown,
        vec![what],
        subject,
        Duration::ZERO,
    );
    audit::append(state, record).err().map(|e| e.to_string())
}

/// Unix nanoseconds of a time (0 before 1970).
pub(crate) fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A moment to the millisecond, UTC: `00:54:25.559Z`.
pub(crate) fn clock(ns: u64) -> String {
    let ts = i128::from(ns);
    match Timestamp::from_nanosecond(ts) {
        Ok(t) => t.strftime("%H:%M:%S%.3fZ").to_string(),
        Err(_) => format!("{ns} ns"),
    }
}

/// `1s`, `10ms`.
fn human(d: Duration) -> String {
    if d.as_millis() >= 1000 && d.as_millis() % 1000 == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests;
