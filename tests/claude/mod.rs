//! The real Claude Code in the loop: finding the pinned client, isolating
//! each test in a private network namespace, and running `claude` on a
//! homeswap sandbox against the stand-in Messages API.
//!
//! Every test re-runs itself under `unshare --net` with loopback up, so
//! Claude Code and the stand-in share a network in which nothing but
//! 127.0.0.1 exists: no request can leave the machine.
#![allow(dead_code)] // each scenario uses its own part of this

mod answers;
pub mod files;
pub mod hooks;
pub mod probe;
pub mod standin;
pub mod tls;
pub mod tmux;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{snapshot, tool, Entry, Run, Sandbox};
use standin::{token_of, StandIn};

/// The Claude Code release the suite is pinned to (`tests/claude/install.sh`).
pub const PINNED_VERSION: &str = "2.1.328";
/// Names the suite's own environment variable for the client.
pub const BIN_VAR: &str = "HOMESWAP_CLAUDE_BIN";
/// Marks the re-run of a test inside its private network namespace.
const NETNS_VAR: &str = "HOMESWAP_E2E_NETNS";
/// Longest a single `claude -p` may take before the test fails.
pub const TURN_LIMIT: Duration = Duration::from_secs(60);

/// The Claude Code binary: `$HOMESWAP_CLAUDE_BIN`, else the native binary
/// that `tests/claude/install.sh` put under `target/claude-code/`.
pub fn claude_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(BIN_VAR) {
        return Some(PathBuf::from(p));
    }
    let scope =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/claude-code/node_modules/@anthropic-ai");
    let arch = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x64"
    };
    ["", "-musl"]
        .iter()
        .map(|libc| scope.join(format!("claude-code-linux-{arch}{libc}/claude")))
        .find(|p| p.is_file())
}

