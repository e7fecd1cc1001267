//! `homeswap serve` end to end: the real binary on a temp layout, real
//! sockets, the exposition parsed as Prometheus would.

mod common;

use std::os::unix::fs::symlink;
use std::time::{Duration, Instant};

use common::server::{http, http_unix, Metrics};
use common::{wait_for, Sandbox, LINKS, LINK_STATES};
use nix::sys::signal::Signal;

use common::TOKEN;

fn ready_server() -> (Sandbox, common::server::Server) {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    (s, server)
}

#[test]
fn metrics_expose_every_contract_series_with_the_validated_values() {
    let (_s, server) = ready_server();
    let m = server.metrics();
    for (name, kind) in [
        ("homeswap_link_healthy", "gauge"),
        ("homeswap_link_state", "gauge"),
        ("homeswap_active_account", "gauge"),
        ("homeswap_partial_swap", "gauge"),
        ("homeswap_last_validation_timestamp_seconds", "gauge"),
        ("homeswap_validation_duration_seconds", "histogram"),
        ("homeswap_validations_total", "counter"),
        ("homeswap_swaps_total", "counter"),
        ("homeswap_swap_duration_seconds", "histogram"),
        ("homeswap_build_info", "gauge"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_cpu_seconds_total", "counter"),
    ] {
        assert_eq!(m.types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    for account in ["a", "b"] {
        for link in LINKS {
            assert_eq!(
                m.value(&format!(
                    "homeswap_link_healthy{{account=\"{account}\",link=\"{link}\"}}"
                )),
                1.0
            );
            for state in LINK_STATES {
                let want = if state == "ok" { 1.0 } else { 0.0 };
                let series = format!("homeswap_link_state{{account=\"{account}\",link=\"{link}\",state=\"{state}\"}}");
                assert_eq!(m.value(&series), want, "{series}");
            }
        }
    }
    assert_eq!(m.value("homeswap_active_account{account=\"a\"}"), 1.0);
    assert_eq!(m.value("homeswap_active_account{account=\"b\"}"), 0.0);
    assert_eq!(m.value("homeswap_partial_swap"), 0.0);
    assert!(m.value("homeswap_validations_total") >= 1.0);
    assert!(m.value("homeswap_validation_duration_seconds_count") >= 1.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - m.value("homeswap_last_validation_timestamp_seconds")).abs() < 60.0);
    assert_eq!(m.value("homeswap_build_info{version=\"0.1.0\"}"), 1.0);
    for outcome in [
        "swapped",
        "already_active",
        "rolled_back",
        "refused",
        "partial",
        "busy",
    ] {
        assert_eq!(
            m.value(&format!("homeswap_swaps_total{{outcome=\"{outcome}\"}}")),
            0.0
        );
    }

    assert_eq!(server.get("/healthz").status, 200);
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 200, "{}", ready.text());
    let status = server.get("/api/v1/status").json();
    assert_eq!(status["active"], "a");
    assert_eq!(status["ok"], true);
    assert_eq!(status["accounts"][1]["links"][2]["state"], "ok");
}

#[test]
fn a_broken_link_shows_in_metrics_and_readyz_within_two_seconds() {
    let (s, server) = ready_server();
    assert_eq!(server.get("/readyz").status, 200);
    let link = s.link("b", "projects");
    let broken_at = Instant::now();
    std::fs::remove_file(&link).unwrap();
    symlink("/tmp/elsewhere", &link).unwrap();
    // The interval is an hour: only the notification path can see this.
    wait_for("link_healthy to drop", Duration::from_secs(2), || {
        server
            .metrics()
            .value("homeswap_link_healthy{account=\"b\",link=\"projects\"}")
            == 0.0
    });
    let seen_after = broken_at.elapsed();
    let m = server.metrics();
    assert_eq!(
        m.value("homeswap_link_state{account=\"b\",link=\"projects\",state=\"divergent\"}"),
        1.0
    );
    assert_eq!(
        m.value("homeswap_link_state{account=\"b\",link=\"projects\",state=\"ok\"}"),
        0.0
    );
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503);
    let reasons = ready.json()["reasons"].as_array().unwrap().clone();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0]
        .as_str()
        .unwrap()
        .starts_with("account b: projects: divergent: points to /tmp/elsewhere"));
    assert!(seen_after < Duration::from_secs(2), "{seen_after:?}");

    // Repair: back to ok just as fast.
    std::fs::remove_file(&link).unwrap();
    s.ok(&["ensure", "b"]);
    wait_for("readyz to recover", Duration::from_secs(2), || {
        server.get("/readyz").status == 200
    });
    wait_for("the log line", Duration::from_secs(5), || {
        server.logged("link state changed")
    });
}

