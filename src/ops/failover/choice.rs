//! Step 4 as a failover makes it: the choice of `choose` with what the
//! fleet view adds (`fleet`), and what both have to say about it; and the
//! same choice read-only, for benchmarks and previews.

use crate::config::Config;
use crate::links::active::ActiveLink;
use crate::ops::context::Context;
use crate::ops::failover::choose::{next_account, Known};
use crate::ops::failover::fleet::FleetChoice;
use crate::state::disabled::DisabledRecord;
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
    /// The usage or the disabled accounts' file could not be read (none
    /// known for the choice).
    pub(crate) warnings: Vec<String>,
}

/// Step 4: the next account after `active`, by `limits`, the accounts
/// held out by `account disable`, the usage the statusline recorded and
/// what the fleet view knows, all read from `state` (never the network).
pub(crate) fn choose(
    config: &Config,
    state: &StateDir,
    limits: &LimitsRecord,
    active: Option<&str>,
    now: u64,
) -> Chosen {
    let (usage, no_usage) = UsageRecord::read_or_empty(state);
    let (disabled, no_disabled) = DisabledRecord::read_or_empty(state);
    let fleet = FleetChoice::load(config, state, now);
    let known = Known {
        limits,
        usage: &usage,
        disabled: &disabled,
        fleet: &fleet,
    };
    let to = next_account(config, &known, active, now);
    // What this host knew by itself, whatever the fleet said.
    let known_here =
        |name: &str| limits.limited(name, now).is_some() || disabled.get(name).is_some();
    let chosen = to.as_ref().ok().map(String::as_str);
    let (notes, audit) = fleet.notes(config, known_here, &usage, active, chosen, now);
    let warnings = [
        no_usage.map(|why| format!("{why}; no usage is known for the choice")),
        no_disabled.map(|why| format!("{why}; no account is known to be disabled for the choice")),
    ];
    Chosen {
        to,
        notes,
        fleet: audit,
        warnings: warnings.into_iter().flatten().collect(),
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
