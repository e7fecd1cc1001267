//! `--wrap COMMAND`: the person's own status-line command, run with
//! `sh -c` on the same stdin bytes while homeswap does its work, its
//! output printed before homeswap's line. It gets a deadline: one that
//! hangs is killed with everything it started, however it detached
//! (`tree`), and costs only its own output, never homeswap's line.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::tree::{kill_tree, Mark, MARK_VAR};

/// The most of the wrapped command's output that is kept.
pub(crate) const MAX_OUTPUT: u64 = 64 * 1024;

/// How often a finished-output command is checked for its exit.
const POLL: Duration = Duration::from_millis(2);

/// The wrapped command, running.
#[derive(Debug)]
pub(crate) struct Running {
    child: Child,
    output: Receiver<std::io::Result<Vec<u8>>>,
    command: String,
    /// What its processes carry, to find them however they detached.
    mark: Mark,
}

/// What the wrapped command printed, and what went wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Wrapped {
    /// Its standard output (at most [`MAX_OUTPUT`] bytes).
    pub(crate) stdout: Vec<u8>,
    /// Why its output is missing or it failed, for stderr.
    pub(crate) problem: Option<String>,
}

/// Starts `sh -c command` in its own process group, feeding it `input`.
pub(crate) fn start(command: &str, input: &[u8]) -> Result<Running, String> {
    // Every process it starts inherits the mark, so the kill finds it.
    let mark = Mark::new();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .env(MARK_VAR, &mark.value)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run the wrapped command {command:?}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // A command that never reads its stdin must not block homeswap.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut stdout = stdout;
            let result = (&mut stdout)
                .take(MAX_OUTPUT)
                .read_to_end(&mut buf)
                // The rest is read and dropped, so the command is not
                // blocked writing it.
                .and_then(|_| std::io::copy(&mut stdout, &mut std::io::sink()))
                .map(|_| buf);
            let _ = tx.send(result);
        });
    }
    Ok(Running {
        child,
        output: rx,
        command: command.to_string(),
        mark,
    })
}

impl Running {
    /// Waits for the output and the exit until `deadline`; a command still
    /// running then is killed with its process group.
    pub(crate) fn finish(mut self, deadline: Instant) -> Wrapped {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut out = match self.output.recv_timeout(left) {
            Ok(Ok(stdout)) => Wrapped {
                stdout,
                problem: None,
            },
            Ok(Err(e)) => Wrapped {
                stdout: Vec::new(),
                problem: Some(format!("reading its output: {e}")),
            },
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                return Wrapped {
                    stdout: Vec::new(),
                    problem: Some(format!(
                        "the wrapped command {:?} did not finish in time; killed",
                        self.command
                    )),
                };
            }
            Err(RecvTimeoutError::Disconnected) => Wrapped::default(),
        };
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return out,
                Ok(Some(status)) => {
                    out.problem = Some(format!(
                        "the wrapped command {:?} failed: {status}",
                        self.command
                    ));
                    return out;
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) | Err(_) => {
                    // Its output is complete; it only lingers.
                    self.kill();
                    return out;
                }
            }
        }
    }

    fn kill(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // Everything it started, also what left its group (`setsid`).
            kill_tree(pid, &self.mark);
            // Its own group (process_group(0)), should the look have
            // missed one.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_gets_stdin_and_its_output_is_kept() {
        let r = start("tr a-z A-Z", b"hello").unwrap();
        let w = r.finish(Instant::now() + Duration::from_secs(5));
        assert_eq!(
            w,
            Wrapped {
                stdout: b"HELLO".to_vec(),
                problem: None
            }
        );
        let r = start("echo out; exit 3", b"").unwrap();
        let w = r.finish(Instant::now() + Duration::from_secs(5));
        assert_eq!(w.stdout, b"out\n");
        assert!(w.problem.unwrap().contains("failed"));
    }

    #[test]
    fn a_hanging_command_is_killed_at_the_deadline() {
        let start_at = Instant::now();
        let r = start("sleep 30", b"").unwrap();
        let w = r.finish(Instant::now() + Duration::from_millis(200));
        assert!(start_at.elapsed() < Duration::from_secs(5));
        assert!(w.problem.unwrap().contains("did not finish"));
        assert!(w.stdout.is_empty());
    }
}
