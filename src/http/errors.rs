//! The one place where errors become HTTP answers: the library's errors
//! (their status from their class, `ops::class`, in one `match`), and the
//! protocol's own refusals (bad body, auth, route, method, size, time).
//!
//! Every error answer has one shape, [`ErrorBody`]:
//! `{"error": "...", "outcome": "...", "errors": ["...", ...]}`. `error` is
//! one line for a person, `outcome` a fixed word a program branches on,
//! `errors` the individual errors (at least one). Messages speak the API's
//! language: the library's errors name CLI flags (`--reason`), which an API
//! caller cannot pass, so those variants are worded here.

use hyper::header::{HeaderValue, ALLOW, WWW_AUTHENTICATE};
use hyper::StatusCode;
use serde::{Deserialize, Serialize};

use crate::http::response::{json, HttpResponse};
use crate::ops::class::{Classified, ErrorClass};
use crate::ops::failover::FailoverError;
use crate::ops::skeleton::Ended;
use crate::ops::swap::{ClearError, SwapError};
use crate::state::latch::LatchRecord;

/// The body of every error answer (and what the hook's client reads of
/// one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErrorBody {
    /// One line for a person.
    pub(crate) error: String,
    /// A fixed word a program can branch on (README: "Error answers").
    pub(crate) outcome: String,
    /// The individual errors; never empty.
    #[serde(default)]
    pub(crate) errors: Vec<String>,
}

impl ErrorBody {
    /// An error whose only error is its message.
    pub(crate) fn single(outcome: &str, message: String) -> ErrorBody {
        ErrorBody {
            errors: vec![message.clone()],
            error: message,
            outcome: outcome.to_string(),
        }
    }

    /// An error with its individual errors (the message alone when none).
    pub(crate) fn with_errors(outcome: &str, message: String, errors: Vec<String>) -> ErrorBody {
        if errors.is_empty() {
            return ErrorBody::single(outcome, message);
        }
        ErrorBody {
            error: message,
            outcome: outcome.to_string(),
            errors,
        }
    }
}

/// Refusals of the protocol itself, before any library call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The body is not the expected JSON (400).
    BadRequest,
    /// No bearer token (401).
    Unauthorized,
    /// A wrong token, or a peer uid that may not use the socket (403).
    Forbidden,
    /// No such route (404).
    NotFound,
    /// The route exists for another method (405).
    MethodNotAllowed,
    /// The body did not arrive in time (408).
    Timeout,
    /// The body is over the limit (413).
    TooLarge,
}

impl Refusal {
    /// The status and the outcome word.
    fn status_and_outcome(self) -> (StatusCode, &'static str) {
        match self {
            Refusal::BadRequest => (StatusCode::BAD_REQUEST, "bad_request"),
            Refusal::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Refusal::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Refusal::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Refusal::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Refusal::Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            Refusal::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        }
    }
}

/// The answer to a protocol refusal.
pub(crate) fn refuse(kind: Refusal, message: impl Into<String>) -> HttpResponse {
    let (status, outcome) = kind.status_and_outcome();
    json(status, &ErrorBody::single(outcome, message.into()))
}

/// 401, with the challenge RFC 7235 asks for.
pub(crate) fn unauthorized() -> HttpResponse {
    let mut r = refuse(
        Refusal::Unauthorized,
        "missing 'Authorization: Bearer <token>' (the token is in serve.admin.token_file)",
    );
    r.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"homeswap\""),
    );
    r
}

