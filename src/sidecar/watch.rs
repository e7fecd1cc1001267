//! File-system notifications (inotify): any entry created, removed, renamed
//! or re-permissioned in a home, the shared dir, the active link's directory
//! or the state dir wakes the validation loop, so a broken link shows in the
//! metrics within a second rather than at the next interval.
//!
//! Only directories are watched, not the shared targets' contents: those
//! change with every transcript line and say nothing about the links. Where
//! inotify is unavailable the interval alone keeps validating.
//!
//! An event wakes the loop only when it names an entry that decides a
//! state: a required link (directory or file) in a home or the shared dir,
//! an entry of a home that is not private (it may be an unmanaged entry),
//! a home's `.credentials.json` (the credentials findings: a duplicated
//! refresh token, a shared modification time),
//! a home, the shared dir or the active link in its parent, anything in the
//! state dir (the latch, the limits, the statusline's `usage.json`: a
//! validation also refreshes the limit and usage gauges), or the watched
//! directory itself. A tool writing its own
//! private files in a home (Claude Code rewrites `.claude.json` by rename
//! all the time) costs a read of the event, not a validation.
//!
//! Appends to the audit log (`IN_MODIFY`, watched in the state dir only:
//! homes see writes all the time) wake the audit-log reader instead, so
//! another process's swap is counted within a second.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, InotifyEvent, WatchDescriptor};
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;

use crate::config::Config;
use crate::config::Private;
use crate::fs::temp::is_temp;
use crate::state::StateDir;

/// Which entries of a watched directory matter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Relevant {
    /// Every entry matters (the state dir).
    pub(crate) all: bool,
    /// The entry names that matter.
    pub(crate) names: BTreeSet<OsString>,
    /// In a home: every entry that is not private matters too (an
    /// unmanaged entry appearing or going changes the drift count).
    pub(crate) private: Option<Private>,
    /// Files whose appends matter to the audit-log reader (the audit log).
    pub(crate) appended: BTreeSet<OsString>,
}

impl Relevant {
    /// Whether an event naming `name` (`None`: the directory itself) matters.
    pub(crate) fn covers(&self, name: Option<&OsStr>) -> bool {
        match name {
            None => true,
            Some(n) => {
                self.all
                    || self.names.contains(n)
                    || self
                        .private
                        .as_ref()
                        .is_some_and(|p| !p.matches(n) && !is_temp(n))
            }
        }
    }
}

/// The directories whose entries decide the links' states, and which of
/// their entries do.
pub(crate) fn watch_plan(config: &Config) -> BTreeMap<PathBuf, Relevant> {
    let mut plan: BTreeMap<PathBuf, Relevant> = BTreeMap::new();
    // The parent sees the entry itself appear, vanish or be replaced.
    let add_entry = |plan: &mut BTreeMap<PathBuf, Relevant>, p: &Path| {
        if let (Some(parent), Some(name)) = (p.parent(), p.file_name()) {
            let r = plan.entry(parent.to_path_buf()).or_default();
            r.names.insert(name.to_os_string());
        }
    };
    let link_names: BTreeSet<OsString> = config.shared.all_names().map(OsString::from).collect();
    for home in config.accounts.values() {
        let r = plan.entry(home.to_path_buf()).or_default();
        r.names.extend(link_names.iter().cloned());
        // Private, but a login copied in or refreshed changes what the
        // credentials findings say.
        r.names
            .insert(OsString::from(crate::links::credentials::CREDENTIALS));
        r.private = Some(config.shared.private().clone());
        add_entry(&mut plan, home);
    }
    let shared = plan.entry(config.shared.dir().to_path_buf()).or_default();
    shared.names.extend(link_names.iter().cloned());
    add_entry(&mut plan, config.shared.dir());
    let state = plan.entry(config.state_dir.clone()).or_default();
    state.all = true;
    if let Some(name) = StateDir::new(&config.state_dir).audit().file_name() {
        state.appended.insert(name.to_os_string());
    }
    add_entry(&mut plan, &config.state_dir);
    add_entry(&mut plan, &config.active_link);
    plan
}

