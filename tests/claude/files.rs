//! Helpers for the whole-home scenarios (`tests/claude_files.rs`): the
//! shared files in a sandbox's configuration, interactive sessions on any
//! config dir, `homeswap` on a configuration of its own (init), and the
//! entries Claude Code leaves in a home.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::tmux::Tmux;
use super::Rig;
use crate::common::{Run, Sandbox};

pub use super::tmux::SCREEN_LIMIT;

/// The file links of examples/claude-code.yaml that the scenarios use.
pub const SHARED_FILES: [&str; 2] = ["history.jsonl", "settings.json"];

/// Adds `shared_files: [history.jsonl, settings.json]` to the sandbox's
/// configuration (the directories stay the default three).
pub fn share_files(sb: &Sandbox) {
    sb.set_config("shared_files", SHARED_FILES);
}

/// An interactive Claude Code under a tmux server of its own.
pub struct Session {
    pub tmux: Tmux,
    socket: PathBuf,
}

impl Session {
    /// Starts Claude Code interactively with `CLAUDE_CONFIG_DIR=config_dir`
    /// (tmux socket `<sandbox>/NAME.sock`) and waits for its prompt.
    pub fn start(rig: &Rig, config_dir: &Path, name: &str) -> Session {
        let socket = rig.sb.root().join(format!("{name}.sock"));
        let tmux = rig.interactive_on(config_dir, &socket);
        Session { tmux, socket }
    }

    /// Types `prompt` and waits for the stand-in's answer on the screen.
    pub fn turn(&self, prompt: &str) -> String {
        self.tmux.turn(prompt, "")
    }

    /// Types `/exit` and waits for the process to end.
    pub fn exit(self) {
        self.tmux.type_line("/exit");
        self.tmux.wait_exit(SCREEN_LIMIT);
    }

    /// The tmux socket (for keys [`Tmux::type_line`] cannot send).
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

/// Runs the real `homeswap --config CONFIG ARGS` with `HOME=home`.
pub fn homeswap(config: &Path, home: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("HOMESWAP_CONFIG")
        .env_remove("FAILPOINTS")
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run::from(out)
}

/// The names of a directory's entries (links not followed).
pub fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// The `history.jsonl` lines' `display` texts (the typed prompts).
pub fn history_prompts(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["display"].as_str().map(str::to_string))
        .collect()
}

/// What examples/claude-code.yaml lists: (`shared`, `shared_files`).
pub fn example_lists() -> (Vec<String>, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/claude-code.yaml");
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let list = |key: &str| -> Vec<String> {
        doc[key]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    (list("shared"), list("shared_files"))
}

/// Whether homeswap's default `private` list covers `name`.
pub fn default_private(name: &str) -> bool {
    homeswap::Private::default().matches(std::ffi::OsStr::new(name))
}

/// Sends tmux key names (`Down`, `Enter`, `Escape`) to a session.
pub fn press(session: &Session, keys: &[&str]) {
    let out = Command::new("tmux")
        .arg("-S")
        .arg(session.socket())
        .args(["send-keys", "-t", "e2e"])
        .args(keys)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "tmux send-keys {keys:?}: {out:?}");
}
