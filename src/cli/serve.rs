//! `serve`: the long-running sidecar on a configuration, wired to the
//! HTTP routes here (the demo serves its sandbox the same way).

use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::http;
use crate::ops::context::Context;
use crate::sidecar::{serve, Listeners, ServeError};

/// Serves `ctx` until SIGTERM or SIGINT.
pub(crate) fn serve_cmd(ctx: Context, out: &mut Output) -> Exit {
    let listeners = match Listeners::bind(&ctx.config) {
        Ok(l) => l,
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            return exit::failed(&e);
        }
    };
    match run_sidecar(ctx, listeners) {
        Ok(()) => Ok(()),
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            exit::failed(&e)
        }
    }
}

/// Runs the sidecar on `ctx` with the HTTP routes on `listeners`, until
/// SIGTERM or SIGINT.
pub(crate) fn run_sidecar(ctx: Context, listeners: Listeners) -> Result<(), ServeError> {
    serve::run(ctx, move |api, stop| http::serve(listeners, api, stop))
}
