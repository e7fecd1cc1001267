//! The accounts' limits as an operator sees them (`homeswap limits`, the
//! status document, the metrics), with the accounts held out of failover
//! (`account disable`), and ending a limit by hand (`limits clear`).

use serde::Serialize;

use crate::fs::error::FsError;
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::context::Context;
use crate::ops::fleet::{self, FleetStatus};
use crate::ops::skeleton::{self, Ended, Operation};
use crate::ops::{home_of, UnknownAccount};
use crate::state::audit::{Action, Outcome, Subject};
use crate::state::disabled::DisabledRecord;
use crate::state::latch::LatchRecord;
use crate::state::limits::{rfc3339, unix_now, LimitReason, LimitsRecord, UntilSource};
use crate::state::lock::{LockError, StateLock};

/// One account's limit, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AccountLimitView {
    /// The account.
    pub(crate) account: String,
    /// True while the account is limited.
    pub(crate) limited: bool,
    /// Why (`null` when not limited).
    pub(crate) reason: Option<LimitReason>,
    /// RFC 3339 start of the limit.
    pub(crate) since: Option<String>,
    /// RFC 3339 end of the limit.
    pub(crate) until: Option<String>,
    /// Unix seconds of the end (0 when not limited; the metric's value).
    pub(crate) until_unix: u64,
    /// Where the end came from.
    pub(crate) source: Option<UntilSource>,
    /// Whether `account disable` holds it out of failover, since when and
    /// why (`null` when it does not).
    pub(crate) disabled: Option<DisabledView>,
}

/// An account held out of failover, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DisabledView {
    /// RFC 3339 time it was disabled.
    pub(crate) since: String,
    /// The operator's reason, if one was given.
    pub(crate) reason: Option<String>,
}

/// Every configured account's limit, in `failover.order`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LimitsView {
    /// One entry per account.
    pub(crate) accounts: Vec<AccountLimitView>,
    /// Why the limits file could not be read (then no limits are known).
    pub(crate) error: Option<String>,
    /// Why the disabled accounts' file could not be read (then none is
    /// known to be disabled).
    pub(crate) disabled_error: Option<String>,
    /// The last swap a failover made: RFC 3339 time, from, to.
    pub(crate) last_failover: Option<LastFailoverView>,
    /// Limits seen on other instances (the fleet view); `null` without `fleet`.
    pub(crate) fleet: Option<FleetStatus>,
}

/// The last swap a failover made, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LastFailoverView {
    /// RFC 3339 time of the swap.
    pub(crate) time: String,
    /// The account failed over from.
    pub(crate) from: Option<String>,
    /// The account failed over to.
    pub(crate) to: String,
}

/// Reads the limits and the disabled accounts now.
pub(crate) fn limits(ctx: &Context) -> LimitsView {
    let (record, error) = LimitsRecord::read_or_empty(&ctx.state);
    let (disabled, disabled_error) = DisabledRecord::read_or_empty(&ctx.state);
    let now = unix_now();
    let mut v = view(ctx, &record, error, now);
    for a in &mut v.accounts {
        a.disabled = disabled.get(&a.account).map(|d| DisabledView {
            since: rfc3339(d.since),
            reason: d.reason.clone(),
        });
    }
    v.disabled_error = disabled_error;
    v.fleet = fleet::status(&ctx.config, &ctx.state, now);
    v
}

/// The view of `record` at `now` (nothing disabled).
pub(crate) fn view(
    ctx: &Context,
    record: &LimitsRecord,
    error: Option<String>,
    now: u64,
) -> LimitsView {
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
                disabled: None,
            },
            None => AccountLimitView {
                account: account.clone(),
                limited: false,
                reason: None,
                since: None,
                until: None,
                until_unix: 0,
                source: None,
                disabled: None,
            },
        })
        .collect();
    LimitsView {
        accounts,
        error,
        disabled_error: None,
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
pub(crate) enum ClearLimitError {
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

impl Ended for ClearLimitError {
    fn outcome(&self) -> Outcome {
        match self {
            ClearLimitError::Busy { .. } => Outcome::Busy,
            ClearLimitError::UnknownAccount(_) | ClearLimitError::Failed { .. } => Outcome::Refused,
        }
    }
}

impl Classified for ClearLimitError {
    /// The contract gives `limits clear` 0 and 2; a limits file that
    /// cannot be written (or a lock held too long) is neither, and is 1.
    fn class(&self) -> ErrorClass {
        match self {
            ClearLimitError::UnknownAccount(_) => ErrorClass::Unknown,
            ClearLimitError::Busy { .. } => ErrorClass::BusyRefused,
            ClearLimitError::Failed { .. } => ErrorClass::Refused,
        }
    }
}

/// Ends `account`'s limit; true if it was limited.
pub(crate) fn clear_limit(ctx: &Context, account: &str) -> Result<bool, ClearLimitError> {
    skeleton::run(ctx, &mut ClearLimit { account }).map(|c| c.0)
}

/// Whether the account cleared was limited.
struct WasLimited(bool);

impl Ended for WasLimited {
    fn outcome(&self) -> Outcome {
        if self.0 {
            Outcome::Cleared
        } else {
            Outcome::NotLimited
        }
    }
}

/// A limit ended by hand, as the skeleton runs it: the latch does not
/// refuse it.
struct ClearLimit<'a> {
    /// The account whose limit ends.
    account: &'a str,
}

impl ClearLimit<'_> {
    fn failed(&self, message: String) -> ClearLimitError {
        ClearLimitError::Failed {
            account: self.account.to_string(),
            message,
        }
    }
}

impl Operation for ClearLimit<'_> {
    type Report = WasLimited;
    type Error = ClearLimitError;
    const ACTION: Action = Action::LimitsClear;

    fn latched(&self, _: LatchRecord) -> Option<ClearLimitError> {
        None
    }

    fn busy(&self, source: LockError) -> ClearLimitError {
        ClearLimitError::Busy {
            account: self.account.to_string(),
            source,
        }
    }

    fn lock_failed(&self, e: FsError) -> ClearLimitError {
        self.failed(e.to_string())
    }

    fn check(&mut self, ctx: &Context) -> Result<(), ClearLimitError> {
        home_of(&ctx.config, self.account)?;
        Ok(())
    }

    fn run(&mut self, ctx: &Context, _lock: &StateLock) -> Result<WasLimited, ClearLimitError> {
        let now = unix_now();
        // An unreadable file is replaced: it held no usable limit anyway.
        let (mut record, _) = LimitsRecord::read_or_empty(&ctx.state);
        let was = record.clear(self.account, now);
        record
            .write(&ctx.state, now)
            .map_err(|e| self.failed(e.to_string()))?;
        Ok(WasLimited(was))
    }

    /// An operator's act, like a latch clear: a limit cleared goes into
    /// the audit log (best effort: it is cleared either way).
    fn subject(
        &self,
        _: &Context,
        result: &Result<WasLimited, ClearLimitError>,
    ) -> Option<Subject> {
        result.as_ref().ok().map(|_| Subject {
            from: Some(self.account.to_string()),
            ..Subject::default()
        })
    }
}
