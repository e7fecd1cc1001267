//! Where the configuration file is found: `--config`, else
//! `$HOMESWAP_CONFIG`, else `$XDG_CONFIG_HOME/homeswap/config.yaml`, else
//! `~/.config/homeswap/config.yaml`; each step of the order proven with
//! real files, for the commands, the hook and the status line, and `init`
//! writing there.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Run, Sandbox};

/// Runs the binary with only these of the lookup's variables set (and
/// `HOME`, always).
fn homeswap(home: &Path, env: &[(&str, &Path)], args: &[&str]) -> Run {
    homeswap_stdin(home, env, args, b"")
}

fn homeswap_stdin(home: &Path, env: &[(&str, &Path)], args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_homeswap"));
    c.args(args)
        .env_remove("HOMESWAP_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("FAILPOINTS")
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    Run::from(child.wait_with_output().unwrap())
}

/// The configuration file `status --json` says it used.
fn used(r: &Run) -> PathBuf {
    assert_eq!(r.code, 0, "{r:?}");
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    PathBuf::from(doc["config"].as_str().unwrap())
}

/// The sandbox's configuration copied to `path` (directories made).
fn copy_config(s: &Sandbox, path: &Path) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(&s.config, path).unwrap();
    path.to_path_buf()
}

#[test]
fn each_step_of_the_order_is_taken_only_when_the_ones_before_name_nothing() {
    let s = Sandbox::ready();
    let home = s.root().join("home");
    let xdg = s.root().join("xdg");
    let at_flag = s.config.clone();
    let at_env = copy_config(&s, &s.root().join("env/homeswap.yaml"));
    let at_xdg = copy_config(&s, &xdg.join("homeswap/config.yaml"));
    let at_home = copy_config(&s, &home.join(".config/homeswap/config.yaml"));
    let status = ["status", "--json"];
    let flag = ["--config", at_flag.to_str().unwrap(), "status", "--json"];
    let every = [
        ("HOMESWAP_CONFIG", at_env.as_path()),
        ("XDG_CONFIG_HOME", &xdg),
    ];
    assert_eq!(used(&homeswap(&home, &every, &flag)), at_flag);
    assert_eq!(used(&homeswap(&home, &every, &status)), at_env);
    // An empty $HOMESWAP_CONFIG names nothing.
    let empty_env = [
        ("HOMESWAP_CONFIG", Path::new("")),
        ("XDG_CONFIG_HOME", &xdg),
    ];
    assert_eq!(used(&homeswap(&home, &empty_env, &status)), at_xdg);
    assert_eq!(
        used(&homeswap(&home, &[("XDG_CONFIG_HOME", &xdg)], &status)),
        at_xdg
    );
    assert_eq!(used(&homeswap(&home, &[], &status)), at_home);
    // An empty or relative $XDG_CONFIG_HOME is as if unset.
    for bad in ["", "relative/xdg"] {
        let env = [("XDG_CONFIG_HOME", Path::new(bad))];
        assert_eq!(used(&homeswap(&home, &env, &status)), at_home, "{bad:?}");
    }
}

#[test]
fn with_no_file_anywhere_the_error_says_where_it_looked_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("u");
    for args in [&["status"][..], &["validate"], &["account", "add", "b"]] {
        let r = homeswap(&home, &[], args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert_eq!(
            r.stderr,
            format!(
                "homeswap: no configuration file: looked for --config, $HOMESWAP_CONFIG, {}/.config/homeswap/config.yaml; run 'homeswap init --from ~/.claude' to make one there, or pass --config PATH\n",
                home.display()
            ),
            "{args:?}"
        );
    }
    // A file named by --config or $HOMESWAP_CONFIG that is missing is named.
    let missing = dir.path().join("nope.yaml");
    let r = homeswap(&home, &[("HOMESWAP_CONFIG", &missing)], &["status"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.starts_with(&format!(
            "homeswap: {}: cannot read the configuration",
            missing.display()
        )),
        "{r:?}"
    );
}

#[test]
fn the_hook_and_the_status_line_find_the_default_file_too() {
    let s = Sandbox::ready();
    let home = s.root().join("home");
    copy_config(&s, &home.join(".config/homeswap/config.yaml"));
    let status = br#"{"session_id":"s1","rate_limits":{"five_hour":{"used_percentage":42,"resets_at":4102444800}}}"#;
    let r = homeswap_stdin(&home, &[], &["statusline"], status);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("a · 5h 42%"), "{r:?}");
    // The hook fails over on the default file's accounts.
    let event = br#"{"hook_event_name":"StopFailure","session_id":"s1","error":"rate_limit"}"#;
    let r = homeswap_stdin(&home, &[], &["hook"], event);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(s.active_account(), "b", "{r:?}");
    // Without any file, both still exit 0 and say where they looked.
    let nowhere = s.root().join("nobody");
    let r = homeswap_stdin(&nowhere, &[], &["statusline"], status);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("looked for --config, $HOMESWAP_CONFIG"),
        "{r:?}"
    );
}

#[test]
fn init_writes_the_default_file_creating_its_directories_private() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("u");
    let claude = home.join(".claude");
    std::fs::create_dir_all(claude.join("projects/p")).unwrap();
    std::fs::write(claude.join("history.jsonl"), b"{}\n").unwrap();
    let xdg = home.join("cfg/deeper");
    let r = homeswap(
        &home,
        &[("XDG_CONFIG_HOME", &xdg)],
        &["init", "--from", claude.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let file = xdg.join("homeswap/config.yaml");
    assert!(file.is_file(), "{r:?}");
    for d in [home.join("cfg"), xdg.clone(), xdg.join("homeswap")] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    assert!(r.stdout.contains("  homeswap account add b"), "{r:?}");
    assert!(!r.stdout.contains("--config"), "no flag needed: {r:?}");
    // Every command finds it now, with no flag.
    let r = homeswap(&home, &[("XDG_CONFIG_HOME", &xdg)], &["status"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = homeswap(
        &home,
        &[("XDG_CONFIG_HOME", &xdg)],
        &["account", "add", "b"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(std::fs::read_to_string(&file).unwrap().contains("  b: "));
}

#[test]
fn init_refuses_a_config_flag_whose_directory_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("u");
    let claude = home.join(".claude");
    std::fs::create_dir_all(claude.join("projects")).unwrap();
    let config = dir.path().join("missing/dir/homeswap.yaml");
    let r = homeswap(
        &home,
        &[],
        &[
            "--config",
            config.to_str().unwrap(),
            "init",
            "--from",
            claude.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("the configuration file's directory")
            && r.stderr.contains("does not exist"),
        "{r:?}"
    );
    assert!(claude.is_dir() && !claude.is_symlink(), "nothing changed");
}
