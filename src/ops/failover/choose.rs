//! Step 4 of a failover: the next account after the active one in
//! `failover.order` (wrapping) that can take over, or why none can.

use crate::config::Config;
use crate::links::ensure_account;
use crate::state::limits::{rfc3339, LimitsRecord};

/// The account to fail over to, or one line per account saying why it
/// was skipped (the `exhausted` answer).
pub(super) fn next_account(
    config: &Config,
    limits: &LimitsRecord,
    active: Option<&str>,
    now: u64,
) -> Result<String, Vec<String>> {
    let order = &config.failover.order;
    // With no configured account active, the first in the order comes first.
    let start = active
        .and_then(|a| order.iter().position(|o| o == a))
        .map_or(0, |i| i + 1);
    let mut skipped = Vec::new();
    for i in 0..order.len() {
        let name = &order[(start + i) % order.len()];
        if Some(name.as_str()) == active {
            skipped.push(format!("account {name}: it is the active account"));
            continue;
        }
        if let Some(l) = limits.limited(name, now) {
            skipped.push(format!(
                "account {name}: limited ({}) until {}",
                l.reason.as_str(),
                rfc3339(l.until)
            ));
            continue;
        }
        let Some(home) = config.home(name) else {
            continue; // the order holds configured accounts only (config check)
        };
        let plan = ensure_account(name, home, &config.shared, true);
        if !plan.is_ok() {
            skipped.push(format!(
                "account {name}: its links cannot be made ok: {}",
                plan.problems().join("; ")
            ));
            continue;
        }
        // TODO(issue 16): the usage threshold. An account whose last known
        // usage is at or above `failover.threshold` is taken only when no
        // other eligible account is below it: collect such accounts here
        // and return the first of them after the loop if nothing else was
        // found. No usage is recorded yet.
        return Ok(name.clone());
    }
    Err(skipped)
}
