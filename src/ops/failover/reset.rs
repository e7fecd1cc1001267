//! When a limit ends: the time the caller gives (`--until`, the API's
//! `until`, RFC 3339), else the time Claude Code's message names
//! (`You've hit your 5-hour limit · resets 9:46am (UTC)`: the next such wall
//! time after now in that zone), else `failover.cooldown` from now. A time
//! in the past or more than [`MAX_AHEAD`] away is not trusted: the cooldown
//! is used instead, and the note says so.

use std::time::Duration;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::state::limits::UntilSource;

/// The furthest ahead a reset time is believed: Claude Code's longest
/// window is seven days; a day of slack for zones and clocks.
pub(crate) const MAX_AHEAD: Duration = Duration::from_secs(8 * 24 * 3600);

/// The end of a limit, where it came from, and a sentence saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResetTime {
    /// Unix seconds.
    pub(crate) until: u64,
    /// Given, read from the message, or the cooldown.
    pub(crate) source: UntilSource,
    /// What was used and why, for the person reading the output.
    pub(crate) note: String,
}

/// The end of a limit reported at `now` (Unix seconds). `Err` only for a
/// given time that is not RFC 3339 (a usage error).
pub(crate) fn reset_time(
    given: Option<&str>,
    message: Option<&str>,
    now: u64,
    cooldown: Duration,
) -> Result<ResetTime, String> {
    let fallback = |why: String| ResetTime {
        until: now.saturating_add(cooldown.as_secs()),
        source: UntilSource::Cooldown,
        note: format!(
            "{why}; the limit lasts failover.cooldown ({})",
            crate::config::human_duration(cooldown)
        ),
    };
    if let Some(text) = given {
        let ts: Timestamp = text.trim().parse().map_err(|e| {
            format!("bad until {text:?}: {e} (give an RFC 3339 time, e.g. 2026-01-01T09:46:00Z)")
        })?;
        return Ok(match plausible(ts.as_second(), now) {
            Ok(until) => ResetTime {
                until,
                source: UntilSource::Given,
                note: format!(
                    "limited until {} (given)",
                    crate::state::limits::rfc3339(until)
                ),
            },
            Err(why) => fallback(format!("the given until {text} {why}")),
        });
    }
    let Some(message) = message else {
        return Ok(fallback("no reset time was given".into()));
    };
    match from_message(message, now) {
        None => Ok(fallback("the message names no reset time".into())),
        Some(Err(why)) => Ok(fallback(why)),
        Some(Ok(secs)) => Ok(match plausible(secs, now) {
            Ok(until) => ResetTime {
                until,
                source: UntilSource::Message,
                note: format!(
                    "limited until {} (from Claude Code's message)",
                    crate::state::limits::rfc3339(until)
                ),
            },
            Err(why) => fallback(format!("the reset time in the message {why}")),
        }),
    }
}

/// `secs` if it is after `now` and at most [`MAX_AHEAD`] later.
fn plausible(secs: i64, now: u64) -> Result<u64, String> {
    let Ok(secs) = u64::try_from(secs) else {
        return Err("is in the past".into());
    };
    if secs <= now {
        Err("is in the past".into())
    } else if secs - now > MAX_AHEAD.as_secs() {
        Err(format!(
            "is more than {} away",
            crate::config::human_duration(MAX_AHEAD)
        ))
    } else {
        Ok(secs)
    }
}

/// The reset time of a message: `None` when it names none, an error when
/// it names one that cannot be used (an unknown zone, a bad hour).
fn from_message(message: &str, now: u64) -> Option<Result<i64, String>> {
    let lower = message.to_ascii_lowercase();
    let start = lower.find("resets ")? + "resets ".len();
    let rest = &message[start..];
    let (when, zone) = match rest.find('(') {
        Some(open) => {
            let close = rest[open..].find(')')? + open;
            (rest[..open].trim(), Some(rest[open + 1..close].trim()))
        }
        None => (rest.trim(), None),
    };
    let (date, time) = split_date(when)?;
    Some(parse_time(time)?.and_then(|time| resolve(date, time, zone, now)))
}

/// `Nov 26, 9:46am`, `Nov 26 at 9am` or `9:46am` → (month and day, time text).
fn split_date(when: &str) -> Option<(Option<(i8, i8)>, &str)> {
    let words: Vec<&str> = when.split_whitespace().collect();
    match words.as_slice() {
        [time] => Some((None, time)),
        [time, ampm] if is_ampm(ampm) => Some((None, join_ampm(when, time))),
        [month, day, rest @ ..] => {
            let month = month_number(month)?;
            let day: i8 = day.trim_end_matches(',').parse().ok()?;
            let rest: Vec<&str> = rest.iter().copied().filter(|w| *w != "at").collect();
            match rest.as_slice() {
                [time] => Some((Some((month, day)), time)),
                [time, ampm] if is_ampm(ampm) => Some((Some((month, day)), join_ampm(when, time))),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_ampm(w: &str) -> bool {
    matches!(w.to_ascii_lowercase().as_str(), "am" | "pm")
}

/// `9:46 am` as one slice of `when`, from the time to the end.
fn join_ampm<'a>(when: &'a str, time: &str) -> &'a str {
    when.find(time).map(|i| when[i..].trim()).unwrap_or(when)
}

fn month_number(word: &str) -> Option<i8> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let w = word.to_ascii_lowercase();
    let w = w.trim_end_matches([',', '.']);
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| w.starts_with(m))
        .and_then(|i| i8::try_from(i + 1).ok())
}

