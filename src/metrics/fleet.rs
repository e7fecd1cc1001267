//! The fleet view's families: `homeswap_fleet_view_age_seconds` and
//! `homeswap_fleet_queries_total{outcome}`, present only while `fleet` is
//! configured. The age is set when the text is encoded, so it grows
//! between refreshes.

use std::time::{SystemTime, UNIX_EPOCH};

use super::Metrics;
use crate::state::fleet::RefreshOutcome;

impl Metrics {
    /// `fleet` is configured: the fleet families are exported (each
    /// refresh outcome from 0), the view's age counting from `since`.
    pub(crate) fn fleet_on(&self, since: u64) {
        for outcome in RefreshOutcome::ALL {
            self.families
                .fleet
                .queries
                .with_label_values(&[outcome.as_str()]);
        }
        *self.fleet_since.lock().unwrap_or_else(|p| p.into_inner()) = Some(since);
        self.exposition.changed();
    }

    /// `fleet` is not configured (any more): the fleet families are absent.
    pub(crate) fn fleet_off(&self) {
        let mut since = self.fleet_since.lock().unwrap_or_else(|p| p.into_inner());
        if since.take().is_some() {
            let _ = self
                .families
                .fleet
                .view_age
                .remove_label_values(&[] as &[&str]);
            self.families.fleet.queries.reset();
            self.exposition.changed();
        }
    }

    /// Records one fleet refresh: its outcome and the Unix time of the
    /// view's data now (0: there is none yet, and the age keeps counting
    /// from where it did).
    pub(crate) fn observe_fleet_refresh(&self, outcome: RefreshOutcome, refreshed: u64) {
        let since = {
            let since = self.fleet_since.lock().unwrap_or_else(|p| p.into_inner());
            match (refreshed, *since) {
                (0, Some(s)) => s,
                (0, None) => unix_now().as_secs(),
                (r, _) => r,
            }
        };
        self.fleet_on(since);
        self.families
            .fleet
            .queries
            .with_label_values(&[outcome.as_str()])
            .inc();
    }

    /// Sets the view's age to now, while `fleet` is configured: called at
    /// encoding, so the age is at most as old as the text (like the
    /// `process_*` values).
    pub(super) fn set_fleet_view_age(&self) {
        if let Some(since) = *self.fleet_since.lock().unwrap_or_else(|p| p.into_inner()) {
            self.families
                .fleet
                .view_age
                .with_label_values(&[] as &[&str])
                .set((unix_now().as_secs_f64() - since as f64).max(0.0));
        }
    }
}

/// The time since the Unix epoch (zero before it).
fn unix_now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The age as exposed, or a panic showing the text.
    fn view_age(m: &Metrics) -> f64 {
        let t = String::from_utf8(m.encode_now()).unwrap();
        t.lines()
            .find_map(|l| l.strip_prefix("homeswap_fleet_view_age_seconds "))
            .unwrap_or_else(|| panic!("{t}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn the_fleet_families_exist_only_while_fleet_is_configured() {
        let m = Metrics::new().unwrap();
        let text = || String::from_utf8(m.encode_now()).unwrap();
        assert!(!text().contains("homeswap_fleet_"), "{}", text());
        let now = unix_now().as_secs();
        m.fleet_on(now - 30);
        let age = view_age(&m);
        assert!((29.0..40.0).contains(&age), "{age}");
        let t = text();
        for outcome in ["ok", "error", "timeout"] {
            assert!(
                t.contains(&format!(
                    "homeswap_fleet_queries_total{{outcome=\"{outcome}\"}} 0\n"
                )),
                "{t}"
            );
        }
        m.observe_fleet_refresh(RefreshOutcome::Error, 0);
        m.observe_fleet_refresh(RefreshOutcome::Timeout, 0);
        assert!(text().contains("homeswap_fleet_queries_total{outcome=\"error\"} 1\n"));
        let age = view_age(&m);
        assert!(
            age >= 29.0,
            "a failed refresh does not make the view younger: {age}"
        );
        m.observe_fleet_refresh(RefreshOutcome::Ok, unix_now().as_secs());
        assert!(
            text().contains("homeswap_fleet_view_age_seconds 0"),
            "{}",
            text()
        );
        m.fleet_off();
        assert!(!text().contains("homeswap_fleet_"), "{}", text());
    }
}
