//! Requests to a sidecar that may have been killed: tests/common's
//! client panics on a refused connection, this one says so.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::server::{parse_response, Response};
use crate::common::TOKEN;

/// The longest a request may take: the admin API's swaps wait at most 5 s
/// for the lock, plus their work.
pub const BOUND: Duration = Duration::from_secs(10);

/// `GET path` on the read-only listener.
pub fn get(addr: SocketAddr, path: &str) -> Result<Response, String> {
    request(addr, "GET", path, None, b"")
}

/// `POST path` with the admin token and a JSON body.
pub fn admin_post(addr: SocketAddr, path: &str, body: &str) -> Result<Response, String> {
    request(addr, "POST", path, Some(TOKEN), body.as_bytes())
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<Response, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(BOUND)).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            return Err(format!(
                "{method} {path}: no answer within {BOUND:?} (hung)"
            ))
        }
        Err(e) => return Err(format!("read from {addr}: {e}")),
    }
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(format!(
            "{method} {path}: connection closed before an answer ({} bytes)",
            raw.len()
        ));
    }
    Ok(parse_response(&raw))
}
