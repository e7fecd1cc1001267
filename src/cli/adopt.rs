//! `adopt ACCOUNT`: real directories moved into the shared targets, the
//! plan printed first.

use crate::cli::args::AdoptArgs;
use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::cli::progress::{Line, Show};
use crate::fs::pathfmt::shown;
use crate::ops::adopt::plan::{ItemAction, LinkPlan};
use crate::ops::adopt::{self, AdoptError, AdoptRequest};
use crate::ops::context::Context;
use crate::ops::progress::{Progress, Quiet};

/// Adopts as `args` ask.
pub(crate) fn adopt_cmd(ctx: &Context, args: AdoptArgs, out: &mut Output) -> Exit {
    let req = AdoptRequest {
        account: args.account,
        links: args.links,
        keep_both: args.keep_both,
        dry_run: args.dry_run,
        force_active: args.force_active,
    };
    adopt_request(ctx, &req, out)
}

fn adopt_request(ctx: &Context, req: &AdoptRequest, out: &mut Output) -> Exit {
    let account = &req.account;
    // Drawn on a terminal while entries are copied across file systems;
    // gone before the results print.
    let line = Line::on_terminal(&format!("adopt {account}"), Show::WhenCopying);
    let progress: &dyn Progress = line.as_ref().map_or(&Quiet, |l| l);
    let result = adopt::adopt_reporting(ctx, req, progress);
    drop(line);
    match result {
        Ok(r) => {
            if let Some(j) = &r.resumed {
                out.err(format!(
                    "homeswap: finished an interrupted adoption of account {} (started {} by pid {})",
                    j.account, j.started, j.pid
                ));
            }
            for w in &r.warnings {
                out.err(format!("homeswap: warning: {w}"));
            }
            plan_lines(account, &r.plan, out);
            if r.dry_run {
                out.line("dry run: nothing changed".to_string());
                return Ok(());
            }
            let c = &r.counts;
            out.line(format!(
                "adopted account {account}: {} moved, {} duplicate(s) removed, {} kept both",
                c.moved, c.duplicates, c.kept_both
            ));
            for l in &r.created {
                out.line(format!("account {account}: {l}"));
            }
            if !c.kept_both_files.is_empty() {
                out.line(format!(
                    "{} file(s) need a look: each is the account's copy, kept beside the target's file of the original name; compare them and delete what you do not need:",
                    c.kept_both_files.len()
                ));
                for f in &c.kept_both_files {
                    out.line(format!("  {}", shown(f)));
                }
            }
            out.line(format!("ok: account {account} validates ok"));
            Ok(())
        }
        Err(e) => {
            adopt_error_lines(&e, out);
            exit::failed(&e)
        }
    }
}

/// The plan, one line per entry, under one header line per link.
fn plan_lines(account: &str, plan: &[LinkPlan], out: &mut Output) {
    for l in plan {
        out.line(format!(
            "plan for account {account}: {}: {} -> {}{}: {} to move, {} duplicate(s), {} conflict(s)",
            l.link,
            shown(&l.real),
            shown(&l.target),
            if l.target_exists { "" } else { " (created)" },
            l.moves(),
            l.duplicates(),
            l.conflicts().count()
        ));
        for item in &l.items {
            let path = if item.path.as_os_str().is_empty() {
                // A file link's file: the item is the link's own entry.
                shown(std::path::Path::new(&l.link))
            } else {
                shown(&item.path)
            };
            out.line(match &item.action {
                ItemAction::Move { kind } => format!("  move       {path} ({kind})"),
                ItemAction::Duplicate { kind } => {
                    format!("  duplicate  {path} ({kind}, same in the target)")
                }
                ItemAction::Merge { lines, .. } => format!(
                    "  merge      {path}: {lines} line(s) of the account appended to the target's"
                ),
                ItemAction::Conflict { clash, .. } => format!("  conflict   {path}: {clash}"),
            });
        }
    }
}

/// A headline, then one line per problem.
fn adopt_error_lines(e: &AdoptError, out: &mut Output) {
    match e {
        AdoptError::Refused { account, problems } => {
            out.err(format!(
                "homeswap: adopt {account} refused, nothing changed:"
            ));
            for p in problems {
                out.err(format!("  {p}"));
            }
        }
        AdoptError::Conflicts {
            account,
            plan,
            dry_run,
        } => {
            plan_lines(account, plan, out);
            for c in adopt::conflicts(plan) {
                out.err(format!("account {account}: {c}"));
            }
            out.err(format!(
                "homeswap: adopt {account}: {} conflict(s){}; compare each pair and resolve it by hand, or run 'homeswap adopt {account} --keep-both' to keep both copies (the account's copy is renamed NAME.adopted-{account}-STAMP.EXT beside the target's)",
                adopt::conflicts(plan).len(),
                if *dry_run { " (dry run)" } else { ", nothing changed" }
            ));
        }
        AdoptError::Stopped { errors, .. } => {
            out.err(format!("homeswap: {e}"));
            for d in errors {
                out.err(format!("  {d}"));
            }
        }
        other => out.err(format!("homeswap: {other}")),
    }
}
