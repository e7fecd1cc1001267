//! Each home's `.credentials.json` as far as a swap and a validation need
//! it, never its secrets.
//!
//! - **Its modification time.** A running Claude Code re-reads the file
//!   before a request only when the mtime it stats through the active link
//!   differs from the one it last loaded (a float millisecond `!==`;
//!   2.1.328 saw a 1 µs difference and missed a 100 ns one; an older time
//!   counts too). Two homes whose files share an mtime therefore look like
//!   one file to it, and a session does not follow a swap between them.
//!   homeswap takes times within [`SAME_MTIME`] of each other for the
//!   same, so no rounding of another build can matter; each swap gives the
//!   incoming file a fresh time ([`give_fresh_mtime`]), content untouched.
//! - **A SHA-256 digest of its OAuth refresh token.** Refresh tokens are
//!   single-use: two homes holding the same one (one account's file copied
//!   into another's home) log each other out at the next refresh. Only
//!   the digest is kept and compared; neither it nor the token is ever
//!   shown, logged or written.
//!
//! A `.credentials.json` that is not a regular file (a symlink, say) is
//! left alone: never followed, read or touched.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::stat::FileStat;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::fs::pathfmt::shown;
use crate::fs::{DirFd, EntryKind, FsError};

/// The file's name in a home.
pub(crate) const CREDENTIALS: &str = ".credentials.json";

/// Modification times closer than this count as the same.
pub(crate) const SAME_MTIME: Duration = Duration::from_millis(1);

/// The most of a credentials file that is read (Claude Code's are < 1 KiB).
const MAX_SIZE: u64 = 1 << 20;

/// What homeswap knows of one home's credentials file.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CredentialsFile {
    /// Device and inode: two homes linking one file hold one file.
    pub(crate) file_id: (u64, u64),
    /// Its modification time.
    pub(crate) mtime: SystemTime,
    /// SHA-256 of its OAuth refresh token, when it holds one.
    refresh_digest: Option<[u8; 32]>,
}

/// Never shows the digest: nothing derived from a token is printed.
impl fmt::Debug for CredentialsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsFile")
            .field("file_id", &self.file_id)
            .field("mtime", &self.mtime)
            .field("refresh_token", &self.refresh_digest.map(|_| "(held)"))
            .finish()
    }
}

/// The modification time of a stat.
fn mtime_of(st: &FileStat) -> SystemTime {
    UNIX_EPOCH
        + Duration::new(
            u64::try_from(st.st_mtime).unwrap_or(0),
            u32::try_from(st.st_mtime_nsec).unwrap_or(0),
        )
}

/// What tells a file's content unchanged since it was last read: inode,
/// size, mtime and ctime (Claude Code replaces the file by a rename).
type Stamp = (u64, u64, i64, i64, i64, i64, i64);

fn stamp(st: &FileStat) -> Stamp {
    (
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime,
        st.st_mtime_nsec,
        st.st_ctime,
        st.st_ctime_nsec,
    )
}

/// The digests read so far, by file: a validation every few seconds reads
/// only the files that changed since the last one.
static DIGESTS: Mutex<Option<DigestCache>> = Mutex::new(None);

/// By file (device, inode): the stamp it was read at and its digest.
type DigestCache = HashMap<(u64, u64), (Stamp, Option<[u8; 32]>)>;

/// Past this many files remembered, the cache starts over.
const DIGESTS_KEPT: usize = 4096;

/// The credentials file of the open home `home`; `None` when there is no
/// regular file by that name (not logged in, or something else there).
/// A file that cannot be read or parsed counts as holding no token.
pub(crate) fn read(home: &DirFd) -> Option<CredentialsFile> {
    let name = OsStr::new(CREDENTIALS);
    let st = home.stat(name).ok()??;
    if EntryKind::of(&st) != EntryKind::File {
        return None;
    }
    let key = (st.st_dev, st.st_ino);
    let cached = {
        let cache = DIGESTS.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .as_ref()
            .and_then(|c| c.get(&key))
            .filter(|(s, _)| *s == stamp(&st))
            .map(|(_, d)| *d)
    };
    let refresh_digest = match cached {
        Some(d) => d,
        None => {
            let (st, digest) = read_digest(home)?;
            let mut cache = DIGESTS.lock().unwrap_or_else(|p| p.into_inner());
            let cache = cache.get_or_insert_with(HashMap::new);
            if cache.len() >= DIGESTS_KEPT {
                cache.clear();
            }
            cache.insert((st.st_dev, st.st_ino), (stamp(&st), digest));
            return Some(CredentialsFile {
                file_id: (st.st_dev, st.st_ino),
                mtime: mtime_of(&st),
                refresh_digest: digest,
            });
        }
    };
    Some(CredentialsFile {
        file_id: key,
        mtime: mtime_of(&st),
        refresh_digest,
    })
}

