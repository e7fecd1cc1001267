//! Which home the active link named, and since when: the flip history
//! (`state::flips`) checked against the live link, as spans of time each
//! with the home the link named then, or none known.
//!
//! The history is trusted only as far as it agrees with itself and with
//! the link: a flip's "before" must be the previous flip's "after" (else
//! someone flipped the link by hand in between, at a time nobody knows),
//! and the newest flip must be the live link (same target, same mtime).
//! A note written before its rename whose link is still the one it
//! replaced is a flip in progress (unknown from its time on) or, after
//! [`PENDING`], one whose rename failed (it never happened).
//!
//! Before a flip that made the link where there was none (the first swap
//! after `ensure`, or `init`), the link named no home: no request went
//! out through it then, so that time is left out of every window (no
//! doubt). Known only for the oldest flip kept, when it says so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::state::flips::FlipRecord;

/// How long a flip noted but not yet seen on the link may be in progress:
/// the rename follows the note within microseconds, under the swaps' lock.
pub(crate) const PENDING: Duration = Duration::from_secs(5);

/// The live active link: when it was made, and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveLink {
    /// Unix nanoseconds of its mtime (the moment it was made).
    pub(crate) made_ns: u64,
    /// Its target.
    pub(crate) target: PathBuf,
}

impl LiveLink {
    /// Reads the link at `path` without following it; `None` when it is
    /// missing or not a symlink.
    pub(crate) fn read(path: &Path) -> Option<LiveLink> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.file_type().is_symlink() {
            return None;
        }
        let made_ns = u64::try_from(meta.mtime())
            .ok()?
            .checked_mul(1_000_000_000)?
            .checked_add(u64::try_from(meta.mtime_nsec()).ok()?)?;
        let target = std::fs::read_link(path).ok()?;
        Some(LiveLink { made_ns, target })
    }
}

/// From `start_ns` until the next span's start, the link named `target`
/// (`None`: not known).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    start_ns: u64,
    target: Option<PathBuf>,
    /// There was no link at all: no request went out through it.
    none: bool,
}

/// What the link named over time, as far as homeswap knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timeline {
    /// Sorted by start; the first starts at 0; the last lasts until now.
    spans: Vec<Span>,
}

/// Why the link's target over a window is not one known home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Doubt {
    /// The flips inside the window: (time, the target after), oldest first.
    pub(crate) flips: Vec<(u64, Option<PathBuf>)>,
    /// Part of the window is a time nobody recorded.
    pub(crate) unrecorded: bool,
}

impl Timeline {
    /// The timeline from `flips` (as read, any order) and the live link,
    /// at `now_ns`.
    pub(crate) fn build(flips: &[FlipRecord], live: Option<&LiveLink>, now_ns: u64) -> Timeline {
        let mut flips: Vec<&FlipRecord> = flips.iter().collect();
        flips.sort_by_key(|f| f.at_ns);
        // Before the oldest flip kept that made the link from nothing:
        // no link.
        let none = flips
            .first()
            .is_some_and(|f| f.from.is_none() && f.from_since_ns.is_none());
        let mut t = Timeline {
            spans: vec![Span {
                start_ns: 0,
                target: None,
                none,
            }],
        };
        let mut last: Option<&FlipRecord> = None;
        for f in flips {
            let continuous = last.is_some_and(|l| {
                Some(l.at_ns) == f.from_since_ns && l.to.as_deref() == f.from.as_deref()
            });
            if !continuous {
                // Unrecorded flips between: unknown from the last one on,
                // until the link this flip replaced was made (before the
                // first, the first span says what is known).
                if last.is_some() {
                    t.unknown_from_last();
                }
                if let Some(since) = f.from_since_ns {
                    t.push(since, f.from.clone());
                }
            }
            t.push(f.at_ns, f.to.clone());
            last = Some(f);
        }
        t.end_with(last, live, now_ns);
        t
    }

    /// The live link against the newest flip.
    fn end_with(&mut self, last: Option<&FlipRecord>, live: Option<&LiveLink>, now_ns: u64) {
        let Some(live) = live else {
            // No link now: it was removed or replaced at a time unknown.
            self.unknown_from_last();
            return;
        };
        let Some(last) = last else {
            self.push(live.made_ns, Some(live.target.clone()));
            return;
        };
        if live.made_ns == last.at_ns && last.to.as_deref() == Some(live.target.as_path()) {
            return;
        }
        let replaced = Some(live.made_ns) == last.from_since_ns
            && last.from.as_deref() == Some(live.target.as_path());
        if replaced && now_ns.saturating_sub(last.at_ns) > PENDING.as_nanos() as u64 {
            // Its rename never happened: the link still names `from`.
            self.spans.pop();
        } else if replaced {
            // Being made right now: from its note on, either home.
            self.unknown_from_last();
        } else {
            self.unknown_from_last();
            if live.made_ns > last.at_ns {
                self.push(live.made_ns, Some(live.target.clone()));
            }
        }
    }

    /// Adds a span; one that starts before the last ends the knowledge
    /// there (a clock that went back, or a tampered history).
    fn push(&mut self, start_ns: u64, target: Option<PathBuf>) {
        let last = self.spans.last().map_or(0, |s| s.start_ns);
        if start_ns < last {
            self.unknown_from_last();
            return;
        }
        if start_ns == last {
            self.spans.pop();
        }
        self.spans.push(Span {
            start_ns,
            target,
            none: false,
        });
    }

    /// The last span's target is not known after all.
    fn unknown_from_last(&mut self) {
        if let Some(s) = self.spans.last_mut() {
            s.target = None;
            s.none = false;
        }
    }

