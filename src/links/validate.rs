//! Validation of everything at once: every account's links and the active
//! link, so an operator sees and fixes all problems in one pass.

use serde::Serialize;

use crate::config::Config;
use crate::links::active::ActiveLink;
use crate::links::credentials::CredentialFindings;
use crate::links::{check_accounts, AccountReport};

/// The result of one full validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationReport {
    /// The active link.
    pub(crate) active: ActiveLink,
    /// One report per configured account, sorted by name.
    pub(crate) accounts: Vec<AccountReport>,
    /// What the homes' credentials files show together (warnings).
    pub(crate) credentials: CredentialFindings,
}

impl ValidationReport {
    /// True when every link of every account is `ok` and the active link
    /// points at a configured account.
    pub fn is_ok(&self) -> bool {
        self.active.problem.is_none() && self.accounts.iter().all(AccountReport::is_ok)
    }

    /// One line per problem: the active link first, then each link.
    pub fn problems(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.active.problem.is_some() {
            lines.push(self.active.to_string());
        }
        for a in &self.accounts {
            lines.extend(a.problems().map(ToString::to_string));
        }
        lines
    }

    /// One warning line per unmanaged entry of every account (drift), then
    /// per credentials finding: not problems, so neither the exit code nor
    /// readiness changes.
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.accounts
            .iter()
            .flat_map(AccountReport::warnings)
            .chain(self.credentials.warnings())
            .collect()
    }

    /// The report of `account`, if configured.
    pub(crate) fn account(&self, account: &str) -> Option<&AccountReport> {
        self.accounts.iter().find(|a| a.account == account)
    }
}

/// Checks every account and the active link; read-only.
pub fn validate_all(config: &Config) -> ValidationReport {
    let accounts = check_accounts(
        config
            .accounts
            .iter()
            .map(|(name, home)| (name.as_str(), home.as_path())),
        &config.shared,
    );
    let credentials = CredentialFindings::of(
        accounts
            .iter()
            .map(|a| (a.account.as_str(), a.home.as_path(), a.credentials.as_ref())),
    );
    ValidationReport {
        active: ActiveLink::read(config),
        accounts,
        credentials,
    }
}
