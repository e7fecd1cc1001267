//! Every error answer of the sidecar's HTTP API, over real sockets, has
//! the one documented shape `{"error": "...", "outcome": "...",
//! "errors": ["...", ...]}` and speaks the API's language, not the CLI's.

mod common;

use common::server::{http, Response, Server};
use common::Sandbox;

use common::TOKEN;

/// Checks the status and the error shape; returns the body.
fn assert_error(r: &Response, status: u16, outcome: &str) -> serde_json::Value {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    let error = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {v}"));
    assert!(!error.is_empty(), "{v}");
    assert_eq!(v["outcome"], outcome, "{v}");
    let errors = v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors list: {v}"));
    assert!(!errors.is_empty(), "{v}");
    assert!(errors.iter().all(|e| e.is_string()), "{v}");
    assert!(
        !error.contains("--"),
        "an API caller cannot pass CLI flags: {error}"
    );
    v
}

fn admin(server: &Server, method: &str, path: &str, body: &str) -> Response {
    let auth = format!("Bearer {TOKEN}");
    http(
        server.admin.unwrap(),
        method,
        path,
        &[("Authorization", &auth)],
        body.as_bytes(),
    )
}

#[test]
fn every_refusal_of_the_protocol_has_the_error_shape() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let swap = "/api/v1/swap";

    assert_error(
        &server.admin_post(swap, None, r#"{"to":"b"}"#),
        401,
        "unauthorized",
    );
    assert_error(
        &server.admin_post(swap, Some("wrong"), r#"{"to":"b"}"#),
        403,
        "forbidden",
    );
    assert_error(
        &admin(&server, "POST", swap, r#"{"to":"#),
        400,
        "bad_request",
    );
    assert_error(
        &admin(&server, "POST", swap, r#"{"account":"b"}"#),
        400,
        "bad_request",
    );
    let big = format!(r#"{{"to":"b","pad":"{}"}}"#, "x".repeat(70 * 1024));
    assert_error(&admin(&server, "POST", swap, &big), 413, "too_large");
    assert_error(&admin(&server, "GET", swap, ""), 405, "method_not_allowed");
    assert_error(
        &admin(&server, "POST", "/api/v1/nope", "{}"),
        404,
        "not_found",
    );
    let v = assert_error(
        &admin(&server, "POST", swap, r#"{"to":"nobody"}"#),
        404,
        "refused",
    );
    assert!(v["error"].as_str().unwrap().contains("unknown account"));

    assert_error(&server.get("/nope"), 404, "not_found");
    assert_error(
        &http(server.addr, "POST", "/metrics", &[], b""),
        405,
        "method_not_allowed",
    );

    // The library's "--reason" wording becomes the API's.
    let v = assert_error(
        &admin(&server, "POST", "/api/v1/latch/clear", r#"{"reason":" "}"#),
        400,
        "bad_request",
    );
    assert!(v["error"].as_str().unwrap().contains("\"reason\""), "{v}");
    assert_eq!(s.active_target().unwrap(), s.home("a"), "nothing swapped");
}

#[cfg(feature = "failpoints")]
#[test]
fn a_partial_swap_the_latch_and_an_early_clear_have_the_error_shape() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("swap::ensure=return;swap::rollback=return"));
    let swap = |to: &str| {
        admin(
            &server,
            "POST",
            "/api/v1/swap",
            &format!(r#"{{"to":"{to}"}}"#),
        )
    };

    let v = assert_error(&swap("b"), 500, "partial");
    assert_eq!(
        v["errors"].as_array().unwrap().len(),
        2,
        "ensure's and the rollback's"
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("POST /api/v1/latch/clear"),
        "{v}"
    );
    let v = assert_error(&swap("a"), 423, "refused");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("POST /api/v1/latch/clear"),
        "{v}"
    );
    assert!(
        !v["error"].as_str().unwrap().contains("homeswap latch"),
        "{v}"
    );

    let ready = server.get("/readyz");
    let v = assert_error(&ready, 503, "not_ready");
    assert_eq!(v["reasons"], v["errors"], "the contract's reasons stay");

    std::fs::remove_file(s.link("b", "projects")).unwrap();
    let v = assert_error(
        &admin(
            &server,
            "POST",
            "/api/v1/latch/clear",
            r#"{"reason":"too early"}"#,
        ),
        409,
        "refused",
    );
    assert!(v["errors"][0]
        .as_str()
        .unwrap()
        .starts_with("account b: projects: missing"));
}

#[cfg(feature = "failpoints")]
#[test]
fn a_rolled_back_swap_and_a_busy_lock_have_the_error_shape() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("swap::ensure=return"));
    let swap = |to: &str| {
        admin(
            &server,
            "POST",
            "/api/v1/swap",
            &format!(r#"{{"to":"{to}"}}"#),
        )
    };
    assert_error(&swap("b"), 409, "rolled_back");

    // A CLI swap, held after its flip, keeps the lock through the
    // sidecar's 5 s wait.
    let cli = s.held_swap("b", "");
    assert_error(&swap("a"), 503, "busy");
    assert_eq!(cli.release().code, 0);
}

#[test]
#[ignore = "needs root (runs a client as uid 65534 with setpriv); run by .ci/run"]
fn a_refused_socket_peer_gets_the_error_shape() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::ready();
    let _server = s.serve_on_socket(None);
    let socket = s.admin_socket();
    // Loosened by hand, so that only the peer-uid check stands in the way.
    std::fs::set_permissions(s.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = common::server::http_unix_as_nobody(
        &socket,
        "GET /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("connected to the 0666 socket");
    let v = assert_error(&r, 403, "forbidden");
    assert!(
        v["error"].as_str().unwrap().contains("peer uid 65534"),
        "{v}"
    );
}
