//! `homeswap demo`: the sandbox `ops::demo` builds, served on 127.0.0.1,
//! with everything printed that a first-time user needs to try it: the
//! URLs, the admin token and curl lines to paste.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use crate::cli::args::DemoArgs;
use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::cli::serve::run_sidecar;
use crate::fs::pathfmt::shown;
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::context::Context;
use crate::ops::demo::{self, SandboxError, PREFERRED};
use crate::sidecar::logging;
use crate::sidecar::token::AdminToken;
use crate::sidecar::{bind_tcp, Listeners, ServeError};

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// The sandbox could not be built.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The sidecar failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl Classified for DemoError {
    /// The demo could not build its sandbox or serve it, whatever the
    /// reason.
    fn class(&self) -> ErrorClass {
        ErrorClass::Refused
    }
}

/// Builds and serves the demo sandbox. It writes its own configuration, so
/// a `--config` given anyway is named as unused rather than silently
/// ignored (`$HOMESWAP_CONFIG` is simply not consulted).
pub(crate) fn demo_cmd(args: DemoArgs, global_config: Option<&Path>, out: &mut Output) -> Exit {
    logging::init(args.log_format);
    if let Some(c) = args.config.as_deref().or(global_config) {
        out.err(format!(
            "homeswap: warning: demo writes its own configuration; --config {} is not used",
            shown(c)
        ));
    }
    match run(args.dir.as_deref()) {
        Ok(()) => Ok(()),
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            exit::failed(&e)
        }
    }
}

/// Builds the sandbox in `dir` (or a fresh temporary directory, removed at
/// exit), prints how to use it, and serves it until SIGTERM or SIGINT.
fn run(dir: Option<&Path>) -> Result<(), DemoError> {
    let temp;
    let root = match dir {
        Some(d) => d.to_path_buf(),
        None => {
            temp = tempfile::Builder::new()
                .prefix("homeswap-demo-")
                .tempdir()
                .map_err(|e| SandboxError::new(&std::env::temp_dir(), e))?;
            temp.path().to_path_buf()
        }
    };
    let root = std::path::absolute(&root).map_err(|e| SandboxError::new(&root, e))?;
    let sandbox = demo::build(&root)?;
    let (read_only_listener, read_only_note) = bind_preferred(PREFERRED[0], "read-only listener")?;
    let (admin_listener, admin_note) = bind_preferred(PREFERRED[1], "admin listener")?;
    let addr = |l: &TcpListener| l.local_addr().map_err(|e| SandboxError::new(&root, e));
    let (read_only, admin) = (addr(&read_only_listener)?, addr(&admin_listener)?);
    let listeners = Listeners {
        read_only: read_only_listener,
        admin_tcp: Some((
            admin_listener,
            AdminToken::from_bytes(sandbox.token.as_bytes()),
        )),
        admin_unix: None,
    };
    let config = demo::use_addresses(
        &root,
        &sandbox.config_path,
        &read_only.to_string(),
        &admin.to_string(),
    )?;
    let bound = [
        (PREFERRED[0], read_only_note, read_only),
        (PREFERRED[1], admin_note, admin),
    ];
    print_banner(&root, &sandbox, &bound, dir.is_none());
    run_sidecar(Context::new(config), listeners)?;
    Ok(())
}

/// The URLs, the token and the lines to paste; `bound` is each listener's
/// preferred address, why it was not used (if it was not), and the address
/// bound.
fn print_banner(
    root: &Path,
    sandbox: &demo::Sandbox,
    bound: &[(&str, Option<String>, SocketAddr); 2],
    removed_at_exit: bool,
) {
    let exe = std::env::current_exe()
        .map(|p| quoted(&p))
        .unwrap_or_else(|_| "homeswap".into());
    let cfg = quoted(&sandbox.config_path);
    let token = &sandbox.token;
    let token_file = root.join("admin-token");
    let broken = quoted(&root.join("claude-b").join("projects"));
    let (read_only, admin) = (bound[0].2, bound[1].2);
    let mut notes = String::new();
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
        removal = if removed_at_exit {
            " and removes the sandbox"
        } else {
            ""
        },
    );
    let _ = std::io::stdout().flush();
}

/// The contract's port if free, else any free port on 127.0.0.1, with the
/// reason the contract's port was not used (the demo prints it, so a user
/// who expected 9464 is not left guessing).
fn bind_preferred(
    addr: &str,
    what: &'static str,
) -> Result<(TcpListener, Option<String>), ServeError> {
    match bind_tcp(addr, what) {
        Ok(l) => Ok((l, None)),
        Err(e) => Ok((bind_tcp("127.0.0.1:0", what)?, Some(e.to_string()))),
    }
}

/// A path as a shell word, so the printed lines can be pasted as they are.
fn quoted(path: &Path) -> String {
    crate::fs::pathfmt::shell_word(path)
}
