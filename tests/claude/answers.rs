//! The stand-in's answers: the Messages API's server-sent events (text
//! and `Write` tool calls), the non-streamed message, the 429 of a spent
//! window and the usage headers of a normal answer, as the real API sends
//! them.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Frame;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// A response body sent as it is produced, chunk by chunk (chunked
/// transfer encoding), so an answer can stop mid-stream.
pub struct Chunks(tokio::sync::mpsc::UnboundedReceiver<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

/// One content block of an answer.
pub(super) enum Block {
    Text(String),
    Write { id: String, input: Value },
}

fn stop_reason(blocks: &[Block]) -> &'static str {
    if blocks.iter().any(|b| matches!(b, Block::Write { .. })) {
        "tool_use"
    } else {
        "end_turn"
    }
}

fn message_start(model: &str) -> Value {
    // A distinct id per answer: Claude Code merges assistant messages that
    // share one when it rebuilds a conversation for `--continue`.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = format!(
        "msg_standin_{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    json!({"id": id, "type": "message", "role": "assistant", "model": model,
           "content": [], "stop_reason": null, "stop_sequence": null,
           "usage": {"input_tokens": 10, "output_tokens": 1}})
}

/// A streamed answer: the event sequence of the real API, one event per
/// chunk, each text in two deltas; when `hold` is given the stream stops
/// after the first delta until it is notified.
pub(super) fn sse(
    model: &str,
    blocks: &[Block],
    hold: Option<Arc<tokio::sync::Notify>>,
) -> Response<Chunks> {
    let event = |name: &str, data: Value| Bytes::from(format!("event: {name}\ndata: {data}\n\n"));
    let mut first = vec![event(
        "message_start",
        json!({"type": "message_start", "message": message_start(model)}),
    )];
    let mut rest = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let out = if i == 0 { &mut first } else { &mut rest };
        let delta = |d: Value| {
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i, "delta": d}),
            )
        };
        match b {
            Block::Text(t) => {
                let mid = t
                    .char_indices()
                    .nth(t.chars().count() / 2)
                    .map_or(0, |(at, _)| at);
                out.push(event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
                ));
                out.push(delta(json!({"type": "text_delta", "text": &t[..mid]})));
                rest.push(delta(json!({"type": "text_delta", "text": &t[mid..]})));
            }
            Block::Write { id, input } => {
                out.push(event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i,
                           "content_block": {"type": "tool_use", "id": id, "name": "Write", "input": {}}}),
                ));
                out.push(delta(
                    json!({"type": "input_json_delta", "partial_json": input.to_string()}),
                ));
            }
        }
        rest.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}),
        ));
    }
    rest.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(blocks), "stop_sequence": null},
               "usage": {"output_tokens": 5}}),
    ));
    rest.push(event("message_stop", json!({"type": "message_stop"})));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        for chunk in first {
            let _ = tx.send(chunk);
        }
        if let Some(gate) = hold {
            gate.notified().await;
        }
        for chunk in rest {
            let _ = tx.send(chunk);
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .header("request-id", "req_standin")
        .body(Chunks(rx))
        .unwrap()
}

/// A non-streamed answer (Claude Code asks for some side jobs this way).
pub(super) fn message_json(model: &str, blocks: &[Block]) -> Response<Chunks> {
    let mut m = message_start(model);
    m["content"] = blocks
        .iter()
        .map(|b| match b {
            Block::Text(t) => json!({"type": "text", "text": t}),
            Block::Write { id, input } => {
                json!({"type": "tool_use", "id": id, "name": "Write", "input": input})
            }
        })
        .collect();
    m["stop_reason"] = json!(stop_reason(blocks));
    plain(StatusCode::OK, m)
}

pub(super) fn plain(status: StatusCode, body: Value) -> Response<Chunks> {
    let body = Bytes::from(body.to_string());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let len = body.len();
    let _ = tx.send(body);
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("content-length", len)
        .body(Chunks(rx))
        .unwrap()
}

/// The answer of an account whose five-hour window is spent.
pub(super) fn limit_response(reset: u64) -> Response<Chunks> {
    let mut r = plain(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"type": "error", "error": {"type": "rate_limit_error",
               "message": "This request would exceed your account's rate limit. Please try again later."}}),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let h = r.headers_mut();
    h.insert(
        "anthropic-ratelimit-unified-status",
        "rejected".parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-reset",
        reset.to_string().parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-representative-claim",
        "five_hour".parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-5h-status",
        "rejected".parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-5h-utilization",
        "1.0".parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-5h-reset",
        reset.to_string().parse().unwrap(),
    );
    h.insert(
        "retry-after",
        reset.saturating_sub(now).to_string().parse().unwrap(),
    );
    r
}

/// The usage headers of a normal answer.
pub(super) fn usage_headers(r: &mut Response<Chunks>, five_hour: f64, seven_day: f64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let h = r.headers_mut();
    h.insert(
        "anthropic-ratelimit-unified-status",
        "allowed".parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-5h-status",
        "allowed".parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-5h-utilization",
        five_hour.to_string().parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-5h-reset",
        (now + 3 * 3600).to_string().parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-7d-status",
        "allowed".parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-7d-utilization",
        seven_day.to_string().parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-7d-reset",
        (now + 5 * 86400).to_string().parse().unwrap(),
    );
    h.insert(
        "anthropic-ratelimit-unified-representative-claim",
        "five_hour".parse().unwrap(),
    );
}
