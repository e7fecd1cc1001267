//! The users: Claude Code sessions appending through the active link.
//! `history.jsonl` under Claude Code's own lock (`mkdir <realpath>.lock`,
//! stale after 10 s), a transcript without one; each append opens the
//! file `O_APPEND`, writes one line and closes it, as Claude Code does
//! (/work/briefing/claude-findings.md, section 3).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::exec::{Done, End};
use super::ops::Op;
use super::world::World;

/// Claude Code's staleness rule for its append lock.
const STALE: Duration = Duration::from_secs(10);

/// How long a user waits for the lock (adopt holds it while it merges).
const LOCK_WAIT: Duration = Duration::from_secs(15);

/// Every line's id is unique over the run.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The id of a line as the scan finds it: the `chaos` key.
pub fn line(id: &str, what: &str) -> String {
    serde_json::json!({"chaos": id, "type": what, "message": {"content": "x".repeat(40)}})
        .to_string()
}

/// User `user` appends `lines` prompts to history.jsonl and as many
/// entries to its session's transcript. Only lines whose write returned
/// success are expected afterwards.
pub fn append(world: &World, op: &Op, user: u32, lines: u32) -> Done {
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
    let active = world.s.active();
    for _ in 0..lines {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("h{n}");
        match append_history(&active.join("history.jsonl"), &line(&id, "prompt")) {
            Ok(()) => done.lines.push(id),
            Err(e) => done.stderr.push_str(&format!("history {id}: {e}\n")),
        }
        let id = format!("t{n}");
        let dir = active.join("projects/chaos");
        let transcript = dir.join(format!("user-{user}.jsonl"));
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| append_line(&transcript, &line(&id, "user")));
        match written {
            Ok(()) => done.lines.push(id),
            Err(e) => done.stderr.push_str(&format!("transcript {id}: {e}\n")),
        }
    }
    done
}

/// One append under Claude Code's lock on the file's real path.
fn append_history(path: &Path, text: &str) -> std::io::Result<()> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lock = real.into_os_string();
    lock.push(".lock");
    let lock = PathBuf::from(lock);
    take_lock(&lock)?;
    let written = append_line(path, text);
    let _ = std::fs::remove_dir(&lock);
    written
}

/// `mkdir` until it succeeds; a lock untouched for 10 s is taken over.
fn take_lock(lock: &Path) -> std::io::Result<()> {
    let start = Instant::now();
    loop {
        match std::fs::create_dir(lock) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let age = std::fs::metadata(lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_some_and(|a| a > STALE) {
                    // A lock that cannot be removed (a read-only mount)
                    // is an error, not a reason to try again at once.
                    match std::fs::remove_dir(lock) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                        _ => continue,
                    }
                }
                if start.elapsed() > LOCK_WAIT {
                    return Err(std::io::Error::other(format!(
                        "{} held for {LOCK_WAIT:?}",
                        lock.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

/// open `O_APPEND | O_CREAT`, one write, close.
fn append_line(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{text}\n").as_bytes())
}
