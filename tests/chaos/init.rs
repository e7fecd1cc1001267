//! `homeswap init` of a fresh Claude Code home in a directory of its own
//! (beside the sandbox, so it runs at the same time as everything else):
//! killed part-way now and then, resumed by running it again, and then
//! checked: not a byte lost, every line once, the result validates.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::finish_within;

use super::exec::{Done, End};
use super::model::digest;
use super::ops::Op;
use super::users::line;
use super::world::World;

fn homeswap(config: &Path, args: &[&str], fp: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_homeswap"));
    c.arg("--config").arg(config).args(args);
    c.env_remove("HOMESWAP_CONFIG").env_remove("FAILPOINTS");
    if !fp.is_empty() {
        c.env("FAILPOINTS", fp);
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// A Claude Code home as a user has it: history, a transcript, settings,
/// credentials, an entry homeswap does not know.
fn make_home(home: &Path, n: u64) -> (BTreeSet<String>, BTreeSet<u64>) {
    let mut ids = BTreeSet::new();
    let mut digests = BTreeSet::new();
    std::fs::create_dir_all(home.join("projects/p")).unwrap();
    std::fs::create_dir_all(home.join("todos")).unwrap();
    let mut write_lines = |path: PathBuf, k: u32| {
        let text: String = (0..k)
            .map(|i| {
                let id = format!(
                    "init{n}-{}-{i}",
                    path.file_name().unwrap().to_string_lossy()
                );
                ids.insert(id.clone());
                line(&id, "init") + "\n"
            })
            .collect();
        std::fs::write(path, text).unwrap();
    };
    write_lines(home.join("history.jsonl"), 3);
    write_lines(home.join("projects/p/session.jsonl"), 2);
    for (name, bytes) in [
        ("settings.json", format!("{{\"n\":{n}}}")),
        (".credentials.json", format!("{{\"token\":\"t{n}\"}}")),
        ("todos/t.json", format!("[{n}]")),
    ] {
        std::fs::write(home.join(name), &bytes).unwrap();
        digests.insert(digest(bytes.as_bytes()));
    }
    (ids, digests)
}

/// Every line id (with its count) and file digest under `dir`, the state
/// dir apart.
fn scan(dir: &Path, state: &Path) -> (BTreeMap<String, usize>, BTreeSet<u64>) {
    let mut lines = BTreeMap::new();
    let mut digests = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let (p, ft) = (e.path(), e.file_type().unwrap());
            if p == state || ft.is_symlink() {
                continue;
            } else if ft.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if p.extension().is_some_and(|x| x == "jsonl") {
                    for l in String::from_utf8_lossy(&bytes).lines() {
                        if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                            if let Some(id) = v["chaos"].as_str() {
                                *lines.entry(id.to_string()).or_insert(0) += 1;
                            }
                        }
                    }
                } else {
                    digests.insert(digest(&bytes));
                }
            }
        }
    }
    (lines, digests)
}

/// Runs init #n (with `fp`, killed after `kill` ms if set), resumes it
/// until it ends, and checks what it made.
pub fn run(_world: &World, op: &Op, n: u64, fp: &str, kill: Option<u64>) -> Done {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("claude");
    let config = dir.path().join("config.yaml");
    let (ids, digests) = make_home(&home, n);
    let args = ["init", "--from", home.to_str().unwrap()];
    let mut done = Done {
        op: op.clone(),
        pid: None,
        end: End::Done,
        took: Duration::ZERO,
        stdout: String::new(),
        stderr: String::new(),
        lines: Vec::new(),
        problems: Vec::new(),
    };
    let mut child = homeswap(&config, &args, fp).spawn().unwrap();
    if let Some(ms) = kill {
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        done.end = if out.status.signal().is_some() {
            End::Killed
        } else {
            End::Exit(out.status.code().unwrap_or(-1))
        };
    } else {
        let r = finish_within(child, Duration::from_secs(25), "homeswap init");
        done.end = End::Exit(r.code);
        done.stderr = r.stderr;
    }
    // Resumed (or found done) by running it again, as the user would.
    let mut last = done.end.clone();
    for _ in 0..3 {
        if last == End::Exit(0) {
            break;
        }
        let r = finish_within(
            homeswap(&config, &args, "").spawn().unwrap(),
            Duration::from_secs(25),
            "homeswap init (again)",
        );
        last = End::Exit(r.code);
        done.stderr = r.stderr;
    }
    let what = format!("init #{n} (after {:?})", done.end);
    if last != End::Exit(0) {
        done.problems.push(format!(
            "{what}: running it again did not finish: {:?} {}",
            last, done.stderr
        ));
        return done;
    }
    let validate = finish_within(
        homeswap(&config, &["validate"], "").spawn().unwrap(),
        Duration::from_secs(10),
        "validate after init",
    );
    if validate.code != 0 {
        done.problems.push(format!(
            "{what}: validate exits {}: {}",
            validate.code, validate.stderr
        ));
    }
    if !std::fs::symlink_metadata(&home).is_ok_and(|m| m.file_type().is_symlink()) {
        done.problems
            .push(format!("{what}: {} is not the active link", home.display()));
    }
    let state = dir.path().join("claude-state");
    let (found_lines, found_digests) = scan(dir.path(), &state);
    for id in &ids {
        match found_lines.get(id) {
            Some(1) => {}
            c => done
                .problems
                .push(format!("{what}: line {id} found {c:?} times")),
        }
    }
    let lost = digests.difference(&found_digests).count();
    if lost > 0 {
        done.problems.push(format!("{what}: {lost} file(s) lost"));
    }
    done
}
