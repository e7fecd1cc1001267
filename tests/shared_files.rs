//! File links (`shared_files`): every state, `ensure`, `validate`, the
//! status document, the metrics and the configuration's refusals, with the
//! real binary on real files.

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::time::Duration;

use common::{wait_for, Sandbox};

const FILES: [&str; 2] = ["history.jsonl", "settings.json"];

/// A sandbox whose configuration also shares `history.jsonl` and
/// `settings.json` as files.
fn with_files() -> Sandbox {
    let s = Sandbox::new();
    s.set_config("shared_files", FILES);
    s
}

#[test]
fn ensure_creates_file_links_and_empty_private_target_files() {
    let s = with_files();
    let r = s.ok(&["ensure"]);
    for f in FILES {
        let target = s.shared().join(f);
        let meta = std::fs::symlink_metadata(&target).unwrap();
        assert!(meta.is_file(), "{f}: a regular file");
        assert_eq!(meta.len(), 0, "{f}: empty");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
        for account in ["a", "b"] {
            assert_eq!(std::fs::read_link(s.link(account, f)).unwrap(), target);
        }
        assert!(
            r.stdout
                .contains(&format!("account a: {f}: created the link")),
            "{r:?}"
        );
    }
    s.ok(&["swap", "a"]);
    let v = s.ok(&["validate"]);
    assert!(v.stdout.contains("5 links each"), "{v:?}");
    // Written through one account's link, read through the other's.
    std::fs::write(s.link("a", "history.jsonl"), b"{\"display\":\"hi\"}\n").unwrap();
    assert_eq!(
        std::fs::read(s.link("b", "history.jsonl")).unwrap(),
        b"{\"display\":\"hi\"}\n"
    );
    // Idempotent.
    assert!(s.ok(&["ensure"]).stdout.contains("ok: nothing to do"));
}

#[test]
fn a_missing_target_file_is_created_empty_and_an_existing_one_is_never_touched() {
    let s = with_files();
    s.ok(&["ensure"]);
    std::fs::remove_file(s.shared().join("history.jsonl")).unwrap();
    std::fs::write(s.shared().join("settings.json"), b"{\"a\":1}").unwrap();
    let v = s.run(&["validate"]);
    assert_eq!(v.code, 1, "{v:?}");
    assert!(
        v.stderr
            .contains("account a: history.jsonl: target_missing: "),
        "{v:?}"
    );
    let dry = s.ok(&["ensure", "a", "--dry-run"]);
    assert!(
        dry.stdout
            .contains("account a: history.jsonl: would create the target file"),
        "{dry:?}"
    );
    let r = s.ok(&["ensure", "a"]);
    assert!(
        r.stdout
            .contains("account a: history.jsonl: created the target file"),
        "{r:?}"
    );
    assert_eq!(
        std::fs::read(s.shared().join("history.jsonl")).unwrap(),
        b""
    );
    assert_eq!(
        std::fs::read(s.shared().join("settings.json")).unwrap(),
        b"{\"a\":1}"
    );
}

#[test]
fn a_file_link_to_a_directory_and_a_directory_link_to_a_file_are_errors() {
    let s = with_files();
    std::fs::create_dir_all(s.shared().join("history.jsonl")).unwrap();
    std::fs::write(s.shared().join("projects"), b"not a dir").unwrap();
    let r = s.run(&["ensure", "a"]);
    assert_eq!(r.code, 1, "{r:?}");
    let v = s.run(&["validate", "--json"]);
    assert_eq!(v.code, 1);
    let doc: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    let links = doc["accounts"][0]["links"].as_array().unwrap();
    let state = |name: &str| {
        links
            .iter()
            .find(|l| l["link"] == name)
            .map(|l| {
                (
                    l["state"].as_str().unwrap().to_string(),
                    l["detail"].clone(),
                )
            })
            .unwrap()
    };
    let (st, detail) = state("history.jsonl");
    assert_eq!(st, "error");
    assert!(
        detail
            .as_str()
            .unwrap()
            .contains("exists but is a directory, not a regular file"),
        "{detail}"
    );
    let (st, detail) = state("projects");
    assert_eq!(st, "error");
    assert!(
        detail
            .as_str()
            .unwrap()
            .contains("exists but is a regular file, not a directory"),
        "{detail}"
    );
    // Nothing was replaced.
    assert!(s.shared().join("history.jsonl").is_dir());
    assert_eq!(
        std::fs::read(s.shared().join("projects")).unwrap(),
        b"not a dir"
    );
}

