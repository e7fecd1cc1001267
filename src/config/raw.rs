//! The serde schema: what the YAML text deserializes into before any
//! check. Unknown keys and wrong types are refused here, by serde, with
//! yaml_serde's line and column; everything else is left to `check`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::fleet::RawFleet;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// Account name → home. Duplicate names never reach this map: the
    /// `keys` walk refuses them first (serde would keep the last one).
    pub(crate) accounts: RawAccounts,
    /// The symlink to the active account's home.
    pub(crate) active_link: PathBuf,
    /// The directory holding the shared targets.
    pub(crate) shared_dir: PathBuf,
    /// The shared link names; absent: Claude Code's defaults.
    #[serde(default)]
    pub(crate) shared: Option<Vec<String>>,
    /// The shared file link names; absent: none.
    #[serde(default)]
    pub(crate) shared_files: Option<Vec<String>>,
    /// The entries each home keeps for itself; absent: Claude Code's.
    #[serde(default)]
    pub(crate) private: Option<Vec<String>>,
    /// Lock, intent record, latch and audit log.
    pub(crate) state_dir: PathBuf,
    /// Sidecar settings; absent: the defaults.
    #[serde(default)]
    pub(crate) serve: Option<RawServe>,
    /// Failover settings; absent: the defaults.
    #[serde(default)]
    pub(crate) failover: Option<RawFailover>,
    /// The fleet view's Prometheus; absent: no fleet view.
    #[serde(default)]
    pub(crate) fleet: Option<RawFleet>,
}

/// The `failover:` section.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFailover {
    /// Preference order of the accounts; absent: the order of `accounts`.
    #[serde(default)]
    pub(crate) order: Option<Vec<String>>,
    /// How long a limit with no known reset time lasts (humantime).
    #[serde(default)]
    pub(crate) cooldown: Option<String>,
    /// The window in which a failover naming no `from` is the same event.
    #[serde(default)]
    pub(crate) settle: Option<String>,
    /// Statusline usage percent that triggers a failover (1..=100).
    #[serde(default)]
    pub(crate) threshold: Option<u64>,
    /// Per-account thresholds, over `threshold`. Duplicate names never
    /// reach this map: the `keys` walk refuses them first.
    #[serde(default)]
    pub(crate) thresholds: Option<BTreeMap<String, u64>>,
}

/// The `serve:` section.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    /// `IP:PORT` of the read-only listener.
    #[serde(default)]
    pub(crate) listen: Option<String>,
    /// A humantime duration (`30s`, `5m`), bounded in `check`.
    #[serde(default)]
    pub(crate) interval: Option<String>,
    /// The mutating API.
    #[serde(default)]
    pub(crate) admin: Option<RawAdmin>,
}

/// The `serve.admin:` section.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    /// `IP:PORT` of the TCP admin listener.
    #[serde(default)]
    pub(crate) listen: Option<String>,
    /// The bearer token's file (required with `listen`).
    #[serde(default)]
    pub(crate) token_file: Option<PathBuf>,
    /// The Unix socket of the admin API.
    #[serde(default)]
    pub(crate) socket: Option<PathBuf>,
}

/// The `accounts:` mapping: sorted by name for the checks, and the names
/// in the order the file gives them (the default `failover.order`).
#[derive(Default)]
pub(super) struct RawAccounts {
    /// Name → home, sorted by name.
    pub(crate) map: BTreeMap<String, PathBuf>,
    /// The names in file order.
    pub(crate) order: Vec<String>,
}

impl RawAccounts {
    /// True when no account is configured.
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The accounts sorted by name.
    pub(crate) fn iter(&self) -> std::collections::btree_map::Iter<'_, String, PathBuf> {
        self.map.iter()
    }
}

impl<'a> IntoIterator for &'a RawAccounts {
    type Item = (&'a String, &'a PathBuf);
    type IntoIter = std::collections::btree_map::Iter<'a, String, PathBuf>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<'de> Deserialize<'de> for RawAccounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawAccounts, D::Error> {
        d.deserialize_map(AccountsVisitor)
    }
}

/// Reads the `accounts:` mapping keeping its order.
struct AccountsVisitor;

impl<'de> Visitor<'de> for AccountsVisitor {
    type Value = RawAccounts;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a mapping of account name to home")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawAccounts, A::Error> {
        let mut out = RawAccounts::default();
        while let Some((name, home)) = map.next_entry::<String, PathBuf>()? {
            // Duplicates never get here: the `keys` walk refuses them first.
            if out.map.insert(name.clone(), home).is_none() {
                out.order.push(name);
            }
        }
        Ok(out)
    }
}
