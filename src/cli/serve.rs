//! `serve` and `demo`: the long-running sidecar, on a configuration or on
//! a sandbox the demo builds.

use std::path::Path;

use crate::cli::args::DemoArgs;
use crate::cli::exit::{self, EXIT_OK};
use crate::cli::output::Output;
use crate::fs::pathfmt::shown;
use crate::ops::context::Context;
use crate::sidecar::demo;
use crate::sidecar::logging;
use crate::sidecar::serve::{self, Listeners};

/// Serves `ctx` until SIGTERM or SIGINT.
pub(crate) fn serve_cmd(ctx: Context, out: &mut Output) -> u8 {
    let listeners = match Listeners::bind(&ctx.config) {
        Ok(l) => l,
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            return exit::serve(&e);
        }
    };
    match serve::run(ctx, listeners) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            exit::serve(&e)
        }
    }
}

/// Builds and serves the demo sandbox. It writes its own configuration, so
/// a `--config` given anyway is named as unused rather than silently
/// ignored (`$HOMESWAP_CONFIG` is simply not consulted).
pub(crate) fn demo_cmd(args: DemoArgs, global_config: Option<&Path>, out: &mut Output) -> u8 {
    logging::init(args.log_format);
    if let Some(c) = args.config.as_deref().or(global_config) {
        out.err(format!(
            "homeswap: warning: demo writes its own configuration; --config {} is not used",
            shown(c)
        ));
    }
    match demo::run(args.dir.as_deref()) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            exit::demo(&e)
        }
    }
}
