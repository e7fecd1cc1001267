//! `setup claude-code`: homeswap's hook and status line into Claude Code's
//! settings (`ops::setup`), what changed printed per file, a dry run as a
//! unified diff.

use std::path::PathBuf;

use crate::cli::args::SetupArgs;
use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::fs::pathfmt::{one_line, shown};
use crate::ops::context::Context;
use crate::ops::setup::command::Program;
use crate::ops::setup::{setup, FileReport, SetupReport, SetupRequest};

/// Runs `setup claude-code` as `args` ask.
pub(crate) fn setup_cmd(ctx: &Context, args: &SetupArgs, out: &mut Output) -> Exit {
    let exe = std::env::current_exe().ok();
    let program = Program::detect(exe.as_deref(), std::env::var_os("PATH").as_deref());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let req = SetupRequest::new(&ctx.config.path, &program, args.remove, args.dry_run, home);
    match req.and_then(|r| setup(ctx, &r)) {
        Ok(report) => {
            report_lines(&report, out);
            Ok(())
        }
        Err(e) => {
            out.err(one_line(&format!("homeswap: setup claude-code: {e}")));
            exit::failed(&e)
        }
    }
}

/// What a run did: a diff per file (dry run) or its changes, then the
/// warnings.
fn report_lines(report: &SetupReport, out: &mut Output) {
    for f in &report.files {
        if report.dry_run {
            dry_run_lines(f, out);
        } else {
            done_lines(f, report.remove, out);
        }
    }
    for w in &report.warnings {
        out.err(one_line(&format!("homeswap: setup claude-code: {w}")));
    }
    if report.dry_run {
        out.line("dry run: nothing changed".to_string());
    } else if !report.remove && report.files.iter().any(|f| f.written) {
        out.line(
            "Claude Code sessions started from now on run homeswap's hook and status line; restart a running one (claude --continue) to give it them."
                .to_string(),
        );
    }
}

/// Which file this is, for a person: the file written, with the link it
/// was reached through and whose it is.
fn named(f: &FileReport) -> String {
    let whose = match &f.account {
        Some(a) => format!("account {a}'s settings"),
        None => "the shared settings, every home's settings.json links to it".to_string(),
    };
    if f.file == f.path {
        format!("{} ({whose})", shown(&f.file))
    } else {
        format!(
            "{} ({whose}, through the link {})",
            shown(&f.file),
            shown(&f.path)
        )
    }
}

/// A dry run's file: its diff, or that nothing would change.
fn dry_run_lines(f: &FileReport, out: &mut Output) {
    if f.changed() {
        out.line(format!("setup: would write {}:", named(f)));
        out.raw(f.diff().as_bytes());
    } else {
        out.line(format!("setup: {}: nothing to change", named(f)));
    }
}

/// A file after a run: what was changed in it, or that nothing was.
fn done_lines(f: &FileReport, remove: bool, out: &mut Output) {
    if !f.written {
        let why = if remove {
            "nothing of homeswap's in it"
        } else {
            "already set up"
        };
        out.line(format!("setup: {}: {why}, nothing changed", named(f)));
        return;
    }
    let verb = if f.existed { "wrote" } else { "created" };
    out.line(format!("setup: {verb} {}:", named(f)));
    for c in &f.changes {
        out.line(one_line(&format!("  {c}")));
    }
}
