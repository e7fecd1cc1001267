//! What every operation needs: the configuration, the state directory and
//! the process's partial-swap latch. The CLI builds one per command; the
//! sidecar builds one at start (the one start-up recovery used) and one per
//! reload, all sharing one latch, so a latch that could not be persisted
//! still holds whatever configuration is in force.

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
    pub(crate) state: StateDir,
    /// The partial-swap latch (one per process).
    pub(crate) latch: PartialSwapLatch,
    /// How long a swap waits for the lock before reporting busy.
    pub(crate) lock_timeout: Duration,
}

impl Context {
    /// A context with a latch of its own and the contract's 5 s lock timeout.
    pub fn new(config: Config) -> Context {
        let state = StateDir::new(&config.state_dir);
        Context {
            latch: PartialSwapLatch::new(state.clone()),
            state,
            config,
            lock_timeout: LOCK_TIMEOUT,
        }
    }

    /// A context for a reloaded configuration that shares `previous`'s
    /// latch, so a swap still running on the old configuration latches the
    /// same latch the new one reads.
    pub(crate) fn reloaded(config: Config, previous: &Context) -> Context {
        let state = StateDir::new(&config.state_dir);
        Context {
            latch: previous.latch.rebind(state.clone()),
            state,
            config,
            lock_timeout: previous.lock_timeout,
        }
    }
}
