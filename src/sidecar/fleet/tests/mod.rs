//! A refresh against a real HTTP server on 127.0.0.1 (hyper, and rustls
//! for https) that answers each of the four queries as a test says:
//! empty, partial, conflicting instances, stale, NaN, huge, malformed
//! JSON, HTTP errors, slow, refused, with credentials and a CA file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

use super::client::ANSWER_LIMIT;
use super::query::QueryKind;
use super::refresh::{failed_view, refresh_once, RefreshError};
use crate::config::{FleetAuth, FleetConfig};
use crate::state::fleet::{FleetView, RefreshOutcome};

const SELECTOR: &str = r#"{job="homeswap"}"#;
const NOW: u64 = 1_800_000_000;

/// What the stub answers one query with.
#[derive(Clone)]
enum Reply {
    /// 200 and a vector of (labels, value).
    Vector(Vec<(serde_json::Value, String)>),
    /// A vector with the API's `warnings`.
    Warned(Vec<&'static str>),
    /// This status and body.
    Raw(u16, Bytes),
    /// An empty vector, after this long.
    Slow(Duration),
}

fn empty() -> Reply {
    Reply::Vector(Vec::new())
}

/// 200 and these series.
fn vector(series: &[(serde_json::Value, &str)]) -> Reply {
    Reply::Vector(
        series
            .iter()
            .map(|(labels, v)| (labels.clone(), v.to_string()))
            .collect(),
    )
}

/// A server on 127.0.0.1 answering by query; it records each request's
/// `Authorization` header.
struct Stub {
    addr: SocketAddr,
    authorizations: Arc<Mutex<Vec<Option<String>>>>,
}

/// Which query a request asks.
fn kind_of(req: &Request<hyper::body::Incoming>) -> Option<QueryKind> {
    let q = req.uri().query()?.strip_prefix("query=")?;
    let mut bytes = Vec::new();
    let mut it = q.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hex: String = [it.next()?, it.next()?]
                .iter()
                .map(|b| *b as char)
                .collect();
            bytes.push(u8::from_str_radix(&hex, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    let text = String::from_utf8(bytes).ok()?;
    QueryKind::ALL
        .into_iter()
        .find(|k| k.promql(SELECTOR) == text)
}

async fn stub(
    replies: impl Fn(QueryKind) -> Reply + Send + Sync + 'static,
    tls: Option<rustls::ServerConfig>,
) -> Stub {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let replies = Arc::new(replies);
    let authorizations = Arc::new(Mutex::new(Vec::new()));
    let seen = authorizations.clone();
    let acceptor = tls.map(|c| tokio_rustls::TlsAcceptor::from(Arc::new(c)));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (replies, seen, acceptor) = (replies.clone(), seen.clone(), acceptor.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let (replies, seen) = (replies.clone(), seen.clone());
                    async move {
                        seen.lock().unwrap().push(
                            req.headers()
                                .get("authorization")
                                .map(|v| v.to_str().unwrap().to_string()),
                        );
                        let reply = match kind_of(&req) {
                            Some(k) => replies(k),
                            None => Reply::Raw(400, Bytes::from_static(b"unknown query")),
                        };
                        Ok::<_, std::convert::Infallible>(answer(reply).await)
                    }
                });
                let http = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    Some(a) => {
                        if let Ok(tls) = a.accept(stream).await {
                            let _ = http.serve_connection(TokioIo::new(tls), svc).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
            });
        }
    });
    Stub {
        addr,
        authorizations,
    }
}

async fn answer(reply: Reply) -> Response<Full<Bytes>> {
    let (status, body) = match reply {
        Reply::Vector(series) => {
            let result: Vec<serde_json::Value> = series
                .into_iter()
                .map(|(metric, v)| json!({"metric": metric, "value": [NOW as f64, v]}))
                .collect();
            let body =
                json!({"status": "success", "data": {"resultType": "vector", "result": result}});
            (200, Bytes::from(body.to_string()))
        }
        Reply::Warned(warnings) => {
            let body = json!({"status": "success", "warnings": warnings, "data": {"resultType": "vector", "result": []}});
            (200, Bytes::from(body.to_string()))
        }
        Reply::Raw(status, body) => (status, body),
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            return Box::pin(answer(empty())).await;
        }
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap()
}

