//! The sandbox of `homeswap demo`: two accounts in a fresh directory, both
//! ensured (the `ensure` operation), `a` active (the `swap` operation), a
//! random admin token and the configuration that names them all.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::ops::context::Context;
use crate::ops::ensure::ensure;
use crate::ops::swap;

/// The addresses the demo tries first (the contract's defaults): the
/// read-only listener, then the admin listener.
pub(crate) const PREFERRED: [&str; 2] = ["127.0.0.1:9464", "127.0.0.1:9465"];

/// Why the sandbox could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the demo sandbox in {}: {message}", dir.display())]
pub(crate) struct SandboxError {
    /// The sandbox directory.
    pub(crate) dir: PathBuf,
    /// What failed.
    pub(crate) message: String,
}

impl SandboxError {
    /// The error of `dir` for `e`.
    pub(crate) fn new(dir: &Path, e: impl std::fmt::Display) -> SandboxError {
        SandboxError {
            dir: dir.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// A built sandbox.
#[derive(Debug)]
pub(crate) struct Sandbox {
    /// Its configuration file.
    pub(crate) config_path: PathBuf,
    /// The admin token (also in `<root>/admin-token`).
    pub(crate) token: String,
}

/// Creates homes, shared dir, state dir, token and configuration in the
/// empty or new directory `root`, ensures both accounts and makes `a`
/// active.
pub(crate) fn build(root: &Path) -> Result<Sandbox, SandboxError> {
    let err = |e: &dyn std::fmt::Display| SandboxError::new(root, e);
    std::fs::create_dir_all(root).map_err(|e| err(&e))?;
    if std::fs::read_dir(root)
        .map_err(|e| err(&e))?
        .next()
        .is_some()
    {
        return Err(err(
            &"the directory is not empty; give an empty or new --dir",
        ));
    }
    for d in ["claude-a", "claude-b"] {
        std::fs::create_dir(root.join(d)).map_err(|e| err(&e))?;
    }
    let token = random_token().map_err(|e| err(&e))?;
    let token_file = root.join("admin-token");
    std::fs::write(&token_file, format!("{token}\n")).map_err(|e| err(&e))?;
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| err(&e))?;
    let config_path = root.join("homeswap.yaml");
    std::fs::write(&config_path, config_text(root)).map_err(|e| err(&e))?;
    let ctx = Context::new(Config::load(&config_path).map_err(|e| err(&e))?);
    // Every configured account: no name can be unknown.
    let ensured = ensure(&ctx, &[], false).map_err(|unknown| {
        let names: Vec<String> = unknown.iter().map(ToString::to_string).collect();
        err(&names.join("; "))
    })?;
    if !ensured.is_ok() {
        return Err(err(&ensured.problems().join("; ")));
    }
    // A transcript in the shared projects dir, so both accounts show it.
    let project = ctx.config.shared.dir().join("projects").join("-demo");
    std::fs::create_dir_all(&project).map_err(|e| err(&e))?;
    std::fs::write(project.join("session.jsonl"), b"{\"type\":\"demo\"}\n").map_err(|e| err(&e))?;
    swap::swap(&ctx, "a").map_err(|e| err(&e))?;
    Ok(Sandbox { config_path, token })
}

/// The sandbox's configuration, on the [`PREFERRED`] addresses.
fn config_text(root: &Path) -> String {
    let r = root.display();
    format!(
        "# Written by 'homeswap demo'.
accounts:
  a: {r}/claude-a
  b: {r}/claude-b
active_link: {r}/claude
shared_dir: {r}/claude-shared
state_dir: {r}/state
serve:
  listen: {}
  interval: 30s
  admin:
    listen: {}
    token_file: {r}/admin-token
",
        PREFERRED[0], PREFERRED[1]
    )
}

/// Rewrites the sandbox's configuration to name the addresses actually
/// bound, so the CLI and a SIGHUP reload see the same sidecar; returns it
/// loaded.
pub(crate) fn use_addresses(
    root: &Path,
    config_path: &Path,
    read_only: &str,
    admin: &str,
) -> Result<Config, SandboxError> {
    let err = |e: &dyn std::fmt::Display| SandboxError::new(root, e);
    let text = std::fs::read_to_string(config_path).map_err(|e| err(&e))?;
    let text = text
        .replace(PREFERRED[0], read_only)
        .replace(PREFERRED[1], admin);
    std::fs::write(config_path, text).map_err(|e| err(&e))?;
    Config::load(config_path).map_err(|e| err(&e))
}

/// 32 random bytes from the kernel, hex-encoded.
fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
