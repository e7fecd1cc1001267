//! The operations, one library function each, shared by the CLI and the
//! HTTP API: they differ only in how a result is printed.

pub mod context;
pub mod swap;
