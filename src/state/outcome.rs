//! The words an operation ends with, each written once: the `outcome` of
//! an audit line, of the JSON answers and of the metrics' `outcome` label
//! (whose value sets are [`Outcome::SWAP`] and [`Outcome::FAILOVER`]), and
//! the audit line's `action`.

use serde::{Deserialize, Serialize};

/// What an audit line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    /// A swap attempt.
    Swap,
    /// The recovery of a swap a crash interrupted.
    Recover,
    /// A latch clear.
    LatchClear,
    /// An adoption.
    Adopt,
    /// A failover attempt.
    Failover,
    /// A limit ended by hand.
    LimitsClear,
    /// An account added to the configuration.
    AccountAdd,
    /// An account taken out of the configuration.
    AccountRemove,
    /// An account held out of failover.
    AccountDisable,
    /// An account let back into failover.
    AccountEnable,
    /// Claude Code's settings set up (or homeswap's entries taken out).
    Setup,
    /// Which account served a request could not be told, so nothing was
    /// recorded for it (the hook's limit, the status line's usage).
    Attribution,
}

impl Action {
    /// The name in the audit log.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Action::Swap => "swap",
            Action::Recover => "recover",
            Action::LatchClear => "latch_clear",
            Action::Adopt => "adopt",
            Action::Failover => "failover",
            Action::LimitsClear => "limits_clear",
            Action::AccountAdd => "account_add",
            Action::AccountRemove => "account_remove",
            Action::AccountDisable => "account_disable",
            Action::AccountEnable => "account_enable",
            Action::Setup => "setup",
            Action::Attribution => "attribution",
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// The active link now points at the new account (swap, failover,
    /// the recovery that finished an interrupted swap).
    Swapped,
    /// The account asked for was already active (swap).
    AlreadyActive,
    /// The event was already handled (failover).
    AlreadyMoved,
    /// Failed after the flip and undone, or the flip itself failed (swap,
    /// recovery).
    RolledBack,
    /// No account to fail over to (failover).
    Exhausted,
    /// The failover's swap failed and was rolled back (failover).
    Failed,
    /// Refused before anything changed.
    Refused,
    /// Ensure and rollback both failed: latched.
    Partial,
    /// Another homeswap held the lock too long.
    Busy,
    /// The interrupted swap had crashed before its flip (recovery).
    NotFlipped,
    /// The active link was changed by someone else since (recovery).
    Superseded,
    /// Only leftover temporaries were removed (recovery).
    Cleaned,
    /// The latch or the limit is clear now (latch clear, limits clear).
    Cleared,
    /// There was no latch to clear (latch clear).
    NotSet,
    /// The account was not limited (limits clear).
    NotLimited,
    /// The account's real directories are in the shared targets (adopt).
    Adopted,
    /// Conflicts and no `--keep-both` (adopt).
    Conflicts,
    /// Stopped part-way; a re-run finishes (adopt).
    Stopped,
    /// The account is in the configuration now (account add).
    Added,
    /// The account is out of the configuration now (account remove).
    Removed,
    /// The account is held out of failover now (account disable).
    Disabled,
    /// It was held out already (account disable).
    AlreadyDisabled,
    /// The account is back in the failover choice (account enable).
    Enabled,
    /// It was not held out (account enable).
    NotDisabled,
    /// Files were written (setup).
    Changed,
    /// Everything was already as asked (setup).
    Unchanged,
    /// Which account served the request is not known: nothing recorded
    /// (attribution).
    Unknown,
}

impl Outcome {
    /// Every outcome of a swap attempt, in the contract's order: the
    /// values of `homeswap_swaps_total{outcome}`.
    pub(crate) const SWAP: [Outcome; 6] = [
        Outcome::Swapped,
        Outcome::AlreadyActive,
        Outcome::RolledBack,
        Outcome::Refused,
        Outcome::Partial,
        Outcome::Busy,
    ];

