//! The disk run (root): the state dir and the shared dir are small tmpfs
//! mounts that fill up (bytes and inodes) and turn read-only between
//! rounds, and are given back later. What was written must survive, and
//! what could not be written must be reported, not half-done.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::RngExt;

use crate::common::mount::Mount;
use crate::common::Sandbox;

use super::model::Model;
use super::world::World;

/// Which mount a fault is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Which {
    State,
    Shared,
}

/// One change to a mount.
#[derive(Debug, Clone, Copy)]
pub enum DiskFault {
    Fill(Which),
    Free(Which),
    ReadOnly(Which),
    ReadWrite(Which),
}

/// The two mounts and what is wrong with each now.
pub struct Disks {
    state: Mount,
    shared: Mount,
    full: Mutex<Vec<Which>>,
    read_only: Mutex<Vec<Which>>,
    paths: (std::path::PathBuf, std::path::PathBuf),
}

impl Disks {
    /// Mounts the sandbox's state and shared dirs (before first use),
    /// sized for a run of `ops` operations: small, so that filling them is
    /// quick, yet with room for what such a run writes by itself (the
    /// audit log, session records, user lines, adopted plants), so that
    /// the disk is full only when the harness fills it. A 10,000-operation
    /// run filled 2 MiB of state by itself at about 5,600.
    pub fn mount(s: &Sandbox, ops: u64) -> Disks {
        let state = format!(
            "size={}k,nr_inodes={},mode=0700",
            2048 + ops / 2,
            2000 + ops / 2
        );
        let shared = format!("size={}k,nr_inodes={},mode=0755", 4096 + ops, 4000 + ops);
        Disks {
            state: Mount::tmpfs(&s.state(), &state),
            shared: Mount::tmpfs(&s.shared(), &shared),
            full: Mutex::new(Vec::new()),
            read_only: Mutex::new(Vec::new()),
            paths: (s.state(), s.shared()),
        }
    }

    fn mount_of(&self, w: Which) -> (&Mount, &std::path::Path) {
        match w {
            Which::State => (&self.state, &self.paths.0),
            Which::Shared => (&self.shared, &self.paths.1),
        }
    }

    fn free(&self, w: Which) {
        let (_, path) = self.mount_of(w);
        for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "filler" || name.starts_with("inode-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        self.full.lock().unwrap().retain(|x| *x != w);
    }

    /// Every mount writable and with room again.
    pub fn free_all(&self) {
        for w in [Which::State, Which::Shared] {
            self.mount_of(w).0.remount("rw");
            self.read_only.lock().unwrap().retain(|x| *x != w);
            self.free(w);
        }
    }

    fn in_force(&self) -> bool {
        !self.full.lock().unwrap().is_empty() || !self.read_only.lock().unwrap().is_empty()
    }
}

/// The next fault: most often one that gives back what an earlier took.
pub fn plan(rng: &mut StdRng, world: &World) -> DiskFault {
    let d = world.disks.as_ref().unwrap();
    let w = if rng.random_bool(0.5) {
        Which::State
    } else {
        Which::Shared
    };
    let full = d.full.lock().unwrap().contains(&w);
    let ro = d.read_only.lock().unwrap().contains(&w);
    match (full, ro, rng.random_bool(0.5)) {
        (true, _, _) => DiskFault::Free(w),
        (_, true, _) => DiskFault::ReadWrite(w),
        (false, false, true) => DiskFault::Fill(w),
        (false, false, false) => DiskFault::ReadOnly(w),
    }
}

/// Applies `fault` between rounds.
pub fn apply(world: &World, model: &mut Model, fault: &DiskFault) {
    let d = world.disks.as_ref().unwrap();
    model.stats.disk_faults += 1;
    match *fault {
        DiskFault::Fill(w) => {
            d.mount_of(w).0.fill();
            d.full.lock().unwrap().push(w);
        }
        DiskFault::Free(w) => d.free(w),
        DiskFault::ReadOnly(w) => {
            d.mount_of(w).0.remount("ro");
            d.read_only.lock().unwrap().push(w);
        }
        DiskFault::ReadWrite(w) => {
            d.mount_of(w).0.remount("rw");
            d.read_only.lock().unwrap().retain(|x| *x != w);
        }
    }
    model.disk_trouble = d.in_force();
}
