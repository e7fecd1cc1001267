//! Links as checking and ensuring: the shared links of each account home,
//! and the active link.
//!
//! - `state`: what a check finds ([`LinkState`], the per-link and
//!   per-account reports); no file-system access.
//! - `check`: [`check_account`], read-only classification of a home's links.
//! - `ensure`: [`ensure_account`], creating only what is missing; never
//!   deletes, moves or overwrites.
//! - [`credentials`]: what each home's `.credentials.json` shows (its
//!   modification time, a digest of its refresh token) and what the homes
//!   show together; a fresh modification time for a swap's target.
//! - [`drift`]: the unmanaged entries of a home (neither a link nor
//!   private; which links and entries those are is configuration).
//! - `active`: what the active link holds.
//! - [`validate`]: every account and the active link at once.
//!
//! Everything below a home is reached through a directory descriptor
//! ([`crate::fs::DirFd`]) with no symlink followed.

pub(crate) mod active;
pub(crate) mod check;
pub(crate) mod credentials;
pub(crate) mod drift;
pub(crate) mod ensure;
pub(crate) mod state;
pub(crate) mod validate;

pub use check::check_account;
pub(crate) use check::check_accounts;
pub use ensure::ensure_account;
pub(crate) use ensure::TARGET_DIR_MODE;
pub(crate) use ensure::{EnsureAction, EnsureReport, EnsureStep};
pub use state::LinkState;
pub(crate) use state::{AccountReport, LinkReport};

/// A temporary home and shared dir for the unit tests of this folder.
#[cfg(test)]
pub(crate) mod fixture {
    use std::path::PathBuf;

    use crate::config::SharedLinks;
    use crate::links::{AccountReport, LinkState};

    /// One home `home-a` (existing, empty) and the default shared links
    /// under `shared` (absent), in a directory removed on drop.
    pub(crate) struct Layout {
        /// Keeps the directory alive.
        _dir: tempfile::TempDir,
        /// The account's home.
        pub(crate) home: PathBuf,
        /// The default required links.
        pub(crate) shared: SharedLinks,
    }

    /// A fresh [`Layout`].
    pub(crate) fn layout() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home-a");
        std::fs::create_dir(&home).unwrap();
        let shared = SharedLinks::with_defaults(dir.path().join("shared"));
        Layout {
            _dir: dir,
            home,
            shared,
        }
    }

    /// The state of each link, in configured order.
    pub(crate) fn states(r: &AccountReport) -> Vec<LinkState> {
        r.links.iter().map(|l| l.state).collect()
    }
}
