//! Running a child process with a deadline: a hang fails the test (and
//! the child is killed) instead of hanging the suite.

use std::io::Read;
use std::process::Child;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use super::{Run, Sandbox};

/// Waits for `child` at most `limit`; its piped output is read meanwhile
/// (so a chatty child cannot block on a full pipe). Past the deadline the
/// child is killed and the test fails with `what` and what it had written.
pub fn finish_within(mut child: Child, limit: Duration, what: &str) -> Run {
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The whole output of a child that ended; of a killed one, what comes
    // soon (its own children may keep a pipe open).
    let collect = |rx: Option<Receiver<Vec<u8>>>| {
        let bytes = rx.and_then(|rx| match status {
            Some(_) => rx.recv().ok(),
            None => rx.recv_timeout(Duration::from_secs(5)).ok(),
        });
        String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned()
    };
    let run = Run {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: collect(stdout),
        stderr: collect(stderr),
    };
    assert!(
        status.is_some(),
        "{what} did not end within {limit:?}: {run:?}"
    );
    run
}

/// Reads a pipe to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

impl Sandbox {
    /// Runs `homeswap ARGS` and fails the test if it has not ended within
    /// 10 s (a FIFO opened for reading would block forever).
    pub fn run_bounded(&self, args: &[&str]) -> Run {
        finish_within(
            self.spawn(args, None),
            Duration::from_secs(10),
            &format!("homeswap {}", args.join(" ")),
        )
    }
}
