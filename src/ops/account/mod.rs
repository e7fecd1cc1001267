//! `homeswap account add | remove | disable | enable`: the accounts of
//! the configuration and which of them failover may choose. Each is one
//! function, run in the operations' skeleton (the state lock, one
//! `account_*` line in the audit log); the latch refuses none of them,
//! since none flips the active link.
//!
//! - `add`: creates the home (0700), ensures its links, then adds it to
//!   the configuration file (`config::add_account`: a text edit that keeps
//!   the file's comments and order, checked by parsing the result).
//! - `remove`: takes it out of the configuration the same way; refused
//!   while it is active or the last one; the home is never touched.
//! - `hold`: disable and enable, kept in `<state_dir>/disabled.json`.
//!
//! A running sidecar keeps the configuration it loaded until SIGHUP; the
//! disabled accounts it reads at every validation.

mod add;
mod error;
mod hold;
mod remove;

pub(crate) use add::{add_account, AddReport, AddRequest};
pub(crate) use error::AccountError;
pub(crate) use hold::{disable_account, enable_account, HoldReport};
pub(crate) use remove::{remove_account, RemoveReport};
