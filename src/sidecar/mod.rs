//! `homeswap serve`: the long-running sidecar. Its shared state, the
//! narrow interface the HTTP routes see it through (`Api`), the
//! listeners, the tasks, the file-system watcher, the audit-log reader, the
//! admin token and the logs. It knows nothing of HTTP: the CLI hands it
//! the server to run.

mod api;
mod audit_tail;
mod fleet;
mod listeners;
pub(crate) mod logging;
pub(crate) mod serve;
mod signals;
mod state;
mod tasks;
pub(crate) mod token;
pub(crate) mod watch;

pub(crate) use api::Api;
pub(crate) use listeners::{bind_tcp, Listeners, ServeError};
pub use state::Sidecar;
