//! `serve`: the long-running sidecar on a configuration, wired to the
//! HTTP routes here (the demo serves its sandbox the same way).

use crate::cli::exit::{self, EXIT_OK};
use crate::cli::output::Output;
use crate::http;
use crate::ops::context::Context;
use crate::sidecar::{serve, Listeners, ServeError};

/// Serves `ctx` until SIGTERM or SIGINT.
pub(crate) fn serve_cmd(ctx: Context, out: &mut Output) -> u8 {
    let listeners = match Listeners::bind(&ctx.config) {
        Ok(l) => l,
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            return exit::serve(&e);
        }
    };
    match run_sidecar(ctx, listeners) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            out.err(format!("homeswap: {e}"));
            exit::serve(&e)
        }
    }
}

/// Runs the sidecar on `ctx` with the HTTP routes on `listeners`, until
/// SIGTERM or SIGINT.
pub(crate) fn run_sidecar(ctx: Context, listeners: Listeners) -> Result<(), ServeError> {
    serve::run(ctx, move |api, stop| http::serve(listeners, api, stop))
}
