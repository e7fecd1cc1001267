//! `hook`: Claude Code's hook command. Reads one event on stdin (at most
//! 1 MiB, within a second), loads the configuration and hands both to the
//! library (`ops::hook`), with the admin socket's client for a sidecar.
//! Whatever happens it exits 0 within 2 s and writes only to stderr (Claude
//! Code reads a hook's stdout), each line with its control characters
//! escaped: much of what it says was read from elsewhere.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cli::exit::Exit;
use crate::cli::output::Output;
use crate::config;
use crate::fs::pathfmt::one_line;
use crate::http::AdminSocket;
use crate::ops::hook::{self, MAX_EVENT};

/// The whole hook's budget: under Claude Code's patience and the
/// contract's 2 s, with room to exit.
const BUDGET: Duration = Duration::from_millis(1800);

/// How long stdin may take to deliver the event and close.
const STDIN_WAIT: Duration = Duration::from_secs(1);

/// Handles one hook event; always done (exit 0).
pub(crate) fn hook_cmd(config_flag: Option<&Path>, out: &mut Output) -> Exit {
    let deadline = Instant::now() + BUDGET;
    shield_from_sigterm();
    let input = match read_stdin() {
        Ok(bytes) => bytes,
        Err(why) => {
            out.err(one_line(&format!("homeswap hook: {why}; ignored")));
            return Ok(());
        }
    };
    let loaded = config::find_and_load(config_flag);
    match loaded {
        Ok(config) => {
            for line in hook::handle(config, &AdminSocket, &input, deadline) {
                out.err(one_line(&line));
            }
        }
        Err(e) => out.err(one_line(&format!(
            "homeswap hook: {e}; the event was not handled"
        ))),
    }
    Ok(())
}

/// Blocks SIGTERM for the rest of the process (threads started later
/// inherit the mask; a pending SIGTERM is dropped at exit). `claude -p`
/// sends its `StopFailure` hook SIGTERM some 20-40 ms after starting it,
/// as it exits (Claude Code 2.1.328, tests/claude_failover.rs), and kills
/// it about 1.5 s later: the failover must not die half done. Blocking
/// needs no signal handler, so no unsafe code.
fn shield_from_sigterm() {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGTERM);
    if let Err(e) = set.thread_block() {
        tracing::debug!(error = %e, "cannot block SIGTERM");
    }
}

/// Stdin, read on a thread so that a writer that never closes it cannot
/// stall the hook; the thread dies with the process.
fn read_stdin() -> Result<Vec<u8>, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let result = std::io::stdin()
            .lock()
            .take(MAX_EVENT + 1)
            .read_to_end(&mut buf)
            .map(|_| buf);
        let _ = tx.send(result);
    });
    match rx.recv_timeout(STDIN_WAIT) {
        Ok(Ok(buf)) if buf.len() as u64 > MAX_EVENT => Err(format!(
            "the event on stdin is over {} MiB",
            MAX_EVENT >> 20
        )),
        Ok(Ok(buf)) => Ok(buf),
        Ok(Err(e)) => Err(format!("cannot read stdin: {e}")),
        Err(_) => Err(format!(
            "no complete event on stdin within {}s",
            STDIN_WAIT.as_secs()
        )),
    }
}
