//! The configuration check as an operator meets it: overlapping paths,
//! duplicate keys, files that are not configuration files, durations out of
//! range, link names that would break output lines, and a configuration of
//! 10,000 accounts. Each error must name the file, the key(s) and where.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use homeswap::{Config, ConfigError};

const GOOD: &str = "\
accounts:
  a: /h/a
  b: /h/b
active_link: /h/active
shared_dir: /h/shared
state_dir: /var/lib/homeswap
";

const FILE: &str = "/etc/homeswap.yaml";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new(FILE), text)
}

/// The error message for `text`, which must be refused.
fn refused(text: &str) -> String {
    match parse(text) {
        Ok(c) => panic!("accepted:\n{text}\n{:?}", c.accounts),
        Err(e) => {
            let m = e.to_string();
            assert!(m.starts_with(&format!("{FILE}: ")), "no file name: {m}");
            m
        }
    }
}

// ---- 2. nested and equal paths ------------------------------------------

#[test]
fn a_home_inside_another_home_is_refused_naming_both_accounts() {
    let m = refused(&GOOD.replace("b: /h/b", "b: /h/a/projects"));
    assert!(m.contains("accounts.b"), "{m}");
    assert!(m.contains("accounts.a"), "{m}");
    assert!(m.contains("(line 3, column 3)"), "{m}");
}

#[test]
fn every_overlap_among_homes_shared_state_and_active_link_is_refused() {
    // (what replaces what, the two keys the error must name)
    let cases = [
        ("b: /h/b", "b: /h/shared/b", ["accounts.b", "shared_dir"]),
        ("b: /h/b", "b: /h/shared", ["accounts.b", "shared_dir"]),
        (
            "shared_dir: /h/shared",
            "shared_dir: /h/a/shared",
            ["shared_dir", "accounts.a"],
        ),
        (
            "state_dir: /var/lib/homeswap",
            "state_dir: /h/b/state",
            ["state_dir", "accounts.b"],
        ),
        (
            "b: /h/b",
            "b: /var/lib/homeswap/b",
            ["accounts.b", "state_dir"],
        ),
        (
            "b: /h/b",
            "b: /var/lib/homeswap",
            ["accounts.b", "state_dir"],
        ),
        (
            "active_link: /h/active",
            "active_link: /h/a/active",
            ["active_link", "accounts.a"],
        ),
        ("b: /h/b", "b: /h/active/b", ["accounts.b", "active_link"]),
        ("b: /h/b", "b: /h/active", ["accounts.b", "active_link"]),
        (
            "state_dir: /var/lib/homeswap",
            "state_dir: /h/shared/state",
            ["state_dir", "shared_dir"],
        ),
        (
            "state_dir: /var/lib/homeswap",
            "state_dir: /h/shared",
            ["state_dir", "shared_dir"],
        ),
        (
            "shared_dir: /h/shared",
            "shared_dir: /var/lib/homeswap/s",
            ["shared_dir", "state_dir"],
        ),
        (
            "active_link: /h/active",
            "active_link: /h/shared/x",
            ["active_link", "shared_dir"],
        ),
        (
            "active_link: /h/active",
            "active_link: /h/shared",
            ["active_link", "shared_dir"],
        ),
        (
            "active_link: /h/active",
            "active_link: /var/lib/homeswap/a",
            ["active_link", "state_dir"],
        ),
        (
            "shared_dir: /h/shared",
            "shared_dir: /h/active/s",
            ["shared_dir", "active_link"],
        ),
        // A home that contains every other path: the first one in path order.
        ("a: /h/a", "a: /h", ["active_link", "accounts.a"]),
    ];
    for (from, to, keys) in cases {
        let m = refused(&GOOD.replace(from, to));
        for k in keys {
            assert!(m.contains(k), "{to}: the error does not name {k}: {m}");
        }
        assert!(m.contains("(line "), "{to}: no position: {m}");
    }
}

#[test]
fn dot_components_and_trailing_slashes_do_not_hide_an_overlap() {
    for home in ["/h/./a/projects", "/h//a/projects/", "/h/a/./projects/."] {
        let m = refused(&GOOD.replace("b: /h/b", &format!("b: {home}")));
        assert!(m.contains("accounts.b") && m.contains("accounts.a"), "{m}");
    }
    for home in ["/h/x/../a/projects", "/h/b/../a"] {
        let m = refused(&GOOD.replace("b: /h/b", &format!("b: {home}")));
        assert!(m.contains("accounts.b"), "{m}");
        assert!(m.contains(".."), "{m}");
    }
    let m = refused(&GOOD.replace("b: /h/b", "b: /h/a/"));
    assert!(m.contains("accounts.b") && m.contains("accounts.a"), "{m}");
}

