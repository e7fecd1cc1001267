//! The wrapped command's whole process tree, however it detached.
//!
//! A process group is not enough: `setsid` (or any new session or group)
//! leaves it, and a daemon's double fork leaves the tree of parent pids
//! (its orphan is reparented to init). So the command is started with a
//! [`Mark`] in its environment, which every process it starts inherits
//! whatever session, group or parent it ends up with, and the tree is
//! every process that holds the mark (`/proc/<pid>/environ`) or descends
//! from the command or from one that does. Killing it (unprivileged, no
//! cgroup):
//!
//! 1. stop every member found (a stopped process cannot fork or exit, so
//!    the tree holds still), wait until each is stopped, and look again,
//!    until a look finds nothing new (bounded: [`BUDGET`]);
//! 2. kill every member found.
//!
//! What it cannot reach: a process that cleared its environment (`env -i`)
//! *and* left the tree of parent pids (a double fork); one started *for*
//! the command by another service (`systemd-run`, `at`, a D-Bus activated
//! service, an already running tmux server); one running as another user
//! (a setuid program), which refuses the signal anyway.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The most time one kill of the tree takes: the status line must still
/// print in time.
const BUDGET: Duration = Duration::from_millis(200);

/// The environment variable that marks a wrapped command's processes.
pub(crate) const MARK_VAR: &str = "HOMESWAP_WRAP_MARK";

/// What one wrapped command's processes carry in their environment: a
/// value no other run uses (this pid and the time in nanoseconds).
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    /// The variable's value.
    pub(crate) value: String,
}

impl Mark {
    /// A fresh mark.
    pub(crate) fn new() -> Mark {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Mark {
            value: format!("{}.{nanos}", std::process::id()),
        }
    }

    /// `HOMESWAP_WRAP_MARK=<value>`, as `/proc/<pid>/environ` holds it.
    fn entry(&self) -> Vec<u8> {
        format!("{MARK_VAR}={}", self.value).into_bytes()
    }
}

/// Stops, then kills, the command `root` and every process of its tree
/// (see the module's head); returns how many were found.
pub(crate) fn kill_tree(root: i32, mark: &Mark) -> usize {
    let end = Instant::now() + BUDGET;
    let entry = mark.entry();
    let mut found: HashSet<i32> = HashSet::new();
    loop {
        let new: Vec<i32> = members(root, &entry)
            .into_iter()
            .filter(|p| found.insert(*p))
            .collect();
        if new.is_empty() || Instant::now() >= end {
            break;
        }
        for p in &new {
            let _ = kill(Pid::from_raw(*p), Signal::SIGSTOP);
        }
        // A signal is delivered when its target next runs: until then it
        // may still fork. Wait for each to be stopped (or gone).
        while !new.iter().all(|p| held(*p)) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    for p in &found {
        let _ = kill(Pid::from_raw(*p), Signal::SIGKILL);
    }
    found.len()
}

/// `root`, the processes whose environment holds `entry`, and everything
/// that descends from them, by what `/proc` shows now. Never this process.
fn members(root: i32, entry: &[u8]) -> Vec<i32> {
    let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let mut todo: Vec<i32> = stat(root).map(|_| root).into_iter().collect();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            if let Some((ppid, _)) = stat(pid) {
                children.entry(ppid).or_default().push(pid);
            }
            if pid != me && marked(pid, entry) {
                todo.push(pid);
            }
        }
    }
    let mut out = HashSet::new();
    while let Some(p) = todo.pop() {
        if p != me && out.insert(p) {
            todo.extend(children.get(&p).into_iter().flatten());
        }
    }
    out.into_iter().collect()
}

/// Whether `pid`'s environment holds `entry` (unreadable: no).
fn marked(pid: i32, entry: &[u8]) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == entry))
}

/// The parent pid and state letter of `pid`, from `/proc/<pid>/stat`
/// (`pid (comm) S ppid ...`; the name may hold spaces and parentheses).
fn stat(pid: i32) -> Option<(i32, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(") ")?;
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// True when `pid` can do nothing more: stopped, a zombie, or gone.
fn held(pid: i32) -> bool {
    match stat(pid) {
        None => true,
        Some((_, state)) => matches!(state, 'T' | 't' | 'Z' | 'X' | 'x'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stat_gives_the_parent_pid_and_the_state() {
        let me = i32::try_from(std::process::id()).unwrap();
        let (ppid, state) = stat(me).unwrap();
        assert_eq!(
            ppid,
            i32::try_from(std::os::unix::process::parent_id()).unwrap()
        );
        assert!(matches!(state, 'R' | 'S'), "{state}");
        assert!(!held(me));
        assert!(held(i32::MAX), "no such process");
    }

    #[test]
    fn a_marked_process_is_found_and_an_unmarked_one_is_not() {
        let mark = Mark::new();
        let mut marked_child = std::process::Command::new("sleep")
            .arg("30")
            .env(MARK_VAR, &mark.value)
            .spawn()
            .unwrap();
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = |c: &std::process::Child| i32::try_from(c.id()).unwrap();
        let found = members(i32::MAX, &mark.entry());
        assert!(found.contains(&pid(&marked_child)), "{found:?}");
        assert!(!found.contains(&pid(&other)), "{found:?}");
        assert_eq!(kill_tree(i32::MAX, &mark), 1);
        assert!(!marked_child.wait().unwrap().success());
        let _ = other.kill();
        let _ = other.wait();
    }
}
