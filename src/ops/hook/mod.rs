//! `homeswap hook`: one Claude Code hook event in, what happened out (lines
//! for stderr), within a deadline. The command line only reads stdin and
//! loads the configuration; everything else is here.
//!
//! 1. Parse the event; anything else is ignored with one line.
//! 2. `SessionStart`: remember when the session started and on which
//!    account (`state::sessions`), and prune old records.
//! 3. `StopFailure` with a limit error: `from` is the account that served
//!    the failed request (`ops::served::stop`: the active link's flips
//!    around the time it went out, from the transcript when a flip is
//!    near), however soon after a swap. Where that cannot be told, nothing
//!    is recorded or swapped, and the hook says why (stderr and one
//!    `attribution` line in the audit log).
//!    Ask the sidecar over `serve.admin.socket` when one answers (the reset
//!    time read from the message is sent as `until`; `ask`: the answer is
//!    checked, and one that cannot be believed counts as none); else run
//!    the library's failover here, with a lock timeout that ends at the
//!    deadline. A late hook of a storm names the account it was served by,
//!    no longer active: `already_moved`, whatever `failover.settle` is.

pub(crate) mod ask;
pub(crate) mod event;
pub(crate) mod route;

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::links::active::ActiveLink;
use crate::ops::class::Classified;
use crate::ops::failover::{
    reset, FailoverError, FailoverOutcome, FailoverReport, FailoverRequest, SESSIONS_HINT,
};
use crate::ops::served::stop::{self, FailedTurn};
use crate::ops::served::{audit_unknown, Served};
use crate::ops::skeleton::Ended;
use crate::state::audit::Outcome;
use crate::state::limits::{rfc3339, unix_now, LimitReason, UntilSource};
use crate::state::sessions;
use crate::state::StateDir;

use ask::{Answer, AskSidecar};
use event::{HookAction, HookEvent};
use route::Routed;

/// The Claude Code hook events homeswap's hook needs, in the order
/// `setup claude-code` installs them: `SessionStart` (when the session
/// started: every request of it went out later, the served-account
/// model's lower bound when no transcript places a request) and
/// `StopFailure` (a limit: fail over from the account that served the
/// failed request). The one list: `setup claude-code` installs the hook
/// for exactly these (and takes it out of any other event).
///
/// The events before requests (`UserPromptSubmit`, `PostToolUse`) are not
/// wanted: Claude Code decides the account tens of ms after they exit, a
/// queued prompt has none right before its request, and the transcript
/// records every request's send time, queued ones included
/// (`ops::served`); one more process before each request would only slow
/// every turn.
pub(crate) const EVENTS: &[&str] = &["SessionStart", "StopFailure"];

/// The most of stdin a hook reads: an event is a few kilobytes.
pub(crate) const MAX_EVENT: u64 = 1024 * 1024;

/// How long a `StopFailure` waits at most for the transcript to show its
/// request (Claude Code writes it some 100 ms after the fact): the
/// failover that follows keeps the rest of the 2 s (and `claude -p` kills
/// its hook about 1.5 s after starting it).
const TRANSCRIPT_WAIT: Duration = Duration::from_millis(700);

/// Handles one event read from stdin, asking `sidecar` first where one is
/// configured; returns the lines for stderr.
pub(crate) fn handle(
    config: Config,
    sidecar: &dyn AskSidecar,
    input: &[u8],
    deadline: Instant,
) -> Vec<String> {
    let event = match HookEvent::parse(input) {
        Ok(e) => e,
        Err(e) => return vec![format!("homeswap hook: {e}; ignored")],
    };
    let session = event
        .session_id
        .as_deref()
        .filter(|id| sessions::is_safe_id(id));
    match event.action() {
        HookAction::Ignore(why) => vec![format!("homeswap hook: {why}")],
        HookAction::Remember => remember(&config, session),
        HookAction::Failover(reason) => limit(config, sidecar, &event, session, reason, deadline),
    }
}

/// A `StopFailure` at a limit: fail over from the account that served the
/// failed request, or say why that cannot be told.
fn limit(
    config: Config,
    sidecar: &dyn AskSidecar,
    event: &HookEvent,
    session: Option<&str>,
    reason: LimitReason,
    deadline: Instant,
) -> Vec<String> {
    let state = StateDir::new(&config.state_dir);
    let mut lines = Vec::new();
    let started_ns = match session.map(|id| sessions::recall(&state, id)) {
        Some(Ok(record)) => record.and_then(|r| r.started_ns()),
        Some(Err(e)) => {
            lines.push(format!("homeswap hook: {e}"));
            None
        }
        None => None,
    };
    let turn = FailedTurn {
        session,
        prompt_id: event.prompt_id.as_deref(),
        transcript: event.transcript_path.as_deref(),
        started_ns,
    };
    let wait = deadline.min(Instant::now() + TRANSCRIPT_WAIT);
    let from = match stop::served(&config, &state, &turn, wait) {
        Served::By(account) => account,
        Served::Unknown(why) => {
            lines.push(format!(
                "homeswap hook: {}: which account served the failed request cannot be told: {why}; no limit recorded, nothing swapped",
                reason.as_str()
            ));
            if let Some(e) = audit_unknown(&state, session, reason.as_str(), &why) {
                lines.push(format!("homeswap hook: not in the audit log: {e}"));
            }
            return lines;
        }
    };
    let req = FailoverRequest {
        from: Some(from),
        reason,
        until: None,
        message: event.last_assistant_message.clone(),
    };
    lines.extend(fail_over(config, sidecar, req, deadline));
    lines
}