#[test]
fn siblings_with_common_name_prefixes_are_fine() {
    let c = parse(
        "accounts:\n  a: /h/a\n  b: /h/a-b\n  c: /h/a.c\n  d: /h/ab\nactive_link: /h/a0\n\
         shared_dir: /h/a_shared\nstate_dir: /h/a~state\n",
    )
    .unwrap();
    assert_eq!(c.accounts.len(), 4);
}

#[test]
fn paths_are_kept_in_their_plain_form() {
    let c = parse(&GOOD.replace("b: /h/b", "b: /h/./b/")).unwrap();
    assert_eq!(c.home("b"), Some(Path::new("/h/b")));
}

// ---- 3. duplicate keys and positions -------------------------------------

#[test]
fn a_duplicate_account_is_refused_at_the_second_one() {
    let m = refused(&GOOD.replace("  b: /h/b\n", "  b: /h/b\n  a: /h/c\n"));
    assert!(m.contains("accounts.a"), "{m}");
    assert!(m.contains("duplicate"), "{m}");
    assert!(m.contains("line 4, column 3"), "{m}");
}

#[test]
fn a_duplicate_key_anywhere_is_refused_with_its_position() {
    let serve = "serve:\n  listen: 127.0.0.1:9464\n  admin:\n    socket: /run/h.sock\n";
    let cases = [
        // (text, key named, line, column)
        (
            format!("{GOOD}active_link: /h/other\n"),
            "active_link",
            7,
            1,
        ),
        (
            format!("{GOOD}{serve}  listen: 127.0.0.1:1\n"),
            "serve.listen",
            11,
            3,
        ),
        (
            format!("{GOOD}{serve}    socket: /run/x.sock\n"),
            "serve.admin.socket",
            11,
            5,
        ),
        (format!("{GOOD}{serve}serve: {{}}\n"), "serve", 11, 1),
        (
            GOOD.replace("  a: /h/a\n", "  \"a\": /h/a\n  'a': /h/c\n"),
            "accounts.a",
            3,
            3,
        ),
        (
            GOOD.replace(
                "accounts:\n  a: /h/a\n  b: /h/b\n",
                "accounts: {a: /h/a, b: /h/b, a: /h/c}\n",
            ),
            "accounts.a",
            1,
            30,
        ),
    ];
    for (text, key, line, column) in cases {
        let m = refused(&text);
        assert!(m.contains(key), "{key}: {m}");
        assert!(m.contains("duplicate"), "{key}: {m}");
        assert!(
            m.contains(&format!("line {line}, column {column}")),
            "{key}: want line {line}, column {column}: {m}"
        );
    }
}

#[test]
fn an_empty_file_is_refused_as_empty_at_line_1() {
    for text in ["", "\n\n", "# only a comment\n", "---\n"] {
        let m = refused(text);
        assert!(m.contains("empty"), "{text:?}: {m}");
        assert!(m.contains("line 1"), "{text:?}: {m}");
    }
}

#[test]
fn schema_errors_at_the_top_of_the_file_still_carry_a_position() {
    let m = refused(&format!("colour: blue\n{GOOD}"));
    assert!(m.contains("colour"), "{m}");
    assert!(m.contains("line 1"), "{m}");
    let m = refused("accounts: 7\n");
    assert!(m.contains("line 1"), "{m}");
}

// ---- 9. durations ---------------------------------------------------------

#[test]
fn an_interval_out_of_range_is_refused_naming_key_value_bounds_and_position() {
    for value in [
        "18000000000000000000s",
        "25h",
        "500ms",
        "0s",
        "1000000000000000000000000s",
    ] {
        let m = refused(&format!("{GOOD}serve:\n  interval: {value}\n"));
        assert!(m.contains("serve.interval"), "{value}: {m}");
        assert!(m.contains(value), "{value}: {m}");
        assert!(m.contains("1s") && m.contains("24h"), "{value}: {m}");
        assert!(m.contains("line 8, column 3"), "{value}: {m}");
    }
    for (value, secs) in [("1s", 1), ("24h", 86_400), ("5m", 300)] {
        let c = parse(&format!("{GOOD}serve:\n  interval: {value}\n")).unwrap();
        assert_eq!(c.serve.interval, Duration::from_secs(secs));
    }
}

// ---- 15. shared link names ------------------------------------------------

