//! The `fleet:` section: where the sidecar reads what the other hosts of
//! the fleet know (a Prometheus HTTP API, or Thanos, Mimir or
//! VictoriaMetrics, which answer the same queries), which series are this
//! fleet's, how often, how old a view may be, and how to authenticate.
//!
//! Every value is checked here, so the sidecar only ever builds requests
//! from a URL, a selector and files that made sense when they were loaded.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::checker::Checker;
use super::duration::Bounds;
use super::error::ConfigError;
use super::model::{
    FleetAuth, FleetConfig, DEFAULT_FLEET_INTERVAL, DEFAULT_FLEET_MAX_AGE, DEFAULT_FLEET_SELECTOR,
    DEFAULT_FLEET_TIMEOUT,
};

/// `fleet.interval`: a second (Prometheus scrapes no faster) to an hour.
const INTERVAL: Bounds = Bounds {
    min: Duration::from_secs(1),
    max: Duration::from_secs(3600),
};

/// `fleet.max_age`: a second to a day (and longer than the interval).
const MAX_AGE: Bounds = Bounds {
    min: Duration::from_secs(1),
    max: Duration::from_secs(24 * 3600),
};

/// `fleet.timeout`: 10 ms to a minute (and at most the interval).
const TIMEOUT: Bounds = Bounds {
    min: Duration::from_millis(10),
    max: Duration::from_secs(60),
};

/// The longest selector accepted: a few label matchers, not a program.
const SELECTOR_LIMIT: usize = 4096;

/// The `fleet:` section as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    /// The Prometheus HTTP API's base URL.
    #[serde(default)]
    pub(crate) prometheus: Option<String>,
    /// Label matchers in braces, e.g. `{job="homeswap"}`.
    #[serde(default)]
    pub(crate) selector: Option<String>,
    /// How often the view is refreshed (humantime).
    #[serde(default)]
    pub(crate) interval: Option<String>,
    /// The age past which a view is not used (humantime).
    #[serde(default)]
    pub(crate) max_age: Option<String>,
    /// The bound on each query (humantime).
    #[serde(default)]
    pub(crate) timeout: Option<String>,
    /// A file holding a bearer token.
    #[serde(default)]
    pub(crate) bearer_token_file: Option<PathBuf>,
    /// A file holding `USER:PASSWORD`.
    #[serde(default)]
    pub(crate) basic_auth_file: Option<PathBuf>,
    /// A PEM file of the CA certificates that sign the server's.
    #[serde(default)]
    pub(crate) ca_file: Option<PathBuf>,
}

/// The checked section.
pub(super) fn check(checker: &Checker, raw: RawFleet) -> Result<FleetConfig, ConfigError> {
    let key = |k: &'static str| ["fleet", k];
    let Some(url) = raw.prometheus.as_deref() else {
        return Err(checker.invalid(
            &["fleet"],
            "prometheus is required: the base URL of the Prometheus HTTP API, e.g. http://prometheus:9090",
        ));
    };
    let prometheus = base_url(url).map_err(|why| checker.invalid(&key("prometheus"), why))?;
    let selector = match &raw.selector {
        None => DEFAULT_FLEET_SELECTOR.to_string(),
        Some(s) => selector(s).map_err(|why| checker.invalid(&key("selector"), why))?,
    };
    let (interval, max_age, timeout) = durations(checker, &raw)?;
    let auth = auth(checker, raw.bearer_token_file, raw.basic_auth_file)?;
    if let Some(ca) = &raw.ca_file {
        checker.absolute(&key("ca_file"), ca)?;
        if !prometheus.starts_with("https://") {
            return Err(checker.invalid(
                &key("ca_file"),
                "a CA file is only used with an https:// prometheus URL",
            ));
        }
    }
    Ok(FleetConfig {
        prometheus,
        selector,
        interval,
        max_age,
        timeout,
        auth,
        ca_file: raw.ca_file,
    })
}

/// `interval`, `max_age` and `timeout`, each in its range and in
/// proportion to the others.
fn durations(
    checker: &Checker,
    raw: &RawFleet,
) -> Result<(Duration, Duration, Duration), ConfigError> {
    let key = |k: &'static str| ["fleet", k];
    let duration = |k: &'static str, text: &Option<String>, default, bounds| match text {
        None => Ok(default),
        Some(t) => checker.duration(&key(k), t, bounds),
    };
    let interval = duration("interval", &raw.interval, DEFAULT_FLEET_INTERVAL, INTERVAL)?;
    let max_age = duration("max_age", &raw.max_age, DEFAULT_FLEET_MAX_AGE, MAX_AGE)?;
    let timeout = duration("timeout", &raw.timeout, DEFAULT_FLEET_TIMEOUT, TIMEOUT)?;
    let shown = |d: Duration| humantime::format_duration(d).to_string();
    if max_age <= interval {
        return Err(checker.invalid(
            &key("max_age"),
            format!(
                "{} is not longer than fleet.interval ({}): every view would be too old before the next one",
                shown(max_age),
                shown(interval)
            ),
        ));
    }
    if timeout > interval {
        return Err(checker.invalid(
            &key("timeout"),
            format!(
                "{} is longer than fleet.interval ({}): give a timeout of at most the interval",
                shown(timeout),
                shown(interval)
            ),
        ));
    }
    Ok((interval, max_age, timeout))
}