/// 405, naming the method the route takes.
pub(crate) fn not_allowed(allow: &'static str) -> HttpResponse {
    let mut r = refuse(
        Refusal::MethodNotAllowed,
        format!("method not allowed; use {allow}"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// What an API caller does about a latch.
const CLEAR_HINT: &str =
    "repair the links, then POST /api/v1/latch/clear with {\"reason\": \"what was repaired\"}";

/// The status of an error of this class.
pub(crate) fn status(class: ErrorClass) -> StatusCode {
    match class {
        ErrorClass::Usage => StatusCode::BAD_REQUEST,
        ErrorClass::Unknown => StatusCode::NOT_FOUND,
        ErrorClass::Refused => StatusCode::CONFLICT,
        ErrorClass::Latched => StatusCode::LOCKED,
        ErrorClass::Partial => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorClass::Busy | ErrorClass::BusyRefused => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The body of a swap error; `outcome` is the swap's (the metric label).
pub(crate) fn swap_body(e: &SwapError) -> ErrorBody {
    let message = match e {
        SwapError::Latched(l) => format!(
            "swap refused: the partial-swap latch is set{}; {CLEAR_HINT}",
            since(l)
        ),
        SwapError::Partial {
            from,
            to,
            latch_error,
            ..
        } => format!(
            "partial swap {} -> {to}: ensure and rollback both failed, the latch is set{}; {CLEAR_HINT}",
            from.as_deref().unwrap_or("(none)"),
            if latch_error.is_some() {
                " in memory only"
            } else {
                ""
            }
        ),
        other => other.to_string(),
    };
    ErrorBody::with_errors(e.outcome().as_str(), message, e.errors())
}

/// The answer to a swap error.
pub(crate) fn swap_failure(e: &SwapError) -> HttpResponse {
    json(status(e.class()), &swap_body(e))
}

/// ` since <time> (swap a -> b)`, when the record says.
fn since(l: &LatchRecord) -> String {
    if let Some(why) = &l.unreadable {
        return format!(": {why}");
    }
    if l.set_at.is_empty() {
        return String::new();
    }
    format!(
        " since {} (swap {} -> {})",
        l.set_at,
        l.from.as_deref().unwrap_or("(none)"),
        l.to
    )
}

/// The body of a failover error; `outcome` is the failover's (the metric
/// label), `bad_request` for a body that cannot be used.
pub(crate) fn failover_body(e: &FailoverError) -> ErrorBody {
    match e {
        FailoverError::BadRequest(m) => ErrorBody::single("bad_request", m.clone()),
        FailoverError::Latched(l) => ErrorBody::with_errors(
            e.outcome().as_str(),
            format!(
                "failover refused: the partial-swap latch is set{}; {CLEAR_HINT}",
                since(l)
            ),
            e.errors(),
        ),
        FailoverError::Swap { from, to, source } => {
            let inner = swap_body(source);
            ErrorBody::with_errors(
                e.outcome().as_str(),
                format!(
                    "failover {} -> {to}: {}",
                    from.as_deref().unwrap_or("(none)"),
                    inner.error
                ),
                inner.errors,
            )
        }
        other => {
            ErrorBody::with_errors(other.outcome().as_str(), other.to_string(), other.errors())
        }
    }
}

/// The answer to a failover error.
pub(crate) fn failover_failure(e: &FailoverError) -> HttpResponse {
    json(status(e.class()), &failover_body(e))
}

/// The body of a latch-clear error.
pub(crate) fn clear_body(e: &ClearError) -> ErrorBody {
    match e {
        ClearError::NoReason => ErrorBody::single(
            "bad_request",
            "a reason is required: say what was repaired, e.g. {\"reason\": \"relinked b/projects by hand\"}".into(),
        ),
        ClearError::StillUnhealthy { problems } => {
            ErrorBody::with_errors("refused", e.to_string(), problems.clone())
        }
        ClearError::Busy(_) => ErrorBody::single("busy", e.to_string()),
        ClearError::Fs(_) => ErrorBody::single("failed", e.to_string()),
    }
}

/// The answer to a latch-clear error.
pub(crate) fn clear_failure(e: &ClearError) -> HttpResponse {
    json(status(e.class()), &clear_body(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latch() -> Box<LatchRecord> {
        let mut l = LatchRecord::new(
            Some("a".into()),
            "b",
            vec!["ensure failed".into(), "rollback failed".into()],
        );
        l.set_at = "2026-01-01T00:00:00Z".into();
        Box::new(l)
    }

    #[test]
    fn api_error_messages_never_name_cli_flags_or_commands() {
        let bodies = [
            swap_body(&SwapError::Latched(latch())),
            swap_body(&SwapError::Partial {
                from: None,
                to: "b".into(),
                errors: vec!["x".into()],
                latch_error: Some("disk full".into()),
            }),
            clear_body(&ClearError::NoReason),
        ];
        for b in bodies {
            assert!(!b.error.contains("--"), "{}", b.error);
            assert!(!b.error.contains("homeswap latch"), "{}", b.error);
            assert!(!b.errors.is_empty());
        }
    }

    #[test]
    fn a_latched_swap_keeps_the_latch_errors_and_the_refused_outcome() {
        let b = swap_body(&SwapError::Latched(latch()));
        assert_eq!(b.outcome, "refused");
        assert_eq!(b.errors, ["ensure failed", "rollback failed"]);
        assert!(b.error.contains("since 2026-01-01T00:00:00Z (swap a -> b)"));
        assert!(b.error.contains("POST /api/v1/latch/clear"));
    }

    #[test]
    fn an_error_without_individual_errors_lists_its_message() {
        let b = ErrorBody::with_errors("refused", "m".into(), Vec::new());
        assert_eq!(b.errors, ["m"]);
    }
}
