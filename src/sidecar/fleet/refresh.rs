//! One refresh of the fleet view, and the task that makes one every
//! `fleet.interval`.
//!
//! A refresh asks the four queries at once (each bounded by
//! `fleet.timeout`), and only when all four answered does the new view
//! replace the old one: a partial refresh would mix two moments. A refresh
//! that fails keeps the old view's data and records why in it, so the
//! CLI, the page and the failover can say both how old the data is and why
//! it is not newer. Every refresh counts in `homeswap_fleet_queries_total`.

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::FleetConfig;
use crate::sidecar::fleet::answer::{self, Answer};
use crate::sidecar::fleet::build::{build, Answers};
use crate::sidecar::fleet::client::{FetchError, PromClient};
use crate::sidecar::fleet::query::QueryKind;
use crate::sidecar::Sidecar;
use crate::state::fleet::{FleetView, RefreshFailure, RefreshOutcome};
use crate::state::limits::unix_now;
use crate::state::StateDir;

/// Why a refresh did not replace the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefreshError {
    /// `error` or `timeout` (the metric's label).
    pub(crate) outcome: RefreshOutcome,
    /// What failed, one line, naming the query.
    pub(crate) message: String,
}

impl RefreshError {
    fn error(message: String) -> RefreshError {
        RefreshError {
            outcome: RefreshOutcome::Error,
            message,
        }
    }
}

/// Asks the four queries of `config` at once and builds the view of
/// their answers at `now`.
pub(crate) async fn refresh_once(
    config: &FleetConfig,
    now: u64,
) -> Result<FleetView, RefreshError> {
    let client = PromClient::new(config).map_err(RefreshError::error)?;
    let ask = |kind: QueryKind| {
        let client = &client;
        async move {
            let uri = kind.uri(&config.prometheus, &config.selector);
            (kind, client.get(&uri).await)
        }
    };
    let [l, u, r, s] = QueryKind::ALL;
    let (l, u, r, s) = tokio::join!(ask(l), ask(u), ask(r), ask(s));
    let results = [l, u, r, s];
    // A timeout is the outcome when any query timed out: the server is
    // slow, whatever else the others said.
    if let Some((kind, Err(e))) = results
        .iter()
        .find(|(_, r)| matches!(r, Err(FetchError::Timeout(_))))
    {
        return Err(RefreshError {
            outcome: RefreshOutcome::Timeout,
            message: format!("{} query: {e}", kind.name()),
        });
    }
    let mut answers = Answers::default();
    for (kind, result) in results {
        let parsed = result
            .map_err(|e| e.to_string())
            .and_then(|(status, body)| answer::parse(status, &body))
            .map_err(|why| {
                RefreshError::error(format!(
                    "{} query to {}: {why}",
                    kind.name(),
                    config.prometheus
                ))
            })?;
        *slot(&mut answers, kind) = parsed;
    }
    Ok(build(config, &answers, now))
}

/// Where the answer of `kind` goes.
fn slot(answers: &mut Answers, kind: QueryKind) -> &mut Answer {
    match kind {
        QueryKind::Limits => &mut answers.limits,
        QueryKind::Updated => &mut answers.updated,
        QueryKind::Ratio => &mut answers.ratio,
        QueryKind::Reset => &mut answers.reset,
    }
}

/// The view after a failed refresh: the last good data of the same
/// Prometheus and selector (none of another), with the failure recorded.
pub(crate) fn failed_view(
    previous: Option<FleetView>,
    config: &FleetConfig,
    error: &RefreshError,
    now: u64,
) -> FleetView {
    let mut view = previous
        .filter(|v| v.prometheus == config.prometheus && v.selector == config.selector)
        .unwrap_or_else(|| FleetView {
            prometheus: config.prometheus.clone(),
            selector: config.selector.clone(),
            ..FleetView::default()
        });
    view.failure = Some(RefreshFailure {
        at: now,
        outcome: error.outcome,
        message: error.message.clone(),
    });
    view
}

