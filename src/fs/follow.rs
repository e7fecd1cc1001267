//! The file a path names through its symlinks, for a writer that must
//! change the file and keep every link: Claude Code's `settings.json` is
//! usually a link into the shared dir, and replacing the link by a file
//! would fork the settings per account.

use std::path::{Path, PathBuf};

use crate::fs::error::FsError;

/// The most symlinks followed, as the kernel's own bound (`ELOOP`).
const MAX_HOPS: usize = 40;

/// `path` with every symlink at its last component followed (a relative
/// target from its link's directory), up to [`MAX_HOPS`]: the path whose
/// entry a rename must replace to change the file `path` names. Nothing
/// need exist there (a dangling link names where its file would be); the
/// directories on the way are the kernel's to follow.
pub(crate) fn final_target(path: &Path) -> Result<PathBuf, FsError> {
    let mut at = path.to_path_buf();
    for _ in 0..MAX_HOPS {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let held =
                    std::fs::read_link(&at).map_err(|e| FsError::new("read the link", &at, e))?;
                at = match at.parent() {
                    Some(dir) => dir.join(held),
                    None => held,
                };
            }
            Ok(_) => return Ok(at),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(at),
            Err(e) => return Err(FsError::new("inspect", &at, e)),
        }
    }
    Err(FsError::new(
        "follow the links of",
        path,
        std::io::Error::other(format!("more than {MAX_HOPS} links in a row")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_chain_of_links_ends_at_the_file_even_when_it_is_not_there_yet() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("shared")).unwrap();
        symlink(d.join("shared/settings.json"), d.join("middle")).unwrap();
        symlink("middle", d.join("settings.json")).unwrap();
        assert_eq!(
            final_target(&d.join("settings.json")).unwrap(),
            d.join("shared/settings.json")
        );
        std::fs::write(d.join("shared/settings.json"), b"{}").unwrap();
        assert_eq!(
            final_target(&d.join("settings.json")).unwrap(),
            d.join("shared/settings.json")
        );
        assert_eq!(final_target(&d.join("plain")).unwrap(), d.join("plain"));
    }

    #[test]
    fn a_loop_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        symlink("b", d.join("a")).unwrap();
        symlink("a", d.join("b")).unwrap();
        let e = final_target(&d.join("a")).unwrap_err();
        assert!(e.to_string().contains("more than 40 links"), "{e}");
    }
}
