//! `homeswap init --from DIR`: a filled Claude Code home into the layout,
//! losing nothing; refusals, the dry run, usage errors, and (with
//! `--features failpoints`) a crash after every step, finished by running
//! the same command again.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{snapshot, Run};

/// A temporary directory with a Claude Code home `claude` in it, filled as
/// Claude Code fills one, and a `$HOME` for `~/.claude.json`.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(with_claude_json_inside: bool) -> Case {
        let c = Case {
            dir: tempfile::tempdir().unwrap(),
        };
        let home = c.from();
        for d in [
            "projects/-work-app",
            "projects/-work-app/memory",
            "file-history/s1",
            "todos",
            "sessions",
            "plugins",
            "mystery",
        ] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        for (f, bytes) in [
            (
                "projects/-work-app/s1.jsonl",
                &b"{\"type\":\"user\"}\n{\"type\":\"assistant\"}\n"[..],
            ),
            ("projects/-work-app/memory/MEMORY.md", b"remember"),
            ("file-history/s1/abc@v1", b"old file"),
            ("todos/s1.json", b"[]"),
            ("sessions/123.json", b"{\"pid\":123}"),
            ("history.jsonl", b"{\"display\":\"hello\"}\n"),
            ("settings.json", b"{\"cleanupPeriodDays\":99}"),
            (".credentials.json", b"{\"claudeAiOauth\":{}}"),
            ("stats-cache.json", b"{}"),
        ] {
            std::fs::write(home.join(f), bytes).unwrap();
        }
        if with_claude_json_inside {
            std::fs::write(home.join(".claude.json"), b"{\"inside\":true}").unwrap();
        }
        std::fs::create_dir(c.user_home()).unwrap();
        std::fs::write(c.user_home().join(".claude.json"), b"{\"userID\":\"u\"}").unwrap();
        c
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }
    fn from(&self) -> PathBuf {
        self.root().join("claude")
    }
    fn user_home(&self) -> PathBuf {
        self.root().join("user")
    }
    fn config(&self) -> PathBuf {
        self.root().join("homeswap.yaml")
    }
    fn home(&self) -> PathBuf {
        self.root().join("claude-a")
    }
    fn shared(&self) -> PathBuf {
        self.root().join("claude-shared")
    }

    fn command(&self, extra: &[&str], failpoints: Option<&str>) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_homeswap"));
        c.arg("--config")
            .arg(self.config())
            .arg("init")
            .arg("--from")
            .arg(self.from())
            .args(extra)
            .env("HOME", self.user_home())
            .env_remove("HOMESWAP_CONFIG")
            .env_remove("FAILPOINTS");
        if let Some(f) = failpoints {
            c.env("FAILPOINTS", f);
        }
        c
    }

    fn init(&self, extra: &[&str]) -> Run {
        Run::from(self.command(extra, None).output().unwrap())
    }

    fn homeswap(&self, args: &[&str]) -> Run {
        Run::from(
            Command::new(env!("CARGO_BIN_EXE_homeswap"))
                .arg("--config")
                .arg(self.config())
                .args(args)
                .env_remove("HOMESWAP_CONFIG")
                .output()
                .unwrap(),
        )
    }
}

/// Every file under `dir` by its path relative to `dir`, following the
/// links of the layout (so paths read as a tool reading through the
/// active link sees them).
fn files_through(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            let p = dir.join(&r);
            if p.is_dir() {
                stack.push(r);
            } else {
                out.insert(r, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_filled_home_is_converted_losing_nothing() {
    let c = Case::new(false);
    let before = files_through(&c.from());
    let r = c.init(&[]);
    assert_eq!(r.code, 0, "{r:?}");

    // DIR is the active link to DIR-a, a real directory.
    assert_eq!(std::fs::read_link(c.from()).unwrap(), c.home());
    assert!(std::fs::symlink_metadata(c.home()).unwrap().is_dir());
    // The shared entries moved and left their links.
    for n in [
        "projects",
        "file-history",
        "todos",
        "history.jsonl",
        "settings.json",
    ] {
        assert_eq!(
            std::fs::read_link(c.home().join(n)).unwrap(),
            c.shared().join(n),
            "{n}"
        );
    }
    // Private entries stay in the account's home.
    for n in [
        ".credentials.json",
        "sessions",
        "plugins",
        "stats-cache.json",
    ] {
        assert!(
            !std::fs::symlink_metadata(c.home().join(n))
                .unwrap()
                .is_symlink(),
            "{n}"
        );
    }
    // Every byte is where a tool reading through the active link expects it.
    let mut after = files_through(&c.from());
    assert_eq!(
        after.remove(Path::new(".claude.json")).unwrap(),
        b"{\"userID\":\"u\"}",
        "~/.claude.json copied into the home"
    );
    for n in ["CLAUDE.md", "keybindings.json"] {
        assert_eq!(
            after.remove(Path::new(n)).unwrap(),
            b"",
            "{n}: an empty target"
        );
    }
    assert_eq!(after, before);
    assert_eq!(
        std::fs::read(c.user_home().join(".claude.json")).unwrap(),
        b"{\"userID\":\"u\"}",
        "the original is never removed"
    );
    assert!(
        r.stdout.contains(&format!(
            "  export CLAUDE_CONFIG_DIR={}",
            c.from().display()
        )),
        "{r:?}"
    );
    assert!(r.stdout.contains("To add a second account b:"), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "  homeswap --config {} account add b",
            c.config().display()
        )),
        "{r:?}"
    );
    assert!(r.stdout.contains("copied"), "says so: {r:?}");
    // The unmanaged entry is a warning, in init's output and in validate's.
    assert!(
        r.stderr
            .contains("account a: unmanaged entry: mystery (a directory)"),
        "{r:?}"
    );
    let v = c.homeswap(&["validate"]);
    assert_eq!(v.code, 0, "{v:?}");
    assert!(
        !c.root().join("claude-state/init.json").exists(),
        "the journal is gone"
    );
    // The written configuration is the recommended one: what
    // examples/claude-code.yaml says, but for the paths.
    let cfg = homeswap::Config::load(&c.config()).unwrap();
    assert_eq!(cfg.shared.names(), homeswap::RECOMMENDED_DIRS);
    assert_eq!(cfg.shared.file_names(), homeswap::RECOMMENDED_FILES);
    let example = homeswap::Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/claude-code.yaml"),
    )
    .unwrap();
    assert_eq!(cfg.shared.names(), example.shared.names());
    assert_eq!(cfg.shared.file_names(), example.shared.file_names());
    assert_eq!(cfg.shared.private(), example.shared.private());
    assert_eq!(cfg.failover.threshold, example.failover.threshold);
    assert_eq!(cfg.failover.cooldown, example.failover.cooldown);
    assert_eq!(cfg.failover.settle, example.failover.settle);
}

