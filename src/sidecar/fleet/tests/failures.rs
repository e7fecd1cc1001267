//! What goes wrong on the way to Prometheus: malformed and huge answers,
//! HTTP errors, slow and refused ones, credentials and TLS, many instances.

use super::*;

#[tokio::test]
async fn malformed_json_and_http_errors_are_errors_naming_what_came() {
    for (reply, want) in [
        (
            Reply::Raw(200, Bytes::from_static(b"{\"status\":\"success\",\"data\":")),
            "not the Prometheus API's JSON",
        ),
        (
            Reply::Raw(200, Bytes::from_static(b"<html>login</html>")),
            "not the Prometheus API's JSON",
        ),
        (
            Reply::Raw(
                400,
                Bytes::from_static(
                    br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\""}"#,
                ),
            ),
            "HTTP 400: Prometheus answered error bad_data: invalid parameter",
        ),
        (Reply::Raw(401, Bytes::new()), "HTTP 401: (an empty body)"),
        (
            Reply::Raw(
                200,
                Bytes::from_static(br#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#),
            ),
            "a scalar, not an instant vector",
        ),
    ] {
        let s = stub(
            move |k| match k {
                QueryKind::Updated => reply.clone(),
                _ => empty(),
            },
            None,
        )
        .await;
        let e = refresh(&s).await.unwrap_err();
        assert_eq!(e.outcome, RefreshOutcome::Error, "{e:?}");
        assert!(e.message.starts_with("usage report times query"), "{e:?}");
        assert!(e.message.contains(want), "{want}: {e:?}");
    }
}

#[tokio::test]
async fn a_huge_answer_is_an_error_not_a_full_memory() {
    let huge = Bytes::from(vec![b' '; ANSWER_LIMIT + 1]);
    let s = stub(
        move |k| match k {
            QueryKind::Limits => Reply::Raw(200, huge.clone()),
            _ => empty(),
        },
        None,
    )
    .await;
    let mut c = config(s.addr);
    c.timeout = Duration::from_secs(20);
    let e = refresh_once(&c, NOW).await.unwrap_err();
    assert_eq!(e.outcome, RefreshOutcome::Error);
    assert!(e.message.contains("length limit exceeded"), "{e:?}");
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_within_the_bound_and_a_refused_one_an_error() {
    let s = stub(
        |k| match k {
            QueryKind::Reset => Reply::Slow(Duration::from_secs(30)),
            _ => empty(),
        },
        None,
    )
    .await;
    let start = Instant::now();
    let e = refresh(&s).await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.outcome, RefreshOutcome::Timeout, "{e:?}");
    assert!(
        e.message
            .contains("usage reset times query: no answer within fleet.timeout (500ms)"),
        "{e:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "bounded by the timeout: {took:?}"
    );
    // Nothing listens: refused at once.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let e = refresh_once(&config(addr), NOW).await.unwrap_err();
    assert_eq!(e.outcome, RefreshOutcome::Error);
    assert!(e.message.contains("Connection refused"), "{e:?}");
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_good_data_of_the_same_prometheus() {
    let s = stub(
        |k| match k {
            QueryKind::Limits => vector(&[(series("a", "h1"), "1800003600")]),
            _ => empty(),
        },
        None,
    )
    .await;
    let good = refresh(&s).await.unwrap();
    let e = RefreshError {
        outcome: RefreshOutcome::Timeout,
        message: "slow".into(),
    };
    let kept = failed_view(Some(good.clone()), &config(s.addr), &e, NOW + 30);
    assert_eq!(kept.refreshed, NOW);
    assert_eq!(kept.accounts, good.accounts);
    let f = kept.failure.unwrap();
    assert_eq!(
        (f.at, f.outcome, f.message.as_str()),
        (NOW + 30, RefreshOutcome::Timeout, "slow")
    );
    // Of another Prometheus (the configuration changed): nothing is kept.
    let mut other = config(s.addr);
    other.prometheus = "http://elsewhere:9090".into();
    let fresh = failed_view(Some(good), &other, &e, NOW + 30);
    assert_eq!(fresh.refreshed, 0);
    assert!(fresh.accounts.is_empty());
}

#[tokio::test]
async fn credentials_come_from_their_files_and_never_show_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = stub(|_| empty(), None).await;
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let mut c = config(s.addr);
    c.auth = FleetAuth::BearerTokenFile(token.clone());
    refresh_once(&c, NOW).await.unwrap();
    let basic = dir.path().join("basic");
    std::fs::write(&basic, "homeswap:pa55\n").unwrap();
    c.auth = FleetAuth::BasicAuthFile(basic.clone());
    refresh_once(&c, NOW).await.unwrap();
    let seen = s.authorizations.lock().unwrap().clone();
    assert_eq!(seen.len(), 8);
    assert!(
        seen[..4]
            .iter()
            .all(|a| a.as_deref() == Some("Bearer s3cret-token")),
        "{seen:?}"
    );
    // base64("homeswap:pa55")
    assert!(
        seen[4..]
            .iter()
            .all(|a| a.as_deref() == Some("Basic aG9tZXN3YXA6cGE1NQ==")),
        "{seen:?}"
    );
    for (contents, want) in [
        ("", "give exactly one non-empty line"),
        ("no-colon-here", "give one line USER:PASSWORD"),
    ] {
        std::fs::write(&basic, contents).unwrap();
        let e = refresh_once(&c, NOW).await.unwrap_err();
        assert!(
            e.message.contains(want) && e.message.contains("fleet.basic_auth_file"),
            "{e:?}"
        );
        assert!(
            !e.message.contains("no-colon-here"),
            "a secret in a message: {e:?}"
        );
    }
    c.auth = FleetAuth::BearerTokenFile(PathBuf::from("/nonexistent/token"));
    let e = refresh_once(&c, NOW).await.unwrap_err();
    assert!(
        e.message
            .contains("fleet.bearer_token_file /nonexistent/token: no such file"),
        "{e:?}"
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it: the CA's PEM and
/// the server's TLS configuration.
fn test_pki() -> (String, rustls::ServerConfig) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf_cert.der().clone()], key)
    .unwrap();
    (ca_cert.pem(), server)
}

