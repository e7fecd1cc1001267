//! Whether a session remembered on one account has moved to the active
//! one. The real Claude Code reloads `.credentials.json` before a request
//! when its mtime changed, so through the active link a running session
//! follows a swap at its next request (README, "What a running session
//! does after a swap"). A `StopFailure` of such a session is the active
//! account's limit, not the remembered one's.
//!
//! Told apart by time: the late hooks of a storm arrive within seconds of
//! the swap they caused, and must stay `from` the remembered account (so
//! they answer `already_moved`); a hook arriving when the active link has
//! pointed elsewhere for longer than `failover.settle` is a later request
//! of a session that moved.

use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::links::active::ActiveLink;

/// The account a session remembered on `remembered` is on now, with the
/// line that says why, when that is not `remembered`.
pub(super) fn moved_to(config: &Config, remembered: &str) -> Option<(String, String)> {
    let active = ActiveLink::read(config).account?;
    if active == remembered {
        return None;
    }
    let age = link_age(config)?;
    if age <= config.failover.settle {
        return None;
    }
    let line = format!(
        "homeswap hook: the session started on {remembered}, but the active link has named {active} for {} (longer than failover.settle): Claude Code reloads the credentials at its next request, so this limit is {active}'s",
        crate::config::human_duration(Duration::from_secs(age.as_secs()))
    );
    Some((active, line))
}

/// How long ago the active link was last flipped: the link's own mtime
/// (each flip renames a new symlink into place). `None` when it cannot be
/// told (no link, a clock before the link).
fn link_age(config: &Config) -> Option<Duration> {
    let modified = std::fs::symlink_metadata(&config.active_link)
        .ok()?
        .modified()
        .ok()?;
    SystemTime::now().duration_since(modified).ok()
}