/// `9:46am`, `10am`, `12 pm`, `21:05` → a wall time.
fn parse_time(text: &str) -> Option<Result<Time, String>> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let (digits, half) = match compact.strip_suffix("am") {
        Some(d) => (d, Some(false)),
        None => match compact.strip_suffix("pm") {
            Some(d) => (d, Some(true)),
            None => (compact.as_str(), None),
        },
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if half.is_some() => (digits, "0"),
        None => return None,
    };
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    let hour = match half {
        Some(_) if !(1..=12).contains(&h) => {
            return Some(Err(format!("the message's hour {text:?} is not 1 to 12")))
        }
        Some(pm) => h % 12 + if pm { 12 } else { 0 },
        None => h,
    };
    Some(Time::new(hour, m, 0, 0).map_err(|e| format!("the message's time {text:?}: {e}")))
}

/// The first instant after `now` at that wall time (and date) in `zone`.
fn resolve(
    date: Option<(i8, i8)>,
    time: Time,
    zone: Option<&str>,
    now: u64,
) -> Result<i64, String> {
    let tz = match zone {
        Some(name) => TimeZone::get(name)
            .map_err(|e| format!("the message's time zone {name:?} is unknown: {e}"))?,
        None => TimeZone::system(),
    };
    let now_ts = Timestamp::from_second(i64::try_from(now).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let today = now_ts.to_zoned_datetime(tz.clone()).date();
    let at = |d: Date| -> Result<i64, String> {
        d.to_datetime(time)
            .to_zoned_datetime(tz.clone())
            .map(|z| z.timestamp().as_second())
            .map_err(|e| format!("the message's reset time: {e}"))
    };
    let now = now_ts.as_second();
    match date {
        None => {
            let first = at(today)?;
            if first > now {
                return Ok(first);
            }
            at(today.tomorrow().map_err(|e| e.to_string())?)
        }
        Some((month, day)) => {
            for year in [today.year(), today.year() + 1] {
                let d =
                    Date::new(year, month, day).map_err(|e| format!("the message's date: {e}"))?;
                let t = at(d)?;
                if t > now {
                    return Ok(t);
                }
            }
            Err("the message's reset date is in the past".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// Unix seconds of an RFC 3339 time.
    fn at(s: &str) -> u64 {
        s.parse::<Timestamp>().unwrap().as_second() as u64
    }

    fn from_msg(message: &str, now: &str) -> ResetTime {
        reset_time(None, Some(message), at(now), 5 * HOUR).unwrap()
    }

    #[test]
    fn claude_codes_message_in_utc_is_the_next_such_time() {
        let r = from_msg(
            "You've hit your 5-hour limit · resets 9:46am (UTC)",
            "2026-11-25T04:25:00Z",
        );
        assert_eq!(r.until, at("2026-11-25T09:46:00Z"));
        assert_eq!(r.source, UntilSource::Message);
        // Already past today: tomorrow's.
        let r = from_msg("resets 9:46am (UTC)", "2026-11-25T10:00:00Z");
        assert_eq!(r.until, at("2026-11-26T09:46:00Z"));
    }

    #[test]
    fn zones_with_and_without_daylight_saving_time() {
        // Berlin in summer is UTC+2, in winter UTC+1.
        let r = from_msg("resets 10am (Europe/Berlin)", "2026-07-01T05:00:00Z");
        assert_eq!(r.until, at("2026-07-01T08:00:00Z"));
        let r = from_msg("resets 10am (Europe/Berlin)", "2026-12-01T05:00:00Z");
        assert_eq!(r.until, at("2026-12-01T09:00:00Z"));
        // Kolkata has no DST: UTC+5:30.
        let r = from_msg("resets 3:30pm (Asia/Kolkata)", "2026-03-29T00:00:00Z");
        assert_eq!(r.until, at("2026-03-29T10:00:00Z"));
        // Across Berlin's spring change (2026-03-29 02:00 -> 03:00).
        let r = from_msg("resets 9am (Europe/Berlin)", "2026-03-28T12:00:00Z");
        assert_eq!(r.until, at("2026-03-29T07:00:00Z"));
    }

    #[test]
    fn twelve_am_is_midnight_and_twelve_pm_is_noon() {
        let r = from_msg("resets 12am (UTC)", "2026-11-25T04:00:00Z");
        assert_eq!(r.until, at("2026-11-26T00:00:00Z"));
        let r = from_msg("resets 12pm (UTC)", "2026-11-25T04:00:00Z");
        assert_eq!(r.until, at("2026-11-25T12:00:00Z"));
        let r = from_msg("resets 12:30 PM (UTC)", "2026-11-25T04:00:00Z");
        assert_eq!(r.until, at("2026-11-25T12:30:00Z"));
    }

    #[test]
    fn a_message_with_a_date_is_that_day() {
        let r = from_msg("resets Nov 28, 9am (UTC)", "2026-11-25T04:00:00Z");
        assert_eq!(r.until, at("2026-11-28T09:00:00Z"));
        let r = from_msg("resets Nov 28 at 9:15am (UTC)", "2026-11-25T04:00:00Z");
        assert_eq!(r.until, at("2026-11-28T09:15:00Z"));
        // A date far away is not trusted.
        let r = from_msg("resets Dec 24, 9am (UTC)", "2026-11-25T04:00:00Z");
        assert_eq!(r.source, UntilSource::Cooldown);
        assert!(r.note.contains("more than 8 days away"), "{}", r.note);
    }

    #[test]
    fn garbage_falls_back_to_the_cooldown_and_says_why() {
        let now = "2026-11-25T04:00:00Z";
        for (message, why) in [
            ("Something went wrong", "names no reset time"),
            ("resets soon (UTC)", "names no reset time"),
            ("resets 13pm (UTC)", "not 1 to 12"),
            ("resets 9:75am (UTC)", "time"),
            (
                "resets 9am (Mars/Olympus)",
                "time zone \"Mars/Olympus\" is unknown",
            ),
            ("resets 9am (UTC", "names no reset time"),
            ("resets", "names no reset time"),
            ("", "names no reset time"),
        ] {
            let r = from_msg(message, now);
            assert_eq!(r.source, UntilSource::Cooldown, "{message}");
            assert_eq!(r.until, at(now) + 5 * 3600, "{message}");
            assert!(r.note.contains(why), "{message}: {}", r.note);
            assert!(r.note.contains("failover.cooldown (5h)"), "{}", r.note);
        }
    }

    #[test]
    fn a_given_time_is_used_unless_past_or_too_far() {
        let now = at("2026-11-25T04:00:00Z");
        let r = reset_time(Some("2026-11-25T09:46:00+01:00"), None, now, HOUR).unwrap();
        assert_eq!(
            (r.until, r.source),
            (at("2026-11-25T08:46:00Z"), UntilSource::Given)
        );
        let r = reset_time(Some("2026-11-24T09:46:00Z"), None, now, HOUR).unwrap();
        assert_eq!((r.until, r.source), (now + 3600, UntilSource::Cooldown));
        assert!(r.note.contains("is in the past"), "{}", r.note);
        let r = reset_time(Some("2027-01-01T00:00:00Z"), None, now, HOUR).unwrap();
        assert_eq!(r.source, UntilSource::Cooldown);
        let e = reset_time(Some("tomorrow"), None, now, HOUR).unwrap_err();
        assert!(e.contains("bad until \"tomorrow\""), "{e}");
        // Given wins over the message.
        let r = reset_time(
            Some("2026-11-25T05:00:00Z"),
            Some("resets 9am (UTC)"),
            now,
            HOUR,
        );
        assert_eq!(r.unwrap().source, UntilSource::Given);
    }

    proptest::proptest! {
        /// Whatever the message, a reset time comes out (never a panic),
        /// and it is after now and at most 8 days away.
        #[test]
        fn any_message_gives_a_plausible_reset_time(
            message in "(resets )?.{0,40}( \\(.{0,20}\\))?",
            now in 0u64..4_000_000_000,
        ) {
            let r = reset_time(None, Some(&message), now, HOUR).unwrap();
            proptest::prop_assert!(r.until > now);
            proptest::prop_assert!(r.until - now <= MAX_AHEAD.as_secs());
        }

        /// A well-formed message in any of these zones is read, within a day.
        #[test]
        fn a_wall_time_in_a_zone_is_the_next_one_within_a_day(
            h in 1u8..=12,
            m in 0u8..60,
            pm: bool,
            zone in proptest::sample::select(vec![
                "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns",
            ]),
            now in 1_000_000_000u64..4_000_000_000,
        ) {
            let message = format!("resets {h}:{m:02}{} ({zone})", if pm { "pm" } else { "am" });
            let r = reset_time(None, Some(&message), now, HOUR).unwrap();
            proptest::prop_assert_eq!(r.source, UntilSource::Message, "{}", r.note);
            proptest::prop_assert!(r.until > now && r.until - now <= 25 * 3600, "{message}");
        }
    }

    #[test]
    fn nothing_known_is_the_cooldown() {
        let r = reset_time(None, None, 1000, HOUR).unwrap();
        assert_eq!((r.until, r.source), (4600, UntilSource::Cooldown));
    }
}
