//! `latch show` and `latch clear`: the partial-swap latch.

use serde::Serialize;

use crate::cli::exit::{self, Exit};
use crate::cli::output::Output;
use crate::ops::context::Context;
use crate::ops::swap::{self, ClearError};
use crate::state::latch::LatchRecord;

/// `latch show --json`.
#[derive(Debug, Serialize)]
struct LatchJson<'a> {
    /// Whether the latch is set.
    set: bool,
    /// The failed swap that set it.
    latch: Option<&'a LatchRecord>,
}

/// The latch in one line, for `status` and `latch show`.
pub(crate) fn latch_line(latch: Option<&LatchRecord>) -> String {
    match latch {
        None => "clear".to_string(),
        Some(l) => format!("SET{}", l.describe()),
    }
}

/// Shows the latch; exit 0 whether it is set or not.
pub(crate) fn latch_show(ctx: &Context, json: bool, out: &mut Output) -> Exit {
    let latch = ctx.latch.current();
    if json {
        out.json(&LatchJson {
            set: latch.is_some(),
            latch: latch.as_ref(),
        });
    } else {
        out.line(format!("latch: {}", latch_line(latch.as_ref())));
    }
    Ok(())
}

/// Clears the latch through the library, which re-validates first.
pub(crate) fn latch_clear(ctx: &Context, reason: &str, out: &mut Output) -> Exit {
    match swap::clear_latch(ctx, reason) {
        Ok(r) => {
            match &r.cleared {
                None => out.line("the latch is not set; nothing to clear".to_string()),
                Some(l) => out.line(format!(
                    "latch cleared ({}); active account {} is ok",
                    match &l.unreadable {
                        Some(why) => format!("{why}: the file was removed"),
                        None => format!(
                            "set {} by swap {} -> {}",
                            l.set_at,
                            l.from.as_deref().unwrap_or("(none)"),
                            l.to
                        ),
                    },
                    r.active.as_deref().unwrap_or("(none)")
                )),
            }
            for w in &r.warnings {
                out.err(format!("homeswap: warning: {w}"));
            }
            Ok(())
        }
        Err(e) => {
            if let ClearError::StillUnhealthy { problems } = &e {
                out.err(
                    "homeswap: latch not cleared: the active account is not healthy yet:"
                        .to_string(),
                );
                for p in problems {
                    out.err(format!("  {p}"));
                }
            } else {
                out.err(format!("homeswap: {e}"));
            }
            exit::failed(&e)
        }
    }
}