#[tokio::test]
async fn https_trusts_the_ca_file_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, server) = test_pki();
    let s = stub(
        |k| match k {
            QueryKind::Limits => vector(&[(series("a", "h1"), "1800003600")]),
            _ => empty(),
        },
        Some(server),
    )
    .await;
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let mut c = config(s.addr);
    c.prometheus = format!("https://{}", s.addr);
    c.ca_file = Some(ca.clone());
    let v = refresh_once(&c, NOW).await.unwrap();
    assert!(v.limited("a", NOW).is_some());
    // The system's roots do not know the test CA.
    c.ca_file = None;
    let e = refresh_once(&c, NOW).await.unwrap_err();
    assert!(
        e.message.to_lowercase().contains("certificate")
            || e.message.contains("no CA certificates"),
        "{e:?}"
    );
    std::fs::write(&ca, "not a certificate").unwrap();
    c.ca_file = Some(ca);
    let e = refresh_once(&c, NOW).await.unwrap_err();
    assert!(e.message.contains("holds no PEM certificate"), "{e:?}");
}

/// The view keeps what a choice needs, however many instances report.
#[tokio::test]
async fn a_hundred_instances_reporting_one_limit_name_the_latest_eight_and_count_all() {
    let s = stub(
        |k| match k {
            QueryKind::Limits => Reply::Vector(
                (0..100)
                    .map(|i| {
                        let instance = format!("h{i:03}");
                        (series("a", &instance), (1_800_003_600 + i).to_string())
                    })
                    .collect(),
            ),
            _ => empty(),
        },
        None,
    )
    .await;
    let v = refresh(&s).await.unwrap();
    let a = &v.accounts["a"];
    assert_eq!(a.limited_on, 100);
    let names: Vec<&str> = a.limited.iter().map(|l| l.instance.as_str()).collect();
    assert_eq!(
        names,
        ["h099", "h098", "h097", "h096", "h095", "h094", "h093", "h092"]
    );
}
