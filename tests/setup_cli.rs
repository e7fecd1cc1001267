//! `homeswap setup claude-code [--dry-run] [--remove]` on real files: the
//! shared `settings.json` (a link in every home) or each home's own, every
//! other key kept byte for byte, the user's status line wrapped and put
//! back, refusals that change nothing, and the commands it writes run by a
//! shell the way Claude Code runs them.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Run, Sandbox};

/// The hook events homeswap installs (`ops::hook::EVENTS`).
const EVENTS: [&str; 2] = ["SessionStart", "StopFailure"];

/// Two accounts with `settings.json` in `shared_files`: every home's is a
/// link to the shared file, which `ensure` created empty.
fn shared() -> Sandbox {
    let sb = Sandbox::new();
    sb.set_config("shared_files", ["settings.json"]);
    sb.ok(&["ensure"]);
    sb.ok(&["swap", "a"]);
    sb
}

fn shared_settings(sb: &Sandbox) -> PathBuf {
    sb.shared().join("settings.json")
}

/// `homeswap setup claude-code ARGS`, with `$HOME` in the sandbox.
fn setup(sb: &Sandbox, args: &[&str]) -> Run {
    let mut all = vec!["setup", "claude-code"];
    all.extend(args);
    let out = sb
        .command(&all, None)
        .env("HOME", sb.root())
        .output()
        .unwrap();
    Run::from(out)
}

fn setup_ok(sb: &Sandbox, args: &[&str]) -> Run {
    let r = setup(sb, args);
    assert_eq!(r.code, 0, "setup claude-code {args:?}: {r:?}");
    r
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The homeswap binary as the commands name it (not on the test's PATH).
fn program() -> String {
    format!("'{}'", env!("CARGO_BIN_EXE_homeswap"))
}

fn hook_command(sb: &Sandbox) -> String {
    format!(
        "trap '' TERM; exec {} --config '{}' hook",
        program(),
        sb.config.display()
    )
}

fn statusline_command(sb: &Sandbox) -> String {
    format!(
        "{} --config '{}' statusline",
        program(),
        sb.config.display()
    )
}

/// The `command` of every hook entry of `event`.
fn commands_of(settings: &serde_json::Value, event: &str) -> Vec<String> {
    settings["hooks"][event]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default())
                .map(|h| h["command"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A user's settings: other hooks (one in an event homeswap uses), a
/// status line of their own, and keys homeswap has no business with,
/// formatted with four spaces and numbers as the user wrote them.
const USERS: &str = r#"{
    "model": "opus",
    "cleanupPeriodDays": 99,
    "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/audit.sh"}]}
        ],
        "SessionStart": [
            {"hooks": [{"type": "command", "command": "echo started >> /tmp/log"}]}
        ]
    },
    "statusLine": {"type": "command", "command": "/usr/local/bin/my-status --short", "padding": 0},
    "ratio": 1.50e1
}
"#;

#[test]
fn an_empty_shared_file_gets_the_hook_for_each_event_and_the_status_line_through_the_link() {
    let sb = shared();
    let target = shared_settings(&sb);
    assert_eq!(std::fs::read(&target).unwrap(), b"", "ensure made it empty");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let inode = std::fs::metadata(&target).unwrap().ino();

    let r = setup_ok(&sb, &[]);
    assert!(
        r.stdout
            .contains(&format!("setup: wrote {}", target.display())),
        "{r:?}"
    );
    let v = json(&target);
    for e in EVENTS {
        assert_eq!(commands_of(&v, e), [hook_command(&sb)], "{v:#}");
        assert_eq!(v["hooks"][e][0]["hooks"][0]["type"], "command");
    }
    assert_eq!(v["statusLine"]["type"], "command");
    assert_eq!(v["statusLine"]["command"], statusline_command(&sb));
    // The target was replaced by a rename, with its mode; the homes'
    // links are still the links.
    let meta = std::fs::metadata(&target).unwrap();
    assert_ne!(meta.ino(), inode);
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    for a in ["a", "b"] {
        assert_eq!(
            std::fs::read_link(sb.link(a, "settings.json")).unwrap(),
            target
        );
    }
    sb.ok(&["validate"]);
    let last = sb.audit().pop().unwrap();
    assert_eq!(
        (&last["action"], &last["outcome"], &last["reason"]),
        (&"setup".into(), &"changed".into(), &"install".into())
    );
    assert_eq!(last["files"], serde_json::json!([target]));
}

