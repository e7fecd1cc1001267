//! What both bench targets share: a layout of N account homes on disk with
//! its configuration file, the command-line options, timing statistics and
//! the table printer.
#![allow(dead_code)] // each bench target uses its own part of this

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use homeswap::Config;

/// The required links of every home.
pub const LINKS: [&str; 3] = ["session-env", "file-history", "projects"];

/// The options every bench target understands.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Seconds, not minutes: checks that each benchmark runs, not its timings.
    pub smoke: bool,
    /// Names of the benchmarks to run (e.g. `scrape`); empty: all of them.
    pub only: Vec<String>,
}

impl Opts {
    /// Reads `--smoke` (or `HOMESWAP_BENCH_SMOKE=1`) and benchmark names;
    /// cargo's own `--bench` and other options are ignored.
    pub fn from_args() -> Opts {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let smoke = args.iter().any(|a| a == "--smoke")
            || std::env::var("HOMESWAP_BENCH_SMOKE").is_ok_and(|v| v == "1");
        let only = args.into_iter().filter(|a| !a.starts_with('-')).collect();
        Opts { smoke, only }
    }

    /// Whether the benchmark `name` is to run.
    pub fn runs(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

/// A sandbox: `homes/<account>` for each account, `shared/`, the active
/// link `active`, the state dir `state/` and `homeswap.yaml` naming them.
pub struct Layout {
    /// Removed on drop, also when a benchmark panics.
    pub dir: tempfile::TempDir,
    /// The configuration file.
    pub config_path: PathBuf,
    /// Account names and homes, in name order.
    pub homes: Vec<(String, PathBuf)>,
    /// The shared dir.
    pub shared: PathBuf,
    /// The active link.
    pub active: PathBuf,
}

impl Layout {
    /// `accounts` homes; with `linked`, every link is `ok` and the first
    /// account is active, else the homes are empty and nothing is active.
    pub fn new(accounts: usize, linked: bool) -> Layout {
        let dir = tempfile::Builder::new()
            .prefix("homeswap-bench.")
            .tempdir()
            .expect("create the bench directory");
        let root = dir.path();
        let shared = root.join("shared");
        let active = root.join("active");
        std::fs::create_dir_all(root.join("homes")).unwrap();
        std::fs::create_dir_all(root.join("state")).unwrap();
        for l in LINKS {
            std::fs::create_dir_all(shared.join(l)).unwrap();
        }
        let mut yaml = String::from("accounts:\n");
        let homes: Vec<(String, PathBuf)> = (0..accounts)
            .map(|i| {
                let name = format!("a{i:05}");
                let home = root.join("homes").join(&name);
                std::fs::create_dir(&home).unwrap();
                if linked {
                    for l in LINKS {
                        symlink(shared.join(l), home.join(l)).unwrap();
                    }
                }
                yaml.push_str(&format!("  {name}: {}\n", home.display()));
                (name, home)
            })
            .collect();
        if linked {
            symlink(&homes[0].1, &active).unwrap();
        }
        yaml.push_str(&format!(
            "active_link: {}\nshared_dir: {}\nstate_dir: {}\n",
            active.display(),
            shared.display(),
            root.join("state").display()
        ));
        let config_path = root.join("homeswap.yaml");
        std::fs::write(&config_path, yaml).unwrap();
        Layout {
            dir,
            config_path,
            homes,
            shared,
            active,
        }
    }

    /// Adds a `serve:` section: the read-only listener on a free port of
    /// 127.0.0.1 and the given validation interval; no admin listener.
    pub fn add_serve(&self, interval: &str) {
        let mut yaml = std::fs::read_to_string(&self.config_path).unwrap();
        yaml.push_str(&format!(
            "serve:\n  listen: 127.0.0.1:0\n  interval: {interval}\n"
        ));
        std::fs::write(&self.config_path, yaml).unwrap();
    }

    /// The configuration, parsed by homeswap itself.
    pub fn config(&self) -> Config {
        Config::load(&self.config_path).expect("the bench configuration is valid")
    }

    /// The home of the `i`-th account.
    pub fn home(&self, i: usize) -> &Path {
        &self.homes[i].1
    }
}

/// The `p`-th percentile (0..=100) of `samples`, nearest rank.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// Microseconds with two decimals.
pub fn us(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e6)
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// A markdown table, printed as a whole so parallel output cannot split it.
pub fn table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut out = format!("\n### {title}\n\n| {} |\n|", header.join(" | "));
    for _ in header {
        out.push_str(" --- |");
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    println!("{out}");
}