#[test]
fn a_shared_name_with_a_control_character_is_refused_escaped() {
    for (yaml, shown) in [
        ("[projects, \"a\\nb\"]", "\"a\\nb\""),
        ("[\"tab\\there\"]", "\"tab\\there\""),
        ("[\"bell\\a\"]", "\"bell\\u{7}\""),
    ] {
        let m = refused(&format!("{GOOD}shared: {yaml}\n"));
        assert!(m.contains("shared"), "{m}");
        assert!(m.contains(shown), "{yaml}: want {shown}: {m}");
        assert!(!m.contains('\n'), "the message itself is one line: {m:?}");
        assert!(m.contains("line 7, column 1"), "{m}");
    }
    for bad in ["[a/b]", "['..']", "['.']", "['']", "[x, x]"] {
        let m = refused(&format!("{GOOD}shared: {bad}\n"));
        assert!(m.contains("shared"), "{m}");
        assert!(m.contains("line 7"), "{m}");
    }
}

#[test]
fn a_private_name_cannot_be_shared_and_the_error_says_why() {
    for (lists, key, why) in [
        (
            "shared_files: [history.jsonl, .credentials.json]\n",
            "shared_files: entry 2 \".credentials.json\"",
            "merges two accounts into one",
        ),
        (
            "shared: [projects, sessions]\n",
            "shared: entry 2 \"sessions\"",
            "per process",
        ),
        (
            "shared: [projects, plugins]\n",
            "shared: entry 2 \"plugins\"",
            "absolute paths",
        ),
        (
            "shared_files: [app.lock]\n",
            "shared_files: entry 1 \"app.lock\"",
            "\"*.lock\"",
        ),
        (
            "shared_files: [.claude.json]\n",
            "shared_files: entry 1 \".claude.json\"",
            "per account",
        ),
        // The file's own list replaces the default for drift, never for
        // what may be shared.
        (
            "shared_files: [.credentials.json]\nprivate: [todos]\n",
            "shared_files: entry 1 \".credentials.json\"",
            "merges two accounts into one",
        ),
        // And its own patterns count too.
        (
            "shared: [projects, notes-cache]\nprivate: ['*-cache']\n",
            "shared: entry 2 \"notes-cache\"",
            "your private list (\"*-cache\")",
        ),
    ] {
        let m = refused(&format!("{GOOD}{lists}"));
        assert!(m.contains(key), "{lists}: want {key}: {m}");
        assert!(m.contains(why), "{lists}: want {why}: {m}");
        assert!(m.contains("line 7, column 1"), "{lists}: {m}");
    }
    // `*` alone switches drift reports off; it keeps no link from being shared.
    parse(&format!(
        "{GOOD}shared_files: [history.jsonl]\nprivate: ['*']\n"
    ))
    .unwrap();
}

// ---- 10. many accounts ------------------------------------------------------

fn many(n: usize) -> String {
    let mut text = String::from("accounts:\n");
    for i in 0..n {
        text.push_str(&format!("  a{i:05}: /srv/homes/a{i:05}\n"));
    }
    text.push_str("active_link: /srv/active\nshared_dir: /srv/shared\nstate_dir: /srv/state\n");
    text
}

#[test]
fn ten_thousand_accounts_are_checked_and_a_nested_one_among_them_is_found() {
    let c = parse(&many(10_000)).unwrap();
    assert_eq!(c.accounts.len(), 10_000);
    assert_eq!(c.home("a09999"), Some(Path::new("/srv/homes/a09999")));

    let text = many(10_000).replace("a07777: /srv/homes/a07777", "a07777: /srv/homes/a00042/x");
    let m = refused(&text);
    assert!(
        m.contains("accounts.a07777") && m.contains("accounts.a00042"),
        "{m}"
    );
    assert!(m.contains("line 7779, column 3"), "{m}");

    let text = many(10_000).replace("a08888: /srv/homes/a08888", "a08888: /srv/homes/a00001");
    let m = refused(&text);
    assert!(
        m.contains("accounts.a08888") && m.contains("accounts.a00001"),
        "{m}"
    );
}

// ---- 8. files that are not configuration files -----------------------------

