//! The accounts an operator held out of failover (`homeswap account
//! disable`): one record, `<state_dir>/disabled.json`, written atomically
//! under the state lock like the limits, so it survives restarts and a
//! crash never leaves half of it. An account stays disabled until
//! `account enable`; unlike a limit, it has no end of its own.
//!
//! A file that cannot be read or parsed is reported by whoever reads it
//! and counts as "none disabled" (a failover then may choose any account):
//! it never panics and never touches the latch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fs::error::FsError;
use crate::state::StateDir;

/// Why and since when one account is held out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Disabled {
    /// Unix seconds it was disabled.
    pub(crate) since: u64,
    /// The operator's reason, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

/// The whole record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DisabledRecord {
    /// Account → why it is held out.
    #[serde(default)]
    pub(crate) accounts: BTreeMap<String, Disabled>,
}

impl DisabledRecord {
    /// Reads `<state_dir>/disabled.json`; no file is none disabled.
    pub(crate) fn read(state: &StateDir) -> Result<DisabledRecord, FsError> {
        StateDir::read_record(
            &state.disabled(),
            "read the disabled accounts",
            "parse the disabled accounts",
        )
        .map(Option::unwrap_or_default)
    }

    /// Reads the record; an unreadable one is empty, with why it was.
    pub(crate) fn read_or_empty(state: &StateDir) -> (DisabledRecord, Option<String>) {
        match DisabledRecord::read(state) {
            Ok(r) => (r, None),
            Err(e) => (DisabledRecord::default(), Some(e.to_string())),
        }
    }

    /// Writes the record atomically.
    pub(crate) fn write(&self, state: &StateDir) -> Result<(), FsError> {
        state.write_record(&state.disabled(), "write the disabled accounts", self)
    }

    /// Whether `account` is held out, and why.
    pub(crate) fn get(&self, account: &str) -> Option<&Disabled> {
        self.accounts.get(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_account_survives_a_rewrite_and_an_unreadable_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        assert_eq!(
            DisabledRecord::read(&state).unwrap(),
            DisabledRecord::default()
        );
        let mut r = DisabledRecord::default();
        r.accounts.insert(
            "b".into(),
            Disabled {
                since: 100,
                reason: Some("card expired".into()),
            },
        );
        r.write(&state).unwrap();
        let back = DisabledRecord::read(&state).unwrap();
        assert_eq!(
            back.get("b").unwrap().reason.as_deref(),
            Some("card expired")
        );
        assert!(back.get("a").is_none());
        std::fs::write(state.disabled(), b"[1,").unwrap();
        let (r, why) = DisabledRecord::read_or_empty(&state);
        assert_eq!(r, DisabledRecord::default());
        assert!(why.unwrap().contains("disabled.json"));
    }
}