#[test]
fn a_shared_target_that_is_itself_a_symlink_is_an_error_never_followed() {
    let s = with_files();
    s.ok(&["ensure"]);
    s.ok(&["swap", "b"]);
    let elsewhere = s.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("history.jsonl"), b"{\"display\":\"x\"}\n").unwrap();
    std::fs::create_dir(elsewhere.join("projects")).unwrap();
    let before = common::snapshot(&elsewhere);
    let settings = s.shared().join("settings.json");
    std::fs::remove_file(&settings).unwrap();
    symlink("/etc/hostname", &settings).unwrap();
    std::fs::remove_file(s.shared().join("history.jsonl")).unwrap();
    symlink(
        elsewhere.join("history.jsonl"),
        s.shared().join("history.jsonl"),
    )
    .unwrap();
    std::fs::remove_dir(s.shared().join("projects")).unwrap();
    symlink(elsewhere.join("projects"), s.shared().join("projects")).unwrap();

    let v = s.run(&["validate", "--json"]);
    assert_eq!(v.code, 1, "{v:?}");
    let doc: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    for account in [0, 1] {
        let links = doc["accounts"][account]["links"].as_array().unwrap();
        for (name, to, kind) in [
            (
                "settings.json",
                "/etc/hostname".to_string(),
                "a regular file",
            ),
            (
                "history.jsonl",
                elsewhere.join("history.jsonl").display().to_string(),
                "a regular file",
            ),
            (
                "projects",
                elsewhere.join("projects").display().to_string(),
                "a directory",
            ),
        ] {
            let l = links.iter().find(|l| l["link"] == name).unwrap();
            assert_eq!(l["state"], "error", "{name}: {l}");
            let detail = l["detail"].as_str().unwrap();
            assert!(
                detail.contains(&format!("is a symlink (to {to}), not {kind}")),
                "{name}: {detail}"
            );
        }
    }
    // ensure refuses it and writes nothing through it; a swap onto it is
    // refused before the flip; adopt refuses it too.
    assert_eq!(s.run(&["ensure"]).code, 1);
    assert_eq!(s.run(&["swap", "a"]).code, 1);
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    std::fs::remove_file(s.link("a", "history.jsonl")).unwrap();
    std::fs::write(s.link("a", "history.jsonl"), b"{\"display\":\"mine\"}\n").unwrap();
    let r = s.run(&["adopt", "a"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "account a: history.jsonl: the target {} exists but is a symlink, not a regular file",
            s.shared().join("history.jsonl").display()
        )),
        "{r:?}"
    );
    assert_eq!(
        common::snapshot(&elsewhere),
        before,
        "nothing written through the links"
    );
    assert_eq!(
        std::fs::read(s.link("a", "history.jsonl")).unwrap(),
        b"{\"display\":\"mine\"}\n"
    );
}

#[test]
fn divergent_and_not_a_link_file_links_are_refused_and_left_alone() {
    let s = with_files();
    s.ok(&["ensure"]);
    std::fs::remove_file(s.link("a", "settings.json")).unwrap();
    std::fs::write(s.link("a", "settings.json"), b"{\"own\":true}").unwrap();
    std::fs::remove_file(s.link("b", "history.jsonl")).unwrap();
    symlink("/elsewhere/history.jsonl", s.link("b", "history.jsonl")).unwrap();
    let r = s.run(&["ensure"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "account a: settings.json: not_a_link: {} is a regular file, expected a link to {}; run 'homeswap adopt a'",
            s.link("a", "settings.json").display(),
            s.shared().join("settings.json").display()
        )),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!(
            "account b: history.jsonl: divergent: points to /elsewhere/history.jsonl, expected {}",
            s.shared().join("history.jsonl").display()
        )),
        "{r:?}"
    );
    assert_eq!(
        std::fs::read(s.link("a", "settings.json")).unwrap(),
        b"{\"own\":true}"
    );
}

#[test]
fn status_json_lists_file_links_with_the_directory_links() {
    let s = with_files();
    s.ok(&["ensure"]);
    s.ok(&["swap", "b"]);
    let r = s.ok(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = doc["accounts"][1]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["link"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "session-env",
            "file-history",
            "projects",
            "history.jsonl",
            "settings.json"
        ]
    );
    assert_eq!(doc["ok"], true);
}

#[test]
fn the_configuration_refuses_a_name_in_both_lists_and_a_name_that_is_not_one_entry() {
    let s = Sandbox::new();
    s.append_config("shared_files: [history.jsonl, projects]\n");
    let r = s.run(&["validate"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("shared_files: \"projects\" is also in shared")
            && r.stderr.contains("(line 7, column 1)"),
        "{r:?}"
    );
    for (bad, why) in [
        ("[a/b]", "without '/'"),
        ("['..']", "not usable entry names"),
        ("[x, x]", "listed twice"),
    ] {
        let s = Sandbox::new();
        s.append_config(&format!("shared_files: {bad}\n"));
        let r = s.run(&["validate"]);
        assert_eq!(r.code, 2, "{bad}: {r:?}");
        assert!(
            r.stderr.contains("shared_files") && r.stderr.contains(why),
            "{bad}: {r:?}"
        );
    }
}

#[test]
fn file_links_show_in_the_metrics_within_a_second_of_a_change() {
    let s = with_files();
    s.ok(&["ensure"]);
    s.ok(&["swap", "a"]);
    s.add_serve_section();
    let server = s.serve(None);
    let healthy = "homeswap_link_healthy{account=\"b\",link=\"history.jsonl\"}";
    assert_eq!(server.metrics().value(healthy), 1.0);
    std::fs::remove_file(s.link("b", "history.jsonl")).unwrap();
    // The interval is an hour: only the file-system notification can do this.
    wait_for(
        "history.jsonl to show missing",
        Duration::from_secs(2),
        || server.metrics().value(healthy) == 0.0,
    );
    assert_eq!(
        server
            .metrics()
            .value("homeswap_link_state{account=\"b\",link=\"history.jsonl\",state=\"missing\"}"),
        1.0
    );
    std::fs::remove_file(s.shared().join("settings.json")).unwrap();
    wait_for(
        "settings.json target to show missing",
        Duration::from_secs(2),
        || {
            server.metrics().value(
            "homeswap_link_state{account=\"a\",link=\"settings.json\",state=\"target_missing\"}",
        ) == 1.0
        },
    );
}

#[test]
fn a_missing_home_gives_its_file_links_home_missing_too() {
    let s = with_files();
    std::fs::remove_dir(s.home("b")).unwrap();
    let r = s.run(&["validate", "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let states: Vec<(&str, &str)> = doc["accounts"][1]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["link"].as_str().unwrap(), l["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states.len(), 5);
    assert!(
        states.iter().all(|(_, st)| *st == "home_missing"),
        "{states:?}"
    );
    assert_eq!(doc["accounts"][1]["unmanaged"], serde_json::json!([]));
}
