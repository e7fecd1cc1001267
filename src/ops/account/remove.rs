//! `account remove NAME`: the account out of the configuration, its home
//! left where it is.
//!
//! 1. Before the lock: a configured account (else unknown account).
//! 2. Under the lock: refuse while it is the active account (a session may
//!    be running on it; swap away first) or the last one.
//! 3. Edit the configuration in memory (`config::remove_account`: its
//!    entry of `accounts:`, and its name in `failover.order` and
//!    `failover.thresholds` where the file has them); the edited text must
//!    parse to the configuration as it is without exactly this account.
//! 4. Write it atomically; then forget that it was disabled, if it was.
//!
//! The home, its credentials and its links are never touched: the report
//! says where they still are.

use std::path::PathBuf;

use super::error::{AccountError, RELOAD_HINT};
use crate::config;
use crate::fs::atomic;
use crate::fs::error::FsError;
use crate::fs::pathfmt::shown;
use crate::links::active::ActiveLink;
use crate::ops::context::Context;
use crate::ops::home_of;
use crate::ops::skeleton::{self, Ended, Operation};
use crate::state::audit::{Action, Outcome, Subject};
use crate::state::disabled::DisabledRecord;
use crate::state::latch::LatchRecord;
use crate::state::lock::{LockError, StateLock};

/// What `account remove` did.
#[derive(Debug, Clone)]
pub(crate) struct RemoveReport {
    /// The account removed.
    pub(crate) account: String,
    /// Its home, still there.
    pub(crate) home: PathBuf,
    /// The configuration file written.
    pub(crate) config: PathBuf,
    /// What a person should know besides.
    pub(crate) notes: Vec<String>,
    /// What went wrong without undoing the removal.
    pub(crate) warnings: Vec<String>,
}

impl Ended for RemoveReport {
    fn outcome(&self) -> Outcome {
        Outcome::Removed
    }
}

/// Removes the account from the configuration. See the module
/// documentation.
pub(crate) fn remove_account(ctx: &Context, account: &str) -> Result<RemoveReport, AccountError> {
    skeleton::run(
        ctx,
        &mut Remove {
            account,
            home: PathBuf::new(),
        },
    )
}

/// One `account remove`, as the skeleton runs it.
struct Remove<'a> {
    /// The account.
    account: &'a str,
    /// Its home, once step 1 found it configured.
    home: PathBuf,
}

impl Operation for Remove<'_> {
    type Report = RemoveReport;
    type Error = AccountError;
    const ACTION: Action = Action::AccountRemove;

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
        AccountError::refused(self.account, e.to_string())
    }

    /// Step 1.
    fn check(&mut self, ctx: &Context) -> Result<(), AccountError> {
        self.home = home_of(&ctx.config, self.account)?.to_path_buf();
        Ok(())
    }

    /// Steps 2 to 4.
    fn run(&mut self, ctx: &Context, _: &StateLock) -> Result<RemoveReport, AccountError> {
        let name = self.account;
        let refused = |p: String| AccountError::refused(name, p);
        // 2.
        if ActiveLink::read(&ctx.config).account.as_deref() == Some(name) {
            return Err(refused(format!(
                "it is the active account ({} points at its home); make another account active first ('homeswap swap ACCOUNT')",
                shown(&ctx.config.active_link)
            )));
        }
        if ctx.config.accounts.len() == 1 {
            return Err(refused(
                "it is the only account; a configuration needs at least one".into(),
            ));
        }
        // 3.
        let path = &ctx.config.path;
        let text = config::read_text(path).map_err(|e| refused(e.to_string()))?;
        let edited =
            config::remove_account(path, &text, name).map_err(|e| refused(e.to_string()))?;
        // 4.
        atomic::replace_file(path, edited.text.as_bytes())
            .map_err(|e| refused(format!("the configuration was not written: {e}")))?;
        let mut report = RemoveReport {
            account: name.to_string(),
            home: self.home.clone(),
            config: path.clone(),
            notes: vec![RELOAD_HINT.to_string()],
            warnings: Vec::new(),
        };
        forget_disabled(ctx, name, &mut report.warnings);
        Ok(report)
    }

    fn subject(&self, _: &Context, _: &Result<RemoveReport, AccountError>) -> Option<Subject> {
        Some(Subject {
            account: Some(self.account.to_string()),
            home: (!self.home.as_os_str().is_empty()).then(|| shown(&self.home).to_string()),
            ..Subject::default()
        })
    }

    fn warn(report: &mut RemoveReport, warning: String) {
        report.warnings.push(warning);
    }
}

/// A removed account is no longer held out: an account added later under
/// the same name starts enabled.
fn forget_disabled(ctx: &Context, name: &str, warnings: &mut Vec<String>) {
    let Ok(mut record) = DisabledRecord::read(&ctx.state) else {
        return;
    };
    if record.accounts.remove(name).is_some() {
        if let Err(e) = record.write(&ctx.state) {
            warnings.push(format!("{name} is still listed as disabled: {e}"));
        }
    }
}
