//! `statusline`: Claude Code's status-line command. Reads one status update
//! on stdin (at most 1 MiB, within a second), starts the wrapped command
//! (`--wrap`) on the same bytes, loads the configuration and hands both to
//! the library (`ops::statusline`), then prints the wrapped command's
//! output and homeswap's line. Whatever happens it prints a line and exits
//! 0 within 2 s: a status line must never break or stall Claude Code.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::args::StatuslineArgs;
use crate::cli::exit::EXIT_OK;
use crate::cli::hook::read_stdin;
use crate::cli::output::Output;
use crate::config::{self, Config};
use crate::ops::statusline::{self, wrap};

/// The whole call's budget: under the contract's 2 s, with room to exit.
const BUDGET: Duration = Duration::from_millis(1800);

/// What the wrapped command may take: less than the budget, so that its
/// output and homeswap's line are printed in time.
const WRAP_BUDGET: Duration = Duration::from_millis(1500);

/// Handles one status update; always 0.
pub(crate) fn statusline_cmd(
    args: StatuslineArgs,
    config_flag: Option<&Path>,
    out: &mut Output,
) -> u8 {
    let start = Instant::now();
    let deadline = start + BUDGET;
    let (input, stdin_problem) = match read_stdin() {
        Ok(bytes) => (bytes, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let wrapped = args.wrap.as_deref().map(|c| wrap::start(c, &input));
    let result = match stdin_problem {
        Some(why) => statusline::Statusline {
            line: "homeswap: no status".into(),
            notes: vec![format!("homeswap statusline: {why}")],
        },
        None => match config::locate(config_flag).and_then(|p| Config::load(&p)) {
            Ok(config) => statusline::handle(&config, &input, deadline),
            Err(e) => statusline::Statusline {
                line: "homeswap: configuration error".into(),
                notes: vec![format!("homeswap statusline: {e}")],
            },
        },
    };
    match wrapped {
        Some(Ok(running)) => {
            let w = running.finish(start + WRAP_BUDGET);
            if !w.stdout.is_empty() {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(&w.stdout);
                if !w.stdout.ends_with(b"\n") {
                    let _ = stdout.write_all(b"\n");
                }
            }
            if let Some(p) = w.problem {
                out.err(format!("homeswap statusline: {p}"));
            }
        }
        Some(Err(why)) => out.err(format!("homeswap statusline: {why}")),
        None => {}
    }
    for n in result.notes {
        out.err(n);
    }
    out.line(result.line);
    EXIT_OK
}