#[test]
fn without_shared_settings_each_home_gets_its_own_file_created_0600() {
    let sb = Sandbox::ready();
    for a in ["a", "b"] {
        assert!(!sb.home(a).join("settings.json").exists());
    }
    let r = setup_ok(&sb, &[]);
    for a in ["a", "b"] {
        let f = sb.home(a).join("settings.json");
        assert!(
            r.stdout.contains(&format!(
                "setup: created {} (account {a}'s settings)",
                f.display()
            )),
            "{r:?}"
        );
        let meta = std::fs::symlink_metadata(&f).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let v = json(&f);
        assert_eq!(commands_of(&v, "StopFailure"), [hook_command(&sb)]);
        assert_eq!(v["statusLine"]["command"], statusline_command(&sb));
    }
}

#[test]
fn other_hooks_and_keys_keep_their_bytes_and_the_users_status_line_is_wrapped() {
    let sb = shared();
    let target = shared_settings(&sb);
    std::fs::write(&target, USERS).unwrap();
    let r = setup_ok(&sb, &[]);
    assert!(
        r.stdout
            .contains("kept your status line \"/usr/local/bin/my-status --short\""),
        "{r:?}"
    );
    let after = std::fs::read_to_string(&target).unwrap();
    // Untouched, as written: the keys before the hooks, the other hooks,
    // the number's spelling, the four-space indentation.
    assert!(after.starts_with("{\n    \"model\": \"opus\",\n    \"cleanupPeriodDays\": 99,\n    \"permissions\": {\"allow\": [\"Bash(ls:*)\"], \"deny\": []},\n    \"hooks\": {\n        \"PreToolUse\": [\n            {\"matcher\": \"Bash\", \"hooks\": [{\"type\": \"command\", \"command\": \"~/bin/audit.sh\"}]}\n        ],\n        \"SessionStart\": [\n            {\"hooks\": [{\"type\": \"command\", \"command\": \"echo started >> /tmp/log\"}]},\n"), "{after}");
    assert!(after.ends_with("    \"ratio\": 1.50e1\n}\n"), "{after}");
    let v = json(&target);
    assert_eq!(
        commands_of(&v, "SessionStart"),
        ["echo started >> /tmp/log".to_string(), hook_command(&sb)]
    );
    assert_eq!(commands_of(&v, "StopFailure"), [hook_command(&sb)]);
    assert_eq!(commands_of(&v, "PreToolUse"), ["~/bin/audit.sh"]);
    assert_eq!(
        v["statusLine"]["command"],
        format!(
            "{} --wrap '/usr/local/bin/my-status --short'",
            statusline_command(&sb)
        )
    );
    assert_eq!(v["statusLine"]["padding"], 0);
}

