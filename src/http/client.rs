//! The admin socket as the hook and the status line reach it
//! ([`AdminSocket`], their `ops::hook::ask::AskSidecar`): one
//! `POST /api/v1/failover` with hyper's HTTP/1 client over a tokio Unix
//! stream, sending and reading the API's own types ([`FailoverBody`] out,
//! [`FailoverAnswer`] or [`ErrorBody`] back).
//!
//! The whole call (connect, request, every byte of the answer) runs under
//! one deadline: a peer that answers a byte at a time cannot hold the
//! caller past its budget. An answer that is not one of the API's types is
//! no answer: the caller then fails over itself.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use crate::http::body::{FailoverAnswer, FailoverBody};
use crate::http::errors::ErrorBody;
use crate::http::response::JSON;
use crate::ops::failover::FailoverRequest;
use crate::ops::hook::ask::{Answer, AskError, AskSidecar};

/// The most of an answer that is read: the sidecar's are a few hundred
/// bytes, its largest (an `exhausted` over many accounts) some tens of KiB.
const MAX_ANSWER: usize = 256 * 1024;

/// The sidecar on `serve.admin.socket`, asked over HTTP.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AdminSocket;

/// Why an exchange failed.
enum Failed {
    /// The connect itself failed: nothing listens.
    Connect(std::io::Error),
    /// A peer was there but the exchange did not complete.
    Exchange(String),
}

impl AskSidecar for AdminSocket {
    fn failover(
        &self,
        socket: &Path,
        req: &FailoverRequest,
        budget: Duration,
    ) -> Result<Answer, AskError> {
        let no_answer = |why: String| AskError::NoAnswer {
            path: socket.to_path_buf(),
            why,
        };
        let body = serde_json::to_vec(&FailoverBody::of(req))
            .map_err(|e| no_answer(format!("the request could not be encoded: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| no_answer(format!("cannot start the runtime: {e}")))?;
        let exchanged = runtime.block_on(async {
            tokio::time::timeout(budget, exchange(socket, body))
                .await
                .unwrap_or_else(|_| {
                    Err(Failed::Exchange(format!(
                        "no complete answer within {} ms",
                        budget.as_millis()
                    )))
                })
        });
        match exchanged {
            Ok((status, bytes)) => answer(status, &bytes).map_err(no_answer),
            Err(Failed::Connect(source)) => Err(AskError::NotThere {
                path: socket.to_path_buf(),
                source,
            }),
            Err(Failed::Exchange(why)) => Err(no_answer(why)),
        }
    }
}

/// Connects, sends `body`, and reads the status and the whole answer (at
/// most [`MAX_ANSWER`] bytes).
async fn exchange(socket: &Path, body: Vec<u8>) -> Result<(StatusCode, Bytes), Failed> {
    let stream = UnixStream::connect(socket).await.map_err(Failed::Connect)?;
    let failed = |what: &str, e: &dyn std::fmt::Display| Failed::Exchange(format!("{what}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed("the connection failed", &e))?;
    // The connection is driven beside the request; it ends with the answer
    // (or when the runtime is dropped, at the deadline).
    tokio::spawn(connection);
    let request = Request::post("/api/v1/failover")
        .header(HOST, "homeswap")
        .header(CONTENT_TYPE, JSON)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| failed("the request could not be built", &e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed("sending the request", &e))?;
    let status = response.status();
    let bytes = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| failed("reading the answer", &e))?
        .to_bytes();
    Ok((status, bytes))
}

/// The answer in the API's types: a 200 is a failover answer, anything
/// else an error answer; else why it is not an answer at all.
fn answer(status: StatusCode, bytes: &[u8]) -> Result<Answer, String> {
    let not_ours =
        |e: serde_json::Error| format!("its answer ({}) is not the API's: {e}", status.as_u16());
    if status == StatusCode::OK {
        let a: FailoverAnswer = serde_json::from_slice(bytes).map_err(not_ours)?;
        return Ok(Answer::Done {
            outcome: a.outcome,
            active: a.active,
            from: a.from,
            notes: a.notes,
        });
    }
    let e: ErrorBody = serde_json::from_slice(bytes).map_err(not_ours)?;
    Ok(Answer::Refused {
        status: status.as_u16(),
        outcome: e.outcome,
        error: e.error,
        errors: e.errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::failover::FailoverOutcome;
    use crate::state::limits::LimitReason;

    #[test]
    fn answers_are_read_as_the_apis_types_and_anything_else_is_none() {
        let ok = br#"{"outcome":"swapped","active":"b","from":"a","notes":["n"]}"#;
        assert_eq!(
            answer(StatusCode::OK, ok),
            Ok(Answer::Done {
                outcome: FailoverOutcome::Swapped,
                active: Some("b".into()),
                from: Some("a".into()),
                notes: vec!["n".into()],
            })
        );
        let refused = br#"{"error":"m","outcome":"exhausted","errors":["x"]}"#;
        assert!(matches!(
            answer(StatusCode::CONFLICT, refused),
            Ok(Answer::Refused { status: 409, .. })
        ));
        for garbage in [&b"hello"[..], b"", br#"{"outcome":"made_up"}"#, b"[]"] {
            assert!(answer(StatusCode::OK, garbage).is_err(), "{garbage:?}");
            assert!(answer(StatusCode::CONFLICT, garbage).is_err());
        }
    }

    #[test]
    fn a_missing_socket_is_not_there() {
        let dir = tempfile::tempdir().unwrap();
        let req = FailoverRequest {
            from: None,
            reason: LimitReason::Manual,
            until: None,
            message: None,
        };
        let e = AdminSocket
            .failover(
                &dir.path().join("none.sock"),
                &req,
                Duration::from_millis(100),
            )
            .unwrap_err();
        assert!(matches!(e, AskError::NotThere { .. }), "{e}");
    }
}
