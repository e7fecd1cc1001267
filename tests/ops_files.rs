//! The operations kit is part of the product: the Grafana dashboard, the
//! Kubernetes and systemd examples and the Prometheus configurations must
//! agree with what the sidecar really exports and accepts. These checks need
//! no Prometheus; `tests/ops_e2e.rs` runs the files against real ones.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::Sandbox;
use homeswap::config::Config;
use homeswap::links::LinkState;

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
/// `_bucket`, `_sum` and `_count`).
fn exported_names() -> BTreeSet<String> {
    let s = Sandbox::ready();
    s.add_serve_section("dashboard-token", "");
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

#[test]
fn every_dashboard_query_names_only_metrics_the_sidecar_exports() {
    let exported = exported_names();
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
    ] {
        assert!(uses(metric), "no panel shows {metric}");
    }
    // The link table: account x link, coloured by state.
    let d = dashboard();
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
