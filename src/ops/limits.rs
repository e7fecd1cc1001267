//! The accounts' limits as an operator sees them (`homeswap limits`, the
//! status document, the metrics), and ending one by hand (`limits clear`).

use serde::Serialize;

use crate::ops::context::Context;
use crate::ops::fleet::{self, FleetStatus};
use crate::ops::{home_of, UnknownAccount};
use crate::state::audit::{self, AuditEntry};
use crate::state::limits::{rfc3339, unix_now, LimitReason, LimitsRecord, UntilSource};
use crate::state::lock::{LockError, StateLock};

/// One account's limit, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountLimitView {
    /// The account.
    pub account: String,
    /// True while the account is limited.
    pub limited: bool,
    /// Why (`null` when not limited).
    pub reason: Option<LimitReason>,
    /// RFC 3339 start of the limit.
    pub since: Option<String>,
    /// RFC 3339 end of the limit.
    pub until: Option<String>,
    /// Unix seconds of the end (0 when not limited; the metric's value).
    pub until_unix: u64,
    /// Where the end came from.
    pub source: Option<UntilSource>,
}

/// Every configured account's limit, in `failover.order`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitsView {
    /// One entry per account.
    pub accounts: Vec<AccountLimitView>,
    /// Why the limits file could not be read (then no limits are known).
    pub error: Option<String>,
    /// The last swap a failover made: RFC 3339 time, from, to.
    pub last_failover: Option<LastFailoverView>,
    /// Limits seen on other instances (the fleet view); `null` without `fleet`.
    pub fleet: Option<FleetStatus>,
}

/// The last swap a failover made, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastFailoverView {
    /// RFC 3339 time of the swap.
    pub time: String,
    /// The account failed over from.
    pub from: Option<String>,
    /// The account failed over to.
    pub to: String,
}

/// Reads the limits now.
pub fn limits(ctx: &Context) -> LimitsView {
    let (record, error) = LimitsRecord::read_or_empty(&ctx.state);
    let now = unix_now();
    LimitsView {
        fleet: fleet::status(&ctx.config, &ctx.state, now),
        ..view(ctx, &record, error, now)
    }
}

/// The view of `record` at `now`.
pub fn view(ctx: &Context, record: &LimitsRecord, error: Option<String>, now: u64) -> LimitsView {
    let accounts = ctx
        .config
        .failover
        .order
        .iter()
        .map(|account| match record.limited(account, now) {
            Some(l) => AccountLimitView {
                account: account.clone(),
                limited: true,
                reason: Some(l.reason),
                since: Some(rfc3339(l.since)),
                until: Some(rfc3339(l.until)),
                until_unix: l.until,
                source: Some(l.source),
            },
            None => AccountLimitView {
                account: account.clone(),
                limited: false,
                reason: None,
                since: None,
                until: None,
                until_unix: 0,
                source: None,
            },
        })
        .collect();
    LimitsView {
        accounts,
        error,
        last_failover: record.last_failover.as_ref().map(|l| LastFailoverView {
            time: rfc3339(l.time),
            from: l.from.clone(),
            to: l.to.clone(),
        }),
        fleet: None,
    }
}

/// Why a limit could not be cleared.
#[derive(Debug, thiserror::Error)]
pub enum ClearLimitError {
    /// Not a configured account.
    #[error(transparent)]
    UnknownAccount(#[from] UnknownAccount),
    /// Another homeswap held the lock too long.
    #[error("limit of {account} not cleared: {source}")]
    Busy {
        /// The account.
        account: String,
        /// The lock's report.
        source: LockError,
    },
    /// The limits file could not be written.
    #[error("limit of {account} not cleared: {message}")]
    Failed {
        /// The account.
        account: String,
        /// What failed.
        message: String,
    },
}

/// Ends `account`'s limit; true if it was limited.
pub fn clear_limit(ctx: &Context, account: &str) -> Result<bool, ClearLimitError> {
    let start = std::time::Instant::now();
    home_of(&ctx.config, account)?;
    let failed = |message: String| ClearLimitError::Failed {
        account: account.to_string(),
        message,
    };
    let _lock = StateLock::acquire_or(
        &ctx.state,
        ctx.lock_timeout,
        |source| ClearLimitError::Busy {
            account: account.to_string(),
            source,
        },
        |e| failed(e.to_string()),
    )?;
    let now = unix_now();
    // An unreadable file is replaced: it held no usable limit anyway.
    let (mut record, _) = LimitsRecord::read_or_empty(&ctx.state);
    let was = record.clear(account, now);
    record
        .write(&ctx.state, now)
        .map_err(|e| failed(e.to_string()))?;
    // An operator's act, like a latch clear: it goes into the audit log
    // (best effort: the limit is cleared either way).
    let outcome = if was { "cleared" } else { "not_limited" };
    let mut entry = AuditEntry::new("limits_clear", outcome, start.elapsed());
    entry.from = Some(account.to_string());
    let _ = audit::append(&ctx.state, &entry);
    Ok(was)
}
