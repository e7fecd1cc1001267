//! The operations, one library function each, shared by the CLI and the
//! HTTP API: they differ only in how a result is printed.

pub mod adopt;
pub mod context;
pub(crate) mod demo;
pub(crate) mod ensure;
pub mod failover;
pub mod fleet;
pub mod hook;
pub mod init;
pub mod limits;
pub(crate) mod status;
pub mod statusline;
pub mod swap;
pub mod usage;
pub(crate) mod validate;

use std::path::Path;

use crate::config::Config;

/// An account name that is not in the configuration: the one error every
/// operation gives for it (exit 2, HTTP 404).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown account {account:?}: configured accounts are {}", .known.join(", "))]
pub struct UnknownAccount {
    /// The name asked for.
    pub account: String,
    /// The configured names.
    pub known: Vec<String>,
}

/// The home of a configured account, or the error naming the configured ones.
pub fn home_of<'c>(config: &'c Config, account: &str) -> Result<&'c Path, UnknownAccount> {
    config.home(account).ok_or_else(|| UnknownAccount {
        account: account.to_string(),
        known: config.accounts.keys().cloned().collect(),
    })
}
