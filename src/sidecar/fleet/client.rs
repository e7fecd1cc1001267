//! The fleet view's HTTP client: hyper's pooled client (hyper-util) over
//! rustls for `https://`, with the configured credentials, and a bound on
//! everything a query can take: `fleet.timeout` for the whole exchange
//! (connect, answer, body) and [`ANSWER_LIMIT`] for the body.
//!
//! A client is built for each refresh, so a rotated token file or CA file
//! is read again without a reload. Credentials never appear in a message.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use hyper::{Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::config::{FleetAuth, FleetConfig};
use crate::fs::pathfmt::shown;
use crate::fs::read::read_regular;

/// The largest answer read: 100,000 series (1,000 accounts limited on 100
/// instances each) take about 15 MiB.
pub(crate) const ANSWER_LIMIT: usize = 32 * 1024 * 1024;

/// The largest token or password file read.
const SECRET_LIMIT: u64 = 64 * 1024;

/// The largest CA file read.
const CA_LIMIT: u64 = 4 * 1024 * 1024;

/// Why a query got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// Nothing within `fleet.timeout`.
    Timeout(Duration),
    /// Refused, reset, a TLS failure, a body too large, ...
    Failed(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Timeout(t) => write!(
                f,
                "no answer within fleet.timeout ({})",
                humantime::format_duration(*t)
            ),
            FetchError::Failed(why) => f.write_str(why),
        }
    }
}

/// One refresh's client.
pub(crate) struct PromClient {
    /// hyper-util's client over the HTTP(S) connector.
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// The `Authorization` header, if credentials are configured.
    authorization: Option<HeaderValue>,
    /// The bound on each exchange.
    timeout: Duration,
}

impl PromClient {
    /// A client for `config`: credentials and CA read now. An error says
    /// which file and what is wrong with it.
    pub(crate) fn new(config: &FleetConfig) -> Result<PromClient, String> {
        let tls = tls_config(
            config.prometheus.starts_with("https://"),
            config.ca_file.as_deref(),
        )?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.timeout));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(PromClient {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(4)
                .build(connector),
            authorization: authorization(&config.auth)?,
            timeout: config.timeout,
        })
    }

    /// `GET uri`: the status and the whole body, within the timeout.
    pub(crate) async fn get(&self, uri: &str) -> Result<(u16, Bytes), FetchError> {
        let uri: Uri = uri
            .parse()
            .map_err(|e| FetchError::Failed(format!("bad request URI: {e}")))?;
        let mut req = Request::get(uri).header(ACCEPT, "application/json");
        if let Some(a) = &self.authorization {
            req = req.header(AUTHORIZATION, a.clone());
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Failed(format!("bad request: {e}")))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| FetchError::Failed(chain(&e)))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), ANSWER_LIMIT)
                .collect()
                .await
                .map_err(|e| {
                    FetchError::Failed(format!("reading the answer failed: {}", chain(&*e)))
                })?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(FetchError::Timeout(self.timeout)))
    }
}

/// An error and its causes on one line: hyper's own says only "client
/// error (Connect)"; the causes say "Connection refused".
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    super::answer::printable(&out, 400)
}

/// The TLS settings: the CA file's certificates, else the system's roots
/// (only looked up for an `https://` URL).
fn tls_config(https: bool, ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match (https, ca_file) {
        (_, Some(path)) => {
            let pem = read_secret_file(path, CA_LIMIT, "fleet.ca_file")?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| {
                    format!("fleet.ca_file {}: not a PEM certificate: {e}", shown(path))
                })?;
                roots.add(cert).map_err(|e| {
                    format!("fleet.ca_file {}: unusable certificate: {e}", shown(path))
                })?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "fleet.ca_file {}: holds no PEM certificate",
                    shown(path)
                ));
            }
        }
        (true, None) => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(
                    "no CA certificates found on this system for https://; give fleet.ca_file"
                        .to_string(),
                );
            }
        }
        (false, None) => {}
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The `Authorization` header of `auth`, read from its file now.
fn authorization(auth: &FleetAuth) -> Result<Option<HeaderValue>, String> {
    let (value, key, path) = match auth {
        FleetAuth::None => return Ok(None),
        FleetAuth::BearerTokenFile(path) => {
            let token = secret_line(path, "fleet.bearer_token_file")?;
            (format!("Bearer {token}"), "fleet.bearer_token_file", path)
        }
        FleetAuth::BasicAuthFile(path) => {
            let pair = secret_line(path, "fleet.basic_auth_file")?;
            if !pair.contains(':') {
                return Err(format!(
                    "fleet.basic_auth_file {}: give one line USER:PASSWORD",
                    shown(path)
                ));
            }
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            (format!("Basic {encoded}"), "fleet.basic_auth_file", path)
        }
    };
    let mut header = HeaderValue::from_str(&value).map_err(|_| {
        format!(
            "{key} {}: holds characters an HTTP header cannot carry",
            shown(path)
        )
    })?;
    header.set_sensitive(true);
    Ok(Some(header))
}

/// The one line of a token or password file, trimmed; empty is an error.
fn secret_line(path: &Path, key: &str) -> Result<String, String> {
    let bytes = read_secret_file(path, SECRET_LIMIT, key)?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{key} {}: not UTF-8 text", shown(path)))?;
    let line = text.trim();
    if line.is_empty() || line.contains('\n') {
        return Err(format!(
            "{key} {}: give exactly one non-empty line",
            shown(path)
        ));
    }
    Ok(line.to_string())
}

/// A small file named by the configuration (symlinks followed: mounted
/// secrets are symlinks), bounded and never a FIFO.
fn read_secret_file(path: &Path, limit: u64, key: &str) -> Result<Vec<u8>, String> {
    match read_regular(path, limit, false) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(format!("{key} {}: no such file", shown(path))),
        Err(e) => Err(format!("{key}: {e}")),
    }
}
