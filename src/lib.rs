//! homeswap: keeps the shared links of several Claude Code account homes
//! consistent and fails over between accounts atomically.
//!
//! Layers, top to bottom (arrows point one way):
//! - [`cli`]: arguments, output, exit codes; [`demo`].
//! - [`serve`], [`http`], [`sidecar`], [`watch`], [`metrics`], [`token`],
//!   [`logging`]: the sidecar.
//! - [`swap`]: the flip / ensure / rollback core, recovery and latch clear;
//!   [`adopt`]: moving real directories into the shared targets.
//! - [`validate`], [`links`], [`active`]: checking and repairing links.
//! - [`latch`], [`intent`], [`audit`], [`lock`], [`state`]: the state directory.
//! - [`atomic`], [`fserror`]: crash-safe file-system primitives.

pub mod active;
pub mod adopt;
pub mod atomic;
pub mod audit;
pub mod cli;
pub mod config;
pub mod context;
pub mod demo;
pub mod fserror;
pub mod http;
pub mod intent;
pub mod latch;
pub mod links;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod pathfmt;
pub mod serve;
pub mod shared;
pub mod sidecar;
pub mod state;
pub mod swap;
pub mod token;
pub mod validate;
pub mod watch;
