//! The file-system primitives: every way homeswap touches the disk goes
//! through here.
//!
//! - [`dir`]: [`DirFd`], an open directory and the `*at` calls made through
//!   it (no symlink followed below a configured path).
//! - [`kind`]: [`EntryKind`], the type of an entry, from its mode.
//! - [`temp`]: the one scheme of temporary names, built and recognized.
//! - [`atomic`]: crash-safe writes and symlink flips (temp + rename + fsync).
//! - [`follow`]: the file a path names through its symlinks.
//! - [`error`]: [`FsError`], naming the operation and the path.
//! - `pathfmt`: paths shown on one line and in JSON, UTF-8 or not.
//! - [`read`]: bounded reads of small regular files (no FIFO hangs).
//!
//! `dir`, `kind` and `temp` are public for `tests/fs_primitives.rs`, which
//! pins them on real files.

pub(crate) mod atomic;
pub(crate) mod dir;
pub(crate) mod error;
pub(crate) mod follow;
pub(crate) mod kind;
pub(crate) mod pathfmt;
pub(crate) mod read;
pub(crate) mod temp;

pub use dir::DirFd;
pub(crate) use error::FsError;
pub use kind::EntryKind;
