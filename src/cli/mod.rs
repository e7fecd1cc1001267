//! The operator's command line: argument definitions ([`args`]), the one
//! place where library results become exit codes ([`exit`]), the output
//! streams, and one file per command group.

mod account;
mod adopt;
mod args;
mod completions;
mod demo;
mod exit;
mod failover;
mod fleet;
mod hook;
mod init;
mod latch;
mod links;
mod manpage;
mod output;
mod progress;
mod serve;
mod setup;
mod status;
mod statusline;
mod subargs;
mod swap;

use std::path::Path;

pub use args::Cli;
pub use statusline::fast_path as statusline_fast_path;

use args::{Command, LatchCommand, OperatorCommand, SetupCommand};
use exit::Exit;
use output::Output;

use crate::config;
use crate::ops::context::Context;
use crate::ops::swap::recover;
use crate::sidecar::logging;

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    exit::code(run_command(cli))
}

/// Runs a parsed command line to its end.
fn run_command(cli: Cli) -> Exit {
    let mut out = Output;
    match cli.command {
        Command::Demo(args) => demo::demo_cmd(args, cli.config.as_deref(), &mut out),
        // Generated from the argument definitions: no configuration needed.
        Command::Completions(args) => completions::completions_cmd(args.shell, &mut out),
        Command::Manpage => completions::manpage_cmd(&mut out),
        Command::Init(args) => init::init_cmd(args, cli.config.as_deref(), &mut out),
        Command::Serve(args) => match load(cli.config.as_deref(), &mut out) {
            Ok(ctx) => {
                // Before recovery, so what it does is logged as configured.
                logging::init(args.log_format);
                finish_interrupted_swap(&ctx, &mut out);
                serve::serve_cmd(ctx, &mut out)
            }
            Err(end) => end,
        },
        // No recovery and no 5 s lock wait first: a hook answers within 2 s.
        Command::Hook => hook::hook_cmd(cli.config.as_deref(), &mut out),
        // Likewise: a status line is printed within 2 s, whatever happens.
        Command::Statusline(args) => {
            statusline::statusline_cmd(args, cli.config.as_deref(), &mut out)
        }
        Command::Operator(command) => match load(cli.config.as_deref(), &mut out) {
            Ok(ctx) => {
                finish_interrupted_swap(&ctx, &mut out);
                dispatch(&ctx, command, &mut out)
            }
            Err(end) => end,
        },
    }
}

/// The configuration from `--config`, `$HOMESWAP_CONFIG` or the default
/// place; an error is printed and returned as the command's end.
fn load(flag: Option<&Path>, out: &mut Output) -> Result<Context, Exit> {
    config::find_and_load(flag).map(Context::new).map_err(|e| {
        out.err(format!("homeswap: {e}"));
        exit::failed(&e)
    })
}

/// A swap a crash interrupted is finished or rolled back before anything
/// else, by the same rules as a swap.
fn finish_interrupted_swap(ctx: &Context, out: &mut Output) {
    if let Some(r) = recover(ctx) {
        tracing::warn!(recovery = %r.summary(), "recovered before starting");
        out.err(format!("homeswap: {}", r.summary()));
    }
}

fn dispatch(ctx: &Context, command: OperatorCommand, out: &mut Output) -> Exit {
    match command {
        OperatorCommand::Validate { json } => links::validate_cmd(ctx, json, out),
        OperatorCommand::Ensure { accounts, dry_run } => {
            links::ensure_cmd(ctx, &accounts, dry_run, out)
        }
        OperatorCommand::Swap { account } => swap::swap_cmd(ctx, &account, out),
        OperatorCommand::Adopt(args) => adopt::adopt_cmd(ctx, args, out),
        OperatorCommand::Status { json } => status::status(ctx, json, out),
        OperatorCommand::Latch(LatchCommand::Show { json }) => latch::latch_show(ctx, json, out),
        OperatorCommand::Latch(LatchCommand::Clear { reason }) => {
            latch::latch_clear(ctx, &reason, out)
        }
        OperatorCommand::Failover(args) => failover::failover_cmd(ctx, args, out),
        OperatorCommand::Limits(args) => failover::limits_cmd(ctx, args, out),
        OperatorCommand::Account(command) => account::account_cmd(ctx, command, out),
        OperatorCommand::Setup(SetupCommand::ClaudeCode(args)) => setup::setup_cmd(ctx, &args, out),
    }
}
