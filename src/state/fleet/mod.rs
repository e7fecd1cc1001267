//! The fleet view: what the fleet's Prometheus knew, at the sidecar's last
//! refresh, of every account's limits and usage on every instance. One
//! record, `<state_dir>/fleet.json`, written atomically (temp + rename +
//! fsync) by the sidecar and read, without a network call, by whatever
//! needs it: the failover's choice, `status`, `limits`, the status page.
//!
//! The view is already reduced to what a choice needs: per account, the
//! instances that report it limited (latest reset first, at most
//! [`INSTANCES_KEPT`] named) and the freshest usage report anywhere. Its
//! size grows with the accounts, not with the instances. It is stored one
//! account a line, sorted (`file`), so that a choice reads only the lines
//! of the accounts it looks at: with 1,000 accounts, a few microseconds
//! instead of parsing the whole view.
//!
//! A refresh that fails keeps the last good data and records the failure,
//! so a reader can say both how old the data is and why it is not newer.
//! A file that cannot be read or parsed is reported by whoever reads it
//! and counts as no view; it never panics.

mod file;
mod record;

pub(crate) use file::{FleetFile, FleetHeader};
pub(crate) use record::{
    FleetAccount, FleetAudit, FleetPass, FleetView, PassedFor, RefreshFailure, RefreshOutcome,
    SeenLimit, SeenUsage, SeenWindow, INSTANCES_KEPT,
};