/// The credentials: a bearer token file or a basic auth file, not both.
fn auth(
    checker: &Checker,
    bearer: Option<PathBuf>,
    basic: Option<PathBuf>,
) -> Result<FleetAuth, ConfigError> {
    let key = |k: &'static str| ["fleet", k];
    match (bearer, basic) {
        (Some(_), Some(_)) => Err(checker.invalid(
            &key("basic_auth_file"),
            "give either bearer_token_file or basic_auth_file, not both",
        )),
        (Some(t), None) => {
            checker.absolute(&key("bearer_token_file"), &t)?;
            Ok(FleetAuth::BearerTokenFile(t))
        }
        (None, Some(b)) => {
            checker.absolute(&key("basic_auth_file"), &b)?;
            Ok(FleetAuth::BasicAuthFile(b))
        }
        (None, None) => Ok(FleetAuth::None),
    }
}

/// `url` as a base URL: `http://` or `https://`, a host (name, IPv4 or
/// `[IPv6]`) with an optional port, an optional path prefix (Thanos,
/// Mimir and reverse proxies serve the API below one), nothing else.
fn base_url(url: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{url:?} is not usable: {why}"));
    let Some((scheme, rest)) = url.split_once("://") else {
        return bad("give http:// or https://, a host and a port, e.g. http://prometheus:9090");
    };
    if scheme != "http" && scheme != "https" {
        return bad("the scheme must be http or https");
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("it holds spaces or control characters");
    }
    if url.contains(['?', '#']) {
        return bad("give the base URL only, without ?query or #fragment");
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return bad("credentials do not go in the URL: use fleet.basic_auth_file");
    }
    // The host, and what follows it: nothing, or ":PORT".
    let (host, after) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, after)) if h.parse::<std::net::Ipv6Addr>().is_ok() => (h, after),
            _ => return bad("an IPv6 address goes in brackets: http://[::1]:9090"),
        },
        None => authority.split_at(authority.find(':').unwrap_or(authority.len())),
    };
    let bracketed = authority.starts_with('[');
    let name_ok = |h: &str| {
        h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    };
    if host.is_empty() || !(bracketed || name_ok(host)) {
        return bad("no host, or a host name with characters a host name cannot hold");
    }
    match after.strip_prefix(':') {
        Some(p) if !matches!(p.parse::<u16>(), Ok(1..)) => {
            return bad("the port must be a number between 1 and 65535")
        }
        None if !after.is_empty() => return bad("after the host comes :PORT or /PATH"),
        _ => {}
    }
    Ok(format!(
        "{scheme}://{authority}{}",
        path.trim_end_matches('/')
    ))
}

