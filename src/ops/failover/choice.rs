//! Step 4 as a failover makes it: the choice of `choose` with what the
//! fleet view adds (`fleet`), and what both have to say about it; and the
//! same choice read-only, for benchmarks and previews.

use crate::config::Config;
use crate::links::active::ActiveLink;
use crate::ops::context::Context;
use crate::ops::failover::choose::next_account;
use crate::ops::failover::fleet::FleetChoice;
use crate::state::fleet::FleetAudit;
use crate::state::limits::{unix_now, LimitsRecord};
use crate::state::usage::UsageRecord;
use crate::state::StateDir;

/// Step 4's result, with what it has to say.
#[derive(Debug)]
pub(crate) struct Chosen {
    /// The account, or why each one was skipped.
    pub(crate) to: Result<String, Vec<String>>,
    /// The fleet's notes (passed over, or why the view was not used).
    pub(crate) notes: Vec<String>,
    /// What the audit line says of the fleet view (with `fleet` only).
    pub(crate) fleet: Option<FleetAudit>,
    /// The usage file could not be read (no usage known for the choice).
    pub(crate) warning: Option<String>,
}

/// Step 4: the next account after `active`, by `limits`, the usage the
/// statusline recorded and what the fleet view knows, all read from
/// `state` (never the network).
pub(crate) fn choose(
    config: &Config,
    state: &StateDir,
    limits: &LimitsRecord,
    active: Option<&str>,
    now: u64,
) -> Chosen {
    let (usage, unreadable) = UsageRecord::read_or_empty(state);
    let fleet = FleetChoice::load(config, state, now);
    let to = next_account(config, limits, &usage, &fleet, active, now);
    let (notes, audit) = fleet.notes(
        config,
        limits,
        &usage,
        active,
        to.as_ref().ok().map(String::as_str),
        now,
    );
    Chosen {
        to,
        notes,
        fleet: audit,
        warning: unreadable.map(|why| format!("{why}; no usage is known for the choice")),
    }
}

/// The account a failover would choose now, read-only (no lock, nothing
/// recorded, nothing swapped): step 4 on the limits, usage and fleet view
/// on disk. Benchmarks time the choice through it.
pub fn choice(ctx: &Context) -> Result<String, Vec<String>> {
    let (limits, _) = LimitsRecord::read_or_empty(&ctx.state);
    let active = ActiveLink::read(&ctx.config).account;
    choose(
        &ctx.config,
        &ctx.state,
        &limits,
        active.as_deref(),
        unix_now(),
    )
    .to
}
