//! The file-system primitives: every way homeswap touches the disk goes
//! through here. Directory descriptors and `*at` calls, crash-safe writes
//! and symlink flips with their temporary names, errors that name the path,
//! and the display of paths that are not valid UTF-8.

pub mod atomic;
pub mod error;
pub mod pathfmt;
pub mod read;
