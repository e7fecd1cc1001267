//! The harness's parts: the schedule (`ops.rs`), running a round's
//! operations (`exec.rs`; requests to a sidecar that may be down in
//! `http.rs`), the users (`users.rs`), the world and its changes between
//! rounds (`world.rs`, planting in `plant.rs`), the model (`model.rs`) and
//! its invariants (`check.rs`: the state and the exit codes; `content.rs`:
//! lines and files; `audit.rs`: the audit log, read by `cursor.rs`, and the
//! limits; `agree.rs`: the sidecar against the CLI), `init` in homes of its
//! own (`init.rs`), the tmpfs faults (`disk.rs`).

pub mod agree;
pub mod audit;
pub mod check;
pub mod content;
pub mod cursor;
pub mod disk;
pub mod exec;
pub mod http;
pub mod init;
pub mod model;
pub mod ops;
pub mod plant;
pub mod users;
pub mod world;

use std::fmt::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::SeedableRng;

use model::Model;
use world::World;

/// What one run does: its seed, how many operations, and whether the
/// disks are small tmpfs mounts.
pub struct Settings {
    /// The test function, for the replay command.
    pub test: &'static str,
    /// The schedule's seed.
    pub seed: u64,
    /// Operations to run (each process or request counts one).
    pub ops: u64,
    /// The state and shared dirs on tmpfs mounts that fill up (root).
    pub disks: bool,
}

impl Settings {
    /// `HOMESWAP_CHAOS_SEED` (else from the clock) and
    /// `HOMESWAP_CHAOS_OPS` (else `default_ops`).
    pub fn from_env(test: &'static str, default_ops: u64, disks: bool) -> Settings {
        let seed = std::env::var("HOMESWAP_CHAOS_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        let ops = common_env("HOMESWAP_CHAOS_OPS").unwrap_or(default_ops);
        Settings {
            test,
            seed,
            ops,
            disks,
        }
    }

    /// The command that replays this run.
    pub fn replay(&self) -> String {
        format!(
            "HOMESWAP_CHAOS_SEED={} HOMESWAP_CHAOS_OPS={} cargo test --features failpoints --test chaos {} -- --exact {}--nocapture",
            self.seed,
            self.ops,
            self.test,
            if self.disks { "--ignored " } else { "" }
        )
    }
}

fn common_env(var: &str) -> Option<u64> {
    std::env::var(var).ok().and_then(|v| v.parse().ok())
}

/// Runs the schedule to its end, checking the model after every round;
/// panics with the steps and the replay command on the first violation.
pub fn run(settings: Settings) {
    eprintln!(
        "chaos: seed {} ({} operations); replay: {}",
        settings.seed,
        settings.ops,
        settings.replay()
    );
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let world = World::new(&mut rng, settings.disks.then_some(settings.ops));
    let mut model = Model::new(&world);
    let start = Instant::now();
    let mut round = 0u64;
    while model.stats.ops < settings.ops {
        round += 1;
        let plan = ops::plan_round(&mut rng, &mut model, &world);
        world.before_round(&mut model, &plan.quiet);
        let done = exec::run_round(&world, &plan.ops);
        model.record(round, done);
        let violations = check::after_round(&world, &mut model);
        if !violations.is_empty() {
            fail(&settings, &model, &violations);
        }
        if round % 50 == 0 {
            eprintln!(
                "chaos: round {round}, {} ops, {} kills, {:.0} s",
                model.stats.ops,
                model.stats.kills,
                start.elapsed().as_secs_f64()
            );
        }
    }
    let violations = check::at_end(&world, &mut model);
    if !violations.is_empty() {
        fail(&settings, &model, &violations);
    }
    eprintln!(
        "chaos: PASS seed {} in {:.1} s: {} rounds, {}",
        settings.seed,
        start.elapsed().as_secs_f64(),
        round,
        model.stats
    );
}

/// Prints the violations, the steps that led there and the replay command,
/// then fails the test.
fn fail(settings: &Settings, model: &Model, violations: &[String]) -> ! {
    let mut out = String::new();
    let _ = writeln!(out, "chaos: VIOLATION (seed {})", settings.seed);
    for v in violations {
        let _ = writeln!(out, "  violated: {v}");
    }
    let steps = &model.steps;
    let first = steps.len().saturating_sub(400);
    let _ = writeln!(
        out,
        "steps (the last {} of {}):",
        steps.len() - first,
        steps.len()
    );
    for s in &steps[first..] {
        let _ = writeln!(out, "  {s}");
    }
    let all = std::env::temp_dir().join(format!("homeswap-chaos-{}.steps", settings.seed));
    let text: String = steps.iter().map(|s| format!("{s}\n")).collect();
    if std::fs::write(&all, text).is_ok() {
        let _ = writeln!(out, "every step: {}", all.display());
    }
    let _ = writeln!(out, "stats: {}", model.stats);
    let _ = writeln!(out, "replay: {}", settings.replay());
    eprintln!("{out}");
    panic!(
        "chaos: {} violation(s), seed {}; replay: {}",
        violations.len(),
        settings.seed,
        settings.replay()
    );
}
