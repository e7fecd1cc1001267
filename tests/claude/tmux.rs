//! Interactive Claude Code under tmux: type into it, read its screen, and
//! wait for what the screen shows (never a fixed sleep).
//!
//! Each session has a tmux server of its own on a private socket: a server
//! already running on the machine would otherwise run the command outside
//! the test's network namespace and with its own environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long an interactive screen may take to show what a test waits for.
pub const SCREEN_LIMIT: Duration = Duration::from_secs(60);

/// One tmux server with one session running one command.
pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts `argv` in `cwd` with exactly `env` added, in a 160×50 window.
    pub fn start(socket: &Path, cwd: &Path, env: &[(String, String)], argv: &[String]) -> Tmux {
        let t = Tmux {
            socket: socket.to_path_buf(),
        };
        let mut c = t.tmux();
        c.args([
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "160",
            "-y",
            "50",
            "-c",
        ])
        .arg(cwd);
        for (k, v) in env {
            c.arg("-e").arg(format!("{k}={v}"));
            // The server takes its global environment from the process that starts it.
            c.env(k, v);
        }
        c.arg("--").args(argv);
        let out = c.output().unwrap();
        assert!(out.status.success(), "tmux new-session: {out:?}");
        // Keep the pane when the command exits, so a crash stays readable.
        let _ = t
            .tmux()
            .args(["set-option", "-t", "e2e", "remain-on-exit", "on"])
            .output();
        t
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).stdin(Stdio::null());
        c
    }

    /// What the screen shows now (wrapped lines joined).
    pub fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-J", "-t", "e2e"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `pred` holds; panics after `limit` with the
    /// screen as it was.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the command has exited (its pane is kept, see `start`).
    pub fn exited(&self) -> bool {
        let out = self
            .tmux()
            .args(["display-message", "-p", "-t", "e2e", "#{pane_dead}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Polls until the command has exited; panics after `limit`.
    pub fn wait_exit(&self, limit: Duration) {
        let start = Instant::now();
        while !self.exited() {
            assert!(
                start.elapsed() < limit,
                "the session did not exit within {limit:?}; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Presses `keys` (tmux key names: `Escape`, `Enter`).
    pub fn press(&self, keys: &[&str]) {
        let out = self
            .tmux()
            .args(["send-keys", "-t", "e2e"])
            .args(keys)
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux send-keys {keys:?}: {out:?}");
    }

    /// Types `text` literally, then Enter.
    pub fn type_line(&self, text: &str) {
        let out = self
            .tmux()
            .args(["send-keys", "-t", "e2e", "-l", text])
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux send-keys: {out:?}");
        let out = self
            .tmux()
            .args(["send-keys", "-t", "e2e", "Enter"])
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux send-keys Enter: {out:?}");
    }
}

impl Tmux {
    /// Types `prompt` and waits until the stand-in's answer to it, and
    /// `also` (say, a status line), are on the screen.
    pub fn turn(&self, prompt: &str, also: &str) -> String {
        self.type_line(prompt);
        let answer = format!("ANSWER[{prompt}]");
        self.wait_for(&format!("{answer} and {also:?}"), SCREEN_LIMIT, |s| {
            s.contains(&answer) && s.contains(also)
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
    }
}
