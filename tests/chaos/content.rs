//! No line a user wrote is lost or repeated, and no file disappears: every
//! `*.jsonl` file in the sandbox is read for the lines' ids, every other
//! file for its digest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::model::{digest, Model};
use super::world::World;

/// What a scan of the sandbox found.
struct Found {
    /// Line id -> the files holding it (one entry per occurrence).
    lines: BTreeMap<String, Vec<PathBuf>>,
    /// The digests of every file that is not a transcript.
    contents: BTreeSet<u64>,
}

/// Checks the lines and files; `settled`: nothing planted is waiting for
/// adopt, so every line must be in exactly one place (kept-both copies,
/// `*.adopted-*`, apart).
pub fn check(world: &World, model: &Model, settled: bool, v: &mut Vec<String>) {
    let found = scan(world);
    for id in &model.lines {
        match found.lines.get(id) {
            None => v.push(format!(
                "line {id} was written and is now nowhere (lost); its neighbours are in {:?}",
                neighbours(&found, id)
            )),
            Some(files) => {
                let mut seen = BTreeSet::new();
                for f in files {
                    if !seen.insert(f) {
                        v.push(format!("line {id} twice in {}", f.display()));
                    }
                }
                let live: BTreeSet<_> = files.iter().filter(|f| !kept_copy(f)).collect();
                if settled && live.len() > 1 {
                    v.push(format!("line {id} in several files: {live:?}"));
                }
            }
        }
    }
    for (id, files) in &found.lines {
        // A write that failed on a full disk may have left part of a line.
        if !model.lines.contains(id) && model.stats.disk_faults == 0 {
            v.push(format!(
                "line {id} in {files:?} was never written (a torn or invented line)"
            ));
        }
    }
    let missing = model.contents.difference(&found.contents).count();
    if missing > 0 {
        v.push(format!(
            "{missing} planted file(s) are nowhere in the sandbox (lost)"
        ));
    }
}

/// Where the lines written just before and after `id` are.
fn neighbours(found: &Found, id: &str) -> Vec<(String, Vec<PathBuf>)> {
    let (kind, n) = id.split_at(1);
    let Ok(n) = n.parse::<u64>() else {
        return Vec::new();
    };
    [n.saturating_sub(1), n + 1]
        .iter()
        .map(|k| format!("{kind}{k}"))
        .map(|k| (k.clone(), found.lines.get(&k).cloned().unwrap_or_default()))
        .collect()
}

/// A kept-both copy adopt made (`x.adopted-b-STAMP.jsonl`).
fn kept_copy(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().contains(".adopted-"))
}

fn scan(world: &World) -> Found {
    let mut found = Found {
        lines: BTreeMap::new(),
        contents: BTreeSet::new(),
    };
    let skip = [world.s.state(), world.s.active()];
    let mut stack = vec![world.s.root().to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if skip.contains(&p) || ft.is_symlink() {
                continue;
            }
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                read_file(&p, &mut found);
            }
        }
    }
    found
}

fn read_file(p: &Path, found: &mut Found) {
    let name = p.file_name().unwrap().to_string_lossy();
    if name == "filler" || name.starts_with("inode-") || name.starts_with("hold-") {
        return;
    }
    let Ok(bytes) = std::fs::read(p) else { return };
    if !name.ends_with(".jsonl") {
        found.contents.insert(digest(&bytes));
        return;
    }
    for line in String::from_utf8_lossy(&bytes).lines() {
        for id in chaos_ids(line) {
            found
                .lines
                .entry(id.to_string())
                .or_default()
                .push(p.to_path_buf());
        }
    }
}

/// Every `"chaos":"ID"` of a line the harness wrote (without a JSON parse:
/// the scan runs every round over every transcript). Usually one; more
/// where a user's append that a full disk cut short left a fragment and
/// the next append went on the same line, as it would for Claude Code.
fn chaos_ids(line: &str) -> Vec<&str> {
    line.split("\"chaos\":\"")
        .skip(1)
        .filter_map(|rest| rest.find('"').map(|end| &rest[..end]))
        .collect()
}
