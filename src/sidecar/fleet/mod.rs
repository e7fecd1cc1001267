//! The fleet view's producer: every `fleet.interval` the sidecar asks the
//! fleet's Prometheus (its HTTP API's instant queries) what every instance
//! matching `fleet.selector` reports of each account's limits and usage,
//! and keeps the answer in `<state_dir>/fleet.json` for the failover's
//! choice, `status`, `limits` and the page, which read it with no network
//! call (`state::fleet` has the record, `ops::fleet` what it means).
//!
//! - `query`: the PromQL of the four queries and their request URIs;
//! - `client`: hyper's client over rustls, credentials, timeout, size bound;
//! - `answer`: one API answer parsed defensively into samples;
//! - `build`: the four answers checked and reduced into one view;
//! - `refresh`: one refresh, and the task that repeats it.

mod answer;
mod build;
mod client;
mod query;
mod refresh;
#[cfg(test)]
mod tests;

pub(crate) use refresh::refresh_loop;

use crate::sidecar::Sidecar;
use crate::state::fleet::FleetView;
use crate::state::limits::unix_now;

/// Exports the fleet families before the first scrape when `fleet` is
/// configured: the age counts from the view a previous run left, else
/// from now.
pub(crate) fn prepare(sidecar: &Sidecar) {
    let ctx = sidecar.context();
    if ctx.config.fleet.is_none() {
        return;
    }
    let since = FleetView::read(&ctx.state)
        .ok()
        .flatten()
        .map_or(0, |v| v.refreshed);
    sidecar
        .metrics
        .fleet_on(if since > 0 { since } else { unix_now() });
}
