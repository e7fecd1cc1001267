//! The hook events homeswap reads from Claude Code (see CLAUDE-CODE.md):
//! only the fields it uses; every other field is ignored.

use std::path::PathBuf;

use serde::Deserialize;

use crate::state::limits::LimitReason;

/// One hook event as Claude Code writes it on the hook's stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct HookEvent {
    /// `SessionStart`, `StopFailure`, ...
    #[serde(default)]
    pub(crate) hook_event_name: String,
    /// The session's id (a UUID).
    #[serde(default)]
    pub(crate) session_id: Option<String>,
    /// `StopFailure`'s error kind: `rate_limit`, `authentication_failed`,
    /// `billing_error`, ...
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// What Claude Code showed, e.g. `You've hit your 5-hour limit ·
    /// resets 9:46am (UTC)`.
    #[serde(default)]
    pub(crate) last_assistant_message: Option<String>,
    /// The turn's prompt id (`StopFailure`: the failed turn's).
    #[serde(default)]
    pub(crate) prompt_id: Option<String>,
    /// The session's transcript, spelled through the active link.
    #[serde(default)]
    pub(crate) transcript_path: Option<PathBuf>,
}

/// What an event asks homeswap to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HookAction {
    /// Remember the account the session starts on.
    Remember,
    /// Fail over, for this reason.
    Failover(LimitReason),
    /// Nothing: an event or an error homeswap does not act on.
    Ignore(String),
}

impl HookEvent {
    /// Parses an event; the error is one line for stderr.
    pub(crate) fn parse(bytes: &[u8]) -> Result<HookEvent, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a hook event (JSON object): {e}"))
    }

    /// What to do about it.
    pub(crate) fn action(&self) -> HookAction {
        match self.hook_event_name.as_str() {
            "SessionStart" => HookAction::Remember,
            "StopFailure" => match self.error.as_deref() {
                Some("rate_limit") => HookAction::Failover(LimitReason::RateLimit),
                Some("authentication_failed" | "billing_error") => {
                    HookAction::Failover(LimitReason::Auth)
                }
                other => HookAction::Ignore(format!(
                    "StopFailure with error {:?} is not a limit; ignored",
                    other.unwrap_or("")
                )),
            },
            "" => HookAction::Ignore("no hook_event_name; ignored".into()),
            other => HookAction::Ignore(format!("event {other:?} is not handled; ignored")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_codes_stop_failure_is_a_rate_limit_failover() {
        let e = HookEvent::parse(br#"{"session_id":"s1","transcript_path":"/x","cwd":"/w","prompt_id":"p","hook_event_name":"StopFailure","error":"rate_limit","last_assistant_message":"You've hit your 5-hour limit \u00b7 resets 9:46am (UTC)"}"#).unwrap();
        assert_eq!(e.action(), HookAction::Failover(LimitReason::RateLimit));
        assert_eq!(e.session_id.as_deref(), Some("s1"));
        assert_eq!(e.prompt_id.as_deref(), Some("p"));
        assert_eq!(
            e.transcript_path.as_deref(),
            Some(std::path::Path::new("/x"))
        );
        for (error, want) in [
            ("authentication_failed", Some(LimitReason::Auth)),
            ("billing_error", Some(LimitReason::Auth)),
            ("server_error", None),
        ] {
            let e = HookEvent {
                hook_event_name: "StopFailure".into(),
                error: Some(error.into()),
                ..HookEvent::default()
            };
            match (e.action(), want) {
                (HookAction::Failover(r), Some(w)) => assert_eq!(r, w),
                (HookAction::Ignore(_), None) => {}
                (got, _) => panic!("{error}: {got:?}"),
            }
        }
    }

    #[test]
    fn other_events_and_garbage_are_ignored_or_refused() {
        let e = HookEvent::parse(br#"{"hook_event_name":"PreToolUse"}"#).unwrap();
        assert!(matches!(e.action(), HookAction::Ignore(_)));
        assert!(HookEvent::parse(b"[1,2]").is_err());
        assert!(HookEvent::parse(b"\xff").is_err());
        assert!(HookEvent::parse(br#"{"hook_event_name":7}"#).is_err());
    }
}