/// The part of Claude Code's credentials file homeswap looks at.
#[derive(Deserialize)]
struct OnDisk {
    #[serde(rename = "claudeAiOauth")]
    oauth: Option<Oauth>,
}

#[derive(Deserialize)]
struct Oauth {
    #[serde(rename = "refreshToken")]
    refresh_token: Option<String>,
}

/// Reads the file once (bounded, never through a symlink) and digests its
/// refresh token; the stat is of the descriptor read.
fn read_digest(home: &DirFd) -> Option<(FileStat, Option<[u8; 32]>)> {
    let file = home.open_file(OsStr::new(CREDENTIALS)).ok()?;
    let st = nix::sys::stat::fstat(&file).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_SIZE).read_to_end(&mut bytes).ok()?;
    let token = serde_json::from_slice::<OnDisk>(&bytes)
        .ok()
        .and_then(|f| f.oauth)
        .and_then(|o| o.refresh_token)
        .filter(|t| !t.is_empty());
    let digest = token.map(|t| Sha256::digest(t.as_bytes()).into());
    Some((st, digest))
}

/// What the credentials files of all homes show together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct CredentialFindings {
    /// Groups of accounts whose homes hold the same OAuth refresh token
    /// (compared by digest), each sorted by name.
    pub(crate) duplicated: Vec<Vec<String>>,
    /// Groups of accounts whose `.credentials.json` have the same
    /// modification time (each within 1 ms of the next), oldest first.
    pub(crate) same_mtime: Vec<SameMtime>,
}

/// Accounts whose credentials files share a modification time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SameMtime {
    /// The accounts, sorted by name.
    pub(crate) accounts: Vec<String>,
    /// The time (RFC 3339, to the microsecond), of the first of them.
    pub(crate) mtime: String,
    /// The first account's file, for the `touch` the warning suggests.
    #[serde(skip)]
    touch: String,
}

impl CredentialFindings {
    /// Compares the credentials files of `(account, home, file)`.
    pub(crate) fn of<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a Path, Option<&'a CredentialsFile>)>,
    ) -> CredentialFindings {
        let files: Vec<(&str, &Path, &CredentialsFile)> = files
            .into_iter()
            .filter_map(|(a, h, f)| f.map(|f| (a, h, f)))
            .collect();
        CredentialFindings {
            duplicated: duplicated(&files),
            same_mtime: same_mtime(&files),
        }
    }

    /// Whether `account`'s home holds another home's refresh token.
    pub(crate) fn is_duplicated(&self, account: &str) -> bool {
        self.duplicated.iter().flatten().any(|a| a == account)
    }

    /// One warning line per finding.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let dup = self.duplicated.iter().map(|group| {
            format!(
                "accounts {} hold the same OAuth refresh token in their {CREDENTIALS} (compared by digest; the token is not shown): one account's login was copied into another's home, and refresh tokens are single-use, so the first of them to refresh logs the other{} out; log in again in all of them but one ('CLAUDE_CONFIG_DIR=HOME claude', then /login)",
                names(group),
                if group.len() > 2 { "s" } else { "" }
            )
        });
        let same = self.same_mtime.iter().map(|s| {
            format!(
                "accounts {}: their {CREDENTIALS} have the same modification time ({}): a running Claude Code session tells a changed login by that time alone, so it would not follow a swap between them made without homeswap (each 'homeswap swap' gives the incoming file a time of its own); 'touch {}' clears this",
                names(&s.accounts),
                s.mtime,
                s.touch
            )
        });
        dup.chain(same).collect()
    }
}

/// `a and b`, `a, b and c`.
fn names(accounts: &[String]) -> String {
    match accounts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Groups of two or more accounts with one refresh-token digest.
fn duplicated(files: &[(&str, &Path, &CredentialsFile)]) -> Vec<Vec<String>> {
    let mut by_digest: HashMap<[u8; 32], Vec<String>> = HashMap::new();
    for (account, _, f) in files {
        if let Some(d) = f.refresh_digest {
            by_digest.entry(d).or_default().push(account.to_string());
        }
    }
    let mut groups: Vec<Vec<String>> = by_digest
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort();
            g
        })
        .collect();
    groups.sort();
    groups
}

