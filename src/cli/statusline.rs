//! `statusline`: Claude Code's status-line command. Reads one status update
//! on stdin (at most 1 MiB, within a second), starts the wrapped command
//! (`--wrap`) on the same bytes, loads the configuration and hands both to
//! the library (`ops::statusline`), then prints the wrapped command's
//! output and homeswap's line. Whatever happens it prints a line and exits
//! 0 within 2 s: a status line must never break or stall Claude Code.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::args::StatuslineArgs;
use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::config;
use crate::fs::pathfmt::one_line;
use crate::http::AdminSocket;
use crate::ops::statusline::{self, wrap, MAX_INPUT};

/// The whole call's budget: under the contract's 2 s, with room to exit.
const BUDGET: Duration = Duration::from_millis(1800);

/// How long stdin may take to deliver the status and close.
const STDIN_WAIT: Duration = Duration::from_secs(1);

/// What the wrapped command may take: less than the budget, so that its
/// output and homeswap's line are printed in time.
const WRAP_BUDGET: Duration = Duration::from_millis(1500);

/// `homeswap [--config PATH] statusline [--wrap COMMAND]` recognized
/// without clap: building clap's whole command tree costs a status line,
/// which runs on every status update of every session, a fifth of its
/// time. Any other shape (help, an unknown option) returns `None` and goes
/// through clap as usual, which parses these shapes the same way.
pub fn fast_path(args: &[std::ffi::OsString]) -> Option<u8> {
    let (config, wrap) = fast_args(args)?;
    Some(exit::code(statusline_cmd(
        StatuslineArgs { wrap },
        config.as_deref(),
        &mut Output,
    )))
}

/// The `--config` and `--wrap` of a plain statusline command line; `None`
/// for anything else.
fn fast_args(args: &[std::ffi::OsString]) -> Option<(Option<std::path::PathBuf>, Option<String>)> {
    let mut config = None;
    let mut wrap = None;
    let mut seen_command = false;
    let mut i = 1;
    while i < args.len() {
        match args[i].to_str() {
            Some("--config") if config.is_none() => {
                config = Some(std::path::PathBuf::from(args.get(i + 1)?));
                i += 1;
            }
            Some("statusline") if !seen_command => seen_command = true,
            Some("--wrap") if seen_command && wrap.is_none() => {
                wrap = Some(args.get(i + 1)?.to_str()?.to_string());
                i += 1;
            }
            _ => return None,
        }
        i += 1;
    }
    seen_command.then_some((config, wrap))
}

/// Handles one status update; always done (exit 0).
pub(crate) fn statusline_cmd(
    args: StatuslineArgs,
    config_flag: Option<&Path>,
    out: &mut Output,
) -> Exit {
    let start = Instant::now();
    let deadline = start + BUDGET;
    let (input, stdin_problem) = match read_stdin(start + STDIN_WAIT) {
        Ok(bytes) => (bytes, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let wrapped = args.wrap.as_deref().map(|c| wrap::start(c, &input));
    let result = match stdin_problem {
        Some(why) => statusline::Statusline {
            line: "homeswap: no status".into(),
            notes: vec![format!("homeswap statusline: {why}")],
        },
        None => match config::find_and_load(config_flag) {
            // A defect must not cost Claude Code its status line or exit
            // code: a panic (reported on stderr by the panic hook) still
            // prints a line and exits 0.
            Ok(config) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                statusline::handle(&config, &AdminSocket, &input, deadline)
            }))
            .unwrap_or_else(|_| statusline::Statusline {
                line: "homeswap: internal error".into(),
                notes: Vec::new(),
            }),
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
                out.err(one_line(&format!("homeswap statusline: {p}")));
            }
        }
        Some(Err(why)) => out.err(one_line(&format!("homeswap statusline: {why}"))),
        None => {}
    }
    // What homeswap says was partly read from elsewhere (the state, a
    // sidecar's answer): never a control character from it. The wrapped
    // command's output above is the person's own, colours and all.
    for n in result.notes {
        out.err(one_line(&n));
    }
    out.line(one_line(&result.line));
    Ok(())
}

/// Stdin until it closes, at most [`MAX_INPUT`] bytes, by `deadline`: each
/// read waits in `poll`, so a writer that never closes it cannot stall the
/// status line (no thread: a thread costs a status line a tenth of its
/// time).
fn read_stdin(deadline: Instant) -> Result<Vec<u8>, String> {
    use nix::errno::Errno;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        if ms == 0 {
            return Err(format!(
                "no complete status on stdin within {}s",
                STDIN_WAIT.as_secs()
            ));
        }
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            // Nothing to read yet: a blocking read now could stall.
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(format!("cannot read stdin: {e}")),
        }
        match nix::unistd::read(fd, &mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() as u64 > MAX_INPUT {
                    return Err(format!(
                        "the status on stdin is over {} MiB",
                        MAX_INPUT >> 20
                    ));
                }
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(e) => return Err(format!("cannot read stdin: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn args(a: &[&str]) -> Vec<OsString> {
        std::iter::once("homeswap")
            .chain(a.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn only_plain_statusline_command_lines_skip_clap() {
        assert_eq!(fast_args(&args(&["statusline"])), Some((None, None)));
        assert_eq!(
            fast_args(&args(&[
                "--config",
                "/c.yaml",
                "statusline",
                "--wrap",
                "x y"
            ])),
            Some((Some("/c.yaml".into()), Some("x y".into())))
        );
        for other in [
            &["statusline", "--help"][..],
            &["--help"],
            &["hook"],
            &["status"],
            &["statusline", "statusline"],
            &["--config"],
            &["statusline", "--wrap"],
            &["--config=/c.yaml", "statusline"],
            &["--wrap", "x", "statusline"],
            &["statusline", "--bogus"],
            &[],
        ] {
            assert_eq!(fast_args(&args(other)), None, "{other:?}");
        }
    }
}
