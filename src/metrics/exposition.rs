//! The cached exposition: a scrape does not gather and encode the metrics,
//! it gets the text encoded once after the last change, as shared bytes.
//!
//! Every change bumps a generation; a scrape that finds the cache at the
//! current generation serves it. The `process_*` values (CPU time, memory,
//! descriptors) change on their own without bumping anything, so a cached
//! exposition is also encoded again once it is older than
//! [`PROCESS_REFRESH`]: the `process_*` values served are at most that old.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// The exposition format's content type.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How old the `process_*` values in a served exposition may be.
pub(crate) const PROCESS_REFRESH: Duration = Duration::from_secs(1);

/// The latest encoded exposition and the generation counter it is checked
/// against.
#[derive(Debug, Default)]
pub(super) struct ExpositionCache {
    /// Bumped by every change, so a scrape knows whether the cache is current.
    generation: AtomicU64,
    /// The latest encoded exposition.
    cache: RwLock<Option<Exposition>>,
}

/// An encoded exposition and what it was encoded from.
#[derive(Debug)]
struct Exposition {
    /// The [`ExpositionCache::generation`] it shows.
    generation: u64,
    /// When it was encoded (its `process_*` values are from then).
    at: Instant,
    /// The text, shared by every response that serves it.
    body: Bytes,
}

impl ExpositionCache {
    /// Marks the cached exposition as out of date.
    pub(super) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The cached exposition while nothing changed and it is under
    /// [`PROCESS_REFRESH`] old, else `encode`'s (which then becomes the
    /// cached one).
    pub(super) fn get_or_encode(&self, encode: impl FnOnce() -> Vec<u8>) -> Bytes {
        // Read before encoding: a change made while encoding leaves the
        // cache one generation behind, so the next scrape encodes again.
        let generation = self.generation.load(Ordering::Acquire);
        let current = |c: &Option<Exposition>| match c {
            Some(e) if e.generation == generation && e.at.elapsed() < PROCESS_REFRESH => {
                Some(e.body.clone())
            }
            _ => None,
        };
        if let Some(body) = current(&self.cache.read().unwrap_or_else(|p| p.into_inner())) {
            return body;
        }
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        // Another scrape may have encoded while this one waited for the lock.
        if let Some(body) = current(&cache) {
            return body;
        }
        let body = Bytes::from(encode());
        *cache = Some(Exposition {
            generation,
            at: Instant::now(),
            body: body.clone(),
        });
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn a_scrape_without_a_change_serves_the_cached_bytes() {
        let m = Metrics::new().unwrap();
        let first = m.encode();
        let second = m.encode();
        assert_eq!(first.as_ptr(), second.as_ptr(), "encoded twice");
    }

    #[test]
    fn a_change_is_in_the_very_next_scrape() {
        let m = Metrics::new().unwrap();
        let before = m.encode();
        m.observe_latch(true);
        let after = String::from_utf8(m.encode().to_vec()).unwrap();
        assert_ne!(before.as_ptr(), after.as_ptr());
        assert!(after.contains("homeswap_partial_swap 1\n"), "{after}");
        m.observe_swap(
            crate::state::outcome::Outcome::Busy,
            Duration::from_millis(3),
        );
        let again = String::from_utf8(m.encode().to_vec()).unwrap();
        assert!(
            again.contains("homeswap_swaps_total{outcome=\"busy\"} 1\n"),
            "{again}"
        );
    }

    #[test]
    fn process_values_are_refreshed_after_process_refresh() {
        let m = Metrics::new().unwrap();
        let first = m.encode();
        std::thread::sleep(PROCESS_REFRESH + Duration::from_millis(50));
        assert_ne!(first.as_ptr(), m.encode().as_ptr());
    }
}
