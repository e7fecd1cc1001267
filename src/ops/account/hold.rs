//! `account disable NAME [--reason TEXT]` and `account enable NAME`:
//! holding an account out of every failover choice (the CLI's, the admin
//! API's, the hook's and the status line's) until it is enabled again.
//! Kept in `<state_dir>/disabled.json`, written atomically under the state
//! lock; each change is one `account_disable` or `account_enable` line in
//! the audit log.
//!
//! Disabling the active account does not move anything: it stays active
//! until a swap or a failover moves away, and no failover comes back to
//! it. A swap that names a disabled account is the operator's explicit
//! choice and goes ahead, with a warning (`ops::swap`).

use super::error::AccountError;
use crate::fs::error::FsError;
use crate::links::active::ActiveLink;
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::ops::skeleton::{self, Ended, Operation};
use crate::state::audit::{Action, Outcome, Subject};
use crate::state::disabled::{Disabled, DisabledRecord};
use crate::state::latch::LatchRecord;
use crate::state::limits::{rfc3339, unix_now};
use crate::state::lock::{LockError, StateLock};

/// What `account disable` or `account enable` did.
#[derive(Debug, Clone)]
pub(crate) struct HoldReport {
    /// The account.
    pub(crate) account: String,
    /// `disabled`, `already_disabled`, `enabled` or `not_disabled`.
    pub(crate) outcome: Outcome,
    /// RFC 3339 time it was disabled (now, or before).
    pub(crate) since: Option<String>,
    /// The reason it is (or was) disabled for.
    pub(crate) reason: Option<String>,
    /// What a person should know besides.
    pub(crate) notes: Vec<String>,
    /// What went wrong without failing (the audit log, an unreadable file
    /// written anew).
    pub(crate) warnings: Vec<String>,
}

impl Ended for HoldReport {
    fn outcome(&self) -> Outcome {
        self.outcome
    }
}

/// Holds `account` out of failover until [`enable_account`].
pub(crate) fn disable_account(
    ctx: &Context,
    account: &str,
    reason: Option<&str>,
) -> Result<HoldReport, AccountError> {
    skeleton::run(
        ctx,
        &mut Hold::<true> {
            account,
            reason: reason.map(str::trim).filter(|r| !r.is_empty()),
        },
    )
}

/// Lets `account` back into the failover choice.
pub(crate) fn enable_account(ctx: &Context, account: &str) -> Result<HoldReport, AccountError> {
    skeleton::run(
        ctx,
        &mut Hold::<false> {
            account,
            reason: None,
        },
    )
}

/// One disable (`DISABLE`) or enable, as the skeleton runs it.
struct Hold<'a, const DISABLE: bool> {
    /// The account.
    account: &'a str,
    /// The operator's reason (disable only).
    reason: Option<&'a str>,
}

impl<const DISABLE: bool> Operation for Hold<'_, DISABLE> {
    type Report = HoldReport;
    type Error = AccountError;
    const ACTION: Action = if DISABLE {
        Action::AccountDisable
    } else {
        Action::AccountEnable
    };

    fn latched(&self, _: LatchRecord) -> Option<AccountError> {
        None
    }

    fn busy(&self, source: LockError) -> AccountError {
        AccountError::Busy {
            account: self.account.to_string(),
            source,
        }
    }

    fn lock_failed(&self, e: FsError) -> AccountError {
        AccountError::refused(self.account, format!("not saved: {e}"))
    }

    fn check(&mut self, ctx: &Context) -> Result<(), AccountError> {
        home_of(&ctx.config, self.account)?;
        Ok(())
    }

    fn run(&mut self, ctx: &Context, _: &StateLock) -> Result<HoldReport, AccountError> {
        let mut warnings = Vec::new();
        let (mut record, unreadable) = DisabledRecord::read_or_empty(&ctx.state);
        if let Some(why) = unreadable {
            warnings.push(format!(
                "{why}; it held no usable list of disabled accounts, and is written anew"
            ));
        }
        let before = record.get(self.account).cloned();
        let outcome = match (DISABLE, &before) {
            (true, Some(_)) => Outcome::AlreadyDisabled,
            (true, None) => Outcome::Disabled,
            (false, Some(_)) => Outcome::Enabled,
            (false, None) => Outcome::NotDisabled,
        };
        let changed = matches!(outcome, Outcome::Disabled | Outcome::Enabled);
        if DISABLE && before.is_none() {
            record.accounts.insert(
                self.account.to_string(),
                Disabled {
                    since: unix_now(),
                    reason: self.reason.map(str::to_string),
                },
            );
        } else if !DISABLE {
            record.accounts.remove(self.account);
        }
        if changed {
            record
                .write(&ctx.state)
                .map_err(|e| AccountError::refused(self.account, format!("not saved: {e}")))?;
        }
        let shown = if DISABLE {
            record.get(self.account)
        } else {
            before.as_ref()
        };
        Ok(HoldReport {
            account: self.account.to_string(),
            outcome,
            since: shown.map(|d| rfc3339(d.since)),
            reason: shown.and_then(|d| d.reason.clone()),
            notes: self.notes(ctx, outcome),
            warnings,
        })
    }

    fn subject(&self, _: &Context, _: &Result<HoldReport, AccountError>) -> Option<Subject> {
        Some(Subject {
            account: Some(self.account.to_string()),
            reason: self.reason.map(str::to_string),
            ..Subject::default()
        })
    }

    fn warn(report: &mut HoldReport, warning: String) {
        report.warnings.push(warning);
    }
}

impl<const DISABLE: bool> Hold<'_, DISABLE> {
    /// What the change means for the account in use.
    fn notes(&self, ctx: &Context, outcome: Outcome) -> Vec<String> {
        let active = ActiveLink::read(&ctx.config).account;
        match outcome {
            Outcome::Disabled if active.as_deref() == Some(self.account) => vec![format!(
                "{} is the active account and stays active until a swap or a failover moves away; no failover comes back to it",
                self.account
            )],
            Outcome::Disabled | Outcome::AlreadyDisabled => vec![format!(
                "failover skips {} until 'homeswap account enable {}'; 'homeswap swap {}' still makes it active if you ask",
                self.account, self.account, self.account
            )],
            _ => Vec::new(),
        }
    }
}
