//! Asking the sidecar to fail over: one `POST /api/v1/failover` over
//! `serve.admin.socket`, a hand-written HTTP/1.1 request on a std Unix
//! stream with read and write timeouts, so the hook never waits longer
//! than its budget.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The most of an answer that is read: the sidecar's are a few hundred bytes.
const MAX_ANSWER: u64 = 256 * 1024;

/// The request body (the contract's keys).
#[derive(Debug, Serialize)]
pub struct FailoverBody<'a> {
    /// The account that hit its limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<&'a str>,
    /// The reason.
    pub reason: &'a str,
    /// RFC 3339 end of the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<&'a str>,
}

/// What the sidecar answered: the fields of both the 200 answer and the
/// error answer that the hook reports.
#[derive(Debug, Default, Deserialize)]
pub struct Answer {
    /// `swapped`, `already_moved`, `exhausted`, `busy`, ...
    #[serde(default)]
    pub outcome: String,
    /// The account active now (200).
    #[serde(default)]
    pub active: Option<String>,
    /// The account failed over from (200).
    #[serde(default)]
    pub from: Option<String>,
    /// Notes (200).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The message of an error answer.
    #[serde(default)]
    pub error: Option<String>,
    /// The individual errors of an error answer.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Why the sidecar could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// Nothing listens on the socket (no file, refused): run the library.
    #[error("no sidecar answers on {path}: {source}")]
    NotThere {
        /// The socket.
        path: String,
        /// The connect error.
        source: std::io::Error,
    },
    /// A sidecar was reached but did not answer properly in time.
    #[error("the sidecar on {path} did not answer: {why}")]
    NoAnswer {
        /// The socket.
        path: String,
        /// What went wrong.
        why: String,
    },
}

/// POSTs the failover; the HTTP status and the parsed answer.
pub fn ask(
    socket: &Path,
    body: &FailoverBody,
    timeout: Duration,
) -> Result<(u16, Answer), AskError> {
    let shown = socket.display().to_string();
    let no_answer = |why: String| AskError::NoAnswer {
        path: shown.clone(),
        why,
    };
    let mut stream = UnixStream::connect(socket).map_err(|source| AskError::NotThere {
        path: shown.clone(),
        source,
    })?;
    let timeout = timeout.max(Duration::from_millis(1));
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| no_answer(e.to_string()))?;
    let json = serde_json::to_vec(body).map_err(|e| no_answer(e.to_string()))?;
    let mut request = format!(
        "POST /api/v1/failover HTTP/1.1\r\nHost: homeswap\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        json.len()
    )
    .into_bytes();
    request.extend_from_slice(&json);
    stream
        .write_all(&request)
        .map_err(|e| no_answer(format!("sending the request: {e}")))?;
    let mut raw = Vec::new();
    (&mut stream)
        .take(MAX_ANSWER)
        .read_to_end(&mut raw)
        .map_err(|e| no_answer(format!("reading the answer: {e}")))?;
    parse(&raw).ok_or_else(|| no_answer("not an HTTP answer".into()))
}

/// The status and JSON body of a `Connection: close` answer.
fn parse(raw: &[u8]) -> Option<(u16, Answer)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let answer = serde_json::from_slice(&raw[split + 4..]).unwrap_or_default();
    Some((status, answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_parsed_and_a_missing_socket_is_not_there() {
        let (status, a) = parse(b"HTTP/1.1 200 OK\r\ncontent-length: 45\r\n\r\n{\"outcome\":\"swapped\",\"active\":\"b\",\"from\":\"a\"}").unwrap();
        assert_eq!(
            (status, a.outcome.as_str(), a.active.as_deref()),
            (200, "swapped", Some("b"))
        );
        assert!(parse(b"garbage").is_none());
        let dir = tempfile::tempdir().unwrap();
        let body = FailoverBody {
            from: None,
            reason: "manual",
            until: None,
        };
        let e = ask(
            &dir.path().join("none.sock"),
            &body,
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(matches!(e, AskError::NotThere { .. }), "{e}");
    }
}