/// A selector: label matchers in braces, e.g. `{job="homeswap"}`, added
/// to each metric name queried (Prometheus checks the matchers themselves).
fn selector(text: &str) -> Result<String, String> {
    let s = text.trim();
    if !(s.starts_with('{') && s.ends_with('}')) {
        return Err(format!(
            "{text:?} is not a selector: give label matchers in braces, e.g. {DEFAULT_FLEET_SELECTOR}"
        ));
    }
    if s.len() > SELECTOR_LIMIT || s.chars().any(char::is_control) {
        return Err(format!(
            "the selector must be one line of at most {SELECTOR_LIMIT} characters"
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;
    use crate::config::Config;

    const GOOD: &str = "\
accounts:
  a: /h/a
  b: /h/b
active_link: /h/active
shared_dir: /h/shared
state_dir: /var/lib/homeswap
";

    fn parse(extra: &str) -> Result<Config, String> {
        Config::parse(Path::new("/etc/h.yaml"), &format!("{GOOD}{extra}"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn without_the_section_there_is_no_fleet_and_a_minimal_one_gets_the_defaults() {
        assert_eq!(parse("").unwrap().fleet, None);
        let f = parse("fleet:\n  prometheus: http://prometheus:9090/\n")
            .unwrap()
            .fleet
            .unwrap();
        assert_eq!(f.prometheus, "http://prometheus:9090");
        assert_eq!(f.selector, DEFAULT_FLEET_SELECTOR);
        assert_eq!(f.interval, DEFAULT_FLEET_INTERVAL);
        assert_eq!(f.max_age, DEFAULT_FLEET_MAX_AGE);
        assert_eq!(f.timeout, DEFAULT_FLEET_TIMEOUT);
        assert_eq!(f.auth, FleetAuth::None);
        assert_eq!(f.ca_file, None);
    }

    #[test]
    fn a_full_section_is_read() {
        let f = parse(
            "fleet:\n  prometheus: https://thanos.example:10902/prom\n  selector: '{job=\"homeswap\", env=\"prod\"}'\n  interval: 5s\n  max_age: 1m\n  timeout: 500ms\n  basic_auth_file: /etc/homeswap/prom-auth\n  ca_file: /etc/homeswap/ca.pem\n",
        )
        .unwrap()
        .fleet
        .unwrap();
        assert_eq!(f.prometheus, "https://thanos.example:10902/prom");
        assert_eq!(f.selector, r#"{job="homeswap", env="prod"}"#);
        assert_eq!(f.interval, Duration::from_secs(5));
        assert_eq!(f.max_age, Duration::from_secs(60));
        assert_eq!(f.timeout, Duration::from_millis(500));
        assert_eq!(
            f.auth,
            FleetAuth::BasicAuthFile(PathBuf::from("/etc/homeswap/prom-auth"))
        );
        assert_eq!(f.ca_file, Some(PathBuf::from("/etc/homeswap/ca.pem")));
        let f = parse("fleet:\n  prometheus: http://[::1]:9090\n  bearer_token_file: /t\n")
            .unwrap()
            .fleet
            .unwrap();
        assert_eq!(f.auth, FleetAuth::BearerTokenFile(PathBuf::from("/t")));
    }

    #[test]
    fn every_bad_value_is_refused_at_its_key_and_line() {
        let p = "fleet:\n  prometheus: http://p:9090\n";
        for (extra, want) in [
            (
                "fleet:\n  selector: '{}'\n",
                "fleet: prometheus is required",
            ),
            (
                "fleet:\n  prometheus: p:9090\n",
                "fleet.prometheus: \"p:9090\" is not usable: give http:// or https://",
            ),
            (
                "fleet:\n  prometheus: ftp://p\n",
                "the scheme must be http or https",
            ),
            (
                "fleet:\n  prometheus: http://u:pw@p:9090\n",
                "credentials do not go in the URL",
            ),
            (
                "fleet:\n  prometheus: http://p:99999\n",
                "the port must be a number",
            ),
            (
                "fleet:\n  prometheus: http://p:9090/?x=1\n",
                "without ?query",
            ),
            ("fleet:\n  prometheus: http://\n", "no host"),
            (
                "fleet:\n  prometheus: http://p q\n",
                "spaces or control characters",
            ),
            (
                &format!("{p}  selector: job=homeswap\n"),
                "fleet.selector: \"job=homeswap\" is not a selector",
            ),
            (
                &format!("{p}  interval: 0s\n"),
                "fleet.interval: 0s is out of range",
            ),
            (
                &format!("{p}  max_age: soon\n"),
                "fleet.max_age: bad duration",
            ),
            (
                &format!("{p}  interval: 1m\n  max_age: 1m\n"),
                "fleet.max_age: 1m is not longer than fleet.interval (1m)",
            ),
            (
                &format!("{p}  interval: 1s\n  timeout: 2s\n"),
                "fleet.timeout: 2s is longer than fleet.interval (1s)",
            ),
            (
                &format!("{p}  timeout: 1ms\n"),
                "fleet.timeout: 1ms is out of range",
            ),
            (
                &format!("{p}  bearer_token_file: token\n"),
                "fleet.bearer_token_file: token is not an absolute path",
            ),
            (
                &format!("{p}  bearer_token_file: /t\n  basic_auth_file: /b\n"),
                "either bearer_token_file or basic_auth_file",
            ),
            (
                &format!("{p}  ca_file: /ca.pem\n"),
                "fleet.ca_file: a CA file is only used with an https://",
            ),
            (&format!("{p}  promethues: http://x\n"), "promethues"),
        ] {
            let e = parse(extra).unwrap_err();
            assert!(e.contains(want), "{extra}: {e}");
            assert!(e.starts_with("/etc/h.yaml: "), "{e}");
            // The section starts on line 7; every error is at or below it.
            let line: usize = e
                .split("line ")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{extra}: no line in {e}"));
            assert!((7..=10).contains(&line), "{extra}: {e}");
        }
    }
}
