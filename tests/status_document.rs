//! One status document: `homeswap status --json` prints what
//! `GET /api/v1/status` answers, with the same keys and types, and no path
//! (UTF-8 or not) can make either panic.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use common::Sandbox;
use serde_json::Value;

/// The document's shape: every key with the JSON type of its value,
/// recursively, so two documents compare by structure, not by values.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Null => Value::String("null".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::String(_) => Value::String("string".into()),
    }
}

#[test]
fn status_json_and_the_api_give_the_same_document() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let api = server.get("/api/v1/status").json();
    let cli: Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();

    assert_eq!(cli["active"], "a", "the account name: {cli}");
    assert_eq!(api["active"], "a", "{api}");
    assert_eq!(shape(&cli), shape(&api), "cli: {cli}\napi: {api}");
    // Beyond the shape, everything but the validation time is equal.
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("last_validation");
        v
    };
    assert_eq!(strip(cli), strip(api));
}

#[test]
fn status_json_with_a_config_path_that_is_not_utf8_does_not_panic() {
    let s = Sandbox::ready();
    let odd = s.root().join(OsStr::from_bytes(b"conf\xff\nig.yaml"));
    std::fs::copy(&s.config, &odd).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .arg("--config")
        .arg(&odd)
        .args(["status", "--json"])
        .env_remove("HOMESWAP_CONFIG")
        .output()
        .unwrap();
    let r = common::Run::from(out);
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["config"]
            .as_str()
            .unwrap()
            .ends_with("conf\\xff\\nig.yaml"),
        "{v}"
    );
}
