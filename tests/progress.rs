//! Progress of long work: `adopt` across file systems and `init` draw a
//! progress line (entries, bytes) on stderr when it is a terminal (here a
//! pseudo-terminal from `script`, util-linux), and add nothing at all to
//! their output when it is not.

mod common;

use std::path::Path;
use std::process::Command;

use common::Sandbox;

/// The adoption of b's real `projects` into a shared dir on another file
/// system: `files` files of 2 MiB each. `None` (said) when no other file
/// system can be had and the skip is allowed.
fn across(files: usize) -> Option<(Sandbox, common::other_fs::OtherFs)> {
    let s = Sandbox::new();
    let other = common::other_fs::for_test(s.root(), "progress")?;
    s.set_config("shared_dir", other.dir.path().join("shared"));
    s.ok(&["ensure", "a"]);
    s.ok(&["swap", "a"]);
    let real = s.link("b", "projects");
    std::fs::create_dir_all(real.join("p")).unwrap();
    for i in 0..files {
        std::fs::write(real.join(format!("p/{i:02}.jsonl")), vec![b'x'; 2 << 20]).unwrap();
    }
    Some((s, other))
}

/// Runs `homeswap ARGS` under a pseudo-terminal; what the terminal got.
fn on_a_terminal(config: &Path, args: &str, env: &[(&str, &Path)]) -> String {
    let script = common::tool::require("script", "apt-get install -y util-linux");
    let log = tempfile::NamedTempFile::new().unwrap();
    let line = format!(
        "{} --config '{}' {args}",
        env!("CARGO_BIN_EXE_homeswap"),
        config.display()
    );
    let mut c = Command::new(script);
    c.args(["-qec", &line])
        .arg(log.path())
        .env("TERM", "xterm")
        .env_remove("HOMESWAP_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let st = c.status().unwrap();
    assert!(st.success(), "{line}: {st}");
    String::from_utf8_lossy(&std::fs::read(log.path()).unwrap()).into_owned()
}

#[test]
fn adopt_across_file_systems_shows_entries_and_bytes_on_a_terminal() {
    let Some((s, _other)) = across(8) else {
        return;
    };
    let screen = on_a_terminal(&s.config, "adopt b", &[]);
    assert!(
        screen.contains("adopt b: projects: ") && screen.contains("MiB copied"),
        "{screen}"
    );
    assert!(screen.contains("entries done"), "{screen}");
    // The line is cleared before the results print.
    assert!(screen.contains("\r\u{1b}[2K"), "{screen:?}");
    assert!(screen.contains("adopted account b: 9 moved"), "{screen}");
    assert_eq!(s.run(&["validate"]).code, 0);
}

#[test]
fn adopt_across_file_systems_adds_nothing_to_its_output_when_not_on_a_terminal() {
    let Some((s, other)) = across(3) else {
        return;
    };
    let r = s.ok(&["adopt", "b"]);
    let shared = other.dir.path().join("shared");
    let home = s.home("b");
    let link = |name: &str| {
        format!(
            "account b: {name}: created the link {} -> {}\n",
            home.join(name).display(),
            shared.join(name).display()
        )
    };
    // Byte for byte the lines adopt prints, with no trace of progress.
    assert_eq!(r.stderr, "", "{r:?}");
    assert_eq!(
        r.stdout,
        format!(
            "plan for account b: projects: {} -> {}: 1 to move, 0 duplicate(s), 0 conflict(s)\n  move       p (a directory)\nadopted account b: 4 moved, 0 duplicate(s) removed, 0 kept both\n{}{}{}ok: account b validates ok\n",
            home.join("projects").display(),
            shared.join("projects").display(),
            link("session-env"),
            link("file-history"),
            link("projects"),
        ),
        "{r:?}"
    );
}

#[test]
fn init_shows_its_steps_on_a_terminal_and_nothing_more_in_a_pipe() {
    let make = || {
        let dir = tempfile::tempdir().unwrap();
        let claude = dir.path().join(".claude");
        std::fs::create_dir_all(claude.join("projects/p")).unwrap();
        std::fs::write(claude.join("history.jsonl"), b"{}\n").unwrap();
        dir
    };
    let dir = make();
    let claude = dir.path().join(".claude");
    let config = dir.path().join("homeswap.yaml");
    let screen = on_a_terminal(
        &config,
        &format!("init --from '{}'", claude.display()),
        &[("HOME", dir.path())],
    );
    assert!(screen.contains("init: projects: "), "{screen}");
    assert!(screen.contains("entries moved"), "{screen}");
    assert!(
        screen.contains("init: write and validate the configuration"),
        "{screen}"
    );
    // In a pipe: exactly the lines, with no trace of a progress line.
    let dir = make();
    let claude = dir.path().join(".claude");
    let out = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .arg("--config")
        .arg(dir.path().join("homeswap.yaml"))
        .args(["init", "--from"])
        .arg(&claude)
        .env("HOME", dir.path())
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let r = common::Run::from(out);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
    assert!(
        r.stdout.starts_with(&format!(
            "init: {} is now account a's home",
            claude.display()
        )),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains('\r') && !r.stdout.contains('\u{1b}'),
        "{r:?}"
    );
}
