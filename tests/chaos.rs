//! The chaos harness (issue 26): every operation at once, under faults,
//! checked against a model.
//!
//! One sandbox of 3 to 5 accounts and a real sidecar (`homeswap serve` on
//! loopback and a Unix socket). Each round, a seeded generator picks a
//! batch of operations that run at the same time, each the real binary or
//! a real HTTP request: CLI and admin swaps and failovers, hook storms,
//! status-line updates, `ensure`, `adopt` of planted real directories and
//! files, `latch clear`, `limits clear`, `init` of fresh homes, and users
//! appending to `history.jsonl` and transcripts through the active link as
//! Claude Code does. Between rounds it plants, edits the configuration and
//! reloads the sidecar with SIGHUP, and restarts a sidecar that was killed.
//! Faults: SIGKILL at random moments (failpoint sleeps widen the windows),
//! failpoints that return I/O errors, the sidecar killed; as root, the
//! state and shared dirs on small tmpfs mounts that fill up or turn
//! read-only. After every round the model's invariants are checked
//! (`chaos/model.rs`, `chaos/check.rs`).
//!
//! - Quick mode: `cargo test --features failpoints --test chaos` (a few
//!   hundred operations, a fresh seed each run).
//! - Long mode: `HOMESWAP_CHAOS_OPS=50000 cargo test --features failpoints
//!   --test chaos chaos_run -- --nocapture`.
//! - Replay: the seed is printed; `HOMESWAP_CHAOS_SEED=N` (with the same
//!   `HOMESWAP_CHAOS_OPS`) replays the schedule, and a violation prints the
//!   exact command.
//! - Disks (root): `cargo test --features failpoints --test chaos --
//!   --ignored` (`.ci/run`'s root step).
#![cfg(feature = "failpoints")]

mod common;

#[path = "chaos/mod.rs"]
mod chaos;

use chaos::Settings;

#[test]
fn chaos_run() {
    chaos::run(Settings::from_env("chaos_run", 800, false));
}

#[test]
#[ignore = "root: tmpfs mounts (run by .ci/run's root step)"]
fn chaos_on_disks_that_fill_up_and_turn_read_only() {
    common::tool::require_root("mounts the state and shared dirs on small tmpfs");
    chaos::run(Settings::from_env(
        "chaos_on_disks_that_fill_up_and_turn_read_only",
        250,
        true,
    ));
}