/// Writes to the process's stderr itself: libtest captures `eprintln!`,
/// and the client's version must show in every run's log.
fn loud(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Runs the calling test `name` inside a private network namespace.
/// Returns true in the re-run (inside), where the test does its work;
/// false in the outer run, after the inner run passed, where the test
/// must return at once. Without the client, root, unshare or ip the test
/// fails, saying how to get them (`common::tool`'s policy).
pub fn isolated(name: &str) -> bool {
    isolated_with(name, &[])
}

/// [`isolated`] for a test that also drives tmux.
pub fn isolated_interactive(name: &str) -> bool {
    isolated_with(name, &["tmux"])
}

/// Whether `sh -c SCRIPT` succeeds (output discarded).
fn succeeds(script: &str) -> bool {
    Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// [`isolated`] in a private mount namespace too, whose `/etc/hosts`
/// (a private file bind-mounted over it) names 127.0.0.1 for `names`: a
/// stand-in of an HTTPS endpoint ([`tls::TokenEndpoint`]) is reached by
/// its real name, and nothing else resolves.
pub fn isolated_with_names(name: &str, tools: &[&str], names: &[&str]) -> bool {
    isolated_in(name, tools, names)
}

fn isolated_with(name: &str, tools: &[&str]) -> bool {
    isolated_in(name, tools, &[])
}

fn isolated_in(name: &str, tools: &[&str], names: &[&str]) -> bool {
    if std::env::var_os(NETNS_VAR).is_some() {
        assert_only_loopback();
        return true;
    }
    let install = "install the pinned client with `bash tests/claude/install.sh`";
    let Some(bin) = claude_bin() else {
        tool::missing(
            &format!("Claude Code is not installed (${BIN_VAR} unset, nothing under target/claude-code/)"),
            install,
        );
    };
    if !bin.is_file() {
        tool::missing(
            &format!("{BIN_VAR}={} is not a file", bin.display()),
            install,
        );
    }
    tool::require_root("a private network namespace");
    tool::require("unshare", "apt-get install -y util-linux");
    tool::require("ip", "apt-get install -y iproute2");
    assert!(
        succeeds("unshare --net -- ip link set lo up"),
        "`unshare --net -- ip link set lo up` failed: no private network namespace here"
    );
    for t in tools {
        tool::require(t, &format!("apt-get install -y {t}"));
    }
    let start = Instant::now();
    // The private hosts file lives as long as the run; unshare's --mount
    // makes mounts private, so the bind never shows outside.
    let hosts = tempfile::NamedTempFile::new().unwrap();
    let mut unshare = vec!["--net"];
    let mut script = String::from("ip link set lo up && ");
    if !names.is_empty() {
        let mut text = String::from("127.0.0.1 localhost\n::1 localhost\n");
        for n in names {
            text.push_str(&format!("127.0.0.1 {n}\n"));
        }
        std::fs::write(hosts.path(), text).unwrap();
        unshare.push("--mount");
        script.push_str(&format!(
            "mount --bind '{}' /etc/hosts && ",
            hosts.path().display()
        ));
    }
    script.push_str("exec \"$0\" \"$@\"");
    let out = Command::new("unshare")
        .args(&unshare)
        .args(["--", "sh", "-c", &script])
        .arg(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(NETNS_VAR, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Through print!, so libtest shows it for a failed test or with
    // --nocapture; indented, so no line is taken for a test summary.
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
    {
        println!("  [netns] {line}");
        if line.starts_with("claude_e2e: observed:") {
            loud(line);
        }
    }
    assert!(
        out.status.success(),
        "{name} failed inside its network namespace: {:?}",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 passed"),
        "{name}: the re-run inside the namespace ran no test"
    );
    loud(&format!(
        "claude_e2e: {name}: passed with Claude Code {} in {:.1?}",
        client_version(&bin),
        start.elapsed()
    ));
    false
}

/// Inside the namespace: the only network interface is loopback.
fn assert_only_loopback() {
    let dev = std::fs::read_to_string("/proc/net/dev").unwrap();
    let ifaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "not in a private network namespace");
}

/// `claude --version`'s first word.
pub fn client_version(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string()
}

/// A homeswap sandbox with Claude Code and the stand-in around it.
pub struct Rig {
    pub sb: Sandbox,
    pub api: StandIn,
    pub bin: PathBuf,
    /// The project directory Claude Code runs in.
    pub work: PathBuf,
    /// The temporary `HOME`.
    pub user_home: PathBuf,
}

impl Rig {
    /// Gives each home of `sb` its own credentials (token-ACCOUNT) and a
    /// `.claude.json` with onboarding done and the project trusted.
    pub fn new(sb: Sandbox) -> Rig {
        let work = sb.root().join("work");
        let user_home = sb.root().join("user-home");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&user_home).unwrap();
        let rig = Rig {
            api: StandIn::start(),
            bin: claude_bin().expect("checked before the re-run"),
            sb,
            work,
            user_home,
        };
        // Each account logged in at its own time, as in real life: Claude
        // Code tells a changed credential by its file's mtime, so two
        // files written within one kernel tick would look the same to it.
        let now = SystemTime::now();
        for (account, hours_ago) in [("a", 2), ("b", 1)] {
            rig.seed_home(&rig.sb.home(account), account);
            rig.set_credentials_mtime(account, now - Duration::from_secs(hours_ago * 3600));
        }
        rig
    }

    /// Sets the mtime of `account`'s `.credentials.json`.
    pub fn set_credentials_mtime(&self, account: &str, when: SystemTime) {
        let path = self.sb.home(account).join(".credentials.json");
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(when).unwrap();
    }

    /// Writes what Claude Code needs in one account home.
    pub fn seed_home(&self, home: &Path, account: &str) {
        let creds = serde_json::json!({"claudeAiOauth": {
            "accessToken": token_of(account), "refreshToken": format!("refresh-{account}"),
            "expiresAt": 4_102_444_800_000_u64,
            "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
            "subscriptionType": "max"}});
        std::fs::write(home.join(".credentials.json"), creds.to_string()).unwrap();
        let state = serde_json::json!({"hasCompletedOnboarding": true,
            "projects": {self.work.to_str().unwrap(): {"hasTrustDialogAccepted": true}}});
        std::fs::write(home.join(".claude.json"), state.to_string()).unwrap();
    }

    /// The environment Claude Code runs with, on `config_dir`.
    pub fn env(&self, config_dir: &Path) -> Vec<(String, String)> {
        [
            ("HOME", self.user_home.to_str().unwrap()),
            ("CLAUDE_CONFIG_DIR", config_dir.to_str().unwrap()),
            ("ANTHROPIC_BASE_URL", &self.api.base_url()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
            // -p mode records file-history only when asked (the SDK's switch).
            ("CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING", "true"),
            ("TERM", "xterm-256color"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Runs `claude ARGS` on the active link, as a user of homeswap does.
    pub fn claude(&self, args: &[&str]) -> Run {
        self.claude_on(&self.sb.active(), args)
    }

    /// Runs `claude ARGS` with `CLAUDE_CONFIG_DIR=config_dir`; fails the
    /// test when it takes longer than [`TURN_LIMIT`].
    pub fn claude_on(&self, config_dir: &Path, args: &[&str]) -> Run {
        self.claude_with_env(config_dir, &[], args)
    }

    /// [`Rig::claude_on`] with `extra` added to the environment (which
    /// the client's hooks inherit).
    pub fn claude_with_env(&self, config_dir: &Path, extra: &[(&str, &str)], args: &[&str]) -> Run {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env(config_dir))
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::common::finish_within(c.spawn().unwrap(), TURN_LIMIT, &format!("claude {args:?}"))
    }

    /// `claude ARGS` that must exit 0.
    pub fn claude_ok(&self, args: &[&str]) -> Run {
        let r = self.claude(args);
        assert_eq!(r.code, 0, "claude {args:?}: {r:?}");
        r
    }

    /// Starts an interactive Claude Code on `config_dir` under tmux (its
    /// server on `socket`) and waits for its prompt.
    pub fn interactive_on(&self, config_dir: &Path, socket: &Path) -> tmux::Tmux {
        self.start_interactive(config_dir, socket, &[])
    }

    /// An interactive Claude Code on the active link, as a user of
    /// homeswap runs it, waiting at its prompt.
    pub fn interactive(&self) -> tmux::Tmux {
        self.interactive_with(&[])
    }

    /// [`Rig::interactive`] with more arguments for Claude Code.
    pub fn interactive_with(&self, extra: &[&str]) -> tmux::Tmux {
        let socket = self.sb.root().join("tmux.sock");
        self.start_interactive(&self.sb.active(), &socket, extra)
    }

    fn start_interactive(&self, config_dir: &Path, socket: &Path, extra: &[&str]) -> tmux::Tmux {
        let tmux = tmux::Tmux::start(
            socket,
            &self.work,
            &self.env(config_dir),
            &self.interactive_argv(extra),
        );
        tmux.wait_for("the prompt", tmux::SCREEN_LIMIT, |s| {
            s.contains("Claude Code v") && s.contains('❯')
        });
        tmux
    }

    /// The argv of an interactive session (for [`tmux::Tmux::start`]).
    pub fn interactive_argv(&self, extra: &[&str]) -> Vec<String> {
        std::iter::once(self.bin.to_str().unwrap())
            .chain(extra.iter().copied())
            .map(str::to_string)
            .collect()
    }

    /// Every transcript (`*.jsonl` under a `projects` tree) that really
    /// exists anywhere in the sandbox, by real path (links not followed).
    pub fn transcripts(&self) -> Vec<PathBuf> {
        files_named(self.sb.root(), |p| {
            p.extension().is_some_and(|e| e == "jsonl")
                && p.components().any(|c| c.as_os_str() == "projects")
        })
    }

    /// The real directories that sit where a shared link belongs.
    pub fn forked_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for account in ["a", "b"] {
            for name in crate::common::LINKS {
                let p = self.sb.link(account, name);
                if std::fs::symlink_metadata(&p).is_ok_and(|m| !m.file_type().is_symlink()) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The session id of a transcript (its file stem).
    pub fn session_of(transcript: &Path) -> String {
        transcript
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    }
}

/// Real files (not links) under `root` whose path relative to it matches.
pub fn files_named(root: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let tree: BTreeMap<PathBuf, Entry> = snapshot(root);
    tree.into_iter()
        .filter(|(p, e)| matches!(e, Entry::File(_)) && keep(p))
        .map(|(p, _)| root.join(p))
        .collect()
}
