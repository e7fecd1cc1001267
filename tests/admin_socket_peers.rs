//! What `homeswap hook` and `homeswap statusline` do with a peer on
//! `serve.admin.socket` that is not a well-behaved sidecar: one that drips
//! its answer a byte at a time, one that answers 200 with a body that is
//! not the failover's answer, one whose answer carries control characters
//! or names an account that is not configured. Each ends within its
//! budget, fails over itself as the README says, and prints nothing raw.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Run, Sandbox};

/// The contract's bound for both commands: they answer within 2 s.
const BUDGET: Duration = Duration::from_secs(2);

/// How long the dripping peer keeps going when nobody hangs up on it: far
/// beyond the budget, so a client without a total deadline is caught.
const DRIP_FOR: Duration = Duration::from_secs(12);

/// What the fake peer does once it has read a request.
#[derive(Clone)]
enum Peer {
    /// Writes this answer one byte every 0.5 s.
    Drip(&'static str),
    /// Writes this answer at once and closes.
    Answer(String),
}

/// A fake peer on a Unix socket, serving connections until dropped.
struct FakePeer {
    stop: Arc<AtomicBool>,
    socket: PathBuf,
    thread: Option<JoinHandle<()>>,
}

impl FakePeer {
    fn start(socket: &Path, peer: Peer) -> FakePeer {
        let listener = UnixListener::bind(socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (peer, stopping) = (peer.clone(), stopping.clone());
                        std::thread::spawn(move || serve(conn, peer, &stopping));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakePeer {
            stop,
            socket: socket.to_path_buf(),
            thread: Some(thread),
        }
    }
}

impl Drop for FakePeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Reads one request (head and `Content-Length` body), then answers.
fn serve(mut conn: UnixStream, peer: Peer, stop: &AtomicBool) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + length {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    match peer {
        Peer::Answer(text) => {
            let _ = conn.write_all(text.as_bytes());
        }
        Peer::Drip(text) => {
            let start = Instant::now();
            for b in text.bytes().cycle() {
                if stop.load(Ordering::Relaxed) || start.elapsed() > DRIP_FOR {
                    return;
                }
                if conn.write_all(&[b]).is_err() {
                    return; // the client hung up
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// A 200 answer with `body` as its JSON.
fn ok_answer(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A ready sandbox (`a` active) whose configuration names `socket` as
/// the admin socket, with `extra` appended.
fn with_socket(extra: &str) -> (Sandbox, PathBuf) {
    let s = Sandbox::ready();
    let socket = s.root().join("admin.sock");
    let text = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(
        &s.config,
        format!(
            "{text}{extra}serve:\n  admin:\n    socket: {}\n",
            socket.display()
        ),
    )
    .unwrap();
    (s, socket)
}

fn stop_failure(id: &str) -> Vec<u8> {
    format!(
        r#"{{"session_id":"{id}","hook_event_name":"StopFailure","error":"rate_limit","last_assistant_message":"You've hit your limit"}}"#
    )
    .into_bytes()
}

/// A status update of session `id` at 97 % of the five-hour window, which
/// crosses a threshold of 95 and so asks for a failover.
fn high_usage(id: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        r#"{{"session_id":"{id}","rate_limits":{{"five_hour":{{"used_percentage":97,"resets_at":{}}}}}}}"#,
        now + 3600
    )
    .into_bytes()
}

/// No control character but the newlines that end lines.
fn assert_printable(what: &str, text: &str, r: &Run) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what} holds {bad:?}: {r:?}");
    assert!(
        !text.lines().any(|l| l.starts_with("line")),
        "{what} holds a line the peer's newline started: {r:?}"
    );
}

#[test]
fn a_peer_dripping_one_byte_every_half_second_cannot_hold_the_hook_past_its_budget() {
    let (s, socket) = with_socket("");
    let _peer = FakePeer::start(
        &socket,
        Peer::Drip("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n"),
    );
    let (r, took) = s.run_stdin(&["hook"], &stop_failure("s-drip"), None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(took < BUDGET, "the hook took {took:?}: {r:?}");
    assert!(r.stderr.contains("did not answer"), "{r:?}");
    assert!(r.stderr.contains("failing over here"), "{r:?}");
    assert!(r.stderr.contains("failed over a -> b"), "{r:?}");
    assert_eq!(s.active_account(), "b");
}

#[test]
fn a_peer_dripping_one_byte_every_half_second_cannot_hold_the_status_line_past_its_budget() {
    let (s, socket) = with_socket("failover:\n  threshold: 95\n");
    let _peer = FakePeer::start(
        &socket,
        Peer::Drip("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n"),
    );
    let (r, took) = s.run_stdin(&["statusline"], &high_usage("s-drip"), None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(took < BUDGET, "the status line took {took:?}: {r:?}");
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    assert!(r.stdout.starts_with("a · 5h 97%"), "{r:?}");
    assert!(r.stderr.contains("failing over here"), "{r:?}");
    assert_eq!(s.active_account(), "b", "it failed over itself: {r:?}");
}

#[test]
fn an_unparseable_200_answer_is_a_failed_call_and_the_hook_fails_over_itself() {
    let (s, socket) = with_socket("");
    let _peer = FakePeer::start(&socket, Peer::Answer(ok_answer("hello, not JSON")));
    let (r, took) = s.run_stdin(&["hook"], &stop_failure("s-garbage"), None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(took < BUDGET, "took {took:?}: {r:?}");
    assert!(r.stderr.contains("failing over here"), "{r:?}");
    assert!(r.stderr.contains("failed over a -> b"), "{r:?}");
    assert_eq!(s.active_account(), "b");
}

#[test]
fn control_characters_and_unknown_accounts_in_an_answer_never_reach_the_hooks_stderr() {
    let (s, socket) = with_socket("");
    let body = r#"{"outcome":"swapped","active":"\u001b[31mEVIL\nline","from":"a","notes":["\u001b]0;pwned\u0007"],"warnings":[],"limit":null,"hint":"x"}"#;
    let _peer = FakePeer::start(&socket, Peer::Answer(ok_answer(body)));
    let (r, _) = s.run_stdin(&["hook"], &stop_failure("s-evil"), None);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    assert_printable("stderr", &r.stderr, &r);
    assert!(r.stderr.contains("not a configured account"), "{r:?}");
    assert!(r.stderr.contains("failing over here"), "{r:?}");
    assert!(r.stderr.contains("rate_limit: failed over a -> b"), "{r:?}");
    assert!(
        !r.stderr
            .lines()
            .any(|l| l.contains("rate_limit:") && l.contains("EVIL")),
        "the peer's account is never reported as the one failed over to: {r:?}"
    );
    assert_eq!(s.active_account(), "b");
}

#[test]
fn control_characters_in_an_error_answer_are_escaped_on_the_hooks_stderr() {
    let (s, socket) = with_socket("");
    let body = r#"{"error":"\u001b[2Jwiped\nline two","outcome":"exhausted","errors":["\u001b[31mred\nline three"]}"#;
    let answer = format!(
        "HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _peer = FakePeer::start(&socket, Peer::Answer(answer));
    let (r, _) = s.run_stdin(&["hook"], &stop_failure("s-evil-error"), None);
    assert_eq!(r.code, 0, "{r:?}");
    assert_printable("stderr", &r.stderr, &r);
    assert!(r.stderr.contains("did not happen (409 exhausted)"), "{r:?}");
    assert!(
        r.stderr.contains("wiped"),
        "the message is shown, escaped: {r:?}"
    );
    assert_eq!(s.active_account(), "a", "a sidecar's refusal is its answer");
}

#[test]
fn control_characters_in_an_answer_never_reach_the_status_lines_stdout() {
    let (s, socket) = with_socket("failover:\n  threshold: 95\n");
    let body = r#"{"outcome":"swapped","active":"\u001b[31mEVIL\nline","from":"a","notes":["\u001b]0;pwned\u0007"],"warnings":[],"limit":null,"hint":"x"}"#;
    let _peer = FakePeer::start(&socket, Peer::Answer(ok_answer(body)));
    let (r, took) = s.run_stdin(&["statusline"], &high_usage("s-evil"), None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(took < BUDGET, "took {took:?}: {r:?}");
    assert_printable("stdout", &r.stdout, &r);
    assert_printable("stderr", &r.stderr, &r);
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    assert!(!r.stdout.contains("EVIL"), "{r:?}");
}
