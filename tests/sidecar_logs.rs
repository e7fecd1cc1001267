//! The sidecar's JSON logs (`serve --log-format json`) carry plain values:
//! no Rust debug text such as `Some("a")`, an absent account left out, and
//! a list of errors as a count plus one event per error.

mod common;

use std::time::Duration;

use common::{wait_for, Sandbox};

use common::TOKEN;

/// Every string value of a log event, with its key.
#[cfg(feature = "failpoints")]
fn strings(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

#[cfg(feature = "failpoints")]
#[test]
fn a_latch_is_logged_with_plain_fields_and_its_errors_as_an_array() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("swap::ensure=return;swap::rollback=return"));
    let r = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"b"}"#);
    assert_eq!(r.status, 500, "{}", r.text());
    let latch: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.state().join("latch.json")).unwrap()).unwrap();
    let errors: Vec<&str> = latch["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{latch}");
    wait_for("the latch in the log", Duration::from_secs(5), || {
        server.logged("partial-swap latch is set")
    });
    server.signal(nix::sys::signal::Signal::SIGTERM);
    wait_for("the sidecar to stop", Duration::from_secs(10), || {
        server.logged("stopped")
    });
    let logs = server.logs.lock().unwrap().clone();

    for v in &logs {
        assert!(v["level"].is_string(), "not a JSON log line: {v}");
        for (k, s) in strings(v) {
            assert!(
                !s.contains("Some(") && !s.contains("None") && !s.contains("[\""),
                "{k} carries Rust debug text: {v}"
            );
        }
    }
    let event = |message: &str| {
        logs.iter()
            .find(|v| v["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} in {logs:#?}"))
            .clone()
    };
    let set = event("partial-swap latch is set");
    assert_eq!(set["from"], "a");
    assert_eq!(set["to"], "b");
    assert_eq!(set["error_count"], 2);
    assert_eq!(
        set["errors"],
        serde_json::json!(errors),
        "a JSON array: {set}"
    );
    let failed = event("swap failed");
    assert_eq!(failed["from"], "a");
    assert_eq!(failed["outcome"], "partial");
    assert_eq!(failed["error_count"], 2);
    assert_eq!(failed["errors"], serde_json::json!(errors), "{failed}");
}

#[test]
fn a_swap_from_no_configured_account_leaves_the_field_out() {
    let s = Sandbox::new();
    s.ok(&["ensure"]);
    s.add_serve_section();
    let server = s.serve(None);
    let r = server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"b"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    wait_for("the swap's log event", Duration::from_secs(5), || {
        server.logged("swap")
    });
    let logs = server.logs.lock().unwrap().clone();
    let swap = logs.iter().find(|v| v["message"] == "swap").unwrap();
    assert_eq!(swap["to"], "b");
    assert!(swap.get("from").is_none(), "{swap}");
}

#[test]
fn replacing_a_stale_admin_socket_is_logged_with_its_path() {
    let s = Sandbox::ready();
    let socket = s.root().join("admin.sock");
    // A socket nothing serves on any more: its listener is gone.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    s.add_serve_section();
    s.set_config("serve.admin.socket", &socket);
    let server = s.serve(None);
    let message = "replaced a stale admin socket that nothing was serving on";
    wait_for(
        "the replacement's log event",
        Duration::from_secs(5),
        || server.logged(message),
    );
    let logs = server.logs.lock().unwrap().clone();
    let event = logs.iter().find(|v| v["message"] == message).unwrap();
    assert_eq!(event["level"], "WARN");
    assert_eq!(event["socket"], socket.to_str().unwrap());
}
