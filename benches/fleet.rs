//! The failover's choice with a fleet view (issue 25): 1,000 accounts
//! (configured here, every link `ok`) seen by 100 instances, against the
//! same choice without a view, in the same run.
//!
//! The view is made the way a real one is: `homeswap serve` (the release
//! binary) refreshes it from a stand-in of Prometheus's HTTP API on
//! 127.0.0.1 that answers the four instant queries as Prometheus would for
//! such a fleet (Prometheus reduces the usage to the freshest report per
//! account, so the usage answers hold one report per account; the limits
//! answer holds every limited (account, instance) pair: 50,000 series);
//! once `<state_dir>/fleet.json` is written the sidecar is stopped. Then
//! `homeswap::failover_choice` (step 4, read-only: the limits, the
//! usage, the active link and, with `fleet`, the view, all from disk) is
//! timed with the configuration as written and with its `fleet` section
//! removed, interleaved one by one. Two views:
//!
//! - **same pick**: accounts 500-999 are limited on every instance, so the
//!   choice from account 0 takes account 1 either way: what reading and
//!   consulting the view costs;
//! - **half limited**: accounts 1-500 are limited on every instance, so
//!   with the view the choice skips 500 accounts (naming where each was
//!   seen) and takes account 501. The reference then is the same choice
//!   knowing the same 500 limits locally (its own `limits.json`, another
//!   state dir, no `fleet`): the same outcome from this host's knowledge.
//!
//! `failover.threshold` is set and every account's usage (10%) is known,
//! so the usage rule runs for every account the choice looks at.
//!
//! `cargo bench --bench fleet` (add `-- --smoke` for a seconds-long check).

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

use homeswap::failover_choice as choice;
use homeswap::Context;
use support::{percentile, table, us, Layout, Opts};

const ACCOUNTS: usize = 1000;
const INSTANCES: usize = 100;

/// The issue's goal: what the view adds to the choice.
const GOAL: Duration = Duration::from_millis(1);

fn main() {
    let opts = Opts::from_args();
    println!(
        "## homeswap fleet benchmarks{}",
        if opts.smoke {
            " (smoke: timings mean nothing)"
        } else {
            ""
        }
    );
    if opts.runs("fleet") {
        fleet_choice(&opts);
    }
}

