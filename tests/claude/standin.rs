//! A stand-in for Anthropic's Messages API on 127.0.0.1, written with the
//! project's own HTTP stack (hyper 1 + tokio), for the real Claude Code.
//!
//! It tells accounts apart by the `Authorization: Bearer <accessToken>`
//! that Claude Code reads from each home's `.credentials.json` (the harness
//! writes `token-<account>` there), answers in server-sent events like the
//! real API, and records every request so tests assert on what Claude Code
//! actually sent.
//!
//! What it answers to `POST /v1/messages` (the prompt is the last text the
//! user typed):
//! - an account put at its limit ([`StandIn::limit`]): the 429 of a spent
//!   five-hour window, with the `anthropic-ratelimit-unified-*` headers;
//! - a request that carries a `tool_result`: the text `ANSWER[done]`;
//! - a prompt `write PATH CONTENT`: a `Write` tool call for PATH;
//! - any other prompt P: the text `ANSWER[P]`.
//!
//! A gate ([`StandIn::gate`]) holds the first requests of a storm until
//! all of them arrived. Normal answers carry the unified usage headers
//! (five-hour and seven-day utilization of the account,
//! [`StandIn::set_usage`]). Every other route
//! is recorded and answered 404, which Claude Code tolerates at start.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::answers::{limit_response, message_json, plain, sse, usage_headers, Block, Chunks};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// The bearer token the harness gives `account`.
pub fn token_of(account: &str) -> String {
    format!("token-{account}")
}

/// One request Claude Code made, as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// The account whose token came with it (`None`: no or unknown token).
    pub account: Option<String>,
    /// Status the stand-in answered.
    pub status: u16,
    /// Length of the request's `messages` array.
    pub messages: usize,
    /// Every text the user typed in this conversation, oldest first (the
    /// last one is this turn's prompt); system reminders left out.
    pub prompts: Vec<String>,
    /// Texts of every `tool_result` block of the conversation.
    pub tool_results: Vec<String>,
    /// The session id Claude Code put in `metadata.user_id`.
    pub session: Option<String>,
    /// The request's `model`.
    pub model: Option<String>,
    /// When the stand-in had read the request's head (wall clock, so it
    /// lines up with hook dumps and strace's `-tt` times).
    pub at: std::time::SystemTime,
    /// The bearer token as sent (also one the harness did not hand out,
    /// such as a refreshed one).
    pub token: Option<String>,
}

impl Call {
    /// This turn's prompt.
    pub fn prompt(&self) -> Option<&str> {
        self.prompts.last().map(String::as_str)
    }
    /// A request to the Messages API (not a side route).
    pub fn is_messages(&self) -> bool {
        self.method == "POST"
            && self.path.starts_with("/v1/messages")
            && !self.path.contains("count_tokens")
    }
}

/// What the stand-in knows: limited accounts, usage, and the record.
#[derive(Default)]
struct State {
    limited: BTreeMap<String, u64>,
    usage: BTreeMap<String, (f64, f64)>,
    calls: Vec<Call>,
    tool_ids: u32,
    held: BTreeMap<String, Arc<tokio::sync::Notify>>,
    gates: Vec<Gate>,
}

/// Requests held until a number of them arrived ([`StandIn::gate`]).
struct Gate {
    prefix: String,
    need: usize,
    arrived: usize,
    open: Arc<tokio::sync::Notify>,
}

/// A running stand-in; stops when dropped.
pub struct StandIn {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _rt: tokio::runtime::Runtime,
}

impl StandIn {
    /// Binds 127.0.0.1 on a free port and serves on a runtime of its own.
    pub fn start() -> StandIn {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(req, state.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        StandIn {
            addr,
            state,
            _rt: rt,
        }
    }

    /// `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Puts `account` at its five-hour limit until `reset` (Unix seconds).
    pub fn limit(&self, account: &str, reset: u64) {
        self.state
            .lock()
            .unwrap()
            .limited
            .insert(account.to_string(), reset);
    }

    /// Sets the utilization (0..1) that `account`'s answers report.
    pub fn set_usage(&self, account: &str, five_hour: f64, seven_day: f64) {
        self.state
            .lock()
            .unwrap()
            .usage
            .insert(account.to_string(), (five_hour, seven_day));
    }

    /// The answer to `prompt` will stop after its first text chunk until
    /// [`StandIn::release`]: a turn held in the middle of its stream.
    pub fn hold(&self, prompt: &str) {
        self.state
            .lock()
            .unwrap()
            .held
            .insert(prompt.to_string(), Arc::new(tokio::sync::Notify::new()));
    }

    /// Lets the held answer to `prompt` finish.
    pub fn release(&self, prompt: &str) {
        if let Some(n) = self.state.lock().unwrap().held.remove(prompt) {
            // notify_one keeps a permit for a stream not waiting yet.
            n.notify_waiters();
            n.notify_one();
        }
    }

    /// The first `n` Messages requests whose prompt starts with `prefix`
    /// are held, unanswered, until the `n`th arrives (at most 30 s), then
    /// answered together: `n` sessions meet the API at the same moment.
    pub fn gate(&self, prefix: &str, n: usize) {
        self.state.lock().unwrap().gates.push(Gate {
            prefix: prefix.to_string(),
            need: n,
            arrived: 0,
            open: Arc::new(tokio::sync::Notify::new()),
        });
    }

    /// Every request so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Only the Messages API requests.
    pub fn messages_calls(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_messages).collect()
    }

