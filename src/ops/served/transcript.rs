//! The session's transcript as a record of when its requests went out.
//!
//! Claude Code 2.1.328 writes, for each Messages request of a session, an
//! `api-request` entry (`id`, `timestamp`: about the moment it went out,
//! a few to ~150 ms after the credentials check that decides the account,
//! never before it; seen up to 52 ms after the request reached the
//! stand-in, tests/claude_probe.rs `probe_api_request_timestamp`); each
//! answer's `assistant`
//! entry names it (`requestRef`); a failed request is followed by a
//! synthetic `assistant` entry with `isApiErrorMessage: true` and `error`;
//! a prompt's `user` entry carries its `promptId`. Entries are written in
//! batches some 100 ms after the fact, so a `StopFailure` hook can start
//! before its request's entries are there (seen in interactive and `-p`
//! runs; tests/claude_probe.rs, `probe_served_*`).
//!
//! The path comes from outside (the hook's and the status line's stdin):
//! it is used only when it is spelled under a configured `projects` tree
//! and names the session's own file, it is opened without following a
//! link at its end, non-blocking, as a regular file that really lies in a
//! configured `projects` tree; only its last [`TAIL`] bytes are read, and
//! nothing of it is ever printed. Any content parses or is skipped.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::config::Config;
use crate::fs::read::read_tail_within;

/// The most of a transcript's end that is read: dozens of turns.
pub(crate) const TAIL: u64 = 512 * 1024;

/// One request as the transcript records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// Its `api-request` id.
    pub(crate) id: String,
    /// Unix nanoseconds it went out (the entry's `timestamp`, to the ms).
    pub(crate) sent_ns: u64,
}

/// What a line of the tail says, as far as it matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A request went out.
    Sent(Request),
    /// The answer to the request with this id came.
    Answered(String),
    /// The request before failed (an API error entry).
    Failed,
    /// A prompt's (or its tool results') entry: the prompt's id, and the
    /// entry's time (Unix ns) when it has one.
    Prompt(String, Option<u64>),
}

/// The entries of a transcript's end, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tail {
    entries: Vec<Entry>,
    /// The file holds more before this tail.
    pub(crate) cut: bool,
}

/// The fields of a line that are looked at; the rest is skipped unparsed.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(default, rename = "type")]
    kind: Option<&'a str>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    timestamp: Option<&'a str>,
    #[serde(default, rename = "requestRef")]
    request_ref: Option<String>,
    #[serde(default, rename = "isApiErrorMessage")]
    api_error: Option<bool>,
    #[serde(default, rename = "promptId")]
    prompt_id: Option<String>,
    #[serde(default, borrow)]
    #[allow(dead_code)] // present on every message line; skipped unparsed
    message: Option<&'a RawValue>,
}

impl Tail {
    /// Parses `bytes`, the end of a transcript; `cut` when the file holds
    /// more before them (the first, partial line is skipped then).
    pub(crate) fn parse(bytes: &[u8], cut: bool) -> Tail {
        let mut lines = bytes.split(|b| *b == b'\n');
        if cut {
            lines.next();
        }
        let entries = lines.filter_map(entry).collect();
        Tail { entries, cut }
    }

    /// The request whose failure a `StopFailure` of prompt `prompt_id`
    /// reports: the last one sent after that prompt's first entry and
    /// followed by an API error entry. `None` when the tail does not show
    /// it (yet): the prompt's entries are not written, or its failure is
    /// not; a tail whose newest prompt entry is another prompt's is not
    /// this turn's. "After" is by time once the prompt's entry has one:
    /// Claude Code 2.1.328 (interactive) may write the turn's first
    /// `api-request` line before the prompt's own entry, though it was
    /// sent after it.
    pub(crate) fn failing_request(&self, prompt_id: &str) -> Option<&Request> {
        let newest_prompt = self.entries.iter().rev().find_map(|e| match e {
            Entry::Prompt(p, _) => Some(p.as_str()),
            _ => None,
        });
        if newest_prompt.is_some_and(|p| p != prompt_id) {
            return None;
        }
        let (first, since) = self
            .entries
            .iter()
            .enumerate()
            .find_map(|(i, e)| match e {
                Entry::Prompt(p, at_ns) if p == prompt_id => Some((i, *at_ns)),
                _ => None,
            })
            .unwrap_or((0, None));
        let failed = first
            + self.entries[first..]
                .iter()
                .rposition(|e| matches!(e, Entry::Failed))?;
        let from = if since.is_some() { 0 } else { first };
        self.entries[from..failed]
            .iter()
            .rev()
            .find_map(|e| match e {
                Entry::Sent(r) if since.is_none_or(|t| r.sent_ns >= t) => Some(r),
                _ => None,
            })
    }

