//! `init --from DIR`: one existing Claude Code home into the layout, the
//! plan printed first, then how to use it and add a second account.

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::args::{InitArgs, SetupArgs};
use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::cli::progress::{Line, Show};
use crate::cli::setup::setup_cmd;
use crate::config::{self, Source};
use crate::fs::pathfmt::{shell_word, shown};
use crate::ops::class::ErrorClass;
use crate::ops::context::Context;
use crate::ops::init::{init, InitError, InitOutcome, InitPlan, InitReport, InitRequest};
use crate::ops::progress::{Progress, Quiet};

/// Runs init as `args` ask; the configuration goes to `--config`, else
/// `$HOMESWAP_CONFIG`, else the default place (its directory created).
pub(crate) fn init_cmd(args: InitArgs, config_flag: Option<&Path>, out: &mut Output) -> Exit {
    let located = match config::locate(config_flag) {
        Ok(l) => l,
        Err(e) => {
            out.err(format!(
                "homeswap: {e}: init writes the configuration there"
            ));
            return exit::failed(&e);
        }
    };
    let req = InitRequest::new(
        &args.from,
        Some(&args.account),
        args.shared_dir.as_deref(),
        args.state_dir.as_deref(),
        &located.path,
    )
    .map(|r| match located.source {
        Source::Default => r.making_config_dir(),
        Source::Flag | Source::Env => r,
    });
    let home_env = std::env::var_os("HOME").map(std::path::PathBuf::from);
    // Its steps on a terminal (a dry run has none); gone before the
    // results print.
    let line = Line::on_terminal("init", Show::Always).filter(|_| !args.dry_run);
    let progress: &dyn Progress = line.as_ref().map_or(&Quiet, |l| l);
    let result = req.and_then(|r| init(&r, home_env.as_deref(), args.dry_run, progress));
    drop(line);
    match result {
        Ok(InitOutcome::Planned(plan)) => dry_run_lines(&plan, out),
        Ok(InitOutcome::Done(report)) if report.already => {
            let r = &report.journal.request;
            out.line(format!(
                "init: nothing to do: {} is already the active link to account {}'s home {}, and {} is init's configuration; validate: ok",
                shown(&r.from),
                r.account,
                shown(&r.home),
                shown(&r.config)
            ));
            offer_setup(&r.config, out);
            Ok(())
        }
        Ok(InitOutcome::Done(report)) => {
            done_lines(&report, out);
            next_steps(&report.journal.request, out);
            offer_setup(&report.journal.request.config, out);
            Ok(())
        }
        Err(e) => {
            error_lines(&e, out);
            exit::failed(&e)
        }
    }
}

/// A dry run: the plan and what init would refuse.
fn dry_run_lines(plan: &InitPlan, out: &mut Output) -> Exit {
    plan_lines(plan, out);
    for r in &plan.refusals {
        out.err(format!("homeswap: init would refuse: {r}"));
    }
    out.line("dry run: nothing changed".to_string());
    if plan.refusals.is_empty() {
        Ok(())
    } else {
        Err(ErrorClass::Refused)
    }
}

/// What a conversion did.
fn done_lines(report: &InitReport, out: &mut Output) {
    let r = &report.journal.request;
    if report.resumed {
        out.err("homeswap: finished an interrupted init".to_string());
    }
    out.line(format!(
        "init: {} is now account {}'s home {}, and {} the active link to it",
        shown(&r.from),
        r.account,
        shown(&r.home),
        shown(&r.from)
    ));
    let moved: Vec<&str> = report
        .journal
        .moves
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    out.line(format!(
        "init: moved into {} (each left as a link): {}",
        shown(&r.shared_dir),
        if moved.is_empty() {
            "nothing".to_string()
        } else {
            moved.join(", ")
        }
    ));
    if let (Some(src), Some(dest)) = (&report.journal.claude_json, &report.copied_claude_json) {
        out.line(format!(
            "init: copied {} to {} (Claude Code reads it there once CLAUDE_CONFIG_DIR is set); the original was left in place",
            shown(src),
            shown(dest)
        ));
    }
    if let Some(why) = &report.journal.claude_json_skipped {
        out.err(format!("homeswap: init: {why}"));
    }
    for w in &report.warnings {
        out.err(w.clone());
    }
    out.line(format!("init: wrote {}; validate: ok", shown(&r.config)));
}

