//! Once the sidecar has caught up, `/api/v1/status` and `/metrics` say
//! what `homeswap status --json` says: the active account, the latch,
//! every link's state, every account's limit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::server::Metrics;

use super::world::World;

/// How long the sidecar may take to catch up: notifications within 1 s
/// (the contract), plus a loaded machine's scheduling.
const CATCH_UP: Duration = Duration::from_secs(3);

/// What the three views are compared on.
#[derive(Debug, PartialEq)]
struct View {
    active: Option<String>,
    latched: bool,
    links: BTreeMap<(String, String), String>,
    limited: BTreeMap<String, bool>,
}

fn from_status(st: &Value) -> View {
    let mut links = BTreeMap::new();
    for a in st["accounts"].as_array().into_iter().flatten() {
        for l in a["links"].as_array().into_iter().flatten() {
            links.insert(
                (
                    l["account"].as_str().unwrap_or("").to_string(),
                    l["link"].as_str().unwrap_or("").to_string(),
                ),
                l["state"].as_str().unwrap_or("").to_string(),
            );
        }
    }
    let limited = st["limits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["account"].as_str().unwrap_or("").to_string(),
                l["limited"] == true,
            )
        })
        .collect();
    View {
        active: st["active"].as_str().map(str::to_string),
        latched: !st["latch"].is_null(),
        links,
        limited,
    }
}

/// The same view as the metrics give it (a link's state from its
/// stateset, an account's limit from its gauge).
fn from_metrics(m: &Metrics, like: &View) -> View {
    let get = |series: String| m.series.get(&series).copied();
    let active = like
        .limited
        .keys()
        .find(|a| get(format!("homeswap_active_account{{account=\"{a}\"}}")) == Some(1.0))
        .cloned();
    let links = like
        .links
        .keys()
        .map(|(a, l)| {
            let state = crate::common::LINK_STATES
                .iter()
                .find(|s| {
                    get(format!(
                        "homeswap_link_state{{account=\"{a}\",link=\"{l}\",state=\"{s}\"}}"
                    )) == Some(1.0)
                })
                .map_or("(none)", |s| s);
            ((a.clone(), l.clone()), state.to_string())
        })
        .collect();
    let limited = like
        .limited
        .keys()
        .map(|a| {
            let v = get(format!("homeswap_account_limited{{account=\"{a}\"}}"));
            (a.clone(), v == Some(1.0))
        })
        .collect();
    View {
        active,
        latched: get("homeswap_partial_swap".into()) == Some(1.0),
        links,
        limited,
    }
}

/// Waits until the sidecar's status and metrics match `status` (the
/// CLI's, asked again by `again` after a difference: a request whose
/// client was killed may still be running in the sidecar); a difference
/// left after [`CATCH_UP`] is a violation.
pub fn check(
    world: &World,
    status: &Value,
    mut again: impl FnMut() -> Option<Value>,
    v: &mut Vec<String>,
) {
    let Some(addr) = world.read_addr() else {
        return;
    };
    let mut want = from_status(status);
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < CATCH_UP {
        if !world.sidecar_up() {
            return;
        }
        let api = super::http::get(addr, "/api/v1/status")
            .ok()
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok());
        let metrics = super::http::get(addr, "/metrics")
            .ok()
            .map(|r| Metrics::parse(&r.text()));
        if let (Some(api), Some(metrics)) = (api, metrics) {
            let api = from_status(&api);
            let exposed = from_metrics(&metrics, &want);
            if api == want && exposed == want {
                return;
            }
            last = format!("CLI {want:?}\n    api {api:?}\n    metrics {exposed:?}");
        }
        if let Some(st) = again() {
            want = from_status(&st);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    v.push(format!(
        "the sidecar disagrees with `status --json` {CATCH_UP:?} later:\n    {last}"
    ));
}
