//! What kind of entry sits at a path. The file-type bits of a mode are
//! turned into an [`EntryKind`] here and nowhere else, so every message
//! names a kind with the same words ("a FIFO", "a directory").

use std::fmt;

use nix::dir::Type;
use nix::sys::stat::{FileStat, SFlag};
use serde::Serialize;

/// The type of a directory entry, as `lstat`/`fstatat(AT_SYMLINK_NOFOLLOW)`
/// sees it (a symlink is a symlink, never what it points to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A named pipe: opening it for reading may block.
    Fifo,
    /// A Unix-domain socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A file type this platform's mode bits do not name.
    Other,
}

impl EntryKind {
    /// The kind encoded in the file-type bits (`S_IFMT`) of `mode`.
    pub fn from_mode(mode: u32) -> EntryKind {
        match SFlag::from_bits_truncate(mode) & SFlag::S_IFMT {
            SFlag::S_IFDIR => EntryKind::Dir,
            SFlag::S_IFREG => EntryKind::File,
            SFlag::S_IFLNK => EntryKind::Symlink,
            SFlag::S_IFIFO => EntryKind::Fifo,
            SFlag::S_IFSOCK => EntryKind::Socket,
            SFlag::S_IFCHR => EntryKind::CharDevice,
            SFlag::S_IFBLK => EntryKind::BlockDevice,
            _ => EntryKind::Other,
        }
    }

    /// The kind of the entry `st` describes.
    pub fn of(st: &FileStat) -> EntryKind {
        EntryKind::from_mode(st.st_mode)
    }

    /// The kind a directory listing gives (`d_type`).
    pub(crate) fn of_listed(t: Type) -> EntryKind {
        match t {
            Type::Directory => EntryKind::Dir,
            Type::File => EntryKind::File,
            Type::Symlink => EntryKind::Symlink,
            Type::Fifo => EntryKind::Fifo,
            Type::Socket => EntryKind::Socket,
            Type::CharacterDevice => EntryKind::CharDevice,
            Type::BlockDevice => EntryKind::BlockDevice,
        }
    }

    /// True for what is neither a directory, a regular file nor a symlink
    /// (FIFOs, sockets, devices): homeswap never reads, copies or moves
    /// those on its own.
    pub fn is_special(self) -> bool {
        !matches!(self, EntryKind::Dir | EntryKind::File | EntryKind::Symlink)
    }

    /// The kind as an operator reads it in a sentence: "a directory".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            EntryKind::Dir => "a directory",
            EntryKind::File => "a regular file",
            EntryKind::Symlink => "a symlink",
            EntryKind::Fifo => "a FIFO",
            EntryKind::Socket => "a socket",
            EntryKind::CharDevice => "a character device",
            EntryKind::BlockDevice => "a block device",
            EntryKind::Other => "an entry of unknown type",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// How long ago the entry `st` describes was last modified (its mtime);
/// zero for a time in the future.
pub(crate) fn modified_ago(st: &FileStat) -> std::time::Duration {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let modified = UNIX_EPOCH
        + Duration::new(
            u64::try_from(st.st_mtime).unwrap_or(0),
            u32::try_from(st.st_mtime_nsec).unwrap_or(0),
        );
    SystemTime::now()
        .duration_since(modified)
        .unwrap_or(Duration::ZERO)
}