fn config(addr: SocketAddr) -> FleetConfig {
    FleetConfig {
        prometheus: format!("http://{addr}"),
        selector: SELECTOR.to_string(),
        interval: Duration::from_secs(15),
        max_age: Duration::from_secs(120),
        timeout: Duration::from_millis(500),
        auth: FleetAuth::None,
        ca_file: None,
    }
}

fn series(account: &str, instance: &str) -> serde_json::Value {
    json!({"__name__": "x", "job": "homeswap", "account": account, "instance": instance})
}

fn window(account: &str, instance: &str, window: &str) -> serde_json::Value {
    json!({"job": "homeswap", "account": account, "instance": instance, "window": window})
}

async fn refresh(stub: &Stub) -> Result<FleetView, RefreshError> {
    refresh_once(&config(stub.addr), NOW).await
}

#[tokio::test]
async fn an_empty_fleet_gives_an_empty_view_of_now() {
    let s = stub(|_| empty(), None).await;
    let v = refresh(&s).await.unwrap();
    assert_eq!(v.refreshed, NOW);
    assert_eq!(v.prometheus, format!("http://{}", s.addr));
    assert_eq!(v.selector, SELECTOR);
    assert!(v.accounts.is_empty() && v.dropped == 0 && v.failure.is_none());
    assert_eq!(s.authorizations.lock().unwrap().len(), 4, "four queries");
}

#[tokio::test]
async fn conflicting_instances_hold_until_the_latest_reset_and_the_freshest_report_wins() {
    let s = stub(
        |k| match k {
            QueryKind::Limits => vector(&[
                (series("a", "h1:9464"), "1800003600"),
                (series("a", "h2:9464"), "1800007200"),
                // The same sidecar in a second scrape job: one instance.
                (series("a", "h1:9464"), "1800003000"),
                (series("b", "h3:9464"), "1800000600"),
            ]),
            // b's report is equally fresh on h2 and h3: the name settles it.
            QueryKind::Updated => vector(&[
                (series("a", "h1:9464"), "1799999000"),
                (series("b", "h3:9464"), "1799999900"),
                (series("b", "h2:9464"), "1799999900"),
            ]),
            QueryKind::Ratio => vector(&[
                (window("a", "h1:9464", "five_hour"), "0.42"),
                (window("a", "h1:9464", "seven_day"), "0.13"),
                (window("b", "h3:9464", "five_hour"), "0.99"),
                (window("b", "h2:9464", "five_hour"), "0.5"),
            ]),
            QueryKind::Reset => vector(&[
                (window("a", "h1:9464", "five_hour"), "1800010000"),
                (window("a", "h1:9464", "seven_day"), "0"),
                (window("b", "h2:9464", "five_hour"), "1800020000"),
            ]),
        },
        None,
    )
    .await;
    let v = refresh(&s).await.unwrap();
    let a = &v.accounts["a"];
    assert_eq!(a.limited_on, 2);
    assert_eq!(
        (a.limited[0].instance.as_str(), a.limited[0].until),
        ("h2:9464", 1_800_007_200)
    );
    assert_eq!(
        (a.limited[1].instance.as_str(), a.limited[1].until),
        ("h1:9464", 1_800_003_600),
        "h1's later report of its two counts"
    );
    assert_eq!(v.limited("a", NOW).unwrap().instance, "h2:9464");
    let u = v.usage("a").unwrap();
    assert_eq!((u.instance.as_str(), u.updated), ("h1:9464", 1_799_999_000));
    let five = u.five_hour.as_ref().unwrap();
    assert_eq!((five.ratio, five.resets_at), (0.42, Some(1_800_010_000)));
    assert_eq!(
        u.seven_day.as_ref().unwrap().resets_at,
        None,
        "0: not reported"
    );
    let b = v.usage("b").unwrap();
    assert_eq!(b.instance, "h2:9464");
    let five = b.five_hour.as_ref().unwrap();
    assert_eq!((five.ratio, five.resets_at), (0.5, Some(1_800_020_000)));
    assert_eq!(v.accounts["b"].limited[0].instance, "h3:9464");
    assert_eq!(v.dropped, 0);
}