    /// The Messages API request whose prompt is `prompt` (the first one, so
    /// the turn's opening request rather than the one after a tool ran).
    pub fn call_for(&self, prompt: &str) -> Call {
        let calls = self.messages_calls();
        calls
            .iter()
            .find(|c| c.prompt() == Some(prompt))
            .cloned()
            .unwrap_or_else(|| {
                panic!("no request with the prompt {prompt:?}; requests: {calls:#?}")
            })
    }
}

/// What one user message holds: typed texts and tool results.
fn user_texts(message: &Value, prompts: &mut Vec<String>, results: &mut Vec<String>) {
    match &message["content"] {
        Value::String(s) => prompts.push(s.clone()),
        Value::Array(blocks) => {
            for b in blocks {
                match b["type"].as_str() {
                    Some("text") => {
                        let t = b["text"].as_str().unwrap_or_default();
                        // Claude Code adds its context as <system-reminder> blocks.
                        if !t.trim_start().starts_with('<') {
                            prompts.push(t.to_string());
                        }
                    }
                    Some("tool_result") => results.push(match &b["content"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Reads one request, records it and answers it.
async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Chunks>, Infallible> {
    let at = std::time::SystemTime::now();
    let method = req.method().to_string();
    let path = req.uri().to_string();
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let account = token
        .as_deref()
        .and_then(|t| t.strip_prefix("token-"))
        .map(str::to_string);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut call = Call {
        method,
        path,
        account: account.clone(),
        status: 404,
        messages: 0,
        prompts: Vec::new(),
        tool_results: Vec::new(),
        session: json["metadata"]["user_id"]
            .as_str()
            .and_then(|u| serde_json::from_str::<Value>(u).ok())
            .and_then(|u| u["session_id"].as_str().map(str::to_string)),
        model: json["model"].as_str().map(str::to_string),
        at,
        token,
    };
    let mut last_has_result = false;
    if let Some(messages) = json["messages"].as_array() {
        call.messages = messages.len();
        for m in messages.iter().filter(|m| m["role"] == "user") {
            let before = call.tool_results.len();
            user_texts(m, &mut call.prompts, &mut call.tool_results);
            last_has_result = call.tool_results.len() > before;
        }
    }
    let prompt = call.prompt().unwrap_or_default().to_string();
    if call.is_messages() {
        let wait = {
            let mut st = state.lock().unwrap();
            st.gates
                .iter_mut()
                .find(|g| prompt.starts_with(&g.prefix) && g.arrived < g.need)
                .map(|g| {
                    g.arrived += 1;
                    if g.arrived == g.need {
                        g.open.notify_waiters();
                    }
                    g.open.clone()
                })
        };
        if let Some(open) = wait {
            // A Notified future hears notify_waiters once it exists; an
            // arrival that completed the gate before then shows in `ready`.
            let notified = open.notified();
            let ready = state
                .lock()
                .unwrap()
                .gates
                .iter()
                .any(|g| Arc::ptr_eq(&g.open, &open) && g.arrived == g.need);
            if !ready {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(30), notified).await;
            }
        }
    }
    let mut st = state.lock().unwrap();
    let response = if !call.is_messages() {
        plain(
            StatusCode::NOT_FOUND,
            json!({"type": "error", "error": {"type": "not_found_error", "message": "not in the stand-in"}}),
        )
    } else if let Some(reset) = account.as_ref().and_then(|a| st.limited.get(a)) {
        limit_response(*reset)
    } else {
        let (five, seven) = account
            .as_ref()
            .and_then(|a| st.usage.get(a))
            .copied()
            .unwrap_or((0.42, 0.13));
        let blocks = if last_has_result {
            vec![Block::Text("ANSWER[done]".to_string())]
        } else if let Some(rest) = prompt.strip_prefix("write ") {
            let (file, content) = rest.split_once(' ').unwrap_or((rest, ""));
            st.tool_ids += 1;
            vec![Block::Write {
                id: format!("toolu_standin_{:04}", st.tool_ids),
                input: json!({"file_path": file, "content": content}),
            }]
        } else {
            vec![Block::Text(format!("ANSWER[{prompt}]"))]
        };
        let model = json["model"]
            .as_str()
            .unwrap_or("claude-stand-in")
            .to_string();
        let mut r = if json["stream"] == true {
            sse(&model, &blocks, st.held.get(&prompt).cloned())
        } else {
            message_json(&model, &blocks)
        };
        usage_headers(&mut r, five, seven);
        r
    };
    call.status = response.status().as_u16();
    st.calls.push(call);
    Ok(response)
}
