//! `homeswap serve` and `homeswap demo`: the long-running sidecar. Its
//! shared state, the listeners and tasks, the file-system watcher, the
//! admin token and the logs.

pub mod demo;
pub mod logging;
pub mod serve;
mod state;
pub mod token;
pub mod watch;

pub use state::{Sidecar, Snapshot};