/// Why init did not convert, one problem a line.
fn error_lines(e: &InitError, out: &mut Output) {
    match e {
        InitError::Refused(problems) => {
            out.err("homeswap: init refused, nothing changed:".to_string());
            for p in problems {
                out.err(format!("  {p}"));
            }
        }
        other => out.err(format!("homeswap: {other}")),
    }
}

/// The plan, one line per step.
fn plan_lines(p: &InitPlan, out: &mut Output) {
    let r = &p.request;
    out.line(format!(
        "plan: move {} to {} (account {}) and make {} the active link to it, atomically",
        shown(&r.from),
        shown(&r.home),
        r.account,
        shown(&r.from)
    ));
    out.line(format!(
        "plan: create the shared dir {}",
        shown(&r.shared_dir)
    ));
    for m in &p.moves {
        out.line(format!(
            "plan: move {} ({}) into {}, leaving a link",
            m.name,
            if m.dir {
                "a directory"
            } else {
                "a regular file"
            },
            shown(&r.shared_dir)
        ));
    }
    out.line("plan: create the links (and empty targets) of the other shared entries".to_string());
    if let Some(src) = &p.claude_json {
        out.line(format!(
            "plan: copy {} into {} (the original stays)",
            shown(src),
            shown(&r.home.join(".claude.json"))
        ));
    }
    if let Some(why) = &p.claude_json_skipped {
        out.line(format!("plan: {why}"));
    }
    if let Some(dir) = r
        .config
        .parent()
        .filter(|d| r.make_config_dir && !d.is_dir())
    {
        out.line(format!(
            "plan: create the directory {} (mode 0700)",
            shown(dir)
        ));
    }
    out.line(format!(
        "plan: write {}, state dir {}",
        shown(&r.config),
        shown(&r.state_dir)
    ));
}

/// The line to use Claude Code through the active link, and how to add a
/// second account.
fn next_steps(r: &InitRequest, out: &mut Output) {
    let config = config_flag(&r.config);
    let second = if r.account == "b" { "c" } else { "b" };
    out.line(String::new());
    out.line("Use Claude Code through the active link:".to_string());
    out.line(format!("  export CLAUDE_CONFIG_DIR={}", shown(&r.from)));
    out.line(String::new());
    out.line(format!("To add a second account {second}:"));
    out.line(format!(
        "  homeswap {config}account add {second}    # creates its home and links, says how to log in"
    ));
    out.line(format!(
        "Then 'homeswap {config}swap {second}' makes it the active account."
    ));
}

/// The `setup claude-code` line for the configuration init wrote, and,
/// where a person answers at a terminal (stdin and stdout both), the
/// question whether to run it now; the default is no. Its outcome is
/// setup's own: init is done either way.
fn offer_setup(config_path: &Path, out: &mut Output) {
    out.line(String::new());
    out.line(
        "To let Claude Code fail over by itself (homeswap's hook and status line in its settings.json):"
            .to_string(),
    );
    out.line(format!("  {}", setup_line(config_path)));
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return;
    }
    out.prompt("Run it now? [y/N] ");
    let mut answer = String::new();
    let yes = std::io::stdin().read_line(&mut answer).is_ok()
        && matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
    if !yes {
        return;
    }
    match config::Config::load(config_path) {
        Ok(loaded) => {
            let args = SetupArgs {
                dry_run: false,
                remove: false,
            };
            let _ = setup_cmd(&Context::new(loaded), &args, out);
        }
        Err(e) => out.err(format!("homeswap: {e}")),
    }
}

/// `homeswap setup claude-code`, with `--config PATH` unless the
/// configuration is where homeswap looks without it.
fn setup_line(config_path: &Path) -> String {
    format!("homeswap {}setup claude-code", config_flag(config_path))
}

/// `--config PATH ` for the lines init prints, or nothing where every
/// command finds the configuration without it (the default place, or
/// `$HOMESWAP_CONFIG`).
fn config_flag(config_path: &Path) -> String {
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => config::same_path(a, b),
    };
    match config::locate(None) {
        Ok(found) if same(&found.path, config_path) => String::new(),
        _ => {
            let path = std::path::absolute(config_path).unwrap_or_else(|_| config_path.into());
            format!("--config {} ", shell_word(&path))
        }
    }
}