#[tokio::test]
async fn nan_huge_negative_and_badly_labelled_values_are_dropped_and_counted() {
    let s = stub(
        |k| match k {
            QueryKind::Limits => vector(&[
                (series("a", "h1"), "NaN"),
                (series("b", "h1"), "+Inf"),
                (series("c", "h1"), "1e300"),
                (series("d", "h1"), "-5"),
                (series("Not-An-Account!", "h1"), "1800003600"),
                (json!({"instance": "h1"}), "1800003600"),
                (series("e", "h1"), "1800003600"),
            ]),
            QueryKind::Updated => vector(&[
                (series("a", "h1"), "1e20"),
                (series("b", "h1"), "1799999000"),
                (series("c", "h1"), "1799999000"),
            ]),
            QueryKind::Ratio => vector(&[
                (window("b", "h1", "five_hour"), "1.5"),
                (window("b", "h1", "seven_day"), "NaN"),
                (window("b", "h1", "one_hour"), "0.5"),
                (window("c", "h1", "five_hour"), "-0.1"),
                (window("c", "h1", "seven_day"), "0.25"),
            ]),
            QueryKind::Reset => vector(&[(window("c", "h1", "seven_day"), "Inf")]),
        },
        None,
    )
    .await;
    let v = refresh(&s).await.unwrap();
    assert_eq!(v.dropped, 6 + 1 + 4 + 1, "{v:?}");
    assert_eq!(
        v.accounts.keys().collect::<Vec<_>>(),
        ["c", "e"],
        "only what survived: e's limit, c's seven-day usage"
    );
    assert_eq!(v.accounts["e"].limited[0].until, 1_800_003_600);
    let c = v.usage("c").unwrap();
    assert!(c.five_hour.is_none());
    assert_eq!(c.seven_day.as_ref().unwrap().ratio, 0.25);
    assert_eq!(c.seven_day.as_ref().unwrap().resets_at, None);
}

#[tokio::test]
async fn a_limit_whose_reset_has_passed_is_no_limit() {
    let s = stub(
        |k| match k {
            QueryKind::Limits => vector(&[
                (series("a", "h1"), "1799999999"),
                (series("a", "h2"), "1800000000"),
            ]),
            _ => empty(),
        },
        None,
    )
    .await;
    let v = refresh(&s).await.unwrap();
    assert!(v.accounts.is_empty(), "{v:?}");
    assert_eq!(v.dropped, 0, "stale, not garbage");
}

#[tokio::test]
async fn a_partial_answer_is_used_with_its_warnings_and_a_partial_refresh_is_not() {
    let s = stub(
        |k| match k {
            QueryKind::Limits => Reply::Warned(vec!["store h1 did not answer\n(timeout)"]),
            _ => empty(),
        },
        None,
    )
    .await;
    let v = refresh(&s).await.unwrap();
    assert_eq!(v.warnings, ["store h1 did not answer\\n(timeout)"]);
    // Three queries answer, the fourth fails: no view is built from the three.
    let s = stub(
        |k| match k {
            QueryKind::Ratio => Reply::Raw(503, Bytes::from_static(b"overloaded")),
            QueryKind::Limits => vector(&[(series("a", "h1"), "1800003600")]),
            _ => empty(),
        },
        None,
    )
    .await;
    let e = refresh(&s).await.unwrap_err();
    assert_eq!(e.outcome, RefreshOutcome::Error);
    assert!(
        e.message.contains("usage ratios query to http://")
            && e.message.contains("HTTP 503: overloaded"),
        "{e:?}"
    );
}

mod failures;
