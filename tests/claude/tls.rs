//! A TLS stand-in of Claude Code's OAuth endpoints
//! (`https://platform.claude.com/v1/oauth/token`, and 404 for the rest of
//! `api.anthropic.com`), with a test CA made for the run.
//!
//! Claude Code reaches it by name: the test runs in a private mount
//! namespace whose `/etc/hosts` names 127.0.0.1 for those hosts
//! ([`super::isolated_with_names`]), and trusts the test CA through
//! `NODE_EXTRA_CA_CERTS` ([`TokenEndpoint::env`]). Observed with 2.1.328:
//! `SSL_CERT_FILE`, or the CA appended to a bind-mounted
//! `/etc/ssl/certs/ca-certificates.crt`, work too; without any of them the
//! refresh fails with "self signed certificate in certificate chain".
//!
//! The token answer: for `refresh_token` R it hands out the access token
//! `R` with `refresh` replaced by `token` plus `-rN`, and the refresh
//! token `R-rN` (N counts the answers), so a test reads from a bearer
//! which refresh produced it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio_rustls::rustls;

/// The host names the stand-in answers for (and `/etc/hosts` must name).
pub const OAUTH_HOSTS: [&str; 3] = ["platform.claude.com", "api.anthropic.com", "claude.ai"];

/// One request to the OAuth stand-in.
#[derive(Debug, Clone)]
pub struct OauthCall {
    pub at: SystemTime,
    pub method: String,
    pub path: String,
    pub host: Option<String>,
    pub authorization: Option<String>,
    /// The JSON body (`Null` when none or not JSON).
    pub body: Value,
    /// The JSON the stand-in answered, when it answered a token request.
    pub answer: Option<Value>,
    /// When that answer was sent (after any hold).
    pub answered_at: Option<SystemTime>,
}

#[derive(Default)]
struct State {
    calls: Vec<OauthCall>,
    answers: u32,
}

/// A running TLS stand-in on 127.0.0.1:443; stops when dropped.
pub struct TokenEndpoint {
    pub addr: SocketAddr,
    ca_file: PathBuf,
    state: Arc<Mutex<State>>,
    hold: tokio::sync::watch::Sender<bool>,
    _rt: tokio::runtime::Runtime,
}

/// A CA and a leaf certificate for `names`, made for this run: the CA's
/// PEM, and the server's configuration.
fn test_pki(names: &[&str]) -> (String, rustls::ServerConfig) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "homeswap test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut leaf = CertificateParams::new(names).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.distinguished_name
        .push(DnType::CommonName, "homeswap test OAuth stand-in");
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
    .unwrap();
    (ca_cert.pem(), config)
}

impl TokenEndpoint {
    /// Makes a test CA (its PEM written to `dir/test-ca.pem`) and serves
    /// HTTPS on 127.0.0.1:443 (root, in the test's own network namespace).
    pub fn start(dir: &Path) -> TokenEndpoint {
        let (ca_pem, config) = test_pki(&OAUTH_HOSTS);
        std::fs::create_dir_all(dir).unwrap();
        let ca_file = dir.join("test-ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:443").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (hold, held) = tokio::sync::watch::channel(false);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let shared = state.clone();
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, state, held) = (acceptor.clone(), shared.clone(), held.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |req| {
                        handle(req, state.clone(), held.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        TokenEndpoint {
            addr,
            ca_file,
            state,
            hold,
            _rt: rt,
        }
    }

    /// The test CA's PEM file.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// What Claude Code needs in its environment to trust the test CA.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "NODE_EXTRA_CA_CERTS".to_string(),
            self.ca_file.display().to_string(),
        )]
    }

    /// Token requests wait, unanswered, until [`TokenEndpoint::release`].
    pub fn hold(&self) {
        let _ = self.hold.send(true);
    }

    /// Lets held token requests be answered.
    pub fn release(&self) {
        let _ = self.hold.send(false);
    }

    /// Every request so far, oldest first.
    pub fn calls(&self) -> Vec<OauthCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The token requests (`POST /v1/oauth/token`).
    pub fn token_calls(&self) -> Vec<OauthCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path.starts_with("/v1/oauth/token"))
            .collect()
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("request-id", "req_oauth_standin")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    mut held: tokio::sync::watch::Receiver<bool>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut call = OauthCall {
        at: SystemTime::now(),
        method: req.method().to_string(),
        path: req.uri().to_string(),
        host: header("host"),
        authorization: header("authorization"),
        body: Value::Null,
        answer: None,
        answered_at: None,
    };
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    call.body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let is_token = call.method == "POST" && call.path.starts_with("/v1/oauth/token");
    if !is_token {
        state.lock().unwrap().calls.push(call);
        return Ok(reply(
            StatusCode::NOT_FOUND,
            json!({"type": "error", "error": {"type": "not_found_error", "message": "not in the stand-in"}}),
        ));
    }
    // Recorded before any hold, so a test sees the request arrive.
    let index = {
        let mut st = state.lock().unwrap();
        st.calls.push(call.clone());
        st.calls.len() - 1
    };
    while *held.borrow_and_update() {
        if held.changed().await.is_err() {
            break;
        }
    }
    let refresh = call.body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut st = state.lock().unwrap();
    st.answers += 1;
    let n = st.answers;
    let answer = json!({
        "token_type": "Bearer",
        "access_token": format!("{}-r{n}", refresh.replacen("refresh", "token", 1)),
        "refresh_token": format!("{refresh}-r{n}"),
        "expires_in": 28800,
        "scope": "user:inference user:profile user:sessions:claude_code",
    });
    st.calls[index].answer = Some(answer.clone());
    st.calls[index].answered_at = Some(SystemTime::now());
    Ok(reply(StatusCode::OK, answer))
}
