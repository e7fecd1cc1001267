//! The adoption journal (`<state_dir>/adopt.json`): written before the first
//! entry moves and removed when the account's links are `ok`, so that a
//! re-run after a crash knows an adoption was under way and finishes it
//! with the same choices.
//!
//! There is one journal file. A journal whose account is no longer
//! configured cannot be finished, but must not block other accounts
//! either: the entries it was moving are in that account's home or already
//! in the shared target, and nothing of another account depends on it. So
//! an adoption of another account sets it aside ([`AdoptJournal::parked`]
//! inside its own journal, so a crash keeps it too) and writes it back when
//! it ends; it stays until the account is configured again and adopted, or
//! an operator removes the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::state::audit::now_rfc3339;
use crate::state::StateDir;

/// An adoption in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AdoptJournal {
    /// The account whose real directories are being adopted.
    pub(crate) account: String,
    /// The links being adopted.
    pub(crate) links: Vec<String>,
    /// Whether conflicting entries are kept beside the target's.
    pub(crate) keep_both: bool,
    /// The stamp in kept-both names (`20261124T1200Z`), kept across a
    /// resume so a re-run names the same way.
    pub(crate) stamp: String,
    /// The kept-both entries so far, each recorded before it is moved, so
    /// that the run which finishes still tells the operator about them.
    #[serde(default, serialize_with = "crate::fs::pathfmt::paths")]
    pub(crate) kept_both: Vec<PathBuf>,
    /// RFC 3339 start time.
    pub(crate) started: String,
    /// The process that started it.
    pub(crate) pid: u32,
    /// The interrupted adoption of an account no longer configured, set
    /// aside while this one runs and written back when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parked: Option<Box<AdoptJournal>>,
}

/// What a journal found at the start of an adoption of `account` is.
#[derive(Debug)]
pub(crate) enum Found {
    /// This account's own interrupted adoption: resume it.
    Own(AdoptJournal),
    /// A configured account's (with its home): finish it first.
    Other(AdoptJournal, PathBuf),
    /// An account no longer configured: set it aside (see the module docs).
    Unconfigured(AdoptJournal),
}

impl Found {
    /// Sorts a journal found when adopting `account`.
    pub(crate) fn of(journal: AdoptJournal, account: &str, config: &Config) -> Found {
        if journal.account == account {
            Found::Own(journal)
        } else if let Some(home) = config.home(&journal.account) {
            let home = home.to_path_buf();
            Found::Other(journal, home)
        } else {
            Found::Unconfigured(journal)
        }
    }
}

impl AdoptJournal {
    /// The journal of a new adoption of `account` (`links`: the ones
    /// asked for), stamped now.
    pub(crate) fn new(account: &str, links: &[String], keep_both: bool) -> AdoptJournal {
        AdoptJournal {
            account: account.to_string(),
            links: links.to_vec(),
            keep_both,
            stamp: stamp_now(),
            kept_both: Vec::new(),
            started: now_rfc3339(),
            pid: std::process::id(),
            parked: None,
        }
    }

    /// Writes the journal durably (atomically replacing an older one).
    pub(crate) fn write(&self, state: &StateDir) -> Result<(), FsError> {
        state.write_record(&state.adopt_journal(), "write the adoption journal", self)
    }

    /// Reads the journal an interrupted adoption left, if any.
    pub(crate) fn read(state: &StateDir) -> Result<Option<AdoptJournal>, FsError> {
        StateDir::read_record(
            &state.adopt_journal(),
            "read the adoption journal",
            "parse the adoption journal",
        )
    }

    /// Removes the journal once the adoption is complete.
    pub(crate) fn remove(state: &StateDir) -> Result<(), FsError> {
        atomic::remove_file(&state.adopt_journal())
    }

    /// Ends an adoption's journal: writes back the record it set aside, or
    /// removes the file.
    pub(crate) fn finish(&self, state: &StateDir) -> Result<(), FsError> {
        match &self.parked {
            Some(parked) => parked.write(state),
            None => AdoptJournal::remove(state),
        }
    }