    /// Every outcome of a failover attempt, in the contract's order: the
    /// values of `homeswap_failovers_total{outcome}`.
    pub(crate) const FAILOVER: [Outcome; 7] = [
        Outcome::Swapped,
        Outcome::AlreadyMoved,
        Outcome::Exhausted,
        Outcome::Failed,
        Outcome::Refused,
        Outcome::Partial,
        Outcome::Busy,
    ];

    /// The contract's name.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Outcome::Swapped => "swapped",
            Outcome::AlreadyActive => "already_active",
            Outcome::AlreadyMoved => "already_moved",
            Outcome::RolledBack => "rolled_back",
            Outcome::Exhausted => "exhausted",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::Partial => "partial",
            Outcome::Busy => "busy",
            Outcome::NotFlipped => "not_flipped",
            Outcome::Superseded => "superseded",
            Outcome::Cleaned => "cleaned",
            Outcome::Cleared => "cleared",
            Outcome::NotSet => "not_set",
            Outcome::NotLimited => "not_limited",
            Outcome::Adopted => "adopted",
            Outcome::Conflicts => "conflicts",
            Outcome::Stopped => "stopped",
            Outcome::Added => "added",
            Outcome::Removed => "removed",
            Outcome::Disabled => "disabled",
            Outcome::AlreadyDisabled => "already_disabled",
            Outcome::Enabled => "enabled",
            Outcome::NotDisabled => "not_disabled",
            Outcome::Changed => "changed",
            Outcome::Unchanged => "unchanged",
            Outcome::Unknown => "unknown",
        }
    }

    /// Whether a person should look at it: `Good` for what was asked or
    /// nothing to do, `Bad` for a failure that left something to repair
    /// or undone, `Warn` for a refusal or a wait.
    pub(crate) const fn tone(self) -> Tone {
        match self {
            Outcome::Swapped
            | Outcome::AlreadyActive
            | Outcome::AlreadyMoved
            | Outcome::Cleared
            | Outcome::NotSet
            | Outcome::Adopted
            | Outcome::Cleaned
            | Outcome::NotFlipped
            | Outcome::Superseded
            | Outcome::Added
            | Outcome::Removed
            | Outcome::Disabled
            | Outcome::AlreadyDisabled
            | Outcome::Enabled
            | Outcome::NotDisabled
            | Outcome::Changed
            | Outcome::Unchanged => Tone::Good,
            Outcome::Partial | Outcome::Failed | Outcome::Exhausted => Tone::Bad,
            Outcome::RolledBack
            | Outcome::Refused
            | Outcome::Busy
            | Outcome::NotLimited
            | Outcome::Conflicts
            | Outcome::Stopped
            | Outcome::Unknown => Tone::Warn,
        }
    }
}

/// How an outcome is shown to a person (the status page's colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Done, or nothing to do.
    Good,
    /// Refused or waiting: nothing changed.
    Warn,
    /// Failed in a way that needs a look.
    Bad,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_its_serde_name() {
        for o in Outcome::SWAP.iter().chain(&Outcome::FAILOVER) {
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::json!(o.as_str())
            );
        }
        for a in [
            Action::Swap,
            Action::LatchClear,
            Action::LimitsClear,
            Action::AccountAdd,
            Action::AccountRemove,
            Action::AccountDisable,
            Action::AccountEnable,
            Action::Setup,
            Action::Attribution,
        ] {
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::json!(a.as_str())
            );
        }
        for o in [Outcome::Changed, Outcome::Unchanged] {
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::json!(o.as_str())
            );
        }
        let o: Outcome = serde_json::from_str("\"not_limited\"").unwrap();
        assert_eq!(o, Outcome::NotLimited);
        assert_eq!(
            serde_json::to_value(Outcome::Unknown).unwrap(),
            serde_json::json!(Outcome::Unknown.as_str())
        );
    }
}
