//! What every operation needs: the configuration, the state directory and
//! the in-process latch. The CLI builds one per command; the sidecar keeps
//! one for its lifetime, so a latch that could not be persisted still holds.

use std::time::Duration;

use crate::config::Config;
use crate::state::latch::PartialSwapLatch;
use crate::state::lock::LOCK_TIMEOUT;
use crate::state::StateDir;

/// The configuration and state every operation works on.
#[derive(Debug)]
pub struct Context {
    /// The loaded configuration.
    pub config: Config,
    /// Paths of the lock, intent record, latch and audit log.
    pub state: StateDir,
    /// The partial-swap latch.
    pub latch: PartialSwapLatch,
    /// How long a swap waits for the lock before reporting busy.
    pub lock_timeout: Duration,
}

impl Context {
    /// A context with the contract's 5 s lock timeout.
    pub fn new(config: Config) -> Context {
        let state = StateDir::new(&config.state_dir);
        Context {
            latch: PartialSwapLatch::new(state.clone()),
            state,
            config,
            lock_timeout: LOCK_TIMEOUT,
        }
    }
}