#[test]
fn twice_changes_nothing_and_says_so() {
    let sb = shared();
    let target = shared_settings(&sb);
    std::fs::write(&target, USERS).unwrap();
    setup_ok(&sb, &[]);
    let once = std::fs::read(&target).unwrap();
    let inode = std::fs::metadata(&target).unwrap().ino();
    let r = setup_ok(&sb, &[]);
    assert!(
        r.stdout.contains("already set up, nothing changed"),
        "{r:?}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), once);
    assert_eq!(
        std::fs::metadata(&target).unwrap().ino(),
        inode,
        "not even rewritten"
    );
    assert_eq!(
        sb.audit_outcomes().iter().rev().take(2).collect::<Vec<_>>(),
        ["setup unchanged", "setup changed"]
    );
}

#[test]
fn an_older_homeswap_entry_with_another_configuration_is_updated_not_duplicated() {
    let sb = shared();
    let target = shared_settings(&sb);
    let old = r#"{"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "homeswap --config /etc/old.yaml hook"}]}], "StopFailure": [{"hooks": [{"type": "command", "command": "trap '' TERM; exec homeswap --config /etc/old.yaml hook"}, {"type": "command", "command": "notify-send limit"}]}]}, "statusLine": {"type": "command", "command": "homeswap --config /etc/old.yaml statusline --wrap '~/bin/st'"}}"#;
    std::fs::write(&target, old).unwrap();
    let r = setup_ok(&sb, &[]);
    assert!(
        r.stdout.contains("updated homeswap's SessionStart hook"),
        "{r:?}"
    );
    let v = json(&target);
    assert_eq!(commands_of(&v, "SessionStart"), [hook_command(&sb)]);
    assert_eq!(
        commands_of(&v, "StopFailure"),
        [hook_command(&sb), "notify-send limit".to_string()]
    );
    assert_eq!(
        v["statusLine"]["command"],
        format!("{} --wrap '~/bin/st'", statusline_command(&sb)),
        "the status line it wrapped stays wrapped, once"
    );
}

#[test]
fn remove_takes_out_exactly_its_own_entries_and_puts_the_users_status_line_back() {
    let sb = shared();
    let target = shared_settings(&sb);
    std::fs::write(&target, USERS).unwrap();
    setup_ok(&sb, &[]);
    let r = setup_ok(&sb, &["--remove"]);
    assert!(
        r.stdout
            .contains("put your status line \"/usr/local/bin/my-status --short\" back"),
        "{r:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        USERS,
        "byte for byte"
    );
    let r = setup_ok(&sb, &["--remove"]);
    assert!(
        r.stdout
            .contains("nothing of homeswap's in it, nothing changed"),
        "{r:?}"
    );
    assert_eq!(sb.audit().pop().unwrap()["reason"], "remove");

    // What setup created from nothing goes whole, the `hooks` object too.
    std::fs::write(&target, "{\n  \"model\": \"opus\"\n}\n").unwrap();
    setup_ok(&sb, &[]);
    setup_ok(&sb, &["--remove"]);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "{\n  \"model\": \"opus\"\n}\n"
    );
}

#[test]
fn a_file_that_does_not_parse_is_refused_with_its_line_and_column_and_nothing_is_written() {
    let sb = Sandbox::ready();
    let good = sb.home("a").join("settings.json");
    let bad = sb.home("b").join("settings.json");
    std::fs::write(&good, "{}\n").unwrap();
    std::fs::write(&bad, "{\n  \"model\": \"opus\",\n}\n").unwrap();
    let r = setup(&sb, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "{} does not parse as JSON at line 2, column 18",
            bad.display()
        )),
        "{r:?}"
    );
    assert!(r.stderr.contains("nothing was changed"), "{r:?}");
    assert_eq!(
        std::fs::read(&good).unwrap(),
        b"{}\n",
        "not even the good one"
    );
    assert_eq!(
        std::fs::read(&bad).unwrap(),
        b"{\n  \"model\": \"opus\",\n}\n"
    );
    assert_eq!(sb.audit_outcomes().pop().unwrap(), "setup refused");

    // JSON of the wrong shape where homeswap would write: refused too.
    std::fs::write(&bad, r#"{"hooks": []}"#).unwrap();
    let r = setup(&sb, &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("`hooks` is not a JSON object"), "{r:?}");
    assert_eq!(std::fs::read(&good).unwrap(), b"{}\n");
}

#[test]
fn a_homes_settings_json_that_is_a_link_stays_a_link_and_its_target_is_rewritten() {
    let sb = Sandbox::ready();
    // Linked by hand to a file outside homeswap's layout, through a
    // second link: every link on the way stays.
    let elsewhere = sb.root().join("dotfiles");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(
        elsewhere.join("claude-settings.json"),
        "{\"model\": \"opus\"}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        elsewhere.join("claude-settings.json"),
        elsewhere.join("current"),
    )
    .unwrap();
    let link = sb.home("a").join("settings.json");
    std::os::unix::fs::symlink(elsewhere.join("current"), &link).unwrap();
    let r = setup_ok(&sb, &[]);
    assert!(
        r.stdout.contains(&format!(
            "setup: wrote {} (account a's settings, through the link {})",
            elsewhere.join("claude-settings.json").display(),
            link.display()
        )),
        "{r:?}"
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        elsewhere.join("current")
    );
    assert_eq!(
        std::fs::read_link(elsewhere.join("current")).unwrap(),
        elsewhere.join("claude-settings.json")
    );
    let v = json(&elsewhere.join("claude-settings.json"));
    assert_eq!(v["model"], "opus");
    assert_eq!(commands_of(&v, "SessionStart"), [hook_command(&sb)]);
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        2,
        "no temporary left beside the target"
    );
}

