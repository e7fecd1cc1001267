//! homeswap: keeps the shared links of several Claude Code account homes
//! consistent and fails over between accounts atomically.
//!
//! Layers, top to bottom (arrows point one way):
//! - [`cli`]: arguments, output, exit codes.
//! - [`sidecar`], [`http`], [`metrics`]: the long-running sidecar.
//! - [`ops`]: one function per operation (swap, latch clear, status),
//!   shared by the CLI and the HTTP API; [`adopt`].
//! - [`links`]: checking and repairing links; [`config`].
//! - [`state`]: the state directory (latch, intent, audit, lock).
//! - [`fs`]: crash-safe file-system primitives.

#![deny(unsafe_code)]

pub mod adopt;
pub mod cli;
pub mod config;
#[cfg(feature = "failpoints")]
pub mod failpoints;
pub mod fs;
pub mod http;
pub mod links;
pub mod metrics;
pub mod ops;
pub mod sidecar;
pub(crate) mod state;