fn remember(config: &Config, session: Option<&str>) -> Vec<String> {
    let Some(id) = session else {
        return vec![
            "homeswap hook: SessionStart without a usable session_id; not remembered".into(),
        ];
    };
    let Some(account) = ActiveLink::read(config).account else {
        return vec![format!(
            "homeswap hook: session {id}: no configured account is active; not remembered"
        )];
    };
    let state = StateDir::new(&config.state_dir);
    sessions::prune(&state);
    match sessions::remember(&state, id, &account) {
        Ok(()) => vec![format!(
            "homeswap hook: session {id} started on account {account}"
        )],
        Err(e) => vec![format!("homeswap hook: session {id}: {e}")],
    }
}

/// Through the sidecar when one answers, else here.
fn fail_over(
    config: Config,
    sidecar: &dyn AskSidecar,
    req: FailoverRequest,
    deadline: Instant,
) -> Vec<String> {
    let reason = req.reason;
    // The sidecar is sent the end the message gives (it has no message).
    let until = reset::reset_time(
        None,
        req.message.as_deref(),
        unix_now(),
        config.failover.cooldown,
    )
    .ok()
    .filter(|r| r.source == UntilSource::Message)
    .map(|r| rfc3339(r.until));
    match route::route(config, sidecar, &req, until.as_deref(), deadline) {
        Routed::Sidecar(answer) => sidecar_lines(reason, answer.into_answer()),
        Routed::Here { result, fallback } => {
            let mut lines = Vec::new();
            let outcome = match &*result {
                Ok(r) => r.outcome(),
                Err(e) => e.outcome(),
            };
            if let Some(e) = &fallback {
                lines.push(format!("homeswap hook: {e}; failing over here"));
                // Busy here after a slow sidecar: the lock is most likely
                // the sidecar's, still doing this very failover.
                if outcome == Outcome::Busy {
                    lines.push(
                        "homeswap hook: the lock is held, most likely by the sidecar still doing this failover: see 'homeswap status' or the audit log in a moment"
                            .to_string(),
                    );
                }
            }
            lines.extend(here_lines(reason, *result));
            lines
        }
    }
}

/// The lines for a failover the library ran here.
fn here_lines(reason: LimitReason, result: Result<FailoverReport, FailoverError>) -> Vec<String> {
    match result {
        Ok(r) => done_lines(
            reason,
            r.outcome,
            r.from.as_deref(),
            r.active.as_deref(),
            r.notes.iter().chain(&r.warnings),
        ),
        Err(e) => {
            let mut lines = vec![format!(
                "homeswap hook: {}: failover did not happen ({}): {e}",
                reason.as_str(),
                e.outcome().as_str()
            )];
            lines.extend(e.errors().into_iter().map(|x| format!("  {x}")));
            lines
        }
    }
}

/// The lines for what the sidecar answered.
fn sidecar_lines(reason: LimitReason, answer: Answer) -> Vec<String> {
    match answer {
        Answer::Done {
            outcome,
            active,
            from,
            notes,
        } => done_lines(
            reason,
            outcome,
            from.as_deref(),
            active.as_deref(),
            notes.iter(),
        ),
        Answer::Refused {
            status,
            outcome,
            error,
            errors,
        } => {
            let mut lines = vec![format!(
                "homeswap hook: {}: the sidecar's failover did not happen ({status} {outcome}): {error}",
                reason.as_str(),
            )];
            lines.extend(errors.iter().map(|x| format!("  {x}")));
            lines
        }
    }
}

fn done_lines<'a>(
    reason: LimitReason,
    outcome: FailoverOutcome,
    from: Option<&str>,
    active: Option<&str>,
    notes: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let active = active.unwrap_or("(none)");
    let head = match outcome {
        FailoverOutcome::Swapped => format!(
            "homeswap hook: {}: failed over {} -> {active}",
            reason.as_str(),
            from.unwrap_or("(none)")
        ),
        FailoverOutcome::AlreadyMoved => format!(
            "homeswap hook: {}: already moved to {active}",
            reason.as_str()
        ),
    };
    let mut lines = vec![head];
    lines.extend(notes.map(|n| format!("  {n}")));
    lines.push(format!("  {SESSIONS_HINT}"));
    lines
}
