//! HTTP: the routes of the two kinds of listener, and the one place where
//! errors become HTTP answers.
//!
//! The read-only listener (what Prometheus, probes and people reach)
//! serves the status page `GET /`, `/metrics`, `/healthz`, `/readyz` and
//! `GET /api/v1/status` and never
//! anything that changes state ([`read_only`]). The admin listeners
//! authenticate every request first, then serve the mutating API
//! ([`admin`]). Every error answer, whatever produced it, is written by
//! [`errors`] in one shape.
//!
//! The server side: `serve` (`server`) runs an accept loop per bound
//! listener (`accept`); each request goes to the routes of the listener it
//! came in through (`route`). The sidecar is reached only through its
//! narrow interface, `sidecar::Api`.
//!
//! The client side: the hook and the status line ask a running sidecar
//! over its admin socket (`client`), with the same body types (`body`).

mod accept;
mod admin;
mod body;
mod client;
mod errors;
mod page;
mod read_only;
mod response;
mod route;
mod server;

pub use body::{parse_body, ClearRequest, SwapRequest};
pub(crate) use client::AdminSocket;
pub(crate) use server::serve;
