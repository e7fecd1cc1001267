//! `validate` and `latch show`: the partial-swap latch counts as a problem,
//! and the JSON stays valid whatever bytes a path holds.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Run, Sandbox};

/// Runs the binary on the configuration at `config` (any bytes).
fn run_on(config: &Path, args: &[&str]) -> Run {
    Run::from(
        Command::new(env!("CARGO_BIN_EXE_homeswap"))
            .arg("--config")
            .arg(config)
            .args(args)
            .env_remove("HOMESWAP_CONFIG")
            .env_remove("FAILPOINTS")
            .output()
            .unwrap(),
    )
}

fn plant_latch(s: &Sandbox) {
    std::fs::write(
        s.state().join("latch.json"),
        r#"{"set_at":"2026-11-24T03:00:00Z","from":"a","to":"b","errors":["account b: ensure failed","rollback failed: disk"],"pid":77}"#,
    )
    .unwrap();
}

fn latch_lines(r: &Run) -> Vec<&str> {
    r.stderr_lines()
        .into_iter()
        .filter(|l| l.contains("partial-swap latch"))
        .collect()
}

#[test]
fn validate_fails_while_the_latch_is_set_and_says_what_to_do() {
    let s = Sandbox::ready();
    assert_eq!(s.run(&["validate"]).code, 0);
    plant_latch(&s);

    let r = s.run(&["validate"]);
    assert_eq!(
        r.code, 1,
        "every link is ok, but the latch refuses swaps: {r:?}"
    );
    let lines = latch_lines(&r);
    assert_eq!(lines.len(), 1, "one line: {r:?}");
    let line = lines[0];
    for part in [
        "the partial-swap latch is set since 2026-11-24T03:00:00Z",
        "(swap a -> b) by pid 77",
        "account b: ensure failed; rollback failed: disk",
        "homeswap latch show",
        "homeswap latch clear --reason TEXT",
    ] {
        assert!(line.contains(part), "{part:?} missing in {line}");
    }
    assert_eq!(r.stdout.trim(), "1 problem(s) found");

    let r = s.run(&["validate", "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["latch"]["to"], "b");
    assert_eq!(v["latch"]["set_at"], "2026-11-24T03:00:00Z");
    assert_eq!(v["problems"].as_array().unwrap().len(), 1);
    assert_eq!(v["problems"][0], line);

    // Cleared: ok again.
    s.ok(&["latch", "clear", "--reason", "checked by hand"]);
    let r = s.ok(&["validate", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (v["ok"].clone(), v["latch"].clone()),
        (true.into(), serde_json::Value::Null)
    );
}

#[test]
fn an_unreadable_latch_file_fails_validate_on_one_line() {
    let s = Sandbox::ready();
    std::fs::write(s.state().join("latch.json"), b"{not json\n").unwrap();
    let r = s.run(&["validate"]);
    assert_eq!(r.code, 1, "{r:?}");
    let lines = latch_lines(&r);
    assert_eq!(lines.len(), 1, "{r:?}");
    assert!(lines[0].contains("is unreadable"), "{r:?}");
}

#[cfg(feature = "failpoints")]
#[test]
fn validate_fails_after_a_partial_swap_set_the_latch() {
    let s = Sandbox::ready();
    let r = s.run_with(&["swap", "b"], "swap::ensure=return;swap::rollback=return");
    assert_eq!(r.code, 3, "{r:?}");
    // The links themselves are all ok and b is a configured account: only
    // the latch is wrong.
    let r = s.run(&["validate"]);
    assert_eq!(r.code, 1, "{r:?}");
    let lines = latch_lines(&r);
    assert_eq!(lines.len(), 1, "{r:?}");
    assert!(lines[0].contains("(swap a -> b)"), "{r:?}");
}

/// A copy of the sandbox's configuration under a name that is not UTF-8.
fn non_utf8_config(s: &Sandbox) -> PathBuf {
    let path = s.root().join(OsStr::from_bytes(b"conf-\xff\xfe.yaml"));
    std::fs::copy(&s.config, &path).unwrap();
    path
}

#[test]
fn validate_json_is_valid_with_paths_that_are_not_utf8() {
    let s = Sandbox::ready();
    let config = non_utf8_config(&s);
    // A divergent link and an active link whose targets are not UTF-8.
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    symlink(OsStr::from_bytes(b"/tmp/\xffx"), s.link("b", "projects")).unwrap();
    std::fs::remove_file(s.active()).unwrap();
    symlink(OsStr::from_bytes(b"/nowhere/\xfe"), s.active()).unwrap();
    plant_latch(&s);

    let r = run_on(&config, &["validate", "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    assert!(
        v["config"]
            .as_str()
            .unwrap()
            .ends_with("conf-\\xff\\xfe.yaml"),
        "{v}"
    );
    assert_eq!(v["active"]["target"], "/nowhere/\\xfe");
    assert_eq!(v["accounts"][1]["links"][2]["points_to"], "/tmp/\\xffx");
    assert_eq!(v["problems"].as_array().unwrap().len(), 3, "{v}");
}

#[test]
fn latch_show_json_is_valid_with_a_config_path_that_is_not_utf8() {
    let s = Sandbox::ready();
    let config = non_utf8_config(&s);
    let r = run_on(&config, &["latch", "show", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    assert_eq!(
        (v["set"].clone(), v["latch"].clone()),
        (false.into(), serde_json::Value::Null)
    );

    plant_latch(&s);
    let r = run_on(&config, &["latch", "show", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    assert_eq!(v["set"], true);
    assert_eq!(v["latch"]["pid"], 77);
    assert_eq!(v["latch"]["errors"][1], "rollback failed: disk");
}
