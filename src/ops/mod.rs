//! The operations, one library function each, shared by the CLI and the
//! HTTP API: they differ only in how a result is printed. Those that
//! change state run in one skeleton (`skeleton`: latch check, lock, one
//! typed audit record); their errors are classified once (`class`).

pub(crate) mod account;
pub(crate) mod adopt;
pub(crate) mod class;
pub(crate) mod context;
pub(crate) mod demo;
pub(crate) mod ensure;
pub(crate) mod failover;
pub(crate) mod fleet;
pub(crate) mod hook;
pub(crate) mod init;
pub(crate) mod limits;
pub(crate) mod progress;
pub(crate) mod served;
pub(crate) mod setup;
pub(crate) mod skeleton;
pub(crate) mod status;
pub(crate) mod statusline;
pub(crate) mod swap;
pub(crate) mod usage;
pub(crate) mod validate;

use std::path::Path;

use crate::config::Config;

/// An account name that is not in the configuration: the one error every
/// operation gives for it (exit 2, HTTP 404).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown account {account:?}: configured accounts are {}", .known.join(", "))]
pub struct UnknownAccount {
    /// The name asked for.
    pub(crate) account: String,
    /// The configured names.
    pub(crate) known: Vec<String>,
}

/// The home of a configured account, or the error naming the configured ones.
pub(crate) fn home_of<'c>(config: &'c Config, account: &str) -> Result<&'c Path, UnknownAccount> {
    config.home(account).ok_or_else(|| UnknownAccount {
        account: account.to_string(),
        known: config.accounts.keys().cloned().collect(),
    })
}
