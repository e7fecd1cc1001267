//! Every `--help` promises exactly the exit codes of the contract's CLI
//! table, and the usage lines and examples say what really happens.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::Run;

/// The contract's CLI table (and the README's for serve and demo).
const CONTRACT: [(&str, &[u8]); 21] = [
    ("validate", &[0, 1, 2]),
    ("ensure", &[0, 1, 2]),
    ("swap", &[0, 1, 2, 3, 4]),
    ("status", &[0, 2]),
    ("latch show", &[0, 2]),
    ("latch clear", &[0, 1, 2]),
    ("adopt", &[0, 1, 2, 3]),
    ("failover", &[0, 1, 2, 3, 4]),
    ("limits", &[0, 2]),
    // The contract gives 0 and 2; a limits file that cannot be written is 1.
    ("limits clear", &[0, 1, 2]),
    ("account add", &[0, 1, 2]),
    ("account remove", &[0, 1, 2]),
    ("account disable", &[0, 1, 2]),
    ("account enable", &[0, 1, 2]),
    ("hook", &[0]),
    ("statusline", &[0]),
    ("serve", &[0, 1, 2]),
    ("demo", &[0, 1]),
    ("init", &[0, 1, 2]),
    ("completions", &[0, 2]),
    ("setup claude-code", &[0, 1, 2]),
];

fn homeswap(args: &[&str], env_config: Option<&str>) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_homeswap"));
    c.args(args).env_remove("HOMESWAP_CONFIG");
    if let Some(v) = env_config {
        c.env("HOMESWAP_CONFIG", v);
    }
    Run::from(c.output().unwrap())
}

fn codes(expected: &[u8]) -> BTreeSet<u8> {
    expected.iter().copied().collect()
}

/// The codes of a command's help: the `N  meaning` lines under its one
/// "Exit codes:" heading. Any other line that talks about exit codes
/// would be a second, possibly contradicting, promise.
fn exit_codes(help: &str) -> BTreeSet<u8> {
    let mentions: Vec<&str> = help
        .lines()
        .filter(|l| {
            let l = l.trim_start().to_lowercase();
            l.contains("exit code") || l.starts_with("exit ")
        })
        .collect();
    assert_eq!(
        mentions,
        ["Exit codes:"],
        "one exit-code section in:\n{help}"
    );
    help.lines()
        .skip_while(|l| *l != "Exit codes:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let first = l.split_whitespace().next().unwrap_or_default();
            first
                .parse()
                .unwrap_or_else(|_| panic!("not an exit-code line: {l:?}\n{help}"))
        })
        .collect()
}

#[test]
fn every_command_help_lists_exactly_its_contract_exit_codes() {
    for (command, expected) in CONTRACT {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let r = homeswap(&args, None);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        assert_eq!(
            exit_codes(&r.stdout),
            codes(expected),
            "homeswap {command} --help:\n{}",
            r.stdout
        );
    }
}

