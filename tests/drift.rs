//! Drift: entries of a home that are neither shared nor private are
//! warnings in `validate`, `status`, the status document and the metric
//! `homeswap_unmanaged_entries`; they never change an exit code or
//! readiness.

mod common;

use std::time::Duration;

use common::{wait_for, Sandbox};

/// What a Claude Code run leaves in a home besides the links.
fn claude_code_entries(s: &Sandbox, account: &str) {
    let home = s.home(account);
    for f in [
        ".credentials.json",
        ".claude.json",
        ".claude.json.backup.1700000000",
        "stats-cache.json",
        "history.jsonl.lock",
    ] {
        std::fs::write(home.join(f), b"{}").unwrap();
    }
    for d in [
        "backups",
        "sessions",
        "statsig",
        "plugins",
        "debug",
        "shell-snapshots",
    ] {
        std::fs::create_dir(home.join(d)).unwrap();
    }
}

#[test]
fn unmanaged_entries_are_warnings_that_change_no_exit_code() {
    let s = Sandbox::ready();
    claude_code_entries(&s, "a");
    let clean = s.ok(&["validate"]);
    assert!(
        clean.stderr.is_empty(),
        "private entries are no drift: {clean:?}"
    );

    std::fs::create_dir(s.home("a").join("todos")).unwrap();
    std::fs::write(s.home("b").join("settings.json"), b"{}").unwrap();
    let r = s.ok(&["validate"]);
    assert_eq!(
        r.stderr_lines(),
        [
            "account a: unmanaged entry: todos (a directory): neither shared nor private; add it to shared or private",
            "account b: unmanaged entry: settings.json (a regular file): neither shared nor private; add it to shared_files or private",
        ],
        "{r:?}"
    );
    assert!(r.stdout.starts_with("ok: 2 accounts"), "{r:?}");

    let j = s.ok(&["validate", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 2);
    assert_eq!(
        doc["accounts"][0]["unmanaged"],
        serde_json::json!([{"name": "todos", "kind": "a directory", "share_as": "shared"}])
    );

    let st = s.ok(&["status"]);
    assert!(
        st.stderr.contains("account a: unmanaged entry: todos"),
        "{st:?}"
    );
    let st = s.ok(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    assert_eq!(doc["ok"], true, "a warning is not a problem");
    assert_eq!(doc["problems"], serde_json::json!([]));
    assert_eq!(doc["accounts"][1]["unmanaged"][0]["name"], "settings.json");
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 2);
}

#[test]
fn a_configured_private_list_replaces_the_default_and_star_silences_drift() {
    let s = Sandbox::ready();
    claude_code_entries(&s, "a");
    std::fs::create_dir(s.home("a").join("todos")).unwrap();
    s.set_config("private", ["todos", ".claude*", "*.json"]);
    let r = s.ok(&["validate"]);
    let names: Vec<&str> = r
        .stderr_lines()
        .iter()
        .map(|l| l.split(": ").nth(2).unwrap().split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "backups",
            "debug",
            "history.jsonl.lock",
            "plugins",
            "sessions",
            "shell-snapshots",
            "statsig"
        ],
        "{r:?}"
    );

    let s = Sandbox::ready();
    claude_code_entries(&s, "a");
    s.set_config("private", ["*"]);
    assert!(s.ok(&["validate"]).stderr.is_empty());
}

