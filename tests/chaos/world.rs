//! The world the operations run in: the sandbox, its configuration, the
//! sidecar (restarted when killed), and the changes made between rounds.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::RngExt;

use crate::common::server::Server;
use crate::common::Sandbox;

use super::disk::Disks;
use super::model::Model;
use super::ops::Quiet;

/// What every run's configuration holds besides accounts and paths:
/// `history.jsonl` shared (the users append to it), a usage threshold
/// (status lines cross it), a short settle (failovers follow each other).
const EXTRA: &str = "shared_files: [history.jsonl]\nfailover:\n  threshold: 90\n  settle: 1s\n";

/// The sandbox and its sidecar.
pub struct World {
    /// The accounts' homes, the shared dir, the state dir, the config.
    pub s: Sandbox,
    /// The running sidecar, `None` before the first start.
    server: Mutex<Option<Server>>,
    /// The pids of this round's sidecars, for the audit log's records.
    pub sidecar_pids: Mutex<Vec<u32>>,
    /// The tmpfs mounts of a disk run.
    pub disks: Option<Disks>,
}

impl World {
    /// A sandbox of 3 or 4 accounts (ensured, `a` active) and its sidecar;
    /// `disks`: on tmpfs mounts sized for that many operations.
    pub fn new(rng: &mut StdRng, disks: Option<u64>) -> World {
        let s = Sandbox::new();
        let disks = disks.map(|ops| Disks::mount(&s, ops));
        let n = rng.random_range(3..=4);
        let mut text = String::from("accounts:\n");
        for a in &super::ops::POOL[..n] {
            let home = s.home(a);
            let _ = std::fs::create_dir(&home);
            text.push_str(&format!("  {a}: {}\n", home.display()));
        }
        text.push_str(&format!(
            "active_link: {}\nshared_dir: {}\nstate_dir: {}\n{EXTRA}",
            s.active().display(),
            s.shared().display(),
            s.state().display()
        ));
        std::fs::write(&s.config, text).unwrap();
        s.ok(&["ensure"]);
        s.ok(&["swap", "a"]);
        let server = s.serve_on_socket(None);
        let pid = server.child.id();
        World {
            s,
            server: Mutex::new(Some(server)),
            sidecar_pids: Mutex::new(vec![pid]),
            disks,
        }
    }

    /// Whether this is a disk run.
    pub fn disks(&self) -> bool {
        self.disks.is_some()
    }

    /// Whether the sidecar runs now.
    pub fn sidecar_up(&self) -> bool {
        let mut server = self.server.lock().unwrap();
        server
            .as_mut()
            .is_some_and(|s| s.child.try_wait().unwrap().is_none())
    }

    /// The admin listener (TCP, token) of the running sidecar.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        let server = self.server.lock().unwrap();
        server.as_ref().and_then(|s| s.admin)
    }

    /// The read-only listener of the running sidecar.
    pub fn read_addr(&self) -> Option<SocketAddr> {
        let server = self.server.lock().unwrap();
        server.as_ref().map(|s| s.addr)
    }

    /// SIGKILL to the sidecar.
    pub fn kill_sidecar(&self) {
        let mut server = self.server.lock().unwrap();
        if let Some(s) = server.as_mut() {
            let _ = s.child.kill();
            // Reaped now, so that it no longer counts as running.
            let _ = s.child.wait();
        }
    }

    /// Stops the sidecar (if it runs) and starts it again with `fp`.
    pub fn restart_sidecar(&self, fp: &str) -> Result<(), String> {
        let mut server = self.server.lock().unwrap();
        if let Some(mut old) = server.take() {
            let _ = old.child.kill();
            let _ = old.child.wait();
        }
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.s.serve((!fp.is_empty()).then_some(fp))
        }));
        match started {
            Ok(new) => {
                self.sidecar_pids.lock().unwrap().push(new.child.id());
                *server = Some(new);
                Ok(())
            }
            Err(_) => Err("the sidecar did not start (see its panic above)".into()),
        }
    }

    /// SIGHUP to the sidecar, and a wait until its status lists exactly
    /// `accounts` (sorted).
    fn reload(&self, accounts: &[String]) -> Result<(), String> {
        let Some(addr) = self.read_addr() else {
            return Ok(());
        };
        if !self.sidecar_up() {
            return Ok(());
        }
        {
            let server = self.server.lock().unwrap();
            server
                .as_ref()
                .unwrap()
                .signal(nix::sys::signal::Signal::SIGHUP);
        }
        let start = Instant::now();
        loop {
            let listed = super::http::get(addr, "/api/v1/status")
                .ok()
                .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
                .map(|v| super::check::account_names(&v));
            if listed.as_deref() == Some(accounts) {
                return Ok(());
            }
            if !self.sidecar_up() {
                return Ok(()); // its restart reads the new configuration
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "SIGHUP: the sidecar's status lists {listed:?} 10 s later, the configuration {accounts:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Makes the round's changes, each a step of the model's.
    pub fn before_round(&self, model: &mut Model, quiet: &[Quiet]) {
        // Only this round's sidecars: pids are reused in a long run.
        let current = self.server.lock().unwrap().as_ref().map(|s| s.child.id());
        *self.sidecar_pids.lock().unwrap() = current.into_iter().collect();
        for q in quiet {
            model.step(format!("(between rounds) {q:?}"));
            let result = match q {
                Quiet::Plant {
                    account,
                    links,
                    conflict,
                } => {
                    super::plant::plant(self, model, account, links, *conflict);
                    Ok(())
                }
                Quiet::Add(account) => {
                    let home = self.s.home(account);
                    let _ = std::fs::create_dir(&home);
                    self.s.set_config(&format!("accounts.{account}"), &home);
                    model.added(account);
                    self.reload(&model.sorted_names())
                }
                // Planted this round (after the plan was made): kept.
                Quiet::Remove(account) if !model.removable(account) => Ok(()),
                Quiet::Remove(account) => {
                    self.s.remove_config(&format!("accounts.{account}"));
                    model.removed(account);
                    self.reload(&model.sorted_names())
                }
                Quiet::RestartSidecar { fp } => {
                    model.stats.sidecar_restarts += 1;
                    self.restart_sidecar(fp)
                }
                Quiet::Disk(fault) => {
                    super::disk::apply(self, model, fault);
                    Ok(())
                }
            };
            if let Err(e) = result {
                model.violation(e);
            }
        }
    }
}
