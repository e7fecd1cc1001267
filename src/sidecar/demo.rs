//! `homeswap demo`: a sandbox of two accounts, served on 127.0.0.1, with
//! everything printed that a first-time user needs to try it: the URLs, the
//! admin token and curl lines to paste.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::links::ensure_account;
use crate::ops::context::Context;
use crate::ops::swap;
use crate::sidecar::serve::{self, bind_tcp, Listeners, ServeError};
use crate::sidecar::token::AdminToken;

/// The ports the demo tries first (the contract's defaults).
const PREFERRED: [&str; 2] = ["127.0.0.1:9464", "127.0.0.1:9465"];

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The sandbox could not be built.
    #[error("cannot build the demo sandbox in {}: {message}", dir.display())]
    Sandbox {
        /// The sandbox directory.
        dir: PathBuf,
        /// What failed.
        message: String,
    },
    /// The sidecar failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Builds the sandbox in `dir` (or a fresh temporary directory, removed at
/// exit), prints how to use it, and serves it until SIGTERM or SIGINT.
pub fn run(dir: Option<&Path>) -> Result<(), DemoError> {
    let temp;
    let root = match dir {
        Some(d) => d.to_path_buf(),
        None => {
            temp = tempfile::Builder::new()
                .prefix("homeswap-demo-")
                .tempdir()
                .map_err(|e| sandbox_err(&std::env::temp_dir(), e))?;
            temp.path().to_path_buf()
        }
    };
    let root = std::path::absolute(&root).map_err(|e| sandbox_err(&root, e))?;
    let (config_path, token) = build(&root)?;
    let (read_only_listener, read_only_note) = bind_preferred(PREFERRED[0], "read-only listener")?;
    let (admin_listener, admin_note) = bind_preferred(PREFERRED[1], "admin listener")?;
    let read_only = read_only_listener
        .local_addr()
        .map_err(|e| sandbox_err(&root, e))?;
    let admin = admin_listener
        .local_addr()
        .map_err(|e| sandbox_err(&root, e))?;
    let listeners = Listeners {
        read_only: read_only_listener,
        admin_tcp: Some((admin_listener, AdminToken::from_bytes(token.as_bytes()))),
        admin_unix: None,
    };
    // The configuration names the ports actually bound, so the CLI and a
    // SIGHUP reload see the same sidecar.
    let text = std::fs::read_to_string(&config_path).map_err(|e| sandbox_err(&root, e))?;
    let text = text
        .replace(PREFERRED[0], &read_only.to_string())
        .replace(PREFERRED[1], &admin.to_string());
    std::fs::write(&config_path, text).map_err(|e| sandbox_err(&root, e))?;
    let config = Config::load(&config_path).map_err(|e| sandbox_err(&root, e))?;

    let exe = std::env::current_exe()
        .map(|p| quoted(&p))
        .unwrap_or_else(|_| "homeswap".into());
    let cfg = quoted(&config_path);
    let token_file = root.join("admin-token");
    let broken = quoted(&root.join("claude-b").join("projects"));
    let mut notes = String::new();
    let bound = [
        (PREFERRED[0], read_only_note, read_only),
        (PREFERRED[1], admin_note, admin),
    ];
    for (preferred, note, actual) in bound {
        if let Some(why) = note {
            notes.push_str(&format!(
                "Note: {preferred} was taken ({why}), so the demo uses {actual} instead.\n"
            ));
        }
    }
    if !notes.is_empty() {
        notes.push('\n');
    }
    println!(
        "homeswap demo: two accounts, a (active) and b, in {root}

  status page http://{read_only}/    (open it in a browser)
  metrics     http://{read_only}/metrics
  readiness   http://{read_only}/readyz
  status      http://{read_only}/api/v1/status
  admin API   http://{admin}  (bearer token below, also in {token_file})
  admin token {token}

{notes}Paste these in another terminal:
  curl -s http://{read_only}/api/v1/status
  curl -s -H 'Authorization: Bearer {token}' -d '{{\"to\":\"b\"}}' http://{admin}/api/v1/swap
  curl -s http://{read_only}/metrics | grep '^homeswap_'
  ln -sfn /tmp {broken}    # break a link: /readyz turns 503 within a second
  rm {broken} && {exe} --config {cfg} ensure    # repair it: /readyz turns 200 again
  {exe} --config {cfg} validate

Ctrl-C stops the demo{removal}.",
        root = root.display(),
        token_file = token_file.display(),
        removal = if dir.is_none() {
            " and removes the sandbox"
        } else {
            ""
        },
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    serve::run(crate::ops::context::Context::new(config), listeners)?;
    Ok(())
}

fn sandbox_err(dir: &Path, e: impl std::fmt::Display) -> DemoError {
    DemoError::Sandbox {
        dir: dir.to_path_buf(),
        message: e.to_string(),
    }
}

/// The contract's port if free, else any free port on 127.0.0.1, with the
/// reason the contract's port was not used (the demo prints it, so a user
/// who expected 9464 is not left guessing).
fn bind_preferred(
    addr: &str,
    what: &'static str,
) -> Result<(std::net::TcpListener, Option<String>), DemoError> {
    match bind_tcp(addr, what) {
        Ok(l) => Ok((l, None)),
        Err(e) => Ok((bind_tcp("127.0.0.1:0", what)?, Some(e.to_string()))),
    }
}

/// A path as a shell word: as is when it holds only characters no shell
/// treats specially, else in single quotes, so the printed lines can be
/// pasted as they are.
fn quoted(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Creates homes, shared dir, state dir, token and configuration, ensures
/// both accounts and makes `a` active. Returns the config path and token.
fn build(root: &Path) -> Result<(PathBuf, String), DemoError> {
    let err = |e: &dyn std::fmt::Display| sandbox_err(root, e);
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
    let r = root.display();
    std::fs::write(
        &config_path,
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
        ),
    )
    .map_err(|e| err(&e))?;
    let config = Config::load(&config_path).map_err(|e| err(&e))?;
    for (name, home) in &config.accounts {
        let report = ensure_account(name, home, &config.shared, false);
        if !report.is_ok() {
            return Err(err(&report.problems().join("; ")));
        }
    }
    // A transcript in the shared projects dir, so both accounts show it.
    let project = config.shared.dir().join("projects").join("-demo");
    std::fs::create_dir_all(&project).map_err(|e| err(&e))?;
    std::fs::write(project.join("session.jsonl"), b"{\"type\":\"demo\"}\n").map_err(|e| err(&e))?;
    swap::swap(&Context::new(config), "a").map_err(|e| err(&e))?;
    Ok((config_path, token))
}

/// 32 random bytes from the kernel, hex-encoded.
fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