#[test]
fn an_entry_that_cannot_be_shared_is_only_advised_into_private() {
    let s = Sandbox::ready();
    let fifo = s.home("a").join("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let sock = s.home("a").join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::os::unix::fs::symlink("/elsewhere/notes", s.home("a").join("notes")).unwrap();
    let r = s.ok(&["validate"]);
    assert_eq!(
        r.stderr_lines(),
        [
            "account a: unmanaged entry: notes (a symlink): neither shared nor private; a symlink is shared by what it names: put that in its place to share it, or add it to private",
            "account a: unmanaged entry: pipe (a FIFO): neither shared nor private; a FIFO cannot be shared (a shared target is a directory or a regular file): add it to private",
            "account a: unmanaged entry: sock (a socket): neither shared nor private; a socket cannot be shared (a shared target is a directory or a regular file): add it to private",
        ],
        "{r:?}"
    );
    let j = s.ok(&["validate", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(
        doc["accounts"][0]["unmanaged"][1],
        serde_json::json!({"name": "pipe", "kind": "a FIFO"}),
        "no list to share it in"
    );
}

#[test]
fn the_configuration_refuses_a_private_entry_that_is_shared_or_malformed() {
    for (text, why) in [
        ("private: [projects]\n", "\"projects\" is also in shared"),
        (
            "shared_files: [settings.json]\nprivate: [settings.json]\n",
            "\"settings.json\" is also in shared_files",
        ),
        ("private: ['a*b']\n", "only stand at the start or the end"),
        ("private: [a/b]\n", "without '/'"),
    ] {
        let s = Sandbox::new();
        s.append_config(text);
        let r = s.run(&["validate"]);
        assert_eq!(r.code, 2, "{text}: {r:?}");
        assert!(
            r.stderr.contains("private: ") && r.stderr.contains(why) && r.stderr.contains("line "),
            "{text}: {r:?}"
        );
    }
}

#[test]
fn the_metric_counts_unmanaged_entries_within_a_second_and_readyz_stays_ready() {
    let s = Sandbox::ready();
    claude_code_entries(&s, "b");
    s.add_serve_section();
    let server = s.serve(None);
    let m = server.metrics();
    assert_eq!(m.types["homeswap_unmanaged_entries"], "gauge");
    assert_eq!(m.value("homeswap_unmanaged_entries{account=\"a\"}"), 0.0);
    assert_eq!(m.value("homeswap_unmanaged_entries{account=\"b\"}"), 0.0);

    std::fs::create_dir(s.home("b").join("todos")).unwrap();
    std::fs::write(s.home("b").join("keybindings.json"), b"[]").unwrap();
    // The interval is an hour: only the file-system notification can do this.
    wait_for(
        "the unmanaged entries to count",
        Duration::from_secs(2),
        || {
            server
                .metrics()
                .value("homeswap_unmanaged_entries{account=\"b\"}")
                == 2.0
        },
    );
    assert_eq!(
        server.get("/readyz").status,
        200,
        "a warning is not unready"
    );
    let status = server.get("/api/v1/status").json();
    assert_eq!(
        status["accounts"][1]["unmanaged"][0]["name"],
        "keybindings.json"
    );
    wait_for("the warning in the log", Duration::from_secs(5), || {
        server.logged("unmanaged entry")
    });

    std::fs::remove_dir(s.home("b").join("todos")).unwrap();
    wait_for("the count to drop", Duration::from_secs(2), || {
        server
            .metrics()
            .value("homeswap_unmanaged_entries{account=\"b\"}")
            == 1.0
    });
}

#[test]
fn the_claude_code_example_shares_the_recommended_set_and_leaves_private_to_the_default() {
    use homeswap::{RECOMMENDED_DIRS, RECOMMENDED_FILES, RECOMMENDED_THRESHOLD};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/claude-code.yaml");
    let c = homeswap::Config::load(&path).unwrap();
    assert_eq!(c.shared.names(), RECOMMENDED_DIRS);
    assert_eq!(c.shared.file_names(), RECOMMENDED_FILES);
    assert_eq!(c.failover.threshold, Some(RECOMMENDED_THRESHOLD));
    assert_eq!(c.shared.private(), &homeswap::Private::default());
    // Nothing recommended for sharing is private by default.
    for n in c.shared.all_names() {
        assert!(!c.shared.private().matches(std::ffi::OsStr::new(n)), "{n}");
    }
}

#[test]
fn an_entry_name_with_a_newline_or_stray_bytes_stays_on_one_warning_line() {
    use std::os::unix::ffi::OsStrExt;
    let s = Sandbox::ready();
    std::fs::write(s.home("a").join("two\nlines"), b"").unwrap();
    std::fs::write(
        s.home("a").join(std::ffi::OsStr::from_bytes(b"bad\xff")),
        b"",
    )
    .unwrap();
    let r = s.ok(&["validate"]);
    assert_eq!(
        r.stderr_lines(),
        [
            "account a: unmanaged entry: bad\\xff (a regular file): neither shared nor private; add it to shared_files or private",
            "account a: unmanaged entry: two\\nlines (a regular file): neither shared nor private; add it to shared_files or private",
        ],
        "{r:?}"
    );
    let j = s.ok(&["validate", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(doc["accounts"][0]["unmanaged"][1]["name"], "two\nlines");
}
