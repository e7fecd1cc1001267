//! File-system notifications (inotify): any entry created, removed, renamed
//! or re-permissioned in a home, the shared dir, the active link's directory
//! or the state dir wakes the validation loop, so a broken link shows in the
//! metrics within a second rather than at the next interval.
//!
//! Only directories are watched, not the shared targets' contents: those
//! change with every transcript line and say nothing about the links. Where
//! inotify is unavailable the interval alone keeps validating.

use std::collections::BTreeSet;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;

use crate::config::Config;
use crate::sidecar::Sidecar;

/// The directories whose entries decide the links' states.
pub fn watched_dirs(config: &Config) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    let mut add = |p: &Path| {
        dirs.insert(p.to_path_buf());
        // The parent sees the directory itself appear or vanish.
        if let Some(parent) = p.parent() {
            dirs.insert(parent.to_path_buf());
        }
    };
    for home in config.accounts.values() {
        add(home);
    }
    add(config.shared.dir());
    add(&config.state_dir);
    if let Some(parent) = config.active_link.parent() {
        dirs.insert(parent.to_path_buf());
    }
    dirs
}

fn flags() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
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
pub struct Watcher {
    fd: AsyncFd<InotifyFd>,
}

impl Watcher {
    /// Creates the instance; `None` (logged) where inotify is unavailable.
    pub fn new() -> Option<Watcher> {
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
            Ok(fd) => Some(Watcher { fd }),
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
    pub fn refresh(&self, config: &Config) {
        for dir in watched_dirs(config) {
            // A missing directory is watched through its parent until it appears.
            let _ = self.fd.get_ref().0.add_watch(&dir, flags());
        }
    }

    /// Waits for events and drains them; returns when at least one arrived.
    pub async fn changed(&self) -> std::io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().0.read_events().map_err(std::io::Error::from)) {
                Ok(Ok(events)) if !events.is_empty() => return Ok(()),
                Ok(Ok(_)) => continue,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Forwards notifications to the validation loop until the watcher fails.
pub async fn run(watcher: Arc<Watcher>, sidecar: Arc<Sidecar>) {
    loop {
        match watcher.changed().await {
            Ok(()) => sidecar.validate_now.notify_one(),
            Err(e) => {
                tracing::warn!(error = %e, "inotify failed; validating every interval only");
                return;
            }
        }
    }
}