/// Runs of accounts whose mtimes are each within [`SAME_MTIME`] of the
/// previous one, in time order.
fn same_mtime(files: &[(&str, &Path, &CredentialsFile)]) -> Vec<SameMtime> {
    let mut by_time: Vec<&(&str, &Path, &CredentialsFile)> = files.iter().collect();
    by_time.sort_by_key(|(a, _, f)| (f.mtime, *a));
    let mut groups = Vec::new();
    let mut run: Vec<&(&str, &Path, &CredentialsFile)> = Vec::new();
    for entry in by_time {
        let close = run
            .last()
            .is_some_and(|last| within(last.2.mtime, entry.2.mtime));
        if !close {
            groups.extend(finding(&run));
            run.clear();
        }
        run.push(entry);
    }
    groups.extend(finding(&run));
    groups
}

/// The finding of one run, when it names two or more accounts.
fn finding(run: &[&(&str, &Path, &CredentialsFile)]) -> Option<SameMtime> {
    let first = run.first()?;
    if run.len() < 2 {
        return None;
    }
    let mut accounts: Vec<String> = run.iter().map(|(a, _, _)| a.to_string()).collect();
    accounts.sort();
    Some(SameMtime {
        accounts,
        mtime: humantime::format_rfc3339_micros(first.2.mtime).to_string(),
        touch: shown(&first.1.join(CREDENTIALS)).to_string(),
    })
}

/// Whether two times are closer than [`SAME_MTIME`].
fn within(a: SystemTime, b: SystemTime) -> bool {
    let gap = a.duration_since(b).unwrap_or_else(|e| e.duration());
    gap < SAME_MTIME
}

/// What [`give_fresh_mtime`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshened {
    /// The file's modification time is now this, its content unchanged.
    Moved(SystemTime),
    /// The home has no regular `.credentials.json` (not logged in, or a
    /// symlink there): nothing to do.
    NoFile,
}

/// A credentials file's identity (device, inode) and modification time.
pub(crate) type FileTime = ((u64, u64), SystemTime);

/// The identity and modification time of the credentials file of each of
/// `homes` that has one (a stat each; nothing is read).
pub(crate) fn times_of<'a>(homes: impl IntoIterator<Item = &'a Path>) -> Vec<FileTime> {
    let name = OsStr::new(CREDENTIALS);
    homes
        .into_iter()
        .filter_map(|h| DirFd::open_following(h).ok()?.stat(name).ok()?)
        .filter(|st| EntryKind::of(st) == EntryKind::File)
        .map(|st| ((st.st_dev, st.st_ino), mtime_of(&st)))
        .collect()
}