/// Which accounts a view has limited on every instance.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    SamePick,
    HalfLimited,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::SamePick => "same pick (accounts 500-999 limited everywhere)",
            Scenario::HalfLimited => {
                "half limited (accounts 1-500 limited everywhere; reference: the same limits in limits.json)"
            }
        }
    }

    fn limited(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Scenario::SamePick => 500..=999,
            Scenario::HalfLimited => 1..=500,
        }
    }

    /// The account the choice from account 0 takes with the view.
    fn pick(self) -> usize {
        match self {
            Scenario::SamePick => 1,
            Scenario::HalfLimited => 501,
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn vector(series: impl Iterator<Item = String>) -> Bytes {
    let result: Vec<String> = series.collect();
    Bytes::from(format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        result.join(",")
    ))
}

/// The four answers Prometheus would give for `scenario`'s fleet, by the
/// start of the query (`query=<metric name>...`).
fn answers(scenario: Scenario, names: &[String]) -> Vec<(&'static str, Bytes)> {
    let t = now();
    let sample =
        |labels: String, v: String| format!(r#"{{"metric":{{{labels}}},"value":[{t},"{v}"]}}"#);
    let limits = vector(
        scenario
            .limited()
            .flat_map(|a| (0..INSTANCES).map(move |i| (a, i)))
            .map(|(a, i)| {
                sample(
                    format!(
                        r#""job":"homeswap","account":"{}","instance":"host{i:03}:9464""#,
                        names[a]
                    ),
                    (t + 3600 + i as u64).to_string(),
                )
            }),
    );
    // The freshest report of each account is on instance (account % 100).
    let reporter = |a: usize| format!("host{:03}:9464", a % INSTANCES);
    let updated = vector((0..ACCOUNTS).map(|a| {
        sample(
            format!(
                r#""job":"homeswap","account":"{}","instance":"{}""#,
                names[a],
                reporter(a)
            ),
            (t - 60).to_string(),
        )
    }));
    let windows = |value: &dyn Fn(&str) -> String| {
        vector((0..ACCOUNTS).flat_map(|a| {
            ["five_hour", "seven_day"].map(|w| {
                sample(
                    format!(
                        r#""job":"homeswap","account":"{}","instance":"{}","window":"{w}""#,
                        names[a],
                        reporter(a)
                    ),
                    value(w),
                )
            })
        }))
    };
    let ratio = windows(&|_| "0.1".to_string());
    let reset = windows(&|w| {
        (t + if w == "five_hour" {
            3 * 3600
        } else {
            4 * 86400
        })
        .to_string()
    });
    vec![
        ("query=homeswap_account_limit_reset", limits),
        ("query=homeswap_account_usage_updated", updated),
        ("query=homeswap_account_usage_ratio", ratio),
        ("query=homeswap_account_usage_reset", reset),
    ]
}

/// A stand-in of Prometheus's query API on 127.0.0.1, answering from
/// `answers` (for as long as the runtime runs).
fn stand_in(rt: &tokio::runtime::Runtime, answers: Vec<(&'static str, Bytes)>) -> SocketAddr {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let answers = Arc::new(answers);
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let answers = answers.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let query = req.uri().query().unwrap_or("").to_string();
                        let body = answers
                            .iter()
                            .find(|(prefix, _)| query.starts_with(prefix))
                            .map(|(_, b)| b.clone());
                        async move {
                            let (status, body) = match body {
                                Some(b) => (200, b),
                                None => (400, Bytes::from_static(b"unknown query")),
                            };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(body))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// `homeswap serve` on `layout` until the fleet view is written; returns
/// its size in bytes and how long the sidecar took from start to it.
fn make_view(layout: &Layout) -> (u64, Duration) {
    let view = layout.dir.path().join("state/fleet.json");
    let _ = std::fs::remove_file(&view);
    let start = Instant::now();
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .arg("--config")
        .arg(&layout.config_path)
        .args(["serve", "--log-format", "json"])
        .env_remove("HOMESWAP_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("fleet view"))
    });
    let line = lines.join().unwrap().unwrap_or_default();
    let took = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.contains("\"fleet view refreshed\""),
        "the sidecar said: {line}"
    );
    let size = std::fs::metadata(&view).expect("fleet.json written").len();
    (size, took)
}

/// The reference's own `limits.json`: for half limited, accounts 1-500
/// limited for an hour (the limits record as `homeswap failover` writes it).
fn write_local_limits(dir: &std::path::Path, scenario: Scenario, names: &[String]) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("limits.json");
    let _ = std::fs::remove_file(&path);
    let Scenario::HalfLimited = scenario else {
        return;
    };
    let t = now();
    let accounts: serde_json::Map<String, serde_json::Value> = scenario
        .limited()
        .map(|a| {
            (
                names[a].clone(),
                serde_json::json!({"reason": "rate_limit", "since": t, "until": t + 3600, "source": "given"}),
            )
        })
        .collect();
    std::fs::write(
        path,
        serde_json::json!({ "accounts": accounts }).to_string(),
    )
    .unwrap();
}

fn fleet_choice(opts: &Opts) {
    let runs = if opts.smoke { 20 } else { 2000 };
    let layout = Layout::new(ACCOUNTS, true);
    let names: Vec<String> = layout.homes.iter().map(|(n, _)| n.clone()).collect();
    let base = std::fs::read_to_string(&layout.config_path).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    let mut worst_added = Duration::ZERO;
    for scenario in [Scenario::SamePick, Scenario::HalfLimited] {
        let prometheus = stand_in(&rt, answers(scenario, &names));
        std::fs::write(
            &layout.config_path,
            format!(
                "{base}failover:\n  threshold: 95\nfleet:\n  prometheus: http://{prometheus}\n  interval: 1h\n  max_age: 24h\n  timeout: 30s\nserve:\n  listen: 127.0.0.1:0\n  interval: 1h\n"
            ),
        )
        .unwrap();
        let (size, made_in) = make_view(&layout);
        let with = Context::new(layout.config());
        let local = layout.dir.path().join("state-local");
        let mut local_only = layout.config();
        local_only.fleet = None;
        local_only.state_dir = local.clone();
        let without = Context::new(local_only);
        write_local_limits(&local, scenario, &names);
        for ctx in [&with, &without] {
            assert_eq!(choice(ctx).unwrap(), names[scenario.pick()], "{scenario:?}");
        }
        let (mut a, mut b) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        for i in 0..runs {
            // Interleaved, the order alternating: load falls on both alike.
            let order: [&Context; 2] = if i % 2 == 0 {
                [&with, &without]
            } else {
                [&without, &with]
            };
            for ctx in order {
                let t = Instant::now();
                let picked = choice(ctx);
                let took = t.elapsed();
                std::hint::black_box(picked).ok();
                if std::ptr::eq(ctx, &with) {
                    a.push(took);
                } else {
                    b.push(took);
                }
            }
        }
        let (w50, w99, n50, n99) = (
            percentile(&a, 50.0),
            percentile(&a, 99.0),
            percentile(&b, 50.0),
            percentile(&b, 99.0),
        );
        let added = w50.saturating_sub(n50);
        worst_added = worst_added.max(added);
        rows.push(vec![
            scenario.label().to_string(),
            runs.to_string(),
            format!("{:.0} KiB", size as f64 / 1024.0),
            format!("{:.0}", made_in.as_secs_f64() * 1e3),
            us(n50),
            us(n99),
            us(w50),
            us(w99),
            us(added),
            format!("{:.2}×", w50.as_secs_f64() / n50.as_secs_f64()),
        ]);
    }
    table(
        &format!("The failover's choice with a fleet view and without ({ACCOUNTS} accounts × {INSTANCES} instances; µs)"),
        &[
            "view",
            "runs each",
            "fleet.json",
            "sidecar start to view written ms",
            "reference p50",
            "reference p99",
            "with p50",
            "with p99",
            "added p50",
            "with / reference p50",
        ],
        &rows,
    );
    println!(
        "goal: the view adds under {} ms (p50): at most {} µs, {}",
        GOAL.as_millis(),
        us(worst_added),
        if worst_added < GOAL { "met" } else { "NOT met" }
    );
}
