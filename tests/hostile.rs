//! Hostile layouts: loops, dangling links, links through `..`, FIFOs and
//! sockets where links belong, names with newlines or bytes that are not
//! UTF-8, read-only file systems, and a layout that changes while ensure
//! runs. homeswap must report each with a clear line (account, link, state,
//! path), never hang, and never follow a planted symlink into creating or
//! changing anything outside the configured paths.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::mount::Mount;
use common::{snapshot, Run, Sandbox};

/// A directory outside every configured path, that must stay empty.
fn outside(s: &Sandbox) -> PathBuf {
    let d = s.root().join("outside");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn assert_untouched(dir: &Path) {
    assert!(
        snapshot(dir).is_empty(),
        "something was created outside the configured paths: {:?}",
        snapshot(dir).keys().collect::<Vec<_>>()
    );
}

/// The one stderr line about `account`'s `link`.
fn line_about<'a>(r: &'a Run, account: &str, link: &str) -> &'a str {
    let prefix = format!("account {account}: {link}: ");
    r.stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {account}/{link} in {:?}", r.stderr))
}

#[test]
fn a_symlink_loop_where_a_link_belongs_is_reported_and_left() {
    let s = Sandbox::ready();
    let link = s.link("b", "projects");
    std::fs::remove_file(&link).unwrap();
    symlink(&link, &link).unwrap();
    let r = s.run_bounded(&["validate"]);
    assert_eq!(r.code, 1);
    let line = line_about(&r, "b", "projects");
    assert!(line.contains("divergent"), "{line}");
    assert_eq!(s.run_bounded(&["ensure"]).code, 1);
    assert_eq!(std::fs::read_link(&link).unwrap(), link);
    assert_eq!(s.run_bounded(&["swap", "b"]).code, 1);
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

#[test]
fn a_home_that_is_a_symlink_loop_is_reported_and_nothing_is_created() {
    let s = Sandbox::ready();
    let home = s.home("b");
    std::fs::rename(&home, s.root().join("old-b")).unwrap();
    symlink(&home, &home).unwrap();
    let r = s.run_bounded(&["validate"]);
    assert_eq!(r.code, 1);
    let line = line_about(&r, "b", "projects");
    assert!(line.contains(&home.display().to_string()), "{line}");
    assert!(
        line.contains("home_missing") || line.contains("error"),
        "{line}"
    );
    assert_eq!(s.run_bounded(&["ensure", "b"]).code, 1);
    assert_eq!(std::fs::read_link(&home).unwrap(), home);
    assert_eq!(s.run_bounded(&["swap", "b"]).code, 1);
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

#[test]
fn dangling_links_and_links_through_dotdot_are_divergent_and_kept() {
    let s = Sandbox::ready();
    let dangling = s.link("b", "projects");
    std::fs::remove_file(&dangling).unwrap();
    symlink("/nonexistent/projects", &dangling).unwrap();
    // Resolves to the right directory, but is not the exact path.
    let dotdot = s.link("b", "file-history");
    std::fs::remove_file(&dotdot).unwrap();
    let roundabout = s.shared().join("..").join("shared").join("file-history");
    symlink(&roundabout, &dotdot).unwrap();

    let r = s.run_bounded(&["validate"]);
    assert_eq!(r.code, 1);
    let l = line_about(&r, "b", "projects");
    assert!(
        l.contains("divergent") && l.contains("/nonexistent/projects"),
        "{l}"
    );
    let l = line_about(&r, "b", "file-history");
    assert!(l.contains("divergent") && l.contains("/../"), "{l}");
    assert_eq!(s.run_bounded(&["ensure"]).code, 1);
    assert_eq!(
        std::fs::read_link(&dangling).unwrap(),
        Path::new("/nonexistent/projects")
    );
    assert_eq!(std::fs::read_link(&dotdot).unwrap(), roundabout);
}

#[test]
fn a_planted_symlink_as_the_shared_target_is_never_followed_into_creating_outside() {
    let s = Sandbox::new();
    let out = outside(&s);
    std::fs::create_dir_all(s.shared()).unwrap();
    // shared/projects is a dangling link to a directory outside: ensure's
    // "create the target" must not create it through the link.
    symlink(out.join("projects"), s.shared().join("projects")).unwrap();
    let r = s.run_bounded(&["ensure"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("projects"), "{r:?}");
    assert_untouched(&out);
    // The other links were made; the planted one is still there, untouched.
    assert_eq!(
        std::fs::read_link(s.shared().join("projects")).unwrap(),
        out.join("projects")
    );
    assert!(s.link("a", "session-env").is_symlink());
}

#[test]
fn fifos_and_sockets_where_links_belong_are_reported_without_hanging() {
    let s = Sandbox::ready();
    let fifo = s.link("b", "projects");
    std::fs::remove_file(&fifo).unwrap();
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let sock = s.link("b", "session-env");
    std::fs::remove_file(&sock).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();

    for args in [&["validate"][..], &["ensure"], &["swap", "b"]] {
        let r = s.run_bounded(args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
    }
    let r = s.run_bounded(&["status"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("session-env=not_a_link"), "{r:?}");
    let r = s.run_bounded(&["validate"]);
    let l = line_about(&r, "b", "projects");
    // Both: the state and what sits there ("a FIFO"), in any case.
    assert!(
        l.contains("not_a_link") && l.to_lowercase().contains("fifo"),
        "{l}"
    );
    let l = line_about(&r, "b", "session-env");
    assert!(l.contains("not_a_link") && l.contains("socket"), "{l}");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

#[test]
fn a_newline_in_a_path_does_not_split_a_problem_line() {
    let s = Sandbox::ready();
    let odd = s.root().join("home\nc");
    std::fs::create_dir(&odd).unwrap();
    s.set_config("accounts.c", &odd);
    let r = s.run_bounded(&["validate"]);
    assert_eq!(r.code, 1, "{r:?}");
    // Three links missing: three lines, each naming its account and link.
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for l in lines {
        assert!(l.starts_with("account c: "), "{l}");
    }
    // And ensure makes them in the odd home, not anywhere else.
    assert_eq!(s.run_bounded(&["ensure", "c"]).code, 0);
    assert!(odd.join("projects").is_symlink());
}

#[test]
fn link_targets_that_are_not_utf8_are_reported_and_status_json_stays_valid() {
    let s = Sandbox::ready();
    let link = s.link("b", "projects");
    std::fs::remove_file(&link).unwrap();
    let target = Path::new(OsStr::from_bytes(b"/tmp/\xff\xfe-not-utf8"));
    symlink(target, &link).unwrap();
    let r = s.run_bounded(&["validate"]);
    assert_eq!(r.code, 1);
    assert!(line_about(&r, "b", "projects").contains("divergent"));
    let r = s.run_bounded(&["status", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    assert_eq!(v["accounts"][1]["links"][2]["state"], "divergent", "{v}");
    let r = s.run_bounded(&["validate", "--json"]);
    assert_eq!(r.code, 1);
    serde_json::from_str::<serde_json::Value>(&r.stdout).expect("valid JSON");
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
}

#[test]
fn a_link_that_flips_between_missing_and_a_planted_symlink_never_redirects_ensure() {
    // While ensure runs again and again, another thread keeps replacing the
    // shared target and a home's link with symlinks into `outside`. Every
    // create homeswap makes is an *at call that does not follow the final
    // component, so nothing may ever appear in `outside`.
    let s = Sandbox::new();
    let out = outside(&s);
    std::fs::create_dir_all(s.shared()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let racer = {
        let stop = stop.clone();
        let (target, link, out) = (
            s.shared().join("projects"),
            s.link("b", "projects"),
            out.clone(),
        );
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let _ = symlink(out.join("projects"), &target);
                let _ = symlink(&out, &link);
                std::thread::yield_now();
                let _ = std::fs::remove_file(&target);
                let _ = std::fs::remove_dir(&target);
                let _ = std::fs::remove_file(&link);
                flips += 1;
            }
            flips
        })
    };
    let mut runs = 0;
    let start = Instant::now();
    while runs < 60 && start.elapsed() < Duration::from_secs(20) {
        let r = s.run_bounded(&["ensure", "b"]);
        assert!(r.code == 0 || r.code == 1, "{r:?}");
        runs += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let flips = racer.join().unwrap();
    assert!(flips > 0);
    assert_untouched(&out);
}

#[test]
#[ignore = "needs root (mounts a tmpfs); run by .ci/run"]
fn a_home_on_a_read_only_file_system_is_reported_and_a_swap_to_it_changes_nothing() {
    let s = Sandbox::ready();
    // b's home becomes an empty read-only tmpfs: its links are missing and
    // cannot be created.
    let mount = Mount::tmpfs(&s.home("b"), "size=1m,mode=0755");
    mount.remount("ro");
    let r = s.run_bounded(&["ensure", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    let l = line_about(&r, "b", "projects");
    assert!(
        l.contains("Read-only file system") || l.contains("read-only"),
        "{l}"
    );
    assert!(
        l.contains(&s.link("b", "projects").display().to_string()),
        "{l}"
    );
    let r = s.run_bounded(&["swap", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    assert!(!s.state().join("latch.json").exists());
    drop(mount);
}

#[test]
#[ignore = "needs root (mounts a tmpfs); run by .ci/run"]
fn init_of_a_home_that_is_a_mount_point_is_refused_with_advice_that_works() {
    let root = tempfile::tempdir().unwrap();
    let from = root.path().join("claude");
    let mount = Mount::tmpfs(&from, "size=1m,mode=0700");
    std::fs::write(from.join("history.jsonl"), b"{\"display\":\"x\"}\n").unwrap();
    let config = root.path().join("homeswap.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .arg("--config")
        .arg(&config)
        .args(["init", "--from"])
        .arg(&from)
        .env("HOME", root.path())
        .env_remove("HOMESWAP_CONFIG")
        .output()
        .unwrap();
    let r = Run::from(out);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("is a mount point"), "{r:?}");
    assert!(
        !r.stderr.contains("choose a --shared-dir beside it"),
        "a dead end: {r:?}"
    );
    assert!(
        r.stderr.contains("mount that file system elsewhere"),
        "{r:?}"
    );
    assert!(!config.exists());
    assert_eq!(
        std::fs::read(from.join("history.jsonl")).unwrap(),
        b"{\"display\":\"x\"}\n"
    );
    drop(mount);
}

#[test]
fn a_swap_away_from_an_active_link_that_is_not_utf8_works_and_reports_it() {
    let s = Sandbox::ready();
    let odd = Path::new(OsStr::from_bytes(b"/tmp/\xff-old-home"));
    std::fs::remove_file(s.active()).unwrap();
    symlink(odd, s.active()).unwrap();
    let r = s.run_bounded(&["status", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str::<serde_json::Value>(&r.stdout).expect("valid JSON");
    let r = s.run_bounded(&["swap", "b"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("b"));
}

#[test]
fn adopt_keeps_both_copies_of_a_file_whose_name_is_not_utf8() {
    let s = Sandbox::ready();
    let name = OsStr::from_bytes(b"t-\xfe\n.jsonl");
    let real = s.link("b", "projects");
    std::fs::remove_file(&real).unwrap();
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join(name), b"ours").unwrap();
    std::fs::write(s.shared().join("projects").join(name), b"theirs").unwrap();
    let r = s.run_bounded(&["adopt", "b", "--keep-both"]);
    assert_eq!(r.code, 0, "{r:?}");
    // Every line of the report is one line: the newline in the name is escaped.
    assert!(r.stdout.contains("t-\\xfe\\n.adopted-b-"), "{r:?}");
    let target = snapshot(&s.shared().join("projects"));
    let contents: Vec<&common::Entry> = target.values().collect();
    assert!(contents.contains(&&common::Entry::File(b"ours".to_vec())));
    assert!(contents.contains(&&common::Entry::File(b"theirs".to_vec())));
    let audit = s.audit();
    let last = audit.last().unwrap();
    assert_eq!(last["action"], "adopt");
    assert_eq!(last["adopt"]["kept_both"], 1);
}

#[test]
fn adopt_never_follows_a_subdirectory_swapped_for_a_symlink_while_it_runs() {
    // The real directory holds `sub/` with transcripts; another thread keeps
    // swapping `sub` for a symlink into `outside` (which holds a canary) and
    // back. adopt walks and moves through descriptors opened without
    // following links, so it may move the symlink itself or report the
    // change, but it must never move, copy or remove anything in `outside`,
    // and no transcript may be lost.
    let out_canary = b"outside: not homeswap's".to_vec();
    for round in 0..30 {
        let s = Sandbox::ready();
        let out = outside(&s);
        std::fs::write(out.join("canary.jsonl"), &out_canary).unwrap();
        let real = s.link("b", "projects");
        std::fs::remove_file(&real).unwrap();
        std::fs::create_dir_all(real.join("sub")).unwrap();
        let mut planted = Vec::new();
        for i in 0..50 {
            let bytes = format!("transcript {round}/{i}").into_bytes();
            std::fs::write(real.join("sub").join(format!("t{i}.jsonl")), &bytes).unwrap();
            planted.push(bytes);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let racer = {
            let (stop, sub, aside, out) = (
                stop.clone(),
                real.join("sub"),
                s.root().join("sub-aside"),
                out.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if std::fs::rename(&sub, &aside).is_ok() {
                        let _ = symlink(&out, &sub);
                        std::thread::yield_now();
                        let _ = std::fs::remove_file(&sub);
                        let _ = std::fs::rename(&aside, &sub);
                    } else {
                        std::thread::yield_now();
                    }
                }
            })
        };
        let r = s.run_bounded(&["adopt", "b", "--keep-both"]);
        stop.store(true, Ordering::Relaxed);
        racer.join().unwrap();
        assert!(matches!(r.code, 0 | 1), "round {round}: {r:?}");
        // Nothing outside was touched: only the canary is there.
        let outside_now = snapshot(&out);
        assert_eq!(outside_now.len(), 1, "round {round}: {outside_now:?}");
        assert_eq!(
            std::fs::read(out.join("canary.jsonl")).unwrap(),
            out_canary,
            "round {round}"
        );
        // Every transcript is somewhere: still in the account, moved into the
        // target, or in the racer's aside directory when it was stopped.
        let mut found: Vec<Vec<u8>> = [
            s.root().join("home-b"),
            s.shared(),
            s.root().join("sub-aside"),
        ]
        .iter()
        .flat_map(|d| snapshot(d).into_values())
        .filter_map(|e| match e {
            common::Entry::File(b) => Some(b),
            _ => None,
        })
        .collect();
        found.sort();
        for bytes in &planted {
            assert!(
                found.binary_search(bytes).is_ok(),
                "round {round}: lost {:?}; adopt said {r:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
