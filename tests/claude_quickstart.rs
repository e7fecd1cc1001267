//! The README's quick start, run literally, and then the real Claude Code.
//!
//! The fenced block under "## Quick start" runs in `bash` with a temporary
//! `HOME` that holds a `~/.claude` as a user has it (logged in as `a`, a
//! conversation, a prompt history), the built `homeswap` on `PATH`, and
//! the login line (`CLAUDE_CONFIG_DIR=~/.claude-b claude`) replaced by
//! writing the credential the login would write. Then, on the active link:
//! a prompt goes out on `a`; `a` is at its limit at the stand-in; the hook
//! `setup claude-code` installed fails over to `b`; the next prompt, in the
//! same conversation, goes out on `b`.
//!
//! `#[ignore]`d like the other Claude Code suites (root and the client);
//! `.ci/run` runs it with the others.

mod claude;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use claude::hooks::{report, reset_in_two_hours, LIMIT_MESSAGE};
use claude::standin::{token_of, StandIn};
use common::{finish_within, Run};

/// The README's quick-start block, its lines as written.
fn quick_start() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Quick start\n")
        .nth(1)
        .expect("README.md has a section 'Quick start'");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the quick start is a ```sh block");
    block.lines().map(str::to_string).collect()
}

/// What a logged-in Claude Code home holds for `account`.
fn log_in(home: &Path, work: &Path, account: &str) {
    let creds = serde_json::json!({"claudeAiOauth": {
        "accessToken": token_of(account), "refreshToken": format!("refresh-{account}"),
        "expiresAt": 4_102_444_800_000_u64,
        "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
        "subscriptionType": "max"}});
    std::fs::write(home.join(".credentials.json"), creds.to_string()).unwrap();
    let state = serde_json::json!({"hasCompletedOnboarding": true,
        "projects": {work.to_str().unwrap(): {"hasTrustDialogAccepted": true}}});
    std::fs::write(home.join(".claude.json"), state.to_string()).unwrap();
}

struct User {
    _dir: tempfile::TempDir,
    home: PathBuf,
    work: PathBuf,
    api: StandIn,
    path: std::ffi::OsString,
}

impl User {
    /// A user whose `~/.claude` was used with Claude Code on account `a`.
    fn new() -> User {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("u");
        let work = dir.path().join("work");
        std::fs::create_dir_all(home.join(".claude")).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_homeswap")).parent().unwrap();
        let path = std::env::join_paths(
            std::iter::once(bin_dir.to_path_buf())
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        let user = User {
            _dir: dir,
            home,
            work,
            api: StandIn::start(),
            path,
        };
        // Claude Code without CLAUDE_CONFIG_DIR keeps `.claude.json` in $HOME.
        log_in(&user.home.join(".claude"), &user.work, "a");
        std::fs::rename(
            user.home.join(".claude/.claude.json"),
            user.home.join(".claude.json"),
        )
        .unwrap();
        user
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.home.display().to_string()),
            ("PATH", self.path.to_string_lossy().into_owned()),
            ("ANTHROPIC_BASE_URL", self.api.base_url()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
            ("DISABLE_AUTOUPDATER", "1".into()),
            ("TERM", "xterm-256color".into()),
        ]
    }

    /// Runs the quick start in bash, the login line replaced; returns the
    /// script's output.
    fn run_quick_start(&self) -> Run {
        let lines = quick_start();
        let login = lines
            .iter()
            .position(|l| l.starts_with("CLAUDE_CONFIG_DIR=") && l.contains(" claude"))
            .expect("the quick start logs in with CLAUDE_CONFIG_DIR=... claude");
        let mut script = String::from("set -euo pipefail\n");
        for (i, line) in lines.iter().enumerate() {
            if i == login {
                script.push_str("log_in_as_b\n");
            } else {
                script.push_str(line);
                script.push('\n');
            }
        }
        let log_in_b = format!(
            "log_in_as_b() {{ cp {q} ~/.claude-b/.credentials.json && cp {s} ~/.claude-b/.claude.json; }}\n",
            q = self.prepared("b", ".credentials.json").display(),
            s = self.prepared("b", ".claude.json").display(),
        );
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(log_in_b + &script)
            .current_dir(&self.work)
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        finish_within(
            c.spawn().unwrap(),
            Duration::from_secs(60),
            "the quick start",
        )
    }

    /// A file of a logged-in home of `account`, written aside.
    fn prepared(&self, account: &str, name: &str) -> PathBuf {
        let dir = self._dir.path().join(format!("login-{account}"));
        if !dir.exists() {
            std::fs::create_dir(&dir).unwrap();
            log_in(&dir, &self.work, account);
        }
        dir.join(name)
    }

    fn claude(&self, args: &[&str]) -> Run {
        let mut c = Command::new(claude::claude_bin().unwrap());
        c.args(args)
            .current_dir(&self.work)
            .env_clear()
            .envs(self.env())
            .env("CLAUDE_CONFIG_DIR", self.home.join(".claude"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        finish_within(
            c.spawn().unwrap(),
            claude::TURN_LIMIT,
            &format!("claude {args:?}"),
        )
    }

    fn homeswap(&self, args: &[&str]) -> Run {
        let mut c = Command::new(env!("CARGO_BIN_EXE_homeswap"));
        c.args(args).env_clear().envs(self.env());
        Run::from(c.output().unwrap())
    }

    fn active(&self) -> String {
        let r = self.homeswap(&["status", "--json"]);
        assert_eq!(r.code, 0, "{r:?}");
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        doc["active"].as_str().unwrap_or("").to_string()
    }
}

#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn the_readmes_quick_start_fails_over_a_real_claude_code() {
    if !claude::isolated("the_readmes_quick_start_fails_over_a_real_claude_code") {
        return;
    }
    let user = User::new();
    let r = user.run_quick_start();
    assert_eq!(r.code, 0, "the quick start, as written: {r:?}");
    assert_eq!(user.active(), "a", "{r:?}");
    // b logged in later than a, as in life: a session tells a changed
    // credential by its file's modification time.
    let b = user.home.join(".claude-b/.credentials.json");
    let f = std::fs::File::options().write(true).open(&b).unwrap();
    f.set_modified(SystemTime::now()).unwrap();

    let first = user.claude(&["-p", "work on a"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(user.api.call_for("work on a").account.as_deref(), Some("a"));

    user.api.limit("a", reset_in_two_hours());
    // Claude Code 2.1.328's -p sends its StopFailure hook SIGTERM as it
    // exits; a hook killed before it did anything is a turn lost, so the
    // user's next turn at the limit runs it again (three at most).
    let mut turns = 0;
    while user.active() != "b" {
        turns += 1;
        assert!(turns <= 3, "three turns at a's limit and no failover to b");
        let r = user.claude(&["--continue", "-p", "more on a"]);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stdout.contains(LIMIT_MESSAGE), "{r:?}");
        // The hook runs as claude exits: give it its 1.5 s budget and more.
        let start = std::time::Instant::now();
        while user.active() != "b" && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let next = user.claude(&["--continue", "-p", "carry on on b"]);
    assert_eq!(next.code, 0, "{next:?}");
    let call = user.api.call_for("carry on on b");
    assert_eq!(call.account.as_deref(), Some("b"));
    assert!(
        call.prompts.iter().any(|p| p == "work on a"),
        "the same conversation goes on on b: {:?}",
        call.prompts
    );
    report(&format!(
        "the README's quick start: a prompt on a, a at its limit, the hook moved to b after {turns} turn(s), the conversation went on on b"
    ));
}
