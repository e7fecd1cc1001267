//! `homeswap statusline`: one Claude Code status update in, one short line
//! out (`a · 5h 42% · 7d 13%`), the usage recorded when it changed, and a
//! failover requested when a window crosses the account's threshold
//! (`failover.thresholds`, else `failover.threshold`). The command line
//! only reads stdin, loads the configuration and prints; everything else
//! is here.
//!
//! 1. Parse the status JSON leniently (`input`): a bad document or field
//!    costs the usage, never the line.
//! 2. Whose numbers they are (`whose`): an update that repeats the
//!    session's previous one reports no new request and records nothing
//!    (the common case: one small read); a new one is the account that
//!    served its request (`ops::served`), or nobody's when that cannot be
//!    told (nothing recorded, and said).
//! 3. Compare the reported windows with that account's in `usage.json`
//!    (`update`). Nothing changed: no lock, no write. Else take the usage
//!    lock briefly (busy: skip, and the session's record is left as it
//!    was, so the next update retries), read the record again, apply the
//!    change to this account only, and write it.
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

pub(crate) mod input;
pub(crate) mod request;
mod tree;
pub(crate) mod update;
mod whose;
pub(crate) mod wrap;

use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::Config;
use crate::links::active::ActiveLink;
use crate::ops::hook::ask::AskSidecar;
use crate::state::latch::PartialSwapLatch;
use crate::state::limits::{unix_now, LimitsRecord};
use crate::state::usage::{AccountUsage, UsageLock, UsageRecord, Window, WindowUsage};
use crate::state::StateDir;

use input::{Reported, StatusInput};
use update::{plan, Planned};
use whose::Whose;

/// The most of stdin read: a status update is a few kilobytes.
pub(crate) const MAX_INPUT: u64 = 1024 * 1024;

/// How long a writer waits for another statusline's write at most.
const USAGE_LOCK_WAIT: Duration = Duration::from_millis(50);

/// What a status update produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statusline {
    /// The one line for stdout.
    pub(crate) line: String,
    /// What happened, for stderr (Claude Code shows only stdout).
    pub(crate) notes: Vec<String>,
}

/// Handles one status update read from stdin; a failover it requests
/// asks `sidecar` first where one is configured.
pub(crate) fn handle(
    config: &Config,
    sidecar: &dyn AskSidecar,
    bytes: &[u8],
    deadline: Instant,
) -> Statusline {
    let mut u = Update {
        config,
        sidecar,
        state: StateDir::new(&config.state_dir),
        now: unix_now(),
        deadline,
        notes: Vec::new(),
        marks: Vec::new(),
    };
    let input = u.parse(bytes);
    let active = ActiveLink::read(config).account;
    let w = whose::whose(config, &u.state, &input, active.as_deref(), &mut u.notes);
    let Some(account) = w.account.clone() else {
        // Not known whose: the numbers as reported, under a `?`.
        let shown = (!input.windows.is_empty()).then(|| as_reported(&input, u.now));
        if let Some(seen) = &w.seen {
            whose::remember(&u.state, seen, &mut u.notes);
        }
        let unknown = if shown.is_some() { "?" } else { "" };
        u.account_marks(unknown, active.as_deref());
        let name = (!unknown.is_empty()).then_some(unknown);
        return u.finish(name, shown.as_ref());
    };
    let shown = u.usage(&account, &input, &w);
    u.account_marks(&account, active.as_deref());
    u.finish(Some(&account), shown.as_ref())
}

/// The windows as an update reported them, for the line only.
fn as_reported(input: &StatusInput, now: u64) -> AccountUsage {
    let mut u = AccountUsage {
        updated: now,
        ..AccountUsage::default()
    };
    for (w, r) in &input.windows {
        *u.window_mut(*w) = Some(WindowUsage {
            used_percentage: r.used_percentage,
            resets_at: r.resets_at,
            fired: false,
        });
    }
    u
}

/// One status update being handled: what it works with, and what it has
/// found to say so far.
struct Update<'a> {
    /// The configuration.
    config: &'a Config,
    /// Who a failover is asked of first.
    sidecar: &'a dyn AskSidecar,
    /// The state dir.
    state: StateDir,
    /// The time of the update (Unix seconds).
    now: u64,
    /// When the status line must be printed.
    deadline: Instant,
    /// Lines for stderr.
    notes: Vec<String>,
    /// Marks for the line (`limited until 14:05`, `LATCHED`).
    marks: Vec<String>,
}

