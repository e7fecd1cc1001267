//! The operations kit is part of the product: the Grafana dashboard, the
//! Kubernetes and systemd examples and the Prometheus configurations must
//! agree with what the sidecar really exports and accepts. These checks need
//! no Prometheus; `tests/ops_e2e.rs` runs the files against real ones.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::Sandbox;
use homeswap::{Config, LinkState};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_file(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read("dashboards/homeswap.json")).expect("the dashboard is valid JSON")
}

/// Every PromQL expression of the dashboard, with its panel's title.
fn dashboard_queries() -> Vec<(String, String)> {
    let d = dashboard();
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        if p["type"] == "row" {
            continue; // a row only heads the panels below it
        }
        let title = p["title"].as_str().unwrap().to_string();
        for t in p["targets"].as_array().expect("every panel has targets") {
            let expr = t["expr"].as_str().expect("every target has an expr");
            out.push((title.clone(), expr.to_string()));
        }
    }
    out
}

/// The metric names a PromQL expression refers to: identifiers of the
/// sidecar's own families (`homeswap_*`, `process_*`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && (expr[i..].starts_with("homeswap_") || expr[i..].starts_with("process_"))
        {
            let end = expr[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(expr.len(), |n| i + n);
            names.insert(expr[i..end].to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// The series names a real sidecar exposes (histograms with their
/// `_bucket`, `_sum` and `_count`), with `fleet` configured (its families
/// exist only then; nothing listens at its Prometheus, which is fine).
fn exported_names() -> BTreeSet<String> {
    let s = Sandbox::ready();
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    s.set_config("fleet.prometheus", format!("http://{nobody}"));
    s.add_serve_section();
    let server = s.serve(None);
    let m = server.metrics();
    let mut names: BTreeSet<String> = m
        .series
        .keys()
        .map(|k| k.split('{').next().unwrap().to_string())
        .collect();
    names.extend(m.types.keys().cloned());
    names
}

/// The contract's failover metrics (CONTRACT.md, "Metrics"), which the
/// dashboard's limit and failover panels query. Issue 14: until its failover
/// code is merged the sidecar exports none of them, and the dashboard may
/// name them on the contract's word alone; as soon as the sidecar exports
/// any of them, every one must really be exported (so this list cannot hide
/// a renamed or missing metric once the code is in).
const FAILOVER_METRICS: [&str; 3] = [
    "homeswap_account_limited",
    "homeswap_account_limit_reset_timestamp_seconds",
    "homeswap_failovers_total",
];

/// The contract's usage metrics (issue 16), which the dashboard's usage
/// panels query. The same rule as for [`FAILOVER_METRICS`]: named on the
/// contract's word while the sidecar exports none of them (the statusline
/// work is merged separately, and the gauges are absent until usage is
/// reported), all of them once it exports any.
const USAGE_METRICS: [&str; 2] = [
    "homeswap_account_usage_ratio",
    "homeswap_account_usage_reset_timestamp_seconds",
];

/// What the dashboard may query: what the sidecar exports, plus each group
/// of the contract's metrics (failover, issue 14; usage, issue 16) while
/// the sidecar exports none of that group.
fn queryable_names(exported: &BTreeSet<String>) -> BTreeSet<String> {
    let mut names = exported.clone();
    for group in [&FAILOVER_METRICS[..], &USAGE_METRICS[..]] {
        if !group.iter().any(|m| exported.contains(*m)) {
            names.extend(group.iter().map(|m| m.to_string()));
        }
    }
    names
}

#[test]
fn queryable_names_allows_the_failover_metrics_only_while_none_is_exported() {
    let base: BTreeSet<String> = ["homeswap_partial_swap".to_string()].into();
    let before = queryable_names(&base);
    for m in FAILOVER_METRICS {
        assert!(before.contains(m), "{m}");
    }
    let mut partly = base.clone();
    partly.insert("homeswap_account_limited".to_string());
    let after = queryable_names(&partly);
    assert!(after.contains("homeswap_account_limited"));
    assert!(!after.contains("homeswap_failovers_total"));
    assert!(!after.contains("homeswap_account_limit_reset_timestamp_seconds"));
    // The usage group is judged on its own.
    for m in USAGE_METRICS {
        assert!(after.contains(m), "{m}");
    }
    let mut usage = base.clone();
    usage.insert("homeswap_account_usage_ratio".to_string());
    let with_usage = queryable_names(&usage);
    assert!(!with_usage.contains("homeswap_account_usage_reset_timestamp_seconds"));
    assert!(with_usage.contains("homeswap_failovers_total"));
}

#[test]
fn every_dashboard_query_names_only_metrics_the_sidecar_exports() {
    let exported = queryable_names(&exported_names());
    let queries = dashboard_queries();
    assert!(queries.len() >= 8, "{queries:?}");
    for (title, expr) in &queries {
        let names = metric_names(expr);
        assert!(
            !names.is_empty(),
            "panel {title:?}: no homeswap metric in {expr}"
        );
        for n in names {
            assert!(
                exported.contains(&n),
                "panel {title:?} queries {n}, which the sidecar does not export"
            );
        }
    }
}

#[test]
fn the_dashboard_covers_every_host_through_its_variables() {
    let d = dashboard();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36);
    let vars = d["templating"]["list"].as_array().unwrap();
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no ${name} variable"))
    };
    assert_eq!(var("datasource")["type"], "datasource");
    assert_eq!(var("datasource")["query"], "prometheus");
    let instance = var("instance");
    assert_eq!(instance["type"], "query");
    assert_eq!(instance["multi"], true);
    assert!(instance["definition"]
        .as_str()
        .unwrap()
        .contains("homeswap_build_info"));
    for p in d["panels"].as_array().unwrap() {
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        if p["type"] == "row" {
            continue;
        }
        for t in p["targets"].as_array().unwrap() {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{}", p["title"]);
            let expr = t["expr"].as_str().unwrap();
            assert!(
                expr.contains(r#"instance=~"$instance""#),
                "panel {}: {expr} ignores the instance variable",
                p["title"]
            );
        }
    }
}

#[test]
fn the_dashboard_shows_what_the_issue_asks_for() {
    let queries = dashboard_queries();
    let uses = |metric: &str| {
        queries
            .iter()
            .any(|(_, e)| metric_names(e).contains(metric))
    };
    for metric in [
        "homeswap_partial_swap",
        "homeswap_active_account",
        "homeswap_link_state",
        "homeswap_last_validation_timestamp_seconds",
        "homeswap_validation_duration_seconds_bucket",
        "homeswap_swaps_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "homeswap_fleet_view_age_seconds",
        "homeswap_fleet_queries_total",
    ]
    .into_iter()
    .chain(FAILOVER_METRICS)
    .chain(USAGE_METRICS)
    {
        assert!(uses(metric), "no panel shows {metric}");
    }
    // Issue 14: a timeline of each account's limit, the time to its reset,
    // and the failovers by reason and outcome.
    let panel = |title: &str| {
        dashboard()["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"))
            .clone()
    };
    let limits = panel("Account limits");
    assert_eq!(limits["type"], "state-timeline");
    assert!(limits["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .contains("by (instance, account) (homeswap_account_limited{"));
    let reset = panel("Time to limit reset");
    let expr = reset["targets"][0]["expr"].as_str().unwrap();
    assert!(
        expr.contains("homeswap_account_limit_reset_timestamp_seconds")
            && expr.contains("- time()")
            && expr.ends_with("> 0"),
        "{expr}: time left, only for limited accounts"
    );
    assert_eq!(reset["fieldConfig"]["defaults"]["unit"], "dtdurations");
    let failovers = panel("Failovers (reason, outcome)");
    assert!(failovers["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .starts_with("sum by (reason, outcome) (increase(homeswap_failovers_total{"));
    let window = panel("Failovers in 30 minutes");
    assert!(window["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .contains(r#"outcome="swapped"}[30m]"#));
    // The flapping alert's threshold (more than 3) is the panel's red.
    assert_eq!(
        window["fieldConfig"]["defaults"]["thresholds"]["steps"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["value"],
        4
    );
    // Issue 16: each window's usage per account as 0-100%, the alert's 90%
    // and the failover threshold drawn (a constant variable: the threshold
    // is configuration, not a metric), and the time to each window's reset.
    let d = dashboard();
    let vars = d["templating"]["list"].as_array().unwrap();
    let threshold = vars
        .iter()
        .find(|v| v["name"] == "usage_threshold")
        .expect("a usage_threshold variable");
    assert_eq!(threshold["type"], "constant");
    assert_eq!(threshold["query"], "0.95");
    for (title, window) in [
        ("Usage: five-hour window", "five_hour"),
        ("Usage: seven-day window", "seven_day"),
    ] {
        let p = panel(title);
        assert_eq!(p["type"], "timeseries", "{title}");
        let usage = p["targets"][0]["expr"].as_str().unwrap();
        assert!(
            usage.contains("by (instance, account) (homeswap_account_usage_ratio{")
                && usage.contains(&format!(r#"window="{window}""#)),
            "{title}: {usage}"
        );
        let line = p["targets"][1]["expr"].as_str().unwrap();
        assert!(
            line.starts_with("$usage_threshold + 0 * "),
            "{title}: {line}"
        );
        let defaults = &p["fieldConfig"]["defaults"];
        assert_eq!(defaults["unit"], "percentunit", "{title}");
        assert_eq!((&defaults["min"], &defaults["max"]), (&0.into(), &1.into()));
        let steps: Vec<&serde_json::Value> = defaults["thresholds"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["value"])
            .collect();
        assert!(steps.contains(&&0.9.into()), "{title}: the alert's 90%");
        assert_eq!(defaults["custom"]["thresholdsStyle"]["mode"], "dashed");
        let overrides = p["fieldConfig"]["overrides"].to_string();
        assert!(
            overrides.contains(&format!(
                "\"{}\"",
                p["targets"][1]["legendFormat"].as_str().unwrap()
            )),
            "{title}: the threshold line has its own style"
        );
    }
    let usage_reset = panel("Time to usage window reset");
    let expr = usage_reset["targets"][0]["expr"].as_str().unwrap();
    assert!(
        expr.contains(
            "by (instance, account, window) (homeswap_account_usage_reset_timestamp_seconds{"
        ) && expr.contains("- time()")
            && expr.ends_with("> 0"),
        "{expr}: time left, only for windows still running"
    );
    assert_eq!(
        usage_reset["fieldConfig"]["defaults"]["unit"],
        "dtdurations"
    );
    // Issue 25: a Fleet row with accounts x instances, limited and usage.
    let panels = d["panels"].as_array().unwrap();
    let row = panels
        .iter()
        .position(|p| p["type"] == "row" && p["title"] == "Fleet")
        .expect("a Fleet row");
    for (offset, (title, metric)) in [
        (
            "Fleet: limited (account x instance)",
            "homeswap_account_limited{",
        ),
        (
            "Fleet: five-hour usage (account x instance)",
            "homeswap_account_usage_ratio{",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let p = &panels[row + 1 + offset];
        assert_eq!(p["title"], title);
        assert_eq!(p["type"], "table", "{title}");
        assert!(
            p["targets"][0]["expr"]
                .as_str()
                .unwrap()
                .contains(&format!("by (account, instance) ({metric}")),
            "{title}"
        );
        let matrix = &p["transformations"][0];
        assert_eq!(matrix["id"], "groupingToMatrix", "{title}");
        assert_eq!(
            (
                &matrix["options"]["rowField"],
                &matrix["options"]["columnField"]
            ),
            (&"account".into(), &"instance".into()),
            "{title}: accounts x instances"
        );
    }
    assert!(panel("Fleet view age")["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .starts_with("homeswap_fleet_view_age_seconds{"));
    // The link table: account x link, coloured by state.
    let table = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "table")
        .expect("a link health table");
    let overrides = table["fieldConfig"]["overrides"].to_string();
    for state in LinkState::ALL.map(LinkState::as_str) {
        assert!(
            overrides.contains(&format!("\"{state}\"")),
            "state {state} has no colour"
        );
    }
}

#[test]
fn metric_names_finds_every_family_in_an_expression() {
    let names = metric_names(
        r#"sum(rate(homeswap_validation_duration_seconds_sum{a="process_x"}[1m])) / process_cpu_seconds_total"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "homeswap_validation_duration_seconds_sum",
            "process_cpu_seconds_total",
            "process_x"
        ]
    );
}

/// The YAML documents of a multi-document file.
fn yaml_documents(rel: &str) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(&read(rel))
        .map(|d| serde_yaml::Value::deserialize(d).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .collect()
}

#[test]
fn the_kubernetes_example_configures_a_sidecar_homeswap_accepts() {
    let docs = yaml_documents("deploy/kubernetes/homeswap-sidecar.yaml");
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d["kind"] == k)
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let text = kind("ConfigMap")["data"]["homeswap.yaml"].as_str().unwrap();
    let config = Config::parse(Path::new("homeswap-config/homeswap.yaml"), text)
        .unwrap_or_else(|e| panic!("the ConfigMap's configuration is refused: {e}"));
    let port: u16 = config
        .serve
        .listen
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        config.serve.listen.starts_with("0.0.0.0:"),
        "probes reach the pod IP"
    );

    let pod = &kind("Deployment")["spec"]["template"];
    assert_eq!(
        pod["metadata"]["annotations"]["prometheus.io/port"]
            .as_str()
            .unwrap(),
        port.to_string()
    );
    let containers = pod["spec"]["containers"].as_sequence().unwrap();
    let sidecar = containers.iter().find(|c| c["name"] == "homeswap").unwrap();
    assert_eq!(
        sidecar["ports"][0]["containerPort"].as_u64().unwrap(),
        u64::from(port)
    );
    assert_eq!(sidecar["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(sidecar["readinessProbe"]["httpGet"]["path"], "/readyz");
    // Both containers see the homes at the same place, and the admin socket.
    let socket_dir = config
        .serve
        .admin
        .as_ref()
        .and_then(|a| a.socket.as_ref())
        .expect("the example's admin API is the socket")
        .parent()
        .unwrap()
        .to_path_buf();
    for c in containers {
        let mounts: Vec<&str> = c["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        for path in config
            .accounts
            .values()
            .map(|p| p.as_path())
            .chain([config.shared.dir()])
        {
            assert!(
                mounts.iter().any(|m| path.starts_with(m)),
                "{}: {} is not on a mounted volume",
                c["name"].as_str().unwrap(),
                path.display()
            );
        }
        assert!(mounts.contains(&socket_dir.to_str().unwrap()));
    }
    let svc_job = &kind("Service")["metadata"]["labels"]["homeswap-job"];
    assert_eq!(svc_job, "homeswap", "the rules expect job=\"homeswap\"");
    assert_eq!(kind("ServiceMonitor")["spec"]["jobLabel"], "homeswap-job");
}

#[test]
fn the_systemd_unit_can_write_everything_its_configuration_names() {
    let unit = read("deploy/systemd/homeswap.service");
    let config = Config::load(&repo_file("deploy/systemd/homeswap.yaml")).unwrap();
    let values = |key: &str| -> Vec<String> {
        unit.lines()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .flat_map(|v| v.split_whitespace().map(str::to_string))
            .collect()
    };
    for (key, want) in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("ProtectHome", "read-only"),
        ("StateDirectory", "homeswap"),
    ] {
        assert_eq!(values(key), [want], "{key}");
    }
    let writable: Vec<PathBuf> = values("ReadWritePaths")
        .into_iter()
        .map(PathBuf::from)
        .collect();
    let mut needs: Vec<PathBuf> = config.accounts.values().cloned().collect();
    needs.push(config.shared.dir().to_path_buf());
    // The flip writes a temporary link beside the active link.
    needs.push(config.active_link.parent().unwrap().to_path_buf());
    for path in needs {
        assert!(
            writable.iter().any(|w| path.starts_with(w)),
            "{} is not in ReadWritePaths",
            path.display()
        );
    }
    assert_eq!(config.state_dir, Path::new("/var/lib/homeswap"));
    assert!(values("Environment")
        .iter()
        .any(|e| e == "HOMESWAP_CONFIG=/etc/homeswap/homeswap.yaml"));
}

#[test]
fn the_prometheus_examples_scrape_the_job_the_rules_expect() {
    let rules = read("alerts/homeswap.rules.yml");
    assert!(rules.contains(r#"up{job="homeswap"}"#));
    for rel in [
        "deploy/prometheus/prometheus.yml",
        "deploy/prometheus/prometheus-kubernetes.yml",
    ] {
        let doc = &yaml_documents(rel)[0];
        let jobs: Vec<&str> = doc["scrape_configs"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|j| j["job_name"].as_str().unwrap())
            .collect();
        assert_eq!(jobs, ["homeswap"], "{rel}");
        assert!(doc["rule_files"][0]
            .as_str()
            .unwrap()
            .ends_with("homeswap.rules.yml"));
    }
}

#[test]
fn the_dockerfile_runs_the_sidecar_as_a_non_root_user_with_a_health_check() {
    let dockerfile = read("Dockerfile");
    let last_stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    assert!(dockerfile.matches("\nFROM ").count() >= 1, "multi-stage");
    let user = last_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the runtime stage");
    assert_ne!(user.trim(), "root");
    assert_ne!(user.trim(), "0");
    assert!(last_stage.contains("EXPOSE 9464 9465"));
    assert!(last_stage.contains("/healthz"));
    assert!(last_stage.contains("HOMESWAP_CONFIG=/etc/homeswap/homeswap.yaml"));
}

#[test]
fn every_alert_has_a_runbook_section_and_a_promtool_test() {
    let rules = &yaml_documents("alerts/homeswap.rules.yml")[0];
    let tests = read("alerts/homeswap.tests.yml");
    let runbook = read("alerts/RUNBOOK.md");
    let alerts: Vec<&serde_yaml::Value> = rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .filter(|r| r["alert"].is_string())
        .collect();
    let names: Vec<&str> = alerts
        .iter()
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    for want in [
        "HomeswapAllAccountsLimited",
        "HomeswapFailoverFlapping",
        "HomeswapUsageHigh",
        "HomeswapFleetViewStale",
    ] {
        assert!(names.contains(&want), "no alert {want}: {names:?}");
    }
    for rule in alerts {
        let name = rule["alert"].as_str().unwrap();
        let severity = rule["labels"]["severity"].as_str().unwrap();
        assert!(["page", "ticket"].contains(&severity), "{name}: {severity}");
        let url = rule["annotations"]["runbook_url"].as_str().unwrap();
        assert_eq!(
            url,
            format!("alerts/RUNBOOK.md#{}", name.to_lowercase()),
            "{name}"
        );
        assert!(
            runbook.lines().any(|l| l == format!("## {name}")),
            "RUNBOOK.md has no section for {name}"
        );
        assert!(
            tests.contains(&format!("alertname: {name}\n")),
            "homeswap.tests.yml does not test {name}"
        );
    }
}
