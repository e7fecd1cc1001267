//! `homeswap demo`: what it prints works as printed.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::server::{http, Metrics};

fn after<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {text}"))
        + marker.len();
    text[start..].split_whitespace().next().unwrap()
}

#[test]
fn the_demo_serves_what_it_prints_and_cleans_up_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .args(["demo", "--log-format", "json"])
        .env_remove("HOMESWAP_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    let root = std::path::PathBuf::from(after(&banner, "in "));
    let metrics_url = after(&banner, "metrics     http://");
    let addr: SocketAddr = metrics_url.trim_end_matches("/metrics").parse().unwrap();
    let admin: SocketAddr = after(&banner, "admin API   http://").parse().unwrap();
    let token = after(&banner, "admin token ").to_string();
    assert_eq!(token.len(), 64, "{banner}");
    assert!(banner.contains(&format!("curl -s -H 'Authorization: Bearer {token}' -d '{{\"to\":\"b\"}}' http://{admin}/api/v1/swap")), "{banner}");

    assert_eq!(http(addr, "GET", "/readyz", &[], b"").status, 200);
    let r = http(
        admin,
        "POST",
        "/api/v1/swap",
        &[("Authorization", &format!("Bearer {token}"))],
        br#"{"to":"b"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let m = Metrics::parse(&http(addr, "GET", "/metrics", &[], b"").text());
    assert_eq!(m.value("homeswap_active_account{account=\"b\"}"), 1.0);
    assert_eq!(
        std::fs::read_link(root.join("claude")).unwrap(),
        root.join("claude-b")
    );
    // The printed CLI line works on the same sandbox.
    let cli = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .args([
            "--config",
            root.join("homeswap.yaml").to_str().unwrap(),
            "validate",
        ])
        .output()
        .unwrap();
    assert_eq!(cli.status.code(), Some(0), "{cli:?}");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(!root.exists(), "the temporary sandbox is removed");
}

#[test]
fn the_demo_refuses_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep"), b"mine").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .args(["demo", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(std::fs::read(dir.path().join("keep")).unwrap(), b"mine");
}