/// Runs `homeswap --config PATH validate` with a memory ceiling; fails the
/// test if it has not exited within `limit`.
fn run_with_deadline(config: &Path, limit: Duration) -> common::Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_homeswap"));
    cmd.arg("--config")
        .arg(config)
        .arg("validate")
        .env_remove("HOMESWAP_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; a reader of /dev/zero must
    // hit this ceiling instead of the machine's memory.
    unsafe {
        cmd.pre_exec(|| {
            let limit = nix::libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            nix::libc::setrlimit(nix::libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    common::finish_within(
        cmd.spawn().unwrap(),
        limit,
        &format!("homeswap --config {} validate", config.display()),
    )
}

#[test]
fn a_fifo_as_the_configuration_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("homeswap.yaml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let r = run_with_deadline(&fifo, Duration::from_secs(10));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(&fifo.display().to_string()), "{r:?}");
    assert!(r.stderr.contains("not a regular file"), "{r:?}");
    assert!(r.stderr.contains("FIFO"), "{r:?}");
}

#[test]
fn dev_zero_as_the_configuration_is_refused_without_reading_it() {
    let r = run_with_deadline(Path::new("/dev/zero"), Duration::from_secs(10));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("/dev/zero"), "{r:?}");
    assert!(r.stderr.contains("not a regular file"), "{r:?}");
}

#[test]
fn a_directory_as_the_configuration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_with_deadline(dir.path(), Duration::from_secs(10));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("not a regular file"), "{r:?}");
}

#[test]
fn a_configuration_over_the_size_limit_is_refused_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let mut text = String::from(GOOD);
    text.push_str(&format!("# {}\n", "x".repeat(1 << 20)));
    std::fs::write(&big, text).unwrap();
    let r = run_with_deadline(&big, Duration::from_secs(10));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(&big.display().to_string()), "{r:?}");
    assert!(r.stderr.contains("1 MiB"), "{r:?}");
}

#[test]
fn a_configuration_reached_through_symlinks_is_read() {
    // Kubernetes mounts a ConfigMap key as a symlink to a symlinked dir.
    let s = common::Sandbox::new();
    let data = s.root().join("..data");
    std::fs::create_dir(s.root().join("..2026")).unwrap();
    std::fs::rename(&s.config, s.root().join("..2026/homeswap.yaml")).unwrap();
    std::os::unix::fs::symlink("..2026", &data).unwrap();
    std::os::unix::fs::symlink("..data/homeswap.yaml", &s.config).unwrap();
    let r = run_with_deadline(&s.config, Duration::from_secs(30));
    assert_ne!(r.code, 2, "{r:?}");
    let c = Config::load(&s.config).unwrap();
    assert_eq!(c.accounts.len(), 2);
}

#[test]
fn a_config_error_from_the_cli_exits_2_with_the_position() {
    let s = common::Sandbox::new();
    s.set_config("accounts.b", s.home("a").join("projects"));
    let r = s.run(&["validate"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("accounts.b") && r.stderr.contains("accounts.a"),
        "{r:?}"
    );
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
}

// ---- every input answered ---------------------------------------------------

/// The fuzz corpus replayed: every input gets a configuration or an error
/// naming the file, never a panic; an accepted one keeps the checks' promises.
#[test]
fn the_fuzz_corpus_is_answered_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/config_parse");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        seen += 1;
        match parse(text) {
            Ok(c) => {
                let mut paths: Vec<&Path> = c.accounts.values().map(|p| p.as_path()).collect();
                paths.extend([
                    c.active_link.as_path(),
                    c.shared.dir(),
                    c.state_dir.as_path(),
                ]);
                paths.sort();
                for w in paths.windows(2) {
                    assert!(!w[1].starts_with(w[0]), "{text:?}: {w:?} overlap");
                }
                for n in c.shared.names() {
                    assert!(!n.chars().any(char::is_control), "{text:?}");
                }
            }
            Err(e) => assert!(e.to_string().starts_with(FILE), "{text:?}: {e}"),
        }
    }
    assert!(seen > 100, "the corpus was found: {seen}");
}

#[test]
fn unusual_yaml_is_answered_without_panic() {
    let cases = [
        "&x a: 1\n*x : 2\n",
        "? [a, b]\n: 1\n? [a, b]\n: 2\n",
        "? {a: 1}\n: x\n",
        "!tag {a: 1, a: 2}\n",
        "accounts: !!map {a: /h/a}\n",
        "base: &b {x: 1}\nother:\n  <<: *b\n  x: 2\n",
        "- a\n- a\n",
        "~",
        "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "1: a\n1: b\n",
        "true: a\nTrue: b\n",
        "a: 1\n---\na: 2\n",
    ];
    for text in cases {
        let m = refused(text);
        assert!(!m.is_empty(), "{text:?}");
    }
    // An alias reads its anchor's events again, so the position is the anchor's.
    let m = refused("&x a: 1\n*x : 2\n");
    assert!(m.contains("duplicate") && m.contains("line 1"), "{m}");
}

#[test]
fn a_configuration_that_is_not_utf8_is_refused_at_the_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("homeswap.yaml");
    std::fs::write(&file, b"accounts:\n  a: /h/\xffa\n").unwrap();
    let m = Config::load(&file).unwrap_err().to_string();
    assert!(m.starts_with(&file.display().to_string()), "{m}");
    assert!(
        m.contains("not UTF-8") && m.contains("line 2, column 9"),
        "{m}"
    );
}
