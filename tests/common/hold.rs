//! Failpoints that hold a homeswap process until the test lets it go
//! (`NAME=hold(PATH)`, src/failpoints.rs): the way a test widens a race
//! between processes without a sleep it hopes to land inside.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::server::{Response, Server};
use super::{finish_within, wait_for, Run, Sandbox};

/// How long a process may take to reach a held failpoint.
const REACH_LIMIT: Duration = Duration::from_secs(20);

/// One hold at one failpoint: the release file a held process waits for
/// (each one lets one pass), and the marker it keeps while it is held
/// there. Dropping the hold lets a held process go on.
pub struct Hold {
    point: String,
    release: PathBuf,
}

impl Hold {
    /// A hold at failpoint `point` (e.g. `swap::after_flip`), its files in
    /// `dir` (outside any directory the test breaks or removes).
    pub fn new(dir: &Path, point: &str) -> Hold {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Hold {
            point: point.to_string(),
            release: dir.join(format!("hold-{}-{n}", point.replace("::", "-"))),
        }
    }

    /// The `FAILPOINTS` entry that arms it: `POINT=hold(PATH)`.
    pub fn failpoint(&self) -> String {
        format!("{}=hold({})", self.point, self.release.display())
    }

    /// Whether a process is held at the failpoint now.
    pub fn reached(&self) -> bool {
        let mut marker = self.release.clone().into_os_string();
        marker.push(".reached");
        Path::new(&marker).exists()
    }

    /// Waits until a process is held at the failpoint.
    pub fn wait_reached(&self) {
        wait_for(
            &format!("failpoint {} to be reached", self.point),
            REACH_LIMIT,
            || self.reached(),
        );
    }

    /// Lets the process held there go on, and waits until it has (the
    /// marker gone). The next time a process gets there, it is held again.
    pub fn release(&self) {
        if let Err(e) = std::fs::write(&self.release, b"") {
            // Only where the directory is gone, and with it the hold.
            assert!(!self.release.parent().unwrap().exists(), "release: {e}");
            return;
        }
        wait_for(
            &format!("the process held at {} to go on", self.point),
            REACH_LIMIT,
            || !self.reached(),
        );
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.release, b"");
    }
}

/// A `homeswap swap TO` stopped right after its flip: the active link
/// names TO, its intent record is on disk and it holds the state lock
/// until released (or killed).
pub struct HeldSwap {
    child: Option<Child>,
    hold: Hold,
}

impl Sandbox {
    /// A hold at failpoint `point`, its files in the sandbox's root.
    pub fn hold(&self, point: &str) -> Hold {
        Hold::new(self.root(), point)
    }

    /// Starts `homeswap swap TO` (with `failpoints` as well, if not empty)
    /// and returns once it is held after its flip.
    pub fn held_swap(&self, to: &str, failpoints: &str) -> HeldSwap {
        let hold = self.hold("swap::after_flip");
        let mut spec = hold.failpoint();
        if !failpoints.is_empty() {
            spec = format!("{failpoints};{spec}");
        }
        let mut child = self.spawn(&["swap", to], Some(&spec));
        wait_for("the swap to be held after its flip", REACH_LIMIT, || {
            hold.reached() || child.try_wait().unwrap().is_some()
        });
        if !hold.reached() {
            let out = Run::from(child.wait_with_output().unwrap());
            panic!("swap {to} ended before its flip: {out:?}");
        }
        HeldSwap {
            child: Some(child),
            hold,
        }
    }

    /// A swap to `to` killed (SIGKILL) right after its flip: its intent
    /// record is left and the active link names `to`.
    pub fn interrupted_swap(&self, to: &str) {
        self.held_swap(to, "").kill();
        assert!(self.state().join("intent.json").exists());
        assert_eq!(self.active_target(), Some(self.home(to)));
    }

    /// Waits until process `pid` has the state lock open: it is trying to
    /// take the lock (a homeswap process opens it only to lock it).
    pub fn wait_at_lock(&self, pid: u32) {
        let lock = self.state().join("lock");
        wait_for(
            &format!("process {pid} to wait for the state lock"),
            REACH_LIMIT,
            || {
                std::fs::read_dir(format!("/proc/{pid}/fd"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == lock))
            },
        );
    }
}

impl HeldSwap {
    /// The held process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Lets the swap go on and returns how it ended (within 20 s).
    pub fn release(mut self) -> Run {
        self.hold.release();
        let child = self.child.take().unwrap();
        finish_within(child, REACH_LIMIT, "the released swap")
    }

    /// Kills the held swap (SIGKILL): a crash right after the flip.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "killed by a signal");
    }
}

impl Drop for HeldSwap {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An admin swap the sidecar holds after its flip, posted from a thread
/// of the test's.
pub struct HeldRequest {
    hold: Hold,
    answer: JoinHandle<Response>,
}

impl Sandbox {
    /// Starts the sidecar (its `serve:` section already added) with its
    /// swaps held after the flip, and `failpoints` as well, if not empty;
    /// posts a swap to `to` and returns once the sidecar holds it.
    pub fn serve_with_a_held_swap(&self, to: &str, failpoints: &str) -> (Server, HeldRequest) {
        let hold = self.hold("swap::after_flip");
        let mut spec = hold.failpoint();
        if !failpoints.is_empty() {
            spec = format!("{failpoints};{spec}");
        }
        let server = self.serve(Some(&spec));
        let answer =
            server.admin_post_in_background("/api/v1/swap", &format!(r#"{{"to":"{to}"}}"#));
        hold.wait_reached();
        (server, HeldRequest { hold, answer })
    }
}

impl HeldRequest {
    /// Whether the sidecar has answered (it must not while held).
    pub fn is_answered(&self) -> bool {
        self.answer.is_finished()
    }

    /// Lets the swap go on and returns the sidecar's answer.
    pub fn release(self) -> Response {
        self.hold.release();
        self.answer.join().unwrap()
    }
}
