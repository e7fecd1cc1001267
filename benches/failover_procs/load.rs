//! The loaded case of the failover bench (issue 26): two busy loops per
//! core, and ten Claude Code sessions' status lines every 50 ms (each a
//! real `homeswap statusline` with usage that changes), running while the
//! failovers are timed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Sessions whose status lines run.
const SESSIONS: u32 = 10;

/// How often each session's status line runs.
const PERIOD: Duration = Duration::from_millis(50);

/// The load's threads; stopped and joined on drop.
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Status-line calls made, for the report.
    pub calls: Arc<AtomicUsize>,
}

impl Load {
    /// Starts `2 × cores` busy loops and the status lines of
    /// [`SESSIONS`] sessions on `config`.
    pub fn start(config: &Path) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut threads: Vec<JoinHandle<()>> = (0..2 * cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        let (stop2, calls2, config) = (stop.clone(), calls.clone(), config.to_path_buf());
        threads.push(std::thread::spawn(move || {
            status_lines(&config, &stop2, &calls2)
        }));
        Load {
            stop,
            threads,
            calls,
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Every [`PERIOD`], each session's status line at once, its five-hour
/// usage one point higher than the last (wrapping below the threshold-free
/// bench configuration's reach: no failover is asked for).
fn status_lines(config: &Path, stop: &AtomicBool, calls: &AtomicUsize) {
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let children: Vec<_> = (0..SESSIONS)
            .map(|s| {
                let status = format!(
                    r#"{{"session_id":"load-{s}","rate_limits":{{"five_hour":{{"used_percentage":{},"resets_at":{}}},"seven_day":{{"used_percentage":{},"resets_at":{}}}}}}}"#,
                    tick % 80,
                    now + 3 * 3600,
                    tick % 50,
                    now + 4 * 86_400
                );
                super::spawn_with(config, &["statusline"], status.as_bytes())
            })
            .collect();
        for c in children {
            let _ = c.wait_with_output();
            calls.fetch_add(1, Ordering::Relaxed);
        }
        tick += 1;
        if let Some(rest) = PERIOD.checked_sub(start.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}
