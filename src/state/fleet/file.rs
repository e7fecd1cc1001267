//! `fleet.json` on disk: JSON lines, read lazily.
//!
//! ```text
//! {"format":1,"prometheus":"http://prom:9090","selector":"{job=\"homeswap\"}","refreshed":1800000000,...,"accounts":2}
//! {"account":"a","limited":[{"instance":"host1:9464","until":1800003600}],"limited_on":1}
//! {"account":"b","usage":{"instance":"host2:9464","updated":1799999940,"five_hour":{"ratio":0.42,...}}}
//! ```
//!
//! The first line is the header (where the view came from, when, the last
//! failure); then one line per account, sorted by name, each starting with
//! its name. A reader parses the header and finds an account's line by
//! binary search over the bytes, so a failover's choice among 1,000
//! accounts parses the few lines it looks at, not the whole view. Every
//! line is JSON, so the file also reads with `jq -c . fleet.json`.
//!
//! A line that does not parse (the file was edited by hand) is treated as
//! no knowledge of that account by the lookups, and as an error by
//! [`FleetFile::to_view`]; a file whose header does not parse is an error.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::record::{age, is_zero, FleetAccount, FleetView, RefreshFailure, SeenLimit, SeenUsage};
use crate::fs::atomic;
use crate::fs::error::{FsContext, FsError};
use crate::fs::read::{read_regular, ReadError};
use crate::state::StateDir;

/// The format written in the header.
const FORMAT: u32 = 1;

/// The largest view read: 10,000 accounts with every instance slot used
/// take about 6 MiB.
pub(crate) const FLEET_LIMIT: u64 = 16 * 1024 * 1024;

/// How every account line starts, before the name.
const LINE_START: &[u8] = br#"{"account":""#;

/// The first line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FleetHeader {
    /// The format (1).
    pub(crate) format: u32,
    /// The Prometheus it was read from.
    pub(crate) prometheus: String,
    /// The selector it was read with.
    pub(crate) selector: String,
    /// Unix seconds of the last successful refresh; 0: none yet.
    pub(crate) refreshed: u64,
    /// The last refresh, when it failed after that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) failure: Option<RefreshFailure>,
    /// Prometheus's warnings at the last refresh.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) warnings: Vec<String>,
    /// Series ignored at the last refresh.
    #[serde(default)]
    pub(crate) dropped: usize,
    /// How many account lines follow.
    #[serde(default)]
    pub(crate) accounts: usize,
}

/// One account line: the account first (serde writes the fields in this
/// order), so that a line's name is found without parsing it.
#[derive(Serialize, Deserialize)]
struct AccountLine {
    /// The account.
    account: String,
    /// [`FleetAccount::limited`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    limited: Vec<SeenLimit>,
    /// [`FleetAccount::limited_on`].
    #[serde(default, skip_serializing_if = "is_zero")]
    limited_on: usize,
    /// [`FleetAccount::usage`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage: Option<SeenUsage>,
}

impl AccountLine {
    fn known(self) -> (String, FleetAccount) {
        let known = FleetAccount {
            limited: self.limited,
            limited_on: self.limited_on,
            usage: self.usage,
        };
        (self.account, known)
    }
}

impl FleetView {
    /// Reads the whole view from `<state_dir>/fleet.json` (see `file`);
    /// `None` when there is none. A line that does not parse is an error.
    pub(crate) fn read(state: &StateDir) -> Result<Option<FleetView>, FsError> {
        match FleetFile::read(state)? {
            None => Ok(None),
            Some(f) => f.to_view(&state.fleet()).map(Some),
        }
    }

    /// Writes the view atomically (temp + rename + fsync, mode 0600), in
    /// the format `file` reads.
    pub(crate) fn write(&self, state: &StateDir) -> Result<(), FsError> {
        let path = state.fleet();
        state.create()?;
        let bytes = encode(self)
            .map_err(std::io::Error::other)
            .fs("write the fleet view", &path)?;
        atomic::write_file(&path, &bytes, 0o600)
    }
}