#[test]
fn swap_over_http_answers_with_the_contract_statuses() {
    let (s, server) = ready_server();
    let swap = |token: Option<&str>, body: &str| server.admin_post("/api/v1/swap", token, body);

    let r = swap(None, r#"{"to":"b"}"#);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"homeswap\"")
    );
    assert_eq!(swap(Some("wrong"), r#"{"to":"b"}"#).status, 403);
    let r = swap(Some(TOKEN), r#"{"to":"nobody"}"#);
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(swap(Some(TOKEN), r#"{"to":"#).status, 400);
    assert_eq!(swap(Some(TOKEN), r#"{"account":"b"}"#).status, 400);
    let big = format!(r#"{{"to":"b","pad":"{}"}}"#, "x".repeat(70 * 1024));
    assert_eq!(swap(Some(TOKEN), &big).status, 413);
    assert_eq!(
        s.active_target().unwrap(),
        s.home("a"),
        "nothing above may swap"
    );

    let r = swap(Some(TOKEN), r#"{"to":"b"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["active"], "b");
    assert_eq!(r.json()["outcome"], "swapped");
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    let m = server.metrics();
    assert_eq!(m.value("homeswap_active_account{account=\"b\"}"), 1.0);
    assert_eq!(m.value("homeswap_active_account{account=\"a\"}"), 0.0);
    assert_eq!(m.value("homeswap_swaps_total{outcome=\"swapped\"}"), 1.0);
    assert_eq!(
        m.value("homeswap_swaps_total{outcome=\"refused\"}"),
        1.0,
        "the unknown account"
    );
    assert_eq!(m.value("homeswap_swap_duration_seconds_count"), 2.0);

    let r = swap(Some(TOKEN), r#"{"to":"b"}"#);
    assert_eq!(
        (r.status, r.json()["outcome"].as_str()),
        (200, Some("already_active"))
    );

    // Refused before the flip (a now has a real directory where a link belongs): 409.
    std::fs::remove_file(s.link("a", "projects")).unwrap();
    std::fs::create_dir(s.link("a", "projects")).unwrap();
    let r = swap(Some(TOKEN), r#"{"to":"a"}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.json()["errors"][0]
        .as_str()
        .unwrap()
        .contains("account a: projects: not_a_link"));

    // The same audit log as the CLI's.
    let audit = s.audit();
    assert!(audit
        .iter()
        .any(|e| e["to"] == "b" && e["outcome"] == "swapped"));
}

#[test]
fn the_read_only_listener_never_accepts_a_mutating_request() {
    let (s, server) = ready_server();
    let headers = [("Authorization", format!("Bearer {TOKEN}"))];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = http(
        server.addr,
        "POST",
        "/api/v1/swap",
        &headers,
        br#"{"to":"b"}"#,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let r = http(
        server.addr,
        "POST",
        "/api/v1/latch/clear",
        &headers,
        br#"{"reason":"x"}"#,
    );
    assert_eq!(r.status, 404);
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    let r = http(server.addr, "POST", "/metrics", &[], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));
    assert_eq!(server.get("/nope").status, 404);
    // And the admin listener wants POST for swaps.
    let r = http(server.admin.unwrap(), "GET", "/api/v1/swap", &headers, b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    let r = http(
        server.admin.unwrap(),
        "GET",
        "/api/v1/status",
        &headers,
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["active"], "a");
}

#[test]
fn the_admin_socket_serves_the_same_swap_to_the_same_uid() {
    let s = Sandbox::ready();
    let server = s.serve_on_socket(None);
    let socket = s.admin_socket();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let r = http_unix(&socket, "POST", "/api/v1/swap", br#"{"to":"b"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    server.signal(Signal::SIGTERM);
    let mut server = server;
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    assert!(!socket.exists(), "the socket is removed at shutdown");
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one_and_sigterm_exits_0() {
    let (s, mut server) = ready_server();
    s.append_config("bogus: 1\n");
    server.signal(Signal::SIGHUP);
    wait_for("the reload error", Duration::from_secs(10), || {
        server.logged("configuration not reloaded; keeping the one in force")
    });
    assert_eq!(server.get("/readyz").status, 200);
    assert_eq!(
        server
            .metrics()
            .value("homeswap_active_account{account=\"a\"}"),
        1.0
    );

    // A good change is picked up: a third account appears in the metrics.
    std::fs::create_dir(s.home("c")).unwrap();
    s.remove_config("bogus");
    s.set_config("accounts.c", s.home("c"));
    server.signal(Signal::SIGHUP);
    wait_for("account c in the metrics", Duration::from_secs(10), || {
        server
            .metrics()
            .series
            .contains_key("homeswap_active_account{account=\"c\"}")
    });
    let m = server.metrics();
    assert_eq!(
        m.value("homeswap_link_healthy{account=\"c\",link=\"projects\"}"),
        0.0
    );

    server.signal(Signal::SIGTERM);
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
}

#[test]
fn an_idle_connection_is_closed_by_the_server() {
    use std::io::Read;
    let (_s, server) = ready_server();
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 64];
    // Send nothing: the server must hang up (EOF, or a 408 then EOF).
    let mut total = Vec::new();
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total.extend_from_slice(&buf[..n]),
            Err(e) => panic!("the server kept an idle connection open: {e}"),
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_token_file_readable_by_others_stops_the_start() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::ready();
    s.add_serve_section();
    let token_file = s.root().join("admin-token");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = s.run(&["serve"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "admin token file {} has mode 0644",
            token_file.display()
        )),
        "{r:?}"
    );
    std::fs::write(&token_file, "").unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = s.run(&["serve"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("is empty"), "{r:?}");
}

#[test]
fn metrics_parse_as_prometheus_text() {
    // The parser itself, on a fixed sample, so the tests above can trust it.
    let m = Metrics::parse("# HELP x y\n# TYPE x gauge\nx{a=\"1\"} 2\nx_count 3.5\n");
    assert_eq!(m.value("x{a=\"1\"}"), 2.0);
    assert_eq!(m.value("x_count"), 3.5);
    assert_eq!(m.types["x"], "gauge");
}