#[test]
fn a_dry_run_prints_the_diff_and_changes_nothing() {
    let sb = shared();
    let target = shared_settings(&sb);
    std::fs::write(&target, "{\n  \"model\": \"opus\"\n}\n").unwrap();
    let audit_before = sb.audit().len();
    let r = setup_ok(&sb, &["--dry-run"]);
    let t = target.display();
    assert!(
        r.stdout.contains(&format!("--- {t}\n+++ {t}\n@@ -1,3 +1,29 @@\n {{\n-  \"model\": \"opus\"\n+  \"model\": \"opus\",\n+  \"hooks\": {{\n+    \"SessionStart\": [\n")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "+    \"command\": \"{}\"\n",
            statusline_command(&sb)
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with("dry run: nothing changed\n"),
        "{}",
        r.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "{\n  \"model\": \"opus\"\n}\n"
    );
    assert_eq!(sb.audit().len(), audit_before, "a dry run is not recorded");
    // The diff applies: patch turns the file into what setup writes.
    let copy = sb.root().join("copy.json");
    std::fs::copy(&target, &copy).unwrap();
    let diff = r
        .stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("dry run"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let patch = common::tool::require("patch", "apt-get install -y patch");
    let mut child = Command::new(patch)
        .arg(&copy)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(diff.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    setup_ok(&sb, &[]);
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&target).unwrap()
    );
}

#[test]
fn a_wrapped_script_kept_through_the_active_link_is_warned_about() {
    let sb = shared();
    let target = shared_settings(&sb);
    // $HOME is the sandbox, so ~/active is the active link.
    std::fs::write(
        &target,
        r#"{"statusLine": {"type": "command", "command": "bash ~/active/statusline.sh"}}"#,
    )
    .unwrap();
    let r = setup_ok(&sb, &[]);
    let script = sb.active().join("statusline.sh");
    assert!(
        r.stderr.contains(&format!(
            "runs {}, which is reached through the active link {}",
            script.display(),
            sb.active().display()
        )),
        "{r:?}"
    );
    assert!(r.stderr.contains("move it into the shared dir"), "{r:?}");
    // Kept in the shared dir: no warning.
    setup_ok(&sb, &["--remove"]);
    std::fs::write(
        &target,
        format!(
            r#"{{"statusLine": {{"type": "command", "command": "{}/st.sh"}}}}"#,
            sb.shared().display()
        ),
    )
    .unwrap();
    let r = setup_ok(&sb, &[]);
    assert_eq!(r.stderr, "", "{r:?}");
}

#[test]
fn the_binary_is_named_homeswap_when_path_finds_it_and_by_its_path_otherwise() {
    let sb = Sandbox::ready();
    let r = setup_with_homeswap_on_path(&sb);
    assert!(r.status.success(), "{r:?}");
    let v = json(&sb.home("a").join("settings.json"));
    assert_eq!(
        commands_of(&v, "StopFailure"),
        [format!(
            "trap '' TERM; exec homeswap --config '{}' hook",
            sb.config.display()
        )]
    );
    // Without it on PATH: by its path, the entry updated in place.
    setup_ok(&sb, &[]);
    let v = json(&sb.home("a").join("settings.json"));
    assert_eq!(commands_of(&v, "StopFailure"), [hook_command(&sb)]);
}

/// The written commands, run by `sh -c` as Claude Code runs them: the hook
/// remembers a session, the status line prints the wrapped command's
/// output and then homeswap's line.
#[test]
fn the_commands_it_writes_run_in_a_shell_as_claude_code_runs_them() {
    let sb = shared();
    let target = shared_settings(&sb);
    std::fs::write(
        &target,
        r#"{"statusLine": {"type": "command", "command": "echo \"it's mine\""}}"#,
    )
    .unwrap();
    setup_ok(&sb, &[]);
    let v = json(&target);
    let run = |command: &str, input: &str| -> std::process::Output {
        let mut child = Command::new("sh")
            .args(["-c", command])
            .current_dir("/")
            .env_remove("HOMESWAP_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let hook = commands_of(&v, "SessionStart").pop().unwrap();
    let out = run(
        &hook,
        r#"{"hook_event_name": "SessionStart", "session_id": "0b0e4c1e-1111-4222-8333-444455556666"}"#,
    );
    assert!(out.status.success(), "{out:?}");
    let remembered = sb
        .state()
        .join("sessions/0b0e4c1e-1111-4222-8333-444455556666.json");
    assert!(remembered.is_file(), "{out:?}");
    let line = v["statusLine"]["command"].as_str().unwrap();
    let out = run(
        line,
        r#"{"session_id": "0b0e4c1e-1111-4222-8333-444455556666"}"#,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // The wrapped command's line, then homeswap's: the active account (no
    // usage in this update).
    assert_eq!(lines, ["it's mine", "a"], "{out:?}");
}

#[test]
fn init_prints_the_setup_line_with_the_configuration_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("claude");
    std::fs::create_dir(&from).unwrap();
    let config = dir.path().join("my config.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .arg("--config")
        .arg(&config)
        .args(["init", "--from"])
        .arg(&from)
        .env_remove("HOMESWAP_CONFIG")
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let r = Run::from(out);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "  homeswap --config '{}' setup claude-code\n",
            config.display()
        )),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains("Run it now?"),
        "no question without a terminal: {r:?}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("claude-shared/settings.json")).unwrap(),
        b"",
        "setup did not run: {r:?}"
    );

    // Found without --config: the line needs none.
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("claude");
    std::fs::create_dir(&from).unwrap();
    let config = dir.path().join("homeswap.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .args(["init", "--from"])
        .arg(&from)
        .env("HOMESWAP_CONFIG", &config)
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let r = Run::from(out);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("\n  homeswap setup claude-code\n"),
        "{r:?}"
    );
}

/// At a terminal init asks, and runs setup on yes (under `script`, which
/// gives it a terminal); the default is no.
#[test]
fn at_a_terminal_init_asks_and_runs_setup_on_yes_only() {
    let script = common::tool::require("script", "apt-get install -y bsdutils");
    for (answer, runs) in [("y\n", true), ("\n", false)] {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("claude");
        std::fs::create_dir(&from).unwrap();
        std::fs::write(from.join("settings.json"), "{\"model\": \"opus\"}\n").unwrap();
        let config = dir.path().join("homeswap.yaml");
        let command = format!(
            "'{}' --config '{}' init --from '{}'",
            env!("CARGO_BIN_EXE_homeswap"),
            config.display(),
            from.display()
        );
        let mut child = Command::new(&script)
            .args(["-qec", &command, "/dev/null"])
            .env("HOME", dir.path())
            .env_remove("HOMESWAP_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let r = Run::from(child.wait_with_output().unwrap());
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("Run it now? [y/N]"), "{r:?}");
        let shared = dir.path().join("claude-shared/settings.json");
        let v = json(&shared);
        assert_eq!(v["model"], "opus");
        assert_eq!(v.get("hooks").is_some(), runs, "answered {answer:?}: {r:?}");
    }
}

/// The guide's example of what setup writes ("The Claude Code hook") is
/// what it writes, for `/etc/homeswap.yaml` and `homeswap` on `PATH`.
#[test]
fn the_guides_example_is_what_setup_writes() {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/guide.md"))
            .unwrap();
    let section = guide
        .split("### The Claude Code hook\n")
        .nth(1)
        .expect("docs/guide.md has a section 'The Claude Code hook'");
    let example = section
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the section shows what setup writes");
    let sb = shared();
    let r = setup_with_homeswap_on_path(&sb);
    assert!(r.status.success(), "{r:?}");
    let written = std::fs::read_to_string(shared_settings(&sb))
        .unwrap()
        .replace(&sb.config.display().to_string(), "/etc/homeswap.yaml");
    assert_eq!(written, example, "docs/guide.md's example, byte for byte");
}

/// `homeswap setup claude-code` with the binary's directory first on PATH,
/// as after an install.
fn setup_with_homeswap_on_path(sb: &Sandbox) -> std::process::Output {
    let dir = Path::new(env!("CARGO_BIN_EXE_homeswap")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    sb.command(&["setup", "claude-code"], None)
        .env("PATH", path)
        .output()
        .unwrap()
}