/// Gives `home`'s `.credentials.json` a modification time of now, moved
/// on until it is at least [`SAME_MTIME`] away from every time in
/// `others` (the other homes' files; one that is `home`'s own file under
/// another name does not count), so that no running session, whatever
/// file it last loaded, takes it for unchanged. Its content and access
/// time are left alone.
pub(crate) fn give_fresh_mtime(home: &Path, others: &[FileTime]) -> Result<Freshened, FsError> {
    let dir = DirFd::open_following(home)?;
    let name = OsStr::new(CREDENTIALS);
    let Some(st) = dir.stat(name)? else {
        return Ok(Freshened::NoFile);
    };
    if EntryKind::of(&st) != EntryKind::File {
        return Ok(Freshened::NoFile);
    }
    let own = (st.st_dev, st.st_ino);
    let mut times: Vec<SystemTime> = others
        .iter()
        .filter(|(id, _)| *id != own)
        .map(|(_, t)| *t)
        .collect();
    times.sort();
    let mut when = SystemTime::now();
    // In time order, each step clears the times behind it for good.
    for t in &times {
        if within(*t, when) {
            when = *t + 2 * SAME_MTIME;
        }
    }
    dir.set_mtime(name, when)?;
    Ok(Freshened::Moved(when))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home_with(root: &Path, name: &str, refresh: &str) -> std::path::PathBuf {
        let home = root.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let body =
            serde_json::json!({"claudeAiOauth": {"accessToken": "x", "refreshToken": refresh}});
        std::fs::write(home.join(CREDENTIALS), body.to_string()).unwrap();
        home
    }

    fn set(home: &Path, t: SystemTime) {
        let f = std::fs::File::options()
            .write(true)
            .open(home.join(CREDENTIALS))
            .unwrap();
        f.set_modified(t).unwrap();
    }

    fn file(home: &Path) -> CredentialsFile {
        read(&DirFd::open(home).unwrap()).unwrap()
    }

    #[test]
    fn the_same_refresh_token_in_two_homes_is_found_by_digest_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "sk-ant-ort01-a-secret-refresh-token";
        let (a, b, c) = (
            home_with(dir.path(), "a", secret),
            home_with(dir.path(), "b", secret),
            home_with(dir.path(), "c", "another"),
        );
        let files = [file(&a), file(&b), file(&c)];
        let found = CredentialFindings::of([
            ("a", a.as_path(), Some(&files[0])),
            ("b", b.as_path(), Some(&files[1])),
            ("c", c.as_path(), Some(&files[2])),
        ]);
        assert_eq!(found.duplicated, vec![vec!["a".to_string(), "b".into()]]);
        assert!(found.is_duplicated("a") && !found.is_duplicated("c"));
        let hex: String = Sha256::digest(secret.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let shown = format!(
            "{:?} {:?} {}",
            files,
            found,
            serde_json::to_string(&found).unwrap()
        ) + &found.warnings().join("\n");
        assert!(shown.contains("accounts a and b hold the same OAuth refresh token"));
        assert!(!shown.contains(secret) && !shown.contains(&hex), "{shown}");
    }

    #[test]
    fn mtimes_within_a_millisecond_are_the_same_and_a_millisecond_apart_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let base = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let homes: Vec<_> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| home_with(dir.path(), n, n))
            .collect();
        set(&homes[0], base);
        set(&homes[1], base + Duration::from_micros(999));
        set(&homes[2], base + Duration::from_millis(5));
        set(&homes[3], base + Duration::from_millis(6));
        let files: Vec<_> = homes.iter().map(|h| file(h)).collect();
        let found = CredentialFindings::of(
            ["a", "b", "c", "d"]
                .iter()
                .zip(&homes)
                .zip(&files)
                .map(|((a, h), f)| (*a, h.as_path(), Some(f))),
        );
        let groups: Vec<_> = found
            .same_mtime
            .iter()
            .map(|s| s.accounts.clone())
            .collect();
        assert_eq!(groups, vec![vec!["a".to_string(), "b".into()]]);
        assert_eq!(found.same_mtime[0].mtime, "2027-01-15T08:00:00.000000Z");
        let w = found.warnings();
        assert!(w[0].contains("accounts a and b: their .credentials.json have the same modification time (2027-01-15T08:00:00.000000Z)"), "{w:?}");
        assert!(
            w[0].contains(&format!("'touch {}'", homes[0].join(CREDENTIALS).display())),
            "{w:?}"
        );
    }

    #[test]
    fn a_fresh_mtime_keeps_clear_of_every_other_home_and_leaves_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let a = home_with(dir.path(), "a", "ra");
        let b = home_with(dir.path(), "b", "rb");
        let before = std::fs::read(b.join(CREDENTIALS)).unwrap();
        // a's file dated a little in the future, where "now" would land.
        let soon = SystemTime::now() + Duration::from_micros(300);
        set(&a, soon);
        set(&b, soon);
        let moved = give_fresh_mtime(&b, &times_of([a.as_path()])).unwrap();
        let Freshened::Moved(t) = moved else {
            panic!("{moved:?}")
        };
        assert_eq!(file(&b).mtime, t);
        assert!(!within(t, file(&a).mtime), "{t:?}");
        assert_eq!(std::fs::read(b.join(CREDENTIALS)).unwrap(), before);
        // No file, or a symlink: left alone.
        let c = dir.path().join("c");
        std::fs::create_dir(&c).unwrap();
        assert_eq!(give_fresh_mtime(&c, &[]).unwrap(), Freshened::NoFile);
        std::os::unix::fs::symlink(a.join(CREDENTIALS), c.join(CREDENTIALS)).unwrap();
        let a_time = file(&a).mtime;
        assert_eq!(give_fresh_mtime(&c, &[]).unwrap(), Freshened::NoFile);
        assert_eq!(file(&a).mtime, a_time);
    }

    #[test]
    fn a_file_without_a_token_or_not_json_holds_none() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::create_dir(&a).unwrap();
        std::fs::write(a.join(CREDENTIALS), b"{not json").unwrap();
        assert_eq!(file(&a).refresh_digest, None);
        std::fs::write(
            a.join(CREDENTIALS),
            br#"{"claudeAiOauth":{"refreshToken":""}}"#,
        )
        .unwrap();
        assert_eq!(file(&a).refresh_digest, None);
    }
}