    /// The one home the link named throughout `[lo_ns, hi_ns]`, or why
    /// there is not one.
    pub(crate) fn named_during(&self, lo_ns: u64, hi_ns: u64) -> Result<&Path, Doubt> {
        let overlapping: Vec<(usize, &Span)> = self
            .spans
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                let end = self.spans.get(i + 1).map_or(u64::MAX, |n| n.start_ns);
                s.start_ns <= hi_ns && end > lo_ns && !s.none
            })
            .collect();
        match overlapping.as_slice() {
            [(
                _,
                Span {
                    target: Some(t), ..
                },
            )] => Ok(t.as_path()),
            spans => Err(Doubt {
                flips: spans
                    .iter()
                    .skip(1)
                    .map(|(_, s)| (s.start_ns, s.target.clone()))
                    .collect(),
                unrecorded: spans.iter().any(|(_, s)| s.target.is_none()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    fn flip(at: u64, from: &str, since: u64, to: &str) -> FlipRecord {
        FlipRecord {
            at_ns: at,
            from: Some(p(from)),
            from_since_ns: Some(since),
            to: Some(p(to)),
        }
    }

    fn live(made: u64, target: &str) -> LiveLink {
        LiveLink {
            made_ns: made,
            target: p(target),
        }
    }

    #[test]
    fn a_recorded_history_names_each_span_and_doubts_each_flip() {
        let flips = [flip(100, "/a", 10, "/b"), flip(200, "/b", 100, "/c")];
        let t = Timeline::build(&flips, Some(&live(200, "/c")), 300);
        assert_eq!(t.named_during(20, 90), Ok(Path::new("/a")));
        assert_eq!(t.named_during(101, 199), Ok(Path::new("/b")));
        assert_eq!(t.named_during(250, 300), Ok(Path::new("/c")));
        let d = t.named_during(90, 110).unwrap_err();
        assert_eq!(d.flips, vec![(100, Some(p("/b")))]);
        assert!(!d.unrecorded);
        assert!(
            t.named_during(0, 20).unwrap_err().unrecorded,
            "before /a was made"
        );
    }

    #[test]
    fn before_a_flip_that_made_the_link_from_nothing_no_request_went_out() {
        let first = FlipRecord {
            at_ns: 100,
            from: None,
            from_since_ns: None,
            to: Some(p("/a")),
        };
        let t = Timeline::build(std::slice::from_ref(&first), Some(&live(100, "/a")), 300);
        assert_eq!(t.named_during(0, 300), Ok(Path::new("/a")));
        assert!(t.named_during(0, 90).is_err(), "no link at all then");
        // Not the oldest kept: an earlier flip (a hand-made link) is known.
        let t = Timeline::build(
            &[flip(50, "/x", 10, "/b"), first],
            Some(&live(100, "/a")),
            300,
        );
        assert!(t.named_during(60, 300).is_err());
    }

    #[test]
    fn without_a_history_only_the_live_links_own_span_is_known() {
        let t = Timeline::build(&[], Some(&live(500, "/a")), 900);
        assert_eq!(t.named_during(500, 900), Ok(Path::new("/a")));
        assert!(t.named_during(400, 600).unwrap_err().unrecorded);
        let none = Timeline::build(&[], None, 900);
        assert!(none.named_during(0, 900).is_err());
    }

    #[test]
    fn a_flip_by_hand_makes_the_time_before_it_unknown() {
        // Recorded a -> b at 100; then someone made the link /c at 300.
        let flips = [flip(100, "/a", 10, "/b")];
        let t = Timeline::build(&flips, Some(&live(300, "/c")), 400);
        assert_eq!(t.named_during(20, 90), Ok(Path::new("/a")));
        assert!(t.named_during(150, 160).is_err(), "b, until when?");
        assert_eq!(t.named_during(310, 400), Ok(Path::new("/c")));
        // A gap between two recorded flips: b -> ? -> c by hand, then c -> a.
        let flips = [flip(100, "/a", 10, "/b"), flip(300, "/c", 250, "/a")];
        let t = Timeline::build(&flips, Some(&live(300, "/a")), 400);
        assert!(t.named_during(150, 160).is_err());
        assert_eq!(t.named_during(260, 290), Ok(Path::new("/c")));
        assert_eq!(t.named_during(310, 400), Ok(Path::new("/a")));
    }

    #[test]
    fn a_flip_in_progress_is_doubted_and_a_failed_one_forgotten() {
        let flips = [flip(100, "/a", 10, "/b"), flip(200, "/b", 100, "/c")];
        // The link is still the one the second note replaced.
        let soon = Timeline::build(&flips, Some(&live(100, "/b")), 201);
        assert_eq!(soon.named_during(150, 190), Ok(Path::new("/b")));
        assert!(soon.named_during(205, 210).is_err(), "being flipped");
        let later = 200 + PENDING.as_nanos() as u64 + 1;
        let failed = Timeline::build(&flips, Some(&live(100, "/b")), later);
        assert_eq!(failed.named_during(150, later), Ok(Path::new("/b")));
    }

    #[test]
    fn no_link_now_or_a_clock_that_went_back_is_unknown() {
        let flips = [flip(100, "/a", 10, "/b")];
        let gone = Timeline::build(&flips, None, 400);
        assert!(gone.named_during(300, 400).is_err());
        assert_eq!(gone.named_during(20, 90), Ok(Path::new("/a")));
        let back = [flip(100, "/a", 10, "/b"), flip(90, "/b", 100, "/c")];
        let t = Timeline::build(&back, Some(&live(90, "/c")), 400);
        assert!(t.named_during(300, 400).is_err());
    }
}