impl Update<'_> {
    /// Step 1: the status JSON, leniently.
    fn parse(&mut self, bytes: &[u8]) -> StatusInput {
        let input = StatusInput::parse(bytes).unwrap_or_else(|e| {
            self.notes.push(format!("homeswap statusline: {e}"));
            StatusInput::default()
        });
        self.notes.extend(
            input
                .problems
                .iter()
                .map(|p| format!("homeswap statusline: {p}; ignored")),
        );
        input
    }

    /// Steps 3 and 4: the account's usage as recorded, with this update's
    /// change written when `w` says the numbers are its, and a failover
    /// fired by a crossing; the session's record once they are recorded.
    fn usage(&mut self, account: &str, input: &StatusInput, w: &Whose) -> Option<AccountUsage> {
        let (record, unreadable) = UsageRecord::read_or_empty(&self.state);
        let known = record.accounts.get(account).cloned();
        let threshold = self.config.failover.threshold_for(account);
        if !w.fresh || input.windows.is_empty() {
            return known;
        }
        let Some(p) = plan(known.as_ref(), &input.windows, threshold, self.now) else {
            // Nothing changed for the account: no lock, no write.
            self.remember(w);
            return known;
        };
        if let Some(why) = unreadable {
            self.notes
                .push(format!("homeswap statusline: {why}; it is written anew"));
        }
        let (config, now) = (self.config, self.now);
        let changed = record_change(
            &self.state,
            account,
            &input.windows,
            config,
            now,
            USAGE_LOCK_WAIT,
        );
        let (fire, entry) = match changed {
            Ok(Change::Written(written)) => {
                self.remember(w);
                (written.fire, written.entry)
            }
            Ok(Change::Same) => {
                self.remember(w);
                (Vec::new(), p.entry)
            }
            // The session's record stays as it was: the next update retries.
            Ok(Change::Busy) => (Vec::new(), p.entry),
            Err(why) => {
                self.notes
                    .push(format!("homeswap statusline: usage not recorded: {why}"));
                (Vec::new(), p.entry)
            }
        };
        if !fire.is_empty() {
            self.fire(account, &fire, &entry);
        }
        Some(entry)
    }

    /// Keeps what the update showed of its session.
    fn remember(&mut self, w: &Whose) {
        if let Some(seen) = &w.seen {
            whose::remember(&self.state, seen, &mut self.notes);
        }
    }

    /// Step 4: the failover of a crossing, until the latest reset of the
    /// windows that crossed.
    fn fire(&mut self, account: &str, fired: &[Window], entry: &AccountUsage) {
        let until = fired
            .iter()
            .filter_map(|w| entry.window(*w).and_then(|u| u.resets_at))
            .max();
        let r = request::request(self.config, self.sidecar, account, until, self.deadline);
        self.notes.extend(r.lines);
        if let Some(to) = r.swapped_to {
            self.marks.push(format!("failed over to {to}"));
        }
    }

    /// Step 5's marks: limited, another account active, latched.
    /// `account` is `?` for numbers nobody's known to be.
    fn account_marks(&mut self, account: &str, active: Option<&str>) {
        let limits = LimitsRecord::read_or_empty(&self.state).0;
        if let Some(l) = limits.limited(account, self.now) {
            self.marks
                .push(format!("limited until {}", clock(l.until, self.now)));
        }
        if let Some(other) = active.filter(|a| self.marks.is_empty() && *a != account) {
            self.marks.push(format!("active {other}"));
        }
        self.latch_mark();
    }

    fn latch_mark(&mut self) {
        if PartialSwapLatch::new(self.state.clone())
            .current()
            .is_some()
        {
            self.marks.push("LATCHED".into());
        }
    }

    /// Step 5: the line, and the notes.
    fn finish(self, account: Option<&str>, usage: Option<&AccountUsage>) -> Statusline {
        Statusline {
            line: line(account, usage, self.now, &self.marks),
            notes: self.notes,
        }
    }
}

/// What [`record_change`] did.
#[derive(Debug)]
enum Change {
    /// Wrote the account's new usage.
    Written(Planned),
    /// Another statusline already wrote the same: nothing to write.
    Same,
    /// Another writer held the lock all the wait: nothing written.
    Busy,
}

/// Under the usage lock: read the record again, apply this account's
/// change, write.
fn record_change(
    state: &StateDir,
    account: &str,
    windows: &[(Window, Reported)],
    config: &Config,
    now: u64,
    wait: Duration,
) -> Result<Change, String> {
    let Some(lock) = UsageLock::try_acquire(state, wait).map_err(|e| e.to_string())? else {
        return Ok(Change::Busy);
    };
    // An unreadable record held no usable usage: it is replaced.
    let (mut record, _) = UsageRecord::read_or_empty(state);
    let Some(p) = plan(
        record.accounts.get(account),
        windows,
        config.failover.threshold_for(account),
        now,
    ) else {
        return Ok(Change::Same);
    };
    record.accounts.insert(account.to_string(), p.entry.clone());
    // Only configured accounts are kept (a removed account's usage goes).
    record.accounts.retain(|a, _| config.home(a).is_some());
    record.write(state, &lock).map_err(|e| e.to_string())?;
    Ok(Change::Written(p))
}

/// The line: `a · 5h 42% · 7d 13% · limited until 14:05`.
pub(crate) fn line(
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
                        assert!(
                            matches!(r.unwrap(), Change::Written(_)),
                            "{n} {pct}: every change is written"
                        );
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
