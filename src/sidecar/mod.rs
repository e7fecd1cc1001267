//! `homeswap serve` and `homeswap demo`: the long-running sidecar. Its
//! shared state, the listeners, the tasks and accept loops, the file-system
//! watcher, the audit-log reader, the admin token and the logs.

mod accept;
mod audit_tail;
pub(crate) mod demo;
mod listeners;
pub(crate) mod logging;
pub(crate) mod serve;
mod signals;
mod state;
mod tasks;
pub(crate) mod token;
pub(crate) mod watch;

pub use state::{Sidecar, Snapshot};