    /// What an operator needs to know about this record (`journal` is the
    /// file that holds it). When its account is no longer configured: what
    /// it is, how to finish it, how to drop it and what dropping loses.
    pub(crate) fn notice(&self, config: &Config, journal: &Path) -> String {
        let (a, file) = (&self.account, crate::fs::pathfmt::shown(journal));
        let what = format!(
            "an interrupted adoption of account {a} (started {} by pid {}) is recorded in {file}",
            self.started, self.pid
        );
        if config.home(a).is_some() {
            return format!("{what}; run 'homeswap adopt {a}' to finish it");
        }
        format!(
            "{what}, but {a} is no longer configured; it was left as it is, and nothing of other accounts depends on it. To finish it, add {a} back to the configuration and run 'homeswap adopt {a}'. To drop it, remove {file}: only the record is lost (the choices and kept-both list of that run); moved entries stay in the shared target and the rest stay in {a}'s home"
        )
    }

    /// One notice per interrupted adoption this record holds (itself, then
    /// what it set aside), e.g. for `homeswap status`.
    pub(crate) fn notices(&self, config: &Config, journal: &Path) -> Vec<String> {
        let mut lines = Vec::new();
        let mut next = Some(self);
        while let Some(j) = next {
            lines.push(j.notice(config, journal));
            next = j.parked.as_deref();
        }
        lines
    }
}

/// The stamp of kept-both names: UTC, to the minute, `20261124T1200Z`.
fn stamp_now() -> String {
    // "2026-11-24T12:00:05Z" -> "20261124T1200Z"
    let digits: String = now_rfc3339().chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{date}T{}Z", time.get(..4).unwrap_or(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            Path::new("homeswap.yaml"),
            "accounts:\n  a: /h/claude-a\n  c: /h/claude-c\nactive_link: /h/claude\nshared_dir: /h/shared\nstate_dir: /var/lib/homeswap\n",
        )
        .unwrap()
    }

    fn journal(account: &str) -> AdoptJournal {
        AdoptJournal {
            account: account.to_string(),
            links: vec!["projects".into()],
            keep_both: true,
            stamp: "20261124T1200Z".into(),
            kept_both: Vec::new(),
            started: "2026-11-24T12:00:05Z".into(),
            pid: 42,
            parked: None,
        }
    }

    #[test]
    fn a_journal_written_before_parking_existed_still_reads_and_a_parked_one_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::write(
            state.adopt_journal(),
            r#"{"account":"b","links":["projects"],"keep_both":false,"stamp":"20261124T1200Z","kept_both":[],"started":"2026-11-24T12:00:05Z","pid":7}"#,
        )
        .unwrap();
        let old = AdoptJournal::read(&state).unwrap().unwrap();
        assert_eq!((old.account.as_str(), old.parked), ("b", None));

        let mut c = journal("c");
        c.parked = Some(Box::new(journal("b")));
        c.write(&state).unwrap();
        assert_eq!(AdoptJournal::read(&state).unwrap(), Some(c.clone()));
        // Ending c's adoption writes b's record back, exactly.
        c.finish(&state).unwrap();
        assert_eq!(AdoptJournal::read(&state).unwrap(), Some(journal("b")));
        journal("b").finish(&state).unwrap();
        assert_eq!(AdoptJournal::read(&state).unwrap(), None);
    }

    #[test]
    fn a_journal_is_sorted_by_whose_it_is() {
        let config = config();
        assert!(matches!(
            Found::of(journal("a"), "a", &config),
            Found::Own(_)
        ));
        assert!(
            matches!(Found::of(journal("c"), "a", &config), Found::Other(_, h) if h == Path::new("/h/claude-c"))
        );
        assert!(matches!(
            Found::of(journal("b"), "a", &config),
            Found::Unconfigured(_)
        ));
    }

    #[test]
    fn the_notices_say_how_to_finish_or_drop_each_record() {
        let file = Path::new("/var/lib/homeswap/adopt.json");
        let mut c = journal("c");
        c.parked = Some(Box::new(journal("b")));
        let lines = c.notices(&config(), file);
        assert_eq!(
            lines[0],
            "an interrupted adoption of account c (started 2026-11-24T12:00:05Z by pid 42) is recorded in /var/lib/homeswap/adopt.json; run 'homeswap adopt c' to finish it"
        );
        assert!(lines[1].starts_with("an interrupted adoption of account b (started 2026-11-24T12:00:05Z by pid 42) is recorded in /var/lib/homeswap/adopt.json, but b is no longer configured;"), "{}", lines[1]);
        assert!(lines[1].contains("add b back to the configuration and run 'homeswap adopt b'"));
        assert!(lines[1].contains("remove /var/lib/homeswap/adopt.json: only the record is lost"));
        assert_eq!(lines.len(), 2);
    }
}