/// An account line as a choice reads it: the `account` key and every
/// limit after the first are skipped without being built.
#[derive(Deserialize)]
struct ChoiceLine {
    #[serde(default)]
    limited: First<SeenLimit>,
    #[serde(default)]
    limited_on: usize,
    #[serde(default)]
    usage: Option<SeenUsage>,
}

/// The first element of a JSON list; the others are skipped.
struct First<T>(Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        First(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<First<T>, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(Visit(std::marker::PhantomData))
    }
}

/// The view's bytes: `view`'s header, then its accounts, a line each.
fn encode(view: &FleetView) -> serde_json::Result<Vec<u8>> {
    let header = FleetHeader {
        format: FORMAT,
        prometheus: view.prometheus.clone(),
        selector: view.selector.clone(),
        refreshed: view.refreshed,
        failure: view.failure.clone(),
        warnings: view.warnings.clone(),
        dropped: view.dropped,
        accounts: view.accounts.len(),
    };
    let mut out = serde_json::to_vec(&header)?;
    out.push(b'\n');
    // Account names are plain (^[a-z0-9][a-z0-9_-]*$, checked when the
    // view is built), so the name in the bytes is the name: no escapes.
    for (account, known) in &view.accounts {
        let line = AccountLine {
            account: account.clone(),
            limited: known.limited.clone(),
            limited_on: known.limited_on,
            usage: known.usage.clone(),
        };
        serde_json::to_writer(&mut out, &line)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// The view as read: its header, and its account lines found on demand.
#[derive(Debug, Clone)]
pub(crate) struct FleetFile {
    /// The first line, parsed.
    pub(crate) header: FleetHeader,
    /// The whole file.
    bytes: Vec<u8>,
    /// Where the account lines start.
    body: usize,
}

impl FleetFile {
    /// Reads `<state_dir>/fleet.json` (not following a symlink, bounded,
    /// never a FIFO) and parses its header; `None` when there is none.
    pub(crate) fn read(state: &StateDir) -> Result<Option<FleetFile>, FsError> {
        let path = state.fleet();
        let bytes = match read_regular(&path, FLEET_LIMIT, true) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(ReadError::Fs(e)) => return Err(e.doing("read the fleet view")),
            Err(e) => {
                return Err(FsError::new(
                    "read the fleet view",
                    &path,
                    std::io::Error::other(e.to_string()),
                ))
            }
        };
        let end = bytes
            .iter()
            .position(|b| *b == b'\n')
            .unwrap_or(bytes.len());
        let header: FleetHeader = serde_json::from_slice(&bytes[..end])
            .map_err(std::io::Error::other)
            .fs("parse the fleet view", &path)?;
        let body = (end + 1).min(bytes.len());
        Ok(Some(FleetFile {
            header,
            bytes,
            body,
        }))
    }

    /// What a choice needs of `account`: the limit that ends last (the
    /// other instances' are counted, not read), how many instances report
    /// it, the freshest usage. Its line is found by binary search.
    pub(crate) fn account(&self, account: &str) -> Option<FleetAccount> {
        let line = self.find(account.as_bytes())?;
        let lean: ChoiceLine = serde_json::from_slice(line).ok()?;
        Some(FleetAccount {
            limited: lean.limited.0.into_iter().collect(),
            limited_on: lean.limited_on,
            usage: lean.usage,
        })
    }

    /// Seconds since the last successful refresh (`None`: never).
    pub(crate) fn age(&self, now: u64) -> Option<u64> {
        age(self.header.refreshed, now)
    }

    /// Every account line, parsed (`status`); an unparsable line is an
    /// error naming its line number.
    pub(crate) fn to_view(&self, path: &Path) -> Result<FleetView, FsError> {
        let mut accounts = BTreeMap::new();
        for (n, line) in self.bytes[self.body..]
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
        {
            let l: AccountLine = serde_json::from_slice(line)
                .map_err(|e| std::io::Error::other(format!("line {}: {e}", n + 2)))
                .fs("parse the fleet view", path)?;
            let (account, known) = l.known();
            accounts.insert(account, known);
        }
        let h = &self.header;
        Ok(FleetView {
            prometheus: h.prometheus.clone(),
            selector: h.selector.clone(),
            refreshed: h.refreshed,
            failure: h.failure.clone(),
            warnings: h.warnings.clone(),
            dropped: h.dropped,
            accounts,
        })
    }

    /// The line of `name`: binary search over the sorted lines, each step
    /// finding the line around the middle byte (lines are short).
    fn find(&self, name: &[u8]) -> Option<&[u8]> {
        let bytes = &self.bytes;
        let (mut lo, mut hi) = (self.body, bytes.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let start = memchr::memrchr(b'\n', &bytes[lo..mid]).map_or(lo, |i| lo + i + 1);
            let end = memchr::memchr(b'\n', &bytes[mid..]).map_or(bytes.len(), |i| mid + i);
            let line = &bytes[start..end];
            match line_name(line)?.cmp(name) {
                std::cmp::Ordering::Equal => return Some(line),
                std::cmp::Ordering::Less => lo = (end + 1).min(hi),
                std::cmp::Ordering::Greater => hi = start,
            }
        }
        None
    }
}

/// The account name a line starts with.
fn line_name(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(LINE_START)?;
    let end = rest.iter().position(|b| *b == b'"')?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fleet::SeenWindow;

    fn view(n: usize) -> FleetView {
        let mut v = FleetView {
            prometheus: "http://p:9090".into(),
            selector: r#"{job="homeswap"}"#.into(),
            refreshed: 1000,
            ..FleetView::default()
        };
        for i in 0..n {
            let mut known = FleetAccount::default();
            if i % 3 == 0 {
                // Three instances, the latest first: a choice reads the first.
                known.limited = (0..3)
                    .map(|k| SeenLimit {
                        instance: format!("host{i}-{k}:9464"),
                        until: 5000 + i as u64 - k,
                    })
                    .collect();
                known.limited_on = 3;
            }
            if i % 2 == 0 {
                known.usage = Some(SeenUsage {
                    instance: "h".into(),
                    updated: 900,
                    five_hour: Some(SeenWindow {
                        ratio: 0.5,
                        resets_at: None,
                    }),
                    seven_day: None,
                });
            }
            v.accounts.insert(format!("a{i:04}"), known);
        }
        v
    }

    #[test]
    fn every_account_is_found_by_its_line_and_a_missing_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        for n in [0, 1, 2, 7, 100, 1001] {
            let v = view(n);
            v.write(&state).unwrap();
            let f = FleetFile::read(&state).unwrap().unwrap();
            assert_eq!(f.header.accounts, n);
            for (name, known) in &v.accounts {
                let lean = FleetAccount {
                    limited: known.limited.iter().take(1).cloned().collect(),
                    ..known.clone()
                };
                assert_eq!(f.account(name), Some(lean), "{n}: {name}");
            }
            for absent in ["a", "a00000", "a9999", "b", "", "a0000x"] {
                assert_eq!(f.account(absent), None, "{n}: {absent}");
            }
            assert_eq!(FleetView::read(&state).unwrap().unwrap(), v);
        }
        let text = std::fs::read_to_string(state.fleet()).unwrap();
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with(r#"{"account":"a0000","limited":[{"instance":"host0-0:9464""#),
            "{text}"
        );
        assert!(text
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    }

    #[test]
    fn a_broken_line_is_no_knowledge_for_a_lookup_and_an_error_for_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        view(5).write(&state).unwrap();
        let text = std::fs::read_to_string(state.fleet()).unwrap();
        let broken = text.replace(r#"{"account":"a0002","#, r#"{"account":"a0002",,"#);
        std::fs::write(state.fleet(), broken).unwrap();
        let f = FleetFile::read(&state).unwrap().unwrap();
        assert_eq!(f.account("a0002"), None);
        assert!(f.account("a0003").is_some());
        let e = FleetView::read(&state).unwrap_err().to_string();
        assert!(
            e.contains("parse the fleet view") && e.contains("line 4"),
            "{e}"
        );
        std::fs::write(state.fleet(), "not json\n").unwrap();
        assert!(FleetFile::read(&state).is_err());
        std::fs::write(state.fleet(), "").unwrap();
        assert!(
            FleetFile::read(&state).is_err(),
            "an empty file has no header"
        );
    }
}
