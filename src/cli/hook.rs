//! `hook`: Claude Code's hook command (placeholder until the library part lands).

use std::path::Path;

use crate::cli::exit::EXIT_OK;
use crate::cli::output::Output;

/// Reads one hook event on stdin; always 0.
pub(crate) fn hook_cmd(_config: Option<&Path>, _out: &mut Output) -> u8 {
    EXIT_OK
}
