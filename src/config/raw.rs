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
    pub active_link: PathBuf,
    pub shared_dir: PathBuf,
    #[serde(default)]
    pub shared: Option<Vec<String>>,
    pub state_dir: PathBuf,
    #[serde(default)]
    pub serve: Option<RawServe>,
}

/// The `serve:` section.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    #[serde(default)]
    pub listen: Option<String>,
    /// A humantime duration (`30s`, `5m`), bounded in `check`.
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub admin: Option<RawAdmin>,
}

/// The `serve.admin:` section.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    #[serde(default)]
    pub listen: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub socket: Option<PathBuf>,
}
