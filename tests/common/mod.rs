//! A sandbox of real account homes in a temporary directory, and a way to
//! run the real `homeswap` binary on it.
#![allow(dead_code)] // each test file uses its own part of this

pub mod child;
pub mod hold;
pub mod mount;
pub mod other_fs;
pub mod rng;
pub mod server;
pub mod tool;

pub use child::finish_within;

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const LINKS: [&str; 3] = ["session-env", "file-history", "projects"];

/// Every state a link can be in, as the JSON, the metrics and the page
/// name them.
pub const LINK_STATES: [&str; 7] = [
    "ok",
    "missing",
    "target_missing",
    "divergent",
    "not_a_link",
    "home_missing",
    "error",
];

/// The admin token of every sidecar a test starts (`add_serve_section`).
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// Two account homes `a` and `b` (created, empty), a shared dir, an active
/// link path and a state dir, with a config file naming them.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let s = Sandbox {
            config: dir.path().join("homeswap.yaml"),
            dir,
        };
        std::fs::create_dir(s.home("a")).unwrap();
        std::fs::create_dir(s.home("b")).unwrap();
        std::fs::write(
            &s.config,
            format!(
                "accounts:\n  a: {}\n  b: {}\nactive_link: {}\nshared_dir: {}\nstate_dir: {}\n",
                s.home("a").display(),
                s.home("b").display(),
                s.active().display(),
                s.shared().display(),
                s.state().display()
            ),
        )
        .unwrap();
        s
    }

    /// A sandbox with these accounts (homes created, in the file in this
    /// order), `extra` appended to the configuration, links ensured and
    /// `a` active.
    pub fn with_accounts(accounts: &[&str], extra: &str) -> Sandbox {
        let s = Sandbox::new();
        let mut text = String::from("accounts:\n");
        for a in accounts {
            let home = s.home(a);
            if !home.exists() {
                std::fs::create_dir(&home).unwrap();
            }
            text.push_str(&format!("  {a}: {}\n", home.display()));
        }
        text.push_str(&format!(
            "active_link: {}\nshared_dir: {}\nstate_dir: {}\n{extra}",
            s.active().display(),
            s.shared().display(),
            s.state().display()
        ));
        std::fs::write(&s.config, text).unwrap();
        s.ok(&["ensure"]);
        s.ok(&["swap", "a"]);
        s
    }

    /// A sandbox whose links are all ok and whose active account is `a`.
    pub fn ready() -> Sandbox {
        let s = Sandbox::new();
        s.ok(&["ensure"]);
        s.ok(&["swap", "a"]);
        s
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    pub fn home(&self, account: &str) -> PathBuf {
        self.root().join(format!("home-{account}"))
    }
    pub fn shared(&self) -> PathBuf {
        self.root().join("shared")
    }
    pub fn active(&self) -> PathBuf {
        self.root().join("active")
    }
    pub fn state(&self) -> PathBuf {
        self.root().join("state")
    }
    pub fn link(&self, account: &str, name: &str) -> PathBuf {
        self.home(account).join(name)
    }

    /// Where the active link points now.
    pub fn active_target(&self) -> Option<PathBuf> {
        std::fs::read_link(self.active()).ok()
    }

    /// The account the active link names (its home is `home-ACCOUNT`).
    pub fn active_account(&self) -> String {
        let target = self.active_target().expect("no active link");
        let name = target.file_name().unwrap().to_str().unwrap();
        name.strip_prefix("home-").unwrap().to_string()
    }

    /// Sets `key`, a dotted path (`failover.threshold`, `accounts.c`), in
    /// the configuration file to `value`, creating the mappings on the
    /// way; every other key keeps its value and its place.
    pub fn set_config(&self, key: &str, value: impl serde::Serialize) {
        let value = serde_yaml::to_value(value).unwrap();
        self.edit_config(key, |map, last| {
            map.insert(last.into(), value);
        });
    }

    /// Removes `key`, a dotted path, from the configuration file; fails
    /// the test if it is not there.
    pub fn remove_config(&self, key: &str) {
        self.edit_config(key, |map, last| {
            assert!(map.remove(last).is_some(), "no {key} in the configuration");
        });
    }

    /// Appends `text` to the configuration file as it is: for the tests of
    /// what homeswap says about a line it refuses (its line and column).
    pub fn append_config(&self, text: &str) {
        let mut config = std::fs::read_to_string(&self.config).unwrap();
        config.push_str(text);
        std::fs::write(&self.config, config).unwrap();
    }

    fn edit_config(&self, key: &str, edit: impl FnOnce(&mut serde_yaml::Mapping, &str)) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let (path, last) = key.rsplit_once('.').map_or(("", key), |(p, l)| (p, l));
        let mut map = doc
            .as_mapping_mut()
            .expect("the configuration is a mapping");
        for part in path.split('.').filter(|p| !p.is_empty()) {
            map = map
                .entry(part.into())
                .or_insert_with(|| serde_yaml::Mapping::new().into())
                .as_mapping_mut()
                .unwrap_or_else(|| panic!("{part} in {key} is not a mapping"));
        }
        edit(map, last);
        std::fs::write(&self.config, serde_yaml::to_string(&doc).unwrap()).unwrap();
    }

    pub fn command(&self, args: &[&str], failpoints: Option<&str>) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_homeswap"));
        c.arg("--config").arg(&self.config).args(args);
        c.env_remove("HOMESWAP_CONFIG").env_remove("FAILPOINTS");
        if let Some(f) = failpoints {
            c.env("FAILPOINTS", f);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args, None).output().unwrap())
    }

    pub fn run_with(&self, args: &[&str], failpoints: &str) -> Run {
        Run::from(self.command(args, Some(failpoints)).output().unwrap())
    }

    pub fn spawn(&self, args: &[&str], failpoints: Option<&str>) -> Child {
        self.command(args, failpoints)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs `homeswap ARGS` with `input` on stdin, written from a thread
    /// (the command may stop reading early, as on a huge input); the run
    /// and how long it took.
    pub fn run_stdin(
        &self,
        args: &[&str],
        input: &[u8],
        failpoints: Option<&str>,
    ) -> (Run, Duration) {
        use std::io::Write;
        let start = Instant::now();
        let mut child = self
            .command(args, failpoints)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        let took = start.elapsed();
        writer.join().unwrap();
        (Run::from(out), took)
    }

    /// Moves every flip of the active link homeswap noted (its flip
    /// history, `flips.json`, and the link's own mtime) `by` into the
    /// past, as if the swaps so far had been made that long ago: a request
    /// sent now is then clear of them (homeswap cannot tell the account of
    /// one sent within a second of a flip). Returns the sandbox.
    pub fn age_flips(&self, by: Duration) -> &Sandbox {
        let path = self.state().join("flips.json");
        let by = u64::try_from(by.as_nanos()).unwrap();
        let mut doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut last = None;
        for f in doc["flips"].as_array_mut().unwrap() {
            for key in ["at_ns", "from_since_ns"] {
                if let Some(t) = f[key].as_u64() {
                    f[key] = (t - by).into();
                }
            }
            last = f["at_ns"].as_u64();
        }
        std::fs::write(&path, doc.to_string()).unwrap();
        let at = last.expect("a flip was noted");
        let ts =
            nix::sys::time::TimeSpec::new((at / 1_000_000_000) as i64, (at % 1_000_000_000) as i64);
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &self.active(),
            &ts,
            &ts,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
        self
    }

    /// Where Claude Code keeps session `session`'s transcript, spelled
    /// through the active link as its hooks and status line are given it.
    pub fn transcript(&self, session: &str) -> PathBuf {
        self.active()
            .join("projects")
            .join("-w")
            .join(format!("{session}.jsonl"))
    }

    /// Appends to `session`'s transcript one request of prompt `prompt`
    /// sent now, as Claude Code 2.1.328 writes it: the prompt's `user`
    /// entry, the `api-request` entry stamped with the send time, then the
    /// answer (`assistant` naming the request) or, with `limited`, the
    /// synthetic rate-limit error entry. Returns the transcript's path.
    pub fn claude_request(&self, session: &str, prompt: &str, limited: bool) -> PathBuf {
        self.claude_request_sent(session, prompt, limited, std::time::SystemTime::now())
    }

    /// [`Sandbox::claude_request`] of a request sent at `sent`.
    pub fn claude_request_sent(
        &self,
        session: &str,
        prompt: &str,
        limited: bool,
        sent: std::time::SystemTime,
    ) -> PathBuf {
        use std::io::Write;
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.transcript(session);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let at = humantime::format_rfc3339_millis(sent);
        let id = format!("req-{}-{n}", std::process::id());
        let answer = if limited {
            format!(
                r#"{{"type":"assistant","timestamp":"{at}","error":"rate_limit","isApiErrorMessage":true,"message":{{"model":"<synthetic>","role":"assistant","content":[{{"type":"text","text":"You've hit your 5-hour limit"}}]}}}}"#
            )
        } else {
            format!(
                r#"{{"type":"assistant","timestamp":"{at}","requestRef":"{id}","requestId":"req_x","message":{{"role":"assistant","content":[{{"type":"text","text":"ok"}}]}}}}"#
            )
        };
        let lines = [
            format!(
                r#"{{"type":"user","promptId":"{prompt}","timestamp":"{at}","message":{{"role":"user","content":"{prompt}"}}}}"#
            ),
            format!(
                r#"{{"type":"api-request","id":"{id}","timestamp":"{at}","querySource":"sdk"}}"#
            ),
            answer,
        ];
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        path
    }

    /// Feeds `homeswap statusline` one status update as Claude Code sends
    /// it, for session `session`, after one more answered request of its
    /// (in its transcript): these percentages of the five-hour and
    /// seven-day windows, resetting in 3 hours and 4 days. Insists on exit 0.
    pub fn report_usage(&self, session: &str, five_hour: u32, seven_day: u32) -> Run {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let transcript = self.claude_request(session, "p", false);
        let status = format!(
            r#"{{"session_id":"{session}","transcript_path":"{}","rate_limits":{{"five_hour":{{"used_percentage":{five_hour},"resets_at":{}}},"seven_day":{{"used_percentage":{seven_day},"resets_at":{}}}}}}}"#,
            transcript.display(),
            now + 3 * 3600,
            now + 4 * 86_400
        );
        let (r, _) = self.run_stdin(&["statusline"], status.as_bytes(), None);
        assert_eq!(r.code, 0, "homeswap statusline: {r:?}");
        r
    }

    /// Runs and insists on exit 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "homeswap {args:?}: {r:?}");
        r
    }

    /// Each audit entry's action and outcome (`swap busy`), in order.
    pub fn audit_outcomes(&self) -> Vec<String> {
        self.audit()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["action"].as_str().unwrap(),
                    e["outcome"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// Waits until the active link was last flipped longer than `age`
    /// ago (e.g. past `failover.settle`).
    pub fn wait_active_link_older_than(&self, age: Duration) {
        let link = self.active();
        wait_for(
            "the active link to be old enough",
            age + Duration::from_secs(10),
            || {
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .modified()
                    .unwrap()
                    .elapsed()
                    .is_ok_and(|a| a > age)
            },
        );
    }

    /// The audit log's entries.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.state().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// One finished run: exit code and output.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Waits until `cond` holds, polling; panics after `limit`. Used to wait
/// for an observable event (a file appearing), never as a fixed sleep.
pub fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What an entry is, for comparing trees before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
    Other,
}

/// Every entry under `root`, by relative path, without following links.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let ft = e.file_type().unwrap();
            let entry = if ft.is_symlink() {
                Entry::Link(std::fs::read_link(&p).unwrap())
            } else if ft.is_dir() {
                stack.push(p.clone());
                Entry::Dir
            } else if ft.is_file() {
                Entry::File(std::fs::read(&p).unwrap())
            } else {
                Entry::Other
            };
            out.insert(rel, entry);
        }
    }
    out
}

pub fn make_link(target: &Path, at: &Path) {
    symlink(target, at).unwrap();
}
