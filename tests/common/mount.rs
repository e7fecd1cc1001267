//! A tmpfs mounted for one test (root only), unmounted on drop: real
//! ENOSPC and EROFS rather than simulated ones.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs with `options` (e.g. `size=64k`) at `at`.
    pub fn tmpfs(at: &Path, options: &str) -> Mount {
        super::tool::require_root("mounts a tmpfs");
        std::fs::create_dir_all(at).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(st.success(), "mount -t tmpfs at {}: {st}", at.display());
        Mount(at.to_path_buf())
    }

    /// Remounts with other options (`ro`, `rw`).
    pub fn remount(&self, options: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Fills the file system up: writes until ENOSPC.
    pub fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = vec![0u8; 4096];
        loop {
            match f.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", self.0.display()),
            }
        }
        // And every inode, so no new entry fits either.
        for i in 0.. {
            if std::fs::File::create(self.0.join(format!("inode-{i}"))).is_err() {
                break;
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
