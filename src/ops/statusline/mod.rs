//! `homeswap statusline`: one Claude Code status update in, one short line
//! out (`a · 5h 42% · 7d 13%`), the usage recorded when it changed, and a
//! failover requested when a window crosses `failover.threshold`. The
//! command line only reads stdin, loads the configuration and prints;
//! everything else is here.
//!
//! 1. Parse the status JSON leniently (`input`): a bad document or field
//!    costs the usage, never the line.
//! 2. The account: the one the session started on (the hook's
//!    `SessionStart` record), else the active account (the contract).
//! 3. Compare the reported windows with `usage.json` (`update`). Nothing
//!    changed, the common case: no lock, no write. Else take the usage
//!    lock briefly (busy: skip; the next update retries), read the record
//!    again, apply the change to this account only, and write it.
//! 4. A window that reached the threshold while armed fires once:
//!    a failover `from` the account, reason `usage`, until the window's
//!    reset (`request`: the sidecar's admin socket, else the library).
//!    It is disarmed in the record, under the usage lock, before the
//!    request, so two status lines never both fire for one crossing; a
//!    request that does not swap (busy, exhausted, latched) is not
//!    repeated until the next crossing (the hook's `StopFailure` still
//!    handles the hard limit).
//! 5. The line: account, windows, and marks (limited, latched, another
//!    account active, failed over).

pub mod input;
pub mod request;
mod tree;
pub mod update;
pub mod wrap;

use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::Config;
use crate::links::active::ActiveLink;
use crate::state::latch::PartialSwapLatch;
use crate::state::limits::{unix_now, LimitsRecord};
use crate::state::sessions;
use crate::state::usage::{AccountUsage, UsageLock, UsageRecord, Window};
use crate::state::StateDir;

use input::{Reported, StatusInput};
use update::{plan, Planned};

/// The most of stdin read: a status update is a few kilobytes.
pub const MAX_INPUT: u64 = 1024 * 1024;

/// How long a writer waits for another statusline's write at most.
const USAGE_LOCK_WAIT: Duration = Duration::from_millis(50);

/// What a status update produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statusline {
    /// The one line for stdout.
    pub line: String,
    /// What happened, for stderr (Claude Code shows only stdout).
    pub notes: Vec<String>,
}

/// Handles one status update read from stdin.
pub fn handle(config: &Config, bytes: &[u8], deadline: Instant) -> Statusline {
    let now = unix_now();
    let state = StateDir::new(&config.state_dir);
    let mut notes = Vec::new();
    let input = StatusInput::parse(bytes).unwrap_or_else(|e| {
        notes.push(format!("homeswap statusline: {e}"));
        StatusInput::default()
    });
    notes.extend(
        input
            .problems
            .iter()
            .map(|p| format!("homeswap statusline: {p}; ignored")),
    );
    let active = ActiveLink::read(config).account;
    let started_on = input
        .session_id
        .as_deref()
        .filter(|id| sessions::is_safe_id(id))
        .and_then(|id| match sessions::recall(&state, id) {
            Ok(a) => a,
            Err(e) => {
                notes.push(format!("homeswap statusline: {e}"));
                None
            }
        })
        .filter(|a| config.home(a).is_some());
    let Some(account) = started_on.or_else(|| active.clone()) else {
        let mut marks = Vec::new();
        latch_mark(&state, &mut marks);
        return Statusline {
            line: line(None, None, now, &marks),
            notes,
        };
    };
    let (record, unreadable) = UsageRecord::read_or_empty(&state);
    let mut shown = record.accounts.get(&account).cloned();
    let mut marks = Vec::new();
    if !input.windows.is_empty() {
        if let Some(p) = plan(
            shown.as_ref(),
            &input.windows,
            config.failover.threshold,
            now,
        ) {
            if let Some(why) = unreadable {
                notes.push(format!("homeswap statusline: {why}; it is written anew"));
            }
            let (fire, entry) = match record_change(
                &state,
                &account,
                &input.windows,
                config,
                now,
                USAGE_LOCK_WAIT,
            ) {
                Ok(Some(written)) => (written.fire, written.entry),
                Ok(None) => (Vec::new(), p.entry),
                Err(why) => {
                    notes.push(format!("homeswap statusline: usage not recorded: {why}"));
                    (Vec::new(), p.entry)
                }
            };
            if !fire.is_empty() {
                let until = fire
                    .iter()
                    .filter_map(|w| entry.window(*w).and_then(|u| u.resets_at))
                    .max();
                let r = request::request(config, &account, until, deadline);
                notes.extend(r.lines);
                if r.outcome == "swapped" {
                    if let Some(to) = r.active {
                        marks.push(format!("failed over to {to}"));
                    }
                }
            }
            shown = Some(entry);
        }
    }
    let limits = LimitsRecord::read_or_empty(&state).0;
    if let Some(l) = limits.limited(&account, now) {
        marks.push(format!("limited until {}", clock(l.until, now)));
    }
    if marks.is_empty() && active.as_deref().is_some_and(|a| a != account) {
        marks.push(format!("active {}", active.as_deref().unwrap_or_default()));
    }
    latch_mark(&state, &mut marks);
    Statusline {
        line: line(Some(&account), shown.as_ref(), now, &marks),
        notes,
    }
}