/// The table under `homeswap --help`'s "Exit codes:": command name, then
/// codes, each code a number opening the line's text or following a `·`;
/// an indented line without a name continues the previous command.
fn overview(help: &str) -> BTreeMap<String, BTreeSet<u8>> {
    let mut table: BTreeMap<String, BTreeSet<u8>> = BTreeMap::new();
    let mut current = String::new();
    let section = help
        .lines()
        .skip_while(|l| *l != "Exit codes:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty());
    for line in section {
        let text = line.trim();
        let split = text
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(text.len());
        let name = text[..split].trim();
        if !name.is_empty() {
            current = name.to_string();
        }
        for part in text[split..].split('·') {
            let code = part.split_whitespace().next().and_then(|n| n.parse().ok());
            let code = code.unwrap_or_else(|| panic!("no code in {part:?} of {line:?}"));
            table.entry(current.clone()).or_default().insert(code);
        }
    }
    table
}

#[test]
fn the_overview_lists_each_command_with_its_own_exit_codes() {
    let r = homeswap(&["--help"], None);
    assert_eq!(r.code, 0, "{r:?}");
    let expected: BTreeMap<String, BTreeSet<u8>> = CONTRACT
        .iter()
        .map(|(c, e)| (c.to_string(), codes(e)))
        .collect();
    assert_eq!(overview(&r.stdout), expected, "{}", r.stdout);
}

#[test]
fn demo_help_does_not_offer_the_config_it_does_not_use() {
    let r = homeswap(&["demo", "--help"], None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("--config"), "{}", r.stdout);
    // The commands that read a configuration still offer it.
    for args in [["validate", "--help"], ["serve", "--help"]] {
        assert!(homeswap(&args, None).stdout.contains("--config <PATH>"));
    }
}

#[test]
fn with_homeswap_config_set_usage_lines_show_config_as_optional() {
    let cases: [&[&str]; 5] = [
        &["--help"],
        &["swap", "--help"],
        &["swap"],
        &["latch"],
        &["validate", "--bogus"],
    ];
    for args in cases {
        let r = homeswap(args, Some("/x/homeswap.yaml"));
        let text = format!("{}{}", r.stdout, r.stderr);
        let usage: Vec<&str> = text.lines().filter(|l| l.starts_with("Usage:")).collect();
        assert!(!usage.is_empty(), "{args:?}: {text}");
        for line in usage {
            assert!(
                !line.contains("--config"),
                "{args:?}: --config looks required: {line}"
            );
        }
    }
}

/// Runs examples/sandbox.sh from an unrelated directory with `cargo`
/// replaced by a stand-in that records its call and fails.
struct SandboxScript {
    dir: tempfile::TempDir,
}

impl SandboxScript {
    fn new() -> SandboxScript {
        let s = SandboxScript {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(s.path("bin")).unwrap();
        executable(
            &s.path("bin/cargo"),
            &format!(
                "#!/bin/sh\ntouch '{}'\nexit 1\n",
                s.path("cargo-ran").display()
            ),
        );
        s
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, env: &[(&str, &Path)]) -> Run {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sandbox.sh");
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new("bash");
        c.arg(script)
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("HOMESWAP_SANDBOX", self.path("my sandbox"))
            .env_remove("HOMESWAP")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("HOMESWAP_CONFIG");
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.output().unwrap())
    }

    fn cargo_ran(&self) -> bool {
        self.path("cargo-ran").exists()
    }
}

fn executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn sandbox_script_runs_from_anywhere_in_the_directory_it_is_given() {
    let s = SandboxScript::new();
    let r = s.run(&[("HOMESWAP", Path::new(env!("CARGO_BIN_EXE_homeswap")))]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!s.cargo_ran(), "a given binary needs no build");
    assert!(r.stdout.contains("swapped: a -> b"), "{r:?}");
    let sandbox = s.path("my sandbox");
    assert_eq!(
        std::fs::read_link(sandbox.join("claude")).unwrap(),
        sandbox.join("claude-b")
    );
    // A second run replaces its own sandbox.
    assert_eq!(
        s.run(&[("HOMESWAP", Path::new(env!("CARGO_BIN_EXE_homeswap")))])
            .code,
        0
    );
}

#[test]
fn sandbox_script_builds_only_when_the_release_binary_is_missing_or_stale() {
    let s = SandboxScript::new();
    let target = s.path("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    let bin = target.join("release/homeswap");
    executable(
        &bin,
        &format!(
            "#!/bin/sh\nexec '{}' \"$@\"\n",
            env!("CARGO_BIN_EXE_homeswap")
        ),
    );
    // Up to date (newer than every source): used as it is.
    let r = s.run(&[("CARGO_TARGET_DIR", &target)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !s.cargo_ran(),
        "an up-to-date release binary is not rebuilt"
    );
    assert!(r.stdout.contains("swapped: a -> b"), "{r:?}");

    // Older than the sources: rebuilt (the stand-in cargo fails, and so does
    // the script, before running anything).
    std::fs::File::options()
        .write(true)
        .open(&bin)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400))
        .unwrap();
    let r = s.run(&[("CARGO_TARGET_DIR", &target)]);
    assert!(s.cargo_ran(), "a stale release binary is rebuilt: {r:?}");
    assert_ne!(r.code, 0, "{r:?}");
}

/// docs/reference.md's lines between the heading `start` and the next heading.
fn reference_section(start: &str) -> String {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference.md")).unwrap();
    text.lines()
        .skip_while(|l| *l != start)
        .skip(1)
        .take_while(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_reference_tables_name_every_command() {
    let commands = reference_section("## Commands");
    let exits = reference_section("### Exit codes");
    assert!(!exits.is_empty() && !commands.is_empty());
    for (command, _) in CONTRACT {
        // `latch show` and `latch clear` are rows of their own in both.
        let named = format!("`{command}");
        assert!(
            commands
                .lines()
                .any(|l| l.starts_with("| `") && l.split(" | ").next().unwrap().contains(&named)),
            "the Commands table has no row for {command}"
        );
        assert!(
            exits
                .lines()
                .any(|l| l.starts_with(&format!("| `{command}`"))),
            "the Exit codes table has no row for {command}"
        );
    }
}
