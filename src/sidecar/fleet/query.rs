//! The instant queries of one refresh, as PromQL and as request paths.
//!
//! Prometheus does the reduction, so an answer grows with the accounts,
//! not with accounts × instances:
//!
//! - `limits`: the reset time of every account on every instance that
//!   reports it limited (`homeswap_account_limited == 1`);
//! - `updated`: per account, the instance(s) whose last usage report is
//!   the freshest (`== max by (account)`), with that time;
//! - `ratio` and `reset`: the usage windows of exactly those instances.
//!
//! Each metric is narrowed by `fleet.selector`, written right after its
//! name (`homeswap_account_limited{job="homeswap"}`).

/// What one query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryKind {
    /// Reset times of the limited (account, instance) pairs.
    Limits,
    /// The freshest usage report's time per account, and where.
    Updated,
    /// Usage ratio per window of those reports.
    Ratio,
    /// Reset time per window of those reports.
    Reset,
}

impl QueryKind {
    /// Every query of a refresh.
    pub(crate) const ALL: [QueryKind; 4] = [
        QueryKind::Limits,
        QueryKind::Updated,
        QueryKind::Ratio,
        QueryKind::Reset,
    ];

    /// A short name for messages.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            QueryKind::Limits => "limits",
            QueryKind::Updated => "usage report times",
            QueryKind::Ratio => "usage ratios",
            QueryKind::Reset => "usage reset times",
        }
    }

    /// The PromQL of this query for `selector` (`{...}`).
    pub(crate) fn promql(self, selector: &str) -> String {
        let m = |name: &str| format!("{name}{selector}");
        let freshest = || {
            let updated = m("homeswap_account_usage_updated_timestamp_seconds");
            format!("{updated} == on (account) group_left max by (account) ({updated})")
        };
        match self {
            QueryKind::Limits => format!(
                "{} and on (account, instance) ({} == 1)",
                m("homeswap_account_limit_reset_timestamp_seconds"),
                m("homeswap_account_limited")
            ),
            QueryKind::Updated => freshest(),
            QueryKind::Ratio => format!(
                "{} and on (account, instance) ({})",
                m("homeswap_account_usage_ratio"),
                freshest()
            ),
            QueryKind::Reset => format!(
                "{} and on (account, instance) ({})",
                m("homeswap_account_usage_reset_timestamp_seconds"),
                freshest()
            ),
        }
    }

    /// `<base>/api/v1/query?query=...` for `selector`: an instant query
    /// at the server's now.
    pub(crate) fn uri(self, base: &str, selector: &str) -> String {
        format!(
            "{base}/api/v1/query?query={}",
            percent_encode(&self.promql(selector))
        )
    }
}

/// `text` percent-encoded for a query string (everything but RFC 3986's
/// unreserved characters).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selector_narrows_every_metric_and_the_uri_is_encoded() {
        let s = r#"{job="homeswap"}"#;
        assert_eq!(
            QueryKind::Limits.promql(s),
            r#"homeswap_account_limit_reset_timestamp_seconds{job="homeswap"} and on (account, instance) (homeswap_account_limited{job="homeswap"} == 1)"#
        );
        let ratio = QueryKind::Ratio.promql(s);
        assert!(ratio.starts_with(r#"homeswap_account_usage_ratio{job="homeswap"} and on (account, instance) (homeswap_account_usage_updated_timestamp_seconds{job="homeswap"} == on (account) group_left max by (account) ("#), "{ratio}");
        let uri = QueryKind::Updated.uri("http://p:9090/prom", "{}");
        assert!(
            uri.starts_with("http://p:9090/prom/api/v1/query?query=homeswap_account_usage_updated_timestamp_seconds%7B%7D%20%3D%3D%20on%20%28account%29"),
            "{uri}"
        );
        let encoded = uri.split_once("?query=").unwrap().1;
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)),
            "{encoded}"
        );
    }
}