/// Under the usage lock: read the record again, apply this account's
/// change, write. `Ok(None)`: busy, or another statusline already wrote
/// the same; nothing written.
fn record_change(
    state: &StateDir,
    account: &str,
    windows: &[(Window, Reported)],
    config: &Config,
    now: u64,
    wait: Duration,
) -> Result<Option<Planned>, String> {
    let Some(lock) = UsageLock::try_acquire(state, wait).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    // An unreadable record held no usable usage: it is replaced.
    let (mut record, _) = UsageRecord::read_or_empty(state);
    let Some(p) = plan(
        record.accounts.get(account),
        windows,
        config.failover.threshold,
        now,
    ) else {
        return Ok(None);
    };
    record.accounts.insert(account.to_string(), p.entry.clone());
    // Only configured accounts are kept (a removed account's usage goes).
    record.accounts.retain(|a, _| config.home(a).is_some());
    record.write(state, &lock).map_err(|e| e.to_string())?;
    Ok(Some(p))
}

fn latch_mark(state: &StateDir, marks: &mut Vec<String>) {
    if PartialSwapLatch::new(state.clone()).current().is_some() {
        marks.push("LATCHED".into());
    }
}

/// The line: `a · 5h 42% · 7d 13% · limited until 14:05`.
pub fn line(
    account: Option<&str>,
    usage: Option<&AccountUsage>,
    now: u64,
    marks: &[String],
) -> String {
    let mut parts = vec![account.unwrap_or("homeswap: no active account").to_string()];
    if let Some(u) = usage {
        for w in Window::ALL {
            if let Some(x) = u.window(w).filter(|x| x.current(now)) {
                parts.push(format!("{} {}", w.short(), percent(x.used_percentage)));
            }
        }
    }
    parts.extend(marks.iter().cloned());
    parts.join(" · ")
}

/// Whole percents, rounded down (99.6 % is not yet 100 %); below 1 % with
/// one decimal.
fn percent(p: f64) -> String {
    if p > 0.0 && p < 1.0 {
        format!("{p:.1}%")
    } else {
        // `+ 0.0` turns a -0 (from an older record) into 0, never "-0%".
        format!("{}%", p.floor() + 0.0)
    }
}

/// A reset time as the person's wall clock: `14:05`, or with the day when
/// it is not within the next 20 hours.
fn clock(unix: u64, now: u64) -> String {
    let Ok(ts) = Timestamp::from_second(i64::try_from(unix).unwrap_or(i64::MAX)) else {
        return crate::state::limits::rfc3339(unix);
    };
    let zoned = ts.to_zoned_datetime(TimeZone::system());
    if unix.saturating_sub(now) < 20 * 3600 {
        zoned.strftime("%H:%M").to_string()
    } else {
        zoned.strftime("%a %d %b %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::usage::WindowUsage;

    #[test]
    fn the_line_shows_current_windows_and_marks() {
        let u = AccountUsage {
            updated: 1,
            five_hour: Some(WindowUsage {
                used_percentage: 42.7,
                resets_at: Some(1000),
                fired: false,
            }),
            seven_day: Some(WindowUsage {
                used_percentage: 0.3,
                resets_at: None,
                fired: false,
            }),
        };
        assert_eq!(line(Some("a"), Some(&u), 10, &[]), "a · 5h 42% · 7d 0.3%");
        assert_eq!(
            line(Some("a"), Some(&u), 1000, &["LATCHED".into()]),
            "a · 7d 0.3% · LATCHED",
            "a reset window is not shown"
        );
        assert_eq!(line(None, None, 0, &[]), "homeswap: no active account");
        assert_eq!(percent(100.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(-0.0), "0%");
    }

    #[test]
    fn concurrent_writers_of_different_accounts_lose_no_update() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..8).map(|i| format!("acc{i}")).collect();
        let mut yaml = String::from("accounts:\n");
        for n in &names {
            yaml.push_str(&format!("  {n}: /h/{n}\n"));
        }
        yaml.push_str(&format!(
            "active_link: /h/active\nshared_dir: /h/shared\nstate_dir: {}\n",
            dir.path().display()
        ));
        let config = Config::parse(std::path::Path::new("/c.yaml"), &yaml).unwrap();
        let state = StateDir::new(dir.path());
        std::thread::scope(|scope| {
            for n in &names {
                let (config, state) = (&config, &state);
                scope.spawn(move || {
                    for pct in 1..=30 {
                        let w = [(
                            Window::FiveHour,
                            Reported {
                                used_percentage: f64::from(pct),
                                resets_at: None,
                            },
                        )];
                        let r = record_change(state, n, &w, config, 1, Duration::from_secs(30));
                        assert!(r.unwrap().is_some(), "{n} {pct}: every change is written");
                    }
                });
            }
        });
        let record = UsageRecord::read(&state).unwrap();
        for n in &names {
            let u = record.accounts[n].five_hour.as_ref().unwrap();
            assert_eq!(u.used_percentage, 30.0, "{n}");
        }
    }
}
