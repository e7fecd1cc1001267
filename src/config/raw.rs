//! The serde schema: what the YAML text deserializes into before any
//! check. Unknown keys and wrong types are refused here, by serde, with
//! yaml_serde's line and column; everything else is left to `check`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// Account name → home. Duplicate names never reach this map: the
    /// `keys` walk refuses them first (serde would keep the last one).
    pub accounts: BTreeMap<String, PathBuf>,
    /// The symlink to the active account's home.
    pub active_link: PathBuf,
    /// The directory holding the shared targets.
    pub shared_dir: PathBuf,
    /// The shared link names; absent: Claude Code's defaults.
    #[serde(default)]
    pub shared: Option<Vec<String>>,
    /// The shared file link names; absent: none.
    #[serde(default)]
    pub shared_files: Option<Vec<String>>,
    /// The entries each home keeps for itself; absent: Claude Code's.
    #[serde(default)]
    pub private: Option<Vec<String>>,
    /// Lock, intent record, latch and audit log.
    pub state_dir: PathBuf,
    /// Sidecar settings; absent: the defaults.
    #[serde(default)]
    pub serve: Option<RawServe>,
}

/// The `serve:` section.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    /// `IP:PORT` of the read-only listener.
    #[serde(default)]
    pub listen: Option<String>,
    /// A humantime duration (`30s`, `5m`), bounded in `check`.
    #[serde(default)]
    pub interval: Option<String>,
    /// The mutating API.
    #[serde(default)]
    pub admin: Option<RawAdmin>,
}

/// The `serve.admin:` section.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    /// `IP:PORT` of the TCP admin listener.
    #[serde(default)]
    pub listen: Option<String>,
    /// The bearer token's file (required with `listen`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// The Unix socket of the admin API.
    #[serde(default)]
    pub socket: Option<PathBuf>,
}