#[test]
fn running_the_finished_init_again_has_nothing_to_do() {
    let c = Case::new(false);
    assert_eq!(c.init(&[]).code, 0);
    let before = snapshot(c.root());
    let r = c.init(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("init: nothing to do: "), "{r:?}");
    assert_eq!(snapshot(c.root()), before);
    // Another account name is another init: refused, DIR is a link now.
    let r = c.init(&["--account", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("is already a link"), "{r:?}");
}

#[test]
fn a_claude_json_already_in_the_home_is_kept_and_nothing_is_copied_over_it() {
    let c = Case::new(true);
    let r = c.init(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        std::fs::read(c.home().join(".claude.json")).unwrap(),
        b"{\"inside\":true}"
    );
    assert!(!r.stdout.contains("copied"), "{r:?}");
}

#[test]
fn a_claude_json_that_is_not_a_regular_file_is_reported_not_skipped_silently() {
    /// What a `~/.claude.json` is, and how the test makes one.
    type Kind = (&'static str, fn(&Path));
    let kinds: [Kind; 4] = [
        ("a FIFO", |p| {
            nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap()
        }),
        ("a directory", |p| std::fs::create_dir(p).unwrap()),
        (
            "a symlink to /nowhere/.claude.json, which does not exist",
            |p| std::os::unix::fs::symlink("/nowhere/.claude.json", p).unwrap(),
        ),
        ("a symlink to a directory", |p| {
            std::os::unix::fs::symlink(p.parent().unwrap(), p).unwrap()
        }),
    ];
    for (what, make) in kinds {
        let c = Case::new(false);
        let src = c.user_home().join(".claude.json");
        std::fs::remove_file(&src).unwrap();
        make(&src);
        let want = format!(
            "{} is {what}, not a regular file: not copied",
            src.display()
        );
        let dry = c.init(&["--dry-run"]);
        assert_eq!(dry.code, 0, "{what}: {dry:?}");
        assert!(
            dry.stdout.contains(&want),
            "{what}: the plan says so: {dry:?}"
        );
        let r = c.init(&[]);
        assert_eq!(r.code, 0, "{what}: {r:?}");
        assert!(r.stderr.contains(&want), "{what}: {r:?}");
        assert!(
            r.stderr.contains(&format!(
                "copy it by hand to {}",
                c.home().join(".claude.json").display()
            )),
            "{what}: {r:?}"
        );
        assert!(!c.home().join(".claude.json").exists(), "{what}");
        assert!(src.symlink_metadata().is_ok(), "{what}: left as it was");
    }
}

#[test]
fn a_dry_run_prints_the_plan_and_changes_nothing() {
    let c = Case::new(false);
    let before = snapshot(c.root());
    let r = c.init(&["--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    for line in [
        format!(
            "plan: move {} to {} (account a) and make {} the active link to it, atomically",
            c.from().display(),
            c.home().display(),
            c.from().display()
        ),
        format!(
            "plan: move projects (a directory) into {}, leaving a link",
            c.shared().display()
        ),
        format!(
            "plan: move history.jsonl (a regular file) into {}, leaving a link",
            c.shared().display()
        ),
        "dry run: nothing changed".to_string(),
    ] {
        assert!(r.stdout.contains(&line), "{line}\n{r:?}");
    }
    assert_eq!(snapshot(c.root()), before);
}

#[test]
fn refusals_change_nothing() {
    type Setup = fn(&Case);
    let cases: [(&str, Setup); 5] = [
        ("the configuration file", |c| {
            std::fs::write(c.config(), b"x").unwrap()
        }),
        ("is already a link", |c| {
            std::fs::rename(c.from(), c.root().join("real")).unwrap();
            std::os::unix::fs::symlink(c.root().join("real"), c.from()).unwrap();
        }),
        ("the account home", |c| {
            std::fs::create_dir(c.home()).unwrap()
        }),
        ("the shared dir", |c| {
            std::fs::create_dir(c.shared()).unwrap()
        }),
        (
            "is a directory, but init shares it as a regular file",
            |c| std::fs::create_dir(c.from().join("CLAUDE.md")).unwrap(),
        ),
    ];
    for (why, setup) in cases {
        let c = Case::new(false);
        setup(&c);
        let before = snapshot(c.root());
        let r = c.init(&[]);
        assert_eq!(r.code, 1, "{why}: {r:?}");
        assert!(
            r.stderr.contains("init refused, nothing changed"),
            "{why}: {r:?}"
        );
        assert!(r.stderr.contains(why), "{why}: {r:?}");
        assert_eq!(snapshot(c.root()), before, "{why}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let c = Case::new(false);
    let r = c.init(&["--account", "Bad"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("bad account name"), "{r:?}");
    let r = Run::from(
        Command::new(env!("CARGO_BIN_EXE_homeswap"))
            .args(["init", "--from"])
            .arg(c.from())
            .arg("--account")
            .arg("Bad")
            .env_remove("HOMESWAP_CONFIG")
            .env("XDG_CONFIG_HOME", c.root().join("xdg"))
            .output()
            .unwrap(),
    );
    // Without --config init writes at the default place (tests/default_config.rs);
    // a usage error there writes nothing, not even the directory.
    assert_eq!(r.code, 2, "{r:?}");
    assert!(!c.root().join("xdg").exists(), "{r:?}");
    let r = c.init(&["--shared-dir", "relative"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("must be an absolute path"), "{r:?}");
}

#[test]
fn a_reader_of_the_home_never_finds_nothing_during_init() {
    let c = Case::new(false);
    // One entry that stays in the home, one that moves to the shared dir.
    let probes = [
        c.from().join(".credentials.json"),
        c.from().join("history.jsonl"),
    ];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, probes) = (stop.clone(), probes.clone());
        std::thread::spawn(move || {
            let (mut reads, mut misses) = (0u64, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for probe in &probes {
                    reads += 1;
                    if let Err(e) = std::fs::read(probe) {
                        misses.push(format!("{}: {e}", probe.display()));
                    }
                }
            }
            (reads, misses)
        })
    };
    let r = c.init(&[]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, misses) = reader.join().unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(reads > 0);
    assert!(
        misses.is_empty(),
        "{misses:?} of {reads} reads found nothing"
    );
}

/// A crash (panic) after step N, for every N, then the same command again:
/// it finishes, the layout is the one an uninterrupted run makes, and at
/// the crash every file was readable through DIR.
#[cfg(feature = "failpoints")]
#[test]
fn a_crash_after_any_step_is_finished_by_running_init_again() {
    let clean = Case::new(false);
    assert_eq!(clean.init(&[]).code, 0);
    let want = files_through(&clean.from());
    let mut crashed = 0;
    for n in 0..20 {
        let c = Case::new(false);
        let before = files_through(&c.from());
        let fp = format!("init::after_move={n}*off->panic");
        let r = Run::from(c.command(&[], Some(&fp)).output().unwrap());
        if r.code == 0 {
            break; // fewer steps than n: every crash point was covered
        }
        crashed += 1;
        assert_eq!(r.code, 101, "step {n}: {r:?}");
        // Mid-way, every file of the home is still readable through DIR
        // (where not yet moved, in the home; where moved, through its link).
        let mid = files_through(&c.from());
        for (p, bytes) in &before {
            assert_eq!(mid.get(p), Some(bytes), "step {n}: {}", p.display());
        }
        let r = c.init(&[]);
        assert_eq!(r.code, 0, "step {n}: {r:?}");
        assert!(
            r.stderr.contains("finished an interrupted init"),
            "step {n}: {r:?}"
        );
        assert_eq!(files_through(&c.from()), want, "step {n}");
        assert_eq!(c.homeswap(&["validate"]).code, 0, "step {n}");
        assert_eq!(
            snapshot(c.root())
                .keys()
                .filter(|p| p.to_string_lossy().contains("homeswap-tmp"))
                .count(),
            0,
            "step {n}: no temporary left"
        );
    }
    assert!(crashed >= 8, "only {crashed} crash points");
}

#[test]
fn a_state_dir_left_half_made_by_a_crash_is_removed_and_init_goes_ahead() {
    let c = Case::new(false);
    // What a crash between creating the state dir under its temporary name
    // and renaming it into place leaves.
    let tmp = c.root().join(".claude-state.homeswap-tmp.1.0");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join("init.json"), b"{}").unwrap();
    let r = c.init(&[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!tmp.exists());
    assert!(c.root().join("claude-state").is_dir());
}