/// The events a directory is watched for; appends only where they matter.
fn flags(r: &Relevant) -> AddWatchFlags {
    let appends = if r.appended.is_empty() {
        AddWatchFlags::empty()
    } else {
        AddWatchFlags::IN_MODIFY
    };
    appends
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_ONLYDIR
}

/// Lets tokio poll the inotify descriptor.
struct InotifyFd(Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// The inotify instance, readable from tokio.
pub(crate) struct Watcher {
    fd: AsyncFd<InotifyFd>,
    /// What matters in each watched directory, by its watch descriptor.
    relevant: Mutex<HashMap<WatchDescriptor, Relevant>>,
}

impl Watcher {
    /// Creates the instance; `None` (logged) where inotify is unavailable.
    // The crate's one exception to deny(unsafe_code): tokio's safe
    // AsyncFd constructors are deprecated as unsound; register is the way in.
    #[allow(unsafe_code)]
    pub(crate) fn new() -> Option<Watcher> {
        let inotify = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "inotify unavailable; validating every interval only");
                return None;
            }
        };
        // SAFETY: the descriptor is owned by the Inotify inside, which the
        // AsyncFd owns and never replaces, so it stays open and the same.
        match unsafe { AsyncFd::register(InotifyFd(inotify)) } {
            Ok(fd) => Some(Watcher {
                fd,
                relevant: Mutex::new(HashMap::new()),
            }),
            Err(e) => {
                let e = std::io::Error::from(e);
                tracing::warn!(error = %e, "inotify unavailable; validating every interval only");
                None
            }
        }
    }

    /// (Re)adds a watch on every directory that exists now. Adding a watch
    /// that exists is a no-op, so this is called after every validation to
    /// pick up directories created since.
    pub(crate) fn refresh(&self, config: &Config) {
        let mut relevant: HashMap<WatchDescriptor, Relevant> = HashMap::new();
        for (dir, r) in watch_plan(config) {
            // A missing directory is watched through its parent until it appears.
            let Ok(wd) = self.fd.get_ref().0.add_watch(&dir, flags(&r)) else {
                continue;
            };
            // Two paths may be one directory (a symlinked home): one watch.
            let merged = relevant.entry(wd).or_default();
            merged.all |= r.all;
            merged.private = merged.private.take().or(r.private);
            merged.names.extend(r.names);
            merged.appended.extend(r.appended);
        }
        *self.relevant.lock().unwrap_or_else(|p| p.into_inner()) = relevant;
    }

    /// Whom an event concerns. Unknown watches (left from an earlier
    /// configuration) and queue overflows concern both.
    fn wakes(&self, event: &InotifyEvent) -> Wakes {
        if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
            return Wakes::BOTH;
        }
        let relevant = self.relevant.lock().unwrap_or_else(|p| p.into_inner());
        let Some(r) = relevant.get(&event.wd) else {
            return Wakes::BOTH;
        };
        let name = event.name.as_deref();
        let audit_log = !r.appended.is_empty() && name.is_none_or(|n| r.appended.contains(n));
        if event.mask.contains(AddWatchFlags::IN_MODIFY) {
            // Content, not an entry: only the audit log's matters.
            return Wakes {
                links: false,
                audit_log,
            };
        }
        Wakes {
            links: r.covers(name),
            audit_log,
        }
    }

    /// Waits for events and drains them; returns whom they concern once
    /// at least one concerns someone.
    pub(crate) async fn changed(&self) -> std::io::Result<Wakes> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().0.read_events().map_err(std::io::Error::from)) {
                Ok(Ok(events)) => {
                    let wakes = events.iter().fold(Wakes::NONE, |w, e| w.or(self.wakes(e)));
                    if wakes != Wakes::NONE {
                        return Ok(wakes);
                    }
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Whom a batch of events concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wakes {
    /// The validation loop: an entry that decides a link's state changed.
    pub(crate) links: bool,
    /// The audit-log reader: the log was appended to, created or replaced.
    pub(crate) audit_log: bool,
}

impl Wakes {
    const NONE: Wakes = Wakes {
        links: false,
        audit_log: false,
    };
    const BOTH: Wakes = Wakes {
        links: true,
        audit_log: true,
    };

    fn or(self, other: Wakes) -> Wakes {
        Wakes {
            links: self.links || other.links,
            audit_log: self.audit_log || other.audit_log,
        }
    }
}

/// What the watcher wakes: it knows nothing else of the sidecar.
#[derive(Debug, Clone)]
pub(crate) struct Notifiers {
    /// Wakes the validation loop.
    pub(crate) links: Arc<Notify>,
    /// Wakes the audit-log reader.
    pub(crate) audit_log: Arc<Notify>,
}

/// Forwards notifications to the validation loop until the watcher fails.
pub(crate) async fn run(watcher: Arc<Watcher>, notify: Notifiers) {
    loop {
        match watcher.changed().await {
            Ok(w) => {
                if w.links {
                    notify.links.notify_one();
                }
                if w.audit_log {
                    notify.audit_log.notify_one();
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "inotify failed; validating every interval only");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            Path::new("homeswap.yaml"),
            "accounts:\n  a: /h/claude-a\n  b: /h/claude-b\nactive_link: /h/claude\nshared_dir: /h/shared\nstate_dir: /var/lib/homeswap\n",
        )
        .unwrap()
    }

    #[test]
    fn only_entries_that_decide_a_state_wake_the_loop() {
        let plan = watch_plan(&config());
        let home = &plan[Path::new("/h/claude-a")];
        assert!(home.covers(Some(OsStr::new("projects"))));
        assert!(!home.covers(Some(OsStr::new(".claude.json"))));
        assert!(home.covers(None), "the home itself");
        let parent = &plan[Path::new("/h")];
        for name in ["claude-a", "claude-b", "claude", "shared"] {
            assert!(parent.covers(Some(OsStr::new(name))), "{name}");
        }
        assert!(!parent.covers(Some(OsStr::new(".claude.homeswap-tmp.1.0"))));
        assert!(plan[Path::new("/var/lib/homeswap")].covers(Some(OsStr::new("latch.json"))));
        // The statusline's usage record: its rename refreshes the usage gauges.
        assert!(plan[Path::new("/var/lib/homeswap")].covers(Some(OsStr::new("usage.json"))));
        assert!(plan[Path::new("/var/lib")].covers(Some(OsStr::new("homeswap"))));
        assert!(plan[Path::new("/h/shared")].covers(Some(OsStr::new("file-history"))));
        assert!(plan[Path::new("/var/lib/homeswap")]
            .appended
            .contains(OsStr::new("audit.jsonl")));
        assert!(home.appended.is_empty(), "a home's writes are not watched");
        assert!(
            home.covers(Some(OsStr::new("todos"))),
            "an entry in no list is drift"
        );
        assert!(!home.covers(Some(OsStr::new(".claude.json.tmp.1.2"))));
        assert!(!plan[Path::new("/h/shared")].covers(Some(OsStr::new("todos"))));
    }

    #[test]
    fn file_links_wake_the_loop_in_homes_and_the_shared_dir() {
        let c = Config::parse(
            Path::new("homeswap.yaml"),
            "accounts:\n  a: /h/claude-a\nactive_link: /h/claude\nshared_dir: /h/shared\nstate_dir: /var/lib/homeswap\nshared_files: [history.jsonl]\nprivate: ['*']\n",
        )
        .unwrap();
        let plan = watch_plan(&c);
        for dir in ["/h/claude-a", "/h/shared"] {
            assert!(
                plan[Path::new(dir)].covers(Some(OsStr::new("history.jsonl"))),
                "{dir}"
            );
        }
        assert!(
            !plan[Path::new("/h/claude-a")].covers(Some(OsStr::new("todos"))),
            "all private"
        );
    }
}
