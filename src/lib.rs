//! homeswap: keeps the shared links of several Claude Code account homes
//! consistent and fails over between accounts atomically.
//!
//! Layers, top to bottom. A module imports only from the layers below
//! its own (the two of one level not from each other), and no files import
//! each other in a circle; `tests/layers.rs` fails when either happens.
//! - `cli`: arguments, output, exit codes (one `match` on the class of
//!   what failed), one file per command group; it wires the sidecar to the
//!   HTTP routes for `serve` and `demo`, and the admin socket's client to
//!   the hook and the status line (`main.rs` parses the arguments and
//!   calls it).
//! - `http`: the sidecar's listeners served: accept loops, the
//!   read-only and admin routes, the status page, error statuses (one
//!   `match` on the class); it sees the sidecar only through
//!   `sidecar::Api`. And the client of the admin socket.
//! - `sidecar`: `homeswap serve` without HTTP: shared state, the
//!   validation loop, the watcher, signals, the bound listeners, the
//!   fleet view's refreshes from Prometheus.
//! - `metrics`: the Prometheus metrics, fed by the sidecar.
//! - `ops`: one function per operation (validate, ensure, swap, latch
//!   clear, failover, adopt, init, limits, status, usage, hook, statusline,
//!   the demo's sandbox), shared by the CLI and the HTTP API; those that
//!   change state run in one skeleton (latch, lock, one typed audit
//!   record), and every error has one class.
//! - `links`: checking and ensuring one home's links; `state`: the
//!   state directory (latch, intent, limits, usage, the fleet view,
//!   sessions, audit log, locks).
//! - `config`: the configuration, with the link specification (`shared`,
//!   `private`, names).
//! - `fs`: crash-safe file-system primitives.
//!
//! Every module and item is `pub(crate)`; the `pub use` list below is all
//! that code outside the crate names (the binary, the tests, the benches,
//! the fuzz targets). The types a public item's signature carries are
//! `pub` too, and unnamed from outside.

#![deny(unsafe_code)]

mod cli;
mod config;
#[cfg(feature = "failpoints")]
pub mod failpoints;
mod fs;
mod http;
mod links;
mod metrics;
mod ops;
mod sidecar;
mod state;

// Everything else is `pub(crate)`. What code outside the crate names:
// the binary (`src/main.rs`)...
pub use cli::{run, statusline_fast_path, Cli};
// ...and the tests, benches and fuzz targets.
pub use config::{
    is_valid_account_name, Config, ConfigError, Private, ServeConfig, SharedLinks,
    RECOMMENDED_DIRS, RECOMMENDED_FILES, RECOMMENDED_THRESHOLD,
};
pub use fs::atomic::replace_symlink;
pub use fs::temp::{is_temp, is_temp_of, temp_name};
pub use fs::{DirFd, EntryKind};
pub use http::{parse_body, ClearRequest, SwapRequest};
pub use links::validate::validate_all;
pub use links::{check_account, ensure_account, LinkState};
pub use metrics::Metrics;
pub use ops::adopt::merge;
pub use ops::adopt::{adopt, AdoptError, AdoptRequest};
pub use ops::context::Context;
pub use ops::failover::choice as failover_choice;
pub use ops::swap::{swap, SwapError};
pub use sidecar::Sidecar;
