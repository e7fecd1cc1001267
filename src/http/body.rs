//! The bodies of the admin routes: the requests' types and reading one
//! within the size and time limits, and the failover's answer; the hook's
//! client (`client`) sends and reads the same types.

use std::time::Duration;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::Request;
use serde::{Deserialize, Serialize};

use crate::http::errors::{refuse, Refusal};
use crate::http::response::HttpResponse;
use crate::ops::failover::{
    FailoverOutcome, FailoverReport, FailoverRequest, RecordedLimit, SESSIONS_HINT,
};

/// Largest request body accepted; larger ones get 413.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// How long a client may take to send a request body.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The body of `POST /api/v1/swap`: `{"to": "b"}`.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwapRequest {
    /// The account to make active.
    pub to: String,
}

/// The body of `POST /api/v1/latch/clear`: `{"reason": "..."}`.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    /// What the operator repaired (goes into the audit log).
    pub reason: String,
}

/// The body of `POST /api/v1/failover`: `{"from": "a", "reason":
/// "rate_limit", "until": "<RFC 3339>"}`, every key optional.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailoverBody {
    /// The account that hit its limit (default: the active one, with the
    /// settle rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
    /// `rate_limit`, `auth`, `usage` or `manual` (default `manual`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// When the limit ends (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) until: Option<String>,
}

impl FailoverBody {
    /// The body that asks for `req` (its message is not sent).
    pub(crate) fn of(req: &FailoverRequest) -> FailoverBody {
        FailoverBody {
            from: req.from.clone(),
            reason: Some(req.reason.as_str().to_string()),
            until: req.until.clone(),
        }
    }
}

/// The 200 answer of `POST /api/v1/failover`. Read leniently (every field
/// but `outcome` may be absent), so a client reads a newer sidecar's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FailoverAnswer {
    /// `swapped` or `already_moved`.
    pub(crate) outcome: FailoverOutcome,
    /// The account active now.
    #[serde(default)]
    pub(crate) active: Option<String>,
    /// The account failed over from.
    #[serde(default)]
    pub(crate) from: Option<String>,
    /// The limit recorded (none under the settle rule).
    #[serde(default)]
    pub(crate) limit: Option<RecordedLimit>,
    /// What was decided and why, one sentence each.
    #[serde(default)]
    pub(crate) notes: Vec<String>,
    /// What went wrong without failing the failover.
    #[serde(default)]
    pub(crate) warnings: Vec<String>,
    /// That running Claude Code sessions follow at their next request.
    #[serde(default)]
    pub(crate) hint: String,
}

impl FailoverAnswer {
    /// The answer for a failover that succeeded.
    pub(crate) fn of(r: FailoverReport) -> FailoverAnswer {
        FailoverAnswer {
            outcome: r.outcome,
            active: r.active,
            from: r.from,
            limit: r.limit,
            notes: r.notes,
            warnings: r.warnings,
            hint: SESSIONS_HINT.to_string(),
        }
    }
}

/// Parses an admin request body: JSON of exactly the expected fields.
/// The error is the 400 answer's message.
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("bad JSON body: {e}"))
}

/// Reads a JSON body of at most [`MAX_BODY`] bytes within [`BODY_TIMEOUT`];
/// the error is the answer to send instead.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    req: Request<Incoming>,
) -> Result<T, HttpResponse> {
    let too_large = || {
        refuse(
            Refusal::TooLarge,
            format!("the body is over {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let collected = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(req.into_body(), MAX_BODY).collect(),
    )
    .await;
    let bytes = match collected {
        Err(_) => return Err(refuse(Refusal::Timeout, "the body did not arrive in time")),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Ok(Err(e)) => {
            return Err(refuse(
                Refusal::BadRequest,
                format!("cannot read the body: {e}"),
            ))
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    parse_body(&bytes).map_err(|e| refuse(Refusal::BadRequest, e))
}
