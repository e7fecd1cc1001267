//! A small deterministic generator for the crash tests, so a failing run
//! can be replayed from its seed.

use std::time::{SystemTime, UNIX_EPOCH};

/// xorshift64*.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `$HOMESWAP_CRASH_SEED`, else from the clock; the seed is
    /// printed (with `what`) so the run can be replayed.
    pub fn from_env(what: &str) -> (Rng, u64) {
        let seed: u64 = std::env::var("HOMESWAP_CRASH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("{what}: HOMESWAP_CRASH_SEED={seed}");
        (Rng(seed), seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A count from the environment variable `var`, else `default`.
pub fn iterations(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