/// Refreshes the view every `fleet.interval` while `fleet` is configured
/// (checked again after every refresh and every `serve.interval`, so a
/// reload that adds or removes the section takes effect), until `stop`.
pub(crate) async fn refresh_loop(sidecar: Arc<Sidecar>, mut stop: watch::Receiver<bool>) {
    let mut last: Option<RefreshOutcome> = None;
    loop {
        let ctx = sidecar.context();
        let Some(config) = ctx.config.fleet.clone() else {
            sidecar.metrics.fleet_off();
            last = None;
            tokio::select! {
                _ = tokio::time::sleep(ctx.config.serve.interval) => continue,
                _ = stop.changed() => return,
            }
        };
        let now = unix_now();
        let result = tokio::select! {
            r = refresh_once(&config, now) => r,
            _ = stop.changed() => return,
        };
        let state = ctx.state.clone();
        let outcome = match &result {
            Ok(_) => RefreshOutcome::Ok,
            Err(e) => e.outcome,
        };
        let summary = Summary::of(&result);
        let written =
            tokio::task::spawn_blocking(move || record(&state, &config, result, now)).await;
        // Logged once the view is written: whoever reads the log line
        // finds the file.
        summary.log_change(last);
        last = Some(outcome);
        let refreshed = match written {
            Ok(Ok(refreshed)) => refreshed,
            Ok(Err((refreshed, e))) => {
                tracing::warn!(error = %e, "the fleet view could not be written; the CLI and the hooks go by their own knowledge");
                refreshed
            }
            Err(_) => 0,
        };
        sidecar.metrics.observe_fleet_refresh(outcome, refreshed);
        let interval = ctx
            .config
            .fleet
            .as_ref()
            .map_or(ctx.config.serve.interval, |f| f.interval);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Writes the view a refresh gave (or the old one with its failure);
/// returns the Unix time of the data in the file (0: none yet), with the
/// write's error if it failed.
fn record(
    state: &StateDir,
    config: &FleetConfig,
    result: Result<FleetView, RefreshError>,
    now: u64,
) -> Result<u64, (u64, String)> {
    let view = match result {
        Ok(v) => v,
        Err(e) => failed_view(FleetView::read(state).ok().flatten(), config, &e, now),
    };
    match view.write(state) {
        Ok(()) => Ok(view.refreshed),
        Err(e) => Err((view.refreshed, e.to_string())),
    }
}

/// What a refresh's log line says.
enum Summary {
    /// The view was replaced: its accounts, those limited, series dropped.
    Refreshed(usize, usize, usize),
    /// It was not.
    Failed(RefreshError),
}

impl Summary {
    fn of(result: &Result<FleetView, RefreshError>) -> Summary {
        match result {
            Ok(v) => Summary::Refreshed(
                v.accounts.len(),
                v.accounts
                    .values()
                    .filter(|a| !a.limited.is_empty())
                    .count(),
                v.dropped,
            ),
            Err(e) => Summary::Failed(e.clone()),
        }
    }

    /// One log event when the refreshes start failing, another when they
    /// work again, not one per refresh.
    fn log_change(self, last: Option<RefreshOutcome>) {
        match (last, self) {
            (None, Summary::Refreshed(accounts, limited, dropped)) => {
                tracing::info!(accounts, limited, dropped, "fleet view refreshed")
            }
            (
                Some(RefreshOutcome::Error | RefreshOutcome::Timeout),
                Summary::Refreshed(accounts, ..),
            ) => tracing::info!(accounts, "fleet view refreshed again"),
            (Some(RefreshOutcome::Ok) | None, Summary::Failed(e)) => tracing::warn!(
                outcome = e.outcome.as_str(),
                error = %e.message,
                "fleet view not refreshed; failovers go by the last view until it is older than fleet.max_age, then by this host's knowledge"
            ),
            _ => {}
        }
    }
}