    /// The newest request that was answered (or failed) before now, whose
    /// answer the status line's numbers come from, and how many requests
    /// were answered successfully after the one with id `after` (all in
    /// the tail when `after` is `None` or not in it; then `false`).
    pub(crate) fn latest_answered(&self, after: Option<&str>) -> Option<Latest<'_>> {
        let mut latest: Option<&Request> = None;
        let mut last_sent: Option<&Request> = None;
        let mut answered_since = 0;
        let mut found_after = false;
        for e in &self.entries {
            let (resolved, ok) = match e {
                Entry::Sent(r) => {
                    last_sent = Some(r);
                    continue;
                }
                Entry::Answered(id) => (self.sent(id), true),
                Entry::Failed => (last_sent, false),
                Entry::Prompt(..) => continue,
            };
            let Some(r) = resolved else { continue };
            latest = Some(r);
            if after == Some(r.id.as_str()) {
                found_after = true;
                answered_since = 0;
            } else if ok {
                answered_since += 1;
            }
        }
        latest.map(|request| Latest {
            request,
            answered_since,
            found_after,
        })
    }

    fn sent(&self, id: &str) -> Option<&Request> {
        self.entries.iter().find_map(|e| match e {
            Entry::Sent(r) if r.id == id => Some(r),
            _ => None,
        })
    }
}

/// The newest answered request of a tail, with the count of successful
/// answers since a given one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Latest<'t> {
    /// The request.
    pub(crate) request: &'t Request,
    /// Successful answers after the given request (or in the whole tail).
    pub(crate) answered_since: usize,
    /// Whether the given request was in the tail.
    pub(crate) found_after: bool,
}

/// One line, when it is one of the entries that matter. Lines that cannot
/// matter are skipped before any parsing.
fn entry(line: &[u8]) -> Option<Entry> {
    let text = std::str::from_utf8(line).ok()?;
    let interesting = [
        "\"api-request\"",
        "\"requestRef\"",
        "\"isApiErrorMessage\"",
        "\"promptId\"",
    ];
    if !interesting.iter().any(|k| text.contains(k)) {
        return None;
    }
    let l: Line = serde_json::from_str(text).ok()?;
    match l.kind? {
        "api-request" => Some(Entry::Sent(Request {
            id: l.id?,
            sent_ns: unix_ns(l.timestamp?)?,
        })),
        "assistant" if l.api_error == Some(true) => Some(Entry::Failed),
        "assistant" => l.request_ref.map(Entry::Answered),
        "user" => {
            let at_ns = l.timestamp.and_then(unix_ns);
            l.prompt_id.map(|id| Entry::Prompt(id, at_ns))
        }
        _ => None,
    }
}

/// Unix nanoseconds of an RFC 3339 time.
fn unix_ns(text: &str) -> Option<u64> {
    let t: jiff::Timestamp = text.parse().ok()?;
    u64::try_from(t.as_nanosecond()).ok()
}

/// Why a transcript could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TranscriptError {
    /// The path is not where this configuration keeps the session's file.
    #[error("the transcript_path is not the session's file under a configured projects directory")]
    NotPlausible,
    /// Nothing is there (yet).
    #[error("the transcript does not exist (yet)")]
    Missing,
    /// It could not be opened or read, or is not what it should be.
    #[error("the transcript could not be read: {0}")]
    Unreadable(String),
}

/// Reads the end of session `session`'s transcript at `path`, refusing a
/// path that is not where a configured `projects` tree keeps that
/// session's file.
pub(crate) fn read(config: &Config, session: &str, path: &Path) -> Result<Tail, TranscriptError> {
    let spelled_roots = projects_roots(config);
    if !plausible(path, session, &spelled_roots) {
        return Err(TranscriptError::NotPlausible);
    }
    // Where those trees really are (the links followed).
    let real_roots: Vec<PathBuf> = spelled_roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .collect();
    match read_tail_within(path, TAIL, &real_roots) {
        Ok(Some((bytes, cut))) => Ok(Tail::parse(&bytes, cut)),
        Ok(None) => Err(TranscriptError::Missing),
        Err(e) => Err(TranscriptError::Unreadable(e.to_string())),
    }
}

/// The `projects` trees of this configuration, as configured.
fn projects_roots(config: &Config) -> Vec<PathBuf> {
    std::iter::once(config.active_link.as_path())
        .chain(std::iter::once(config.shared.dir()))
        .chain(config.accounts.values().map(PathBuf::as_path))
        .map(|p| p.join("projects"))
        .collect()
}

/// An absolute, plain path (no `.` or `..`) under one of `roots` whose
/// file is `<session>.jsonl`.
fn plausible(path: &Path, session: &str, roots: &[PathBuf]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // `components` drops inner `.`s and doubled slashes: refused here.
    let spelled_plainly =
        !bytes.windows(3).any(|w| w == b"/./") && !bytes.windows(2).any(|w| w == b"//");
    let plain = path.is_absolute()
        && spelled_plainly
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    let named = path
        .file_name()
        .is_some_and(|n| n == std::ffi::OsStr::new(&format!("{session}.jsonl")));
    plain && named && roots.iter().any(|r| path.starts_with(r) && path != r)
}

#[cfg(test)]
mod tests;
