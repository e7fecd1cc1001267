//! A directory on another file system than the sandbox's, for the tests
//! that move entries across file systems for real.

use std::path::{Path, PathBuf};

/// Set to `1` where no second file system can be had (no /dev/shm, not
/// root): the cross-file-system test then says it was skipped instead of
/// failing. Unset, that test fails rather than pass without having run.
const SKIP_CROSS_FS: &str = "HOMESWAP_TEST_SKIP_CROSS_FS";

/// A directory on another file system than `of`, removed (and unmounted)
/// on drop.
pub struct OtherFs {
    pub dir: tempfile::TempDir,
    mounted: bool,
}

impl Drop for OtherFs {
    fn drop(&mut self) {
        if self.mounted {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Finds a directory on another file system than `of`: `$HOMESWAP_TEST_OTHER_FS`,
/// /dev/shm, `$XDG_RUNTIME_DIR`, cargo's target tmp dir, or (as root) a
/// tmpfs mounted for the test. Err lists what was tried.
pub fn other_file_system(of: &Path) -> Result<OtherFs, Vec<String>> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(of).unwrap().dev();
    let mut tried = Vec::new();
    let env = |name| std::env::var_os(name).map(PathBuf::from);
    let candidates = [
        env("HOMESWAP_TEST_OTHER_FS"),
        Some(PathBuf::from("/dev/shm")),
        env("XDG_RUNTIME_DIR"),
        Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR"))),
    ];
    for c in candidates.into_iter().flatten() {
        match tempfile::tempdir_in(&c) {
            Err(e) => tried.push(format!("{}: {e}", c.display())),
            Ok(d) if std::fs::metadata(d.path()).unwrap().dev() == dev => {
                tried.push(format!("{}: the same file system", c.display()))
            }
            Ok(dir) => {
                return Ok(OtherFs {
                    dir,
                    mounted: false,
                })
            }
        }
    }
    let dir = tempfile::tempdir_in(of).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|st| st.success());
    if mounted {
        return Ok(OtherFs { dir, mounted });
    }
    tried.push("a tmpfs mounted for the test: mount failed (needs root)".into());
    Err(tried)
}

/// The other file system for the test `name`, or `None` (said on stderr)
/// when there is none and [`SKIP_CROSS_FS`] allows the skip; else the test
/// fails, saying how to give it one.
pub fn for_test(of: &Path, name: &str) -> Option<OtherFs> {
    match other_file_system(of) {
        Ok(d) => Some(d),
        Err(tried) if std::env::var_os(SKIP_CROSS_FS).is_some_and(|v| v == "1") => {
            eprintln!(
                "SKIPPED {name}: no second file system ({}); {SKIP_CROSS_FS}=1 allows this skip",
                tried.join("; ")
            );
            None
        }
        Err(tried) => panic!(
            "this test needs a second file system and found none ({}); run it as root, \
             set HOMESWAP_TEST_OTHER_FS to a directory on another file system, or set \
             {SKIP_CROSS_FS}=1 to skip it knowingly",
            tried.join("; ")
        ),
    }
}
