//! The checked configuration: what every other module reads, and the
//! defaults of what a file may leave out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::shared::SharedLinks;

/// Environment variable read when `--config` is not given.
pub(crate) const CONFIG_ENV: &str = "HOMESWAP_CONFIG";

/// Default `serve.listen` (read-only listener).
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Default `serve.interval` between full validations.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// A configuration that was loaded and passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it came from (for messages).
    pub(crate) path: PathBuf,
    /// Account name → home, sorted by name. Homes are in plain form: no
    /// `.` component, no doubled or trailing `/`.
    pub accounts: BTreeMap<String, PathBuf>,
    /// The symlink that tools follow to reach the active account's home.
    pub active_link: PathBuf,
    /// The required shared links and the directory holding their targets.
    pub shared: SharedLinks,
    /// Where the lock, the intent record, the latch and the audit log live.
    pub state_dir: PathBuf,
    /// Sidecar settings (defaults when the section is absent).
    pub serve: ServeConfig,
    /// Failover settings (defaults when the section is absent).
    pub failover: FailoverConfig,
    /// Where the fleet view comes from; `None` without a `fleet:` section.
    pub fleet: Option<FleetConfig>,
}

/// The `serve:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Address of the read-only listener.
    pub listen: String,
    /// Time between periodic full validations.
    pub interval: Duration,
    /// The mutating API, if enabled.
    pub admin: Option<AdminConfig>,
}

/// The `serve.admin:` section: at least one of `listen` / `socket`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// TCP address of the admin listener (needs `token_file`).
    pub(crate) listen: Option<String>,
    /// File holding the bearer token for the TCP admin listener.
    pub(crate) token_file: Option<PathBuf>,
    /// Unix socket of the admin listener (peer uid checked).
    pub socket: Option<PathBuf>,
}

/// Default `failover.cooldown`: Claude Code's five-hour window.
pub(crate) const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5 * 3600);

/// Default `failover.settle`.
pub(crate) const DEFAULT_SETTLE: Duration = Duration::from_secs(60);

/// The checked `failover:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverConfig {
    /// Every configured account once, most preferred first.
    pub order: Vec<String>,
    /// How long a limited account with no known reset time is skipped.
    pub cooldown: Duration,
    /// A failover naming no `from` this soon after the last swap by
    /// failover is the same event.
    pub settle: Duration,
    /// Usage percent (1..=100) at which the statusline asks for a failover.
    pub threshold: Option<u8>,
    /// Per-account usage percents (1..=100), over `threshold`.
    pub thresholds: BTreeMap<String, u8>,
}

impl FailoverConfig {
    /// The usage percent at which `account` fails over: its own
    /// threshold, else `failover.threshold`; `None` when neither is set.
    pub(crate) fn threshold_for(&self, account: &str) -> Option<u8> {
        self.thresholds.get(account).copied().or(self.threshold)
    }
}

/// Default `fleet.selector`: the job name the Prometheus examples use.
pub(crate) const DEFAULT_FLEET_SELECTOR: &str = r#"{job="homeswap"}"#;

/// Default `fleet.interval`.
pub(crate) const DEFAULT_FLEET_INTERVAL: Duration = Duration::from_secs(15);

/// Default `fleet.max_age`.
pub(crate) const DEFAULT_FLEET_MAX_AGE: Duration = Duration::from_secs(120);

/// Default `fleet.timeout`.
pub(crate) const DEFAULT_FLEET_TIMEOUT: Duration = Duration::from_secs(2);

/// How the sidecar authenticates to Prometheus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FleetAuth {
    /// No `Authorization` header.
    None,
    /// `Authorization: Bearer <the file's text>`, read at every refresh
    /// (so a rotated token is picked up).
    BearerTokenFile(PathBuf),
    /// `Authorization: Basic ...` from a file of one `USER:PASSWORD` line,
    /// read at every refresh.
    BasicAuthFile(PathBuf),
}

/// The checked `fleet:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    /// The API's base URL: `http://` or `https://`, a host, an optional
    /// port and path prefix, no trailing `/`.
    pub(crate) prometheus: String,
    /// Label matchers in braces, added to every metric queried.
    pub(crate) selector: String,
    /// How often the sidecar refreshes the view.
    pub(crate) interval: Duration,
    /// A view older than this is not used by the failover.
    pub(crate) max_age: Duration,
    /// The bound on each query of a refresh.
    pub(crate) timeout: Duration,
    /// Credentials, if any.
    pub(crate) auth: FleetAuth,
    /// The CA certificates to trust for `https://` (default: the system's).
    pub(crate) ca_file: Option<PathBuf>,
}

impl Config {
    /// The home of `account`, if configured.
    pub fn home(&self, account: &str) -> Option<&Path> {
        self.accounts.get(account).map(PathBuf::as_path)
    }

    /// The account whose home is exactly `target`, if any.
    pub(crate) fn account_for_home(&self, target: &Path) -> Option<&str> {
        self.accounts
            .iter()
            .find(|(_, home)| same_path(home, target))
            .map(|(name, _)| name.as_str())
    }
}

/// Compares two absolute paths component by component, so that a trailing
/// slash or a doubled separator does not make them differ.
pub(crate) fn same_path(a: &Path, b: &Path) -> bool {
    a.components().eq(b.components())
}

/// True for a name matching `^[a-z0-9][a-z0-9_-]{0,31}$`.
pub fn is_valid_account_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 32
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
}
