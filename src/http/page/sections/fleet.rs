//! The fleet section: whether the fleet view is used (and, in words, why
//! not), and per account what the other instances reported: where it is
//! limited and until when, and its freshest usage with where it was
//! reported. Only with `fleet` configured.

use std::time::Duration;

use crate::http::page::age::human_age;
use crate::http::page::escape::esc;
use crate::ops::fleet::{FleetLimitView, FleetStatus, FleetUsageView};
use crate::ops::status::StatusDocument;
use crate::state::limits::unix_now;

/// The section, from the status document, as of now.
pub(crate) fn fleet_section(doc: &StatusDocument) -> String {
    match &doc.fleet {
        Some(f) => fleet_html(f, &accounts(doc), unix_now()),
        None => String::new(),
    }
}

/// The configured accounts in `failover.order` (the limits list has them all).
fn accounts(doc: &StatusDocument) -> Vec<String> {
    doc.limits.iter().map(|l| l.account.clone()).collect()
}

/// The section for `f` and `accounts` at `now` (Unix seconds).
pub(crate) fn fleet_html(f: &FleetStatus, accounts: &[String], now: u64) -> String {
    let mut html = String::from("<section id=\"fleet\">\n<h2>Fleet</h2>\n");
    let source = format!(
        "<code>{}</code> <code>{}</code>",
        esc(&f.prometheus),
        esc(&f.selector)
    );
    match (&f.reason, f.age_seconds) {
        (Some(why), _) => html.push_str(&format!(
            "<p class=\"bad fleet-state\"><strong>NOT USED</strong>: {}; failovers go by this host's knowledge alone. <span class=\"muted\">(from {source})</span></p>\n",
            esc(why)
        )),
        (None, age) => html.push_str(&format!(
            "<p class=\"good fleet-state\">Used: the view from {source} is {} old (at most <code>fleet.max_age</code>, {}).</p>\n",
            human_age(Duration::from_secs(age.unwrap_or(0))),
            human_age(Duration::from_secs(f.max_age_seconds))
        )),
    }
    if let (None, Some(e)) = (&f.reason, &f.last_error) {
        html.push_str(&format!(
            "<p class=\"warn\">The last refresh at {} failed ({}): {}</p>\n",
            esc(&e.at),
            esc(e.outcome),
            esc(&e.message)
        ));
    }
    for w in &f.warnings {
        html.push_str(&format!(
            "<p class=\"warn\">Prometheus warned: {}</p>\n",
            esc(w)
        ));
    }
    html.push_str(
        "<div class=\"scroll\"><table class=\"fleet\">\n<thead><tr><th scope=\"col\">account</th>\
         <th scope=\"col\">limited in the fleet</th><th scope=\"col\">freshest usage in the fleet</th></tr></thead>\n<tbody>\n",
    );
    for account in accounts {
        let limit = f.limits.iter().find(|l| &l.account == account);
        let usage = f.usage.iter().find(|u| &u.account == account);
        html.push_str(&format!(
            "<tr><th scope=\"row\">{}</th>{}{}</tr>\n",
            esc(account),
            limit_cell(limit, now),
            usage_cell(usage, now)
        ));
    }
    html.push_str("</tbody>\n</table></div>\n</section>\n");
    html
}

fn limit_cell(limit: Option<&FleetLimitView>, now: u64) -> String {
    let Some(l) = limit else {
        return "<td class=\"good\">not limited anywhere</td>".to_string();
    };
    let mut lines: Vec<String> = l
        .instances
        .iter()
        .map(|i| {
            format!(
                "<span class=\"bad\">LIMITED</span> on <strong>{}</strong> until {} <span class=\"muted\">(in {})</span>",
                esc(&i.instance),
                esc(&i.until),
                human_age(Duration::from_secs(i.until_unix.saturating_sub(now)))
            )
        })
        .collect();
    if l.limited_on > l.instances.len() {
        lines.push(format!(
            "<small>on {} instances in all</small>",
            l.limited_on
        ));
    }
    format!("<td class=\"fleet-limited\">{}</td>", lines.join("<br>"))
}

fn usage_cell(usage: Option<&FleetUsageView>, now: u64) -> String {
    let Some(u) = usage else {
        return "<td class=\"muted\">&mdash; not reported</td>".to_string();
    };
    let windows: Vec<String> = [("5h", &u.five_hour), ("7d", &u.seven_day)]
        .into_iter()
        .filter_map(|(name, w)| {
            w.as_ref()
                .map(|w| format!("{name} {:.0}%", w.used_percentage.floor()))
        })
        .collect();
    format!(
        "<td>{}<small>reported on <strong>{}</strong>, {} ago</small></td>",
        windows.join(" · "),
        esc(&u.instance),
        human_age(Duration::from_secs(now.saturating_sub(u.updated_unix)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::fleet::{FleetErrorView, FleetInstanceLimit};
    use crate::ops::usage::UsageWindowView;

    const NOW: u64 = 1_800_000_000;

    fn status() -> FleetStatus {
        FleetStatus {
            prometheus: "http://prom:9090".into(),
            selector: r#"{job="homeswap"}"#.into(),
            used: true,
            reason: None,
            refreshed: None,
            age_seconds: Some(3),
            max_age_seconds: 120,
            last_error: None,
            warnings: Vec::new(),
            dropped: 0,
            limits: vec![FleetLimitView {
                account: "a".into(),
                until: "2027-01-15T09:00:00Z".into(),
                until_unix: NOW + 3600,
                limited_on: 9,
                instances: vec![FleetInstanceLimit {
                    instance: "host1<script>".into(),
                    until: "2027-01-15T09:00:00Z".into(),
                    until_unix: NOW + 3600,
                }],
            }],
            usage: vec![FleetUsageView {
                account: "b".into(),
                instance: "host2:9464".into(),
                updated: "x".into(),
                updated_unix: NOW - 180,
                five_hour: Some(UsageWindowView {
                    used_percentage: 96.5,
                    ratio: 0.965,
                    resets_at: None,
                    resets_at_unix: 0,
                }),
                seven_day: None,
            }],
        }
    }

    #[test]
    fn each_account_says_where_it_is_limited_and_where_its_usage_was_reported() {
        let accounts = ["a".to_string(), "b".to_string()];
        let html = fleet_html(&status(), &accounts, NOW);
        assert!(
            html.contains("Used: the view from <code>http://prom:9090</code>"),
            "{html}"
        );
        assert!(html.contains("is 3 s old"), "{html}");
        assert!(
            html.contains("<span class=\"bad\">LIMITED</span> on <strong>host1&lt;script&gt;</strong> until 2027-01-15T09:00:00Z <span class=\"muted\">(in 1 h)</span>"),
            "{html}"
        );
        assert!(html.contains("on 9 instances in all"), "{html}");
        assert!(
            html.contains(
                "<td>5h 96%<small>reported on <strong>host2:9464</strong>, 3 min ago</small></td>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<th scope=\"row\">b</th><td class=\"good\">not limited anywhere</td>"),
            "{html}"
        );
        assert!(html.contains("<th scope=\"row\">a</th>") && html.contains("&mdash; not reported"));
    }

    #[test]
    fn a_view_not_used_says_why_and_a_failed_refresh_is_shown() {
        let mut f = status();
        f.last_error = Some(FleetErrorView {
            at: "2027-01-15T08:00:00Z".into(),
            outcome: "timeout",
            message: "no answer within fleet.timeout (2s)".into(),
        });
        let html = fleet_html(&f, &[], NOW);
        assert!(
            html.contains("The last refresh at 2027-01-15T08:00:00Z failed (timeout): no answer"),
            "{html}"
        );
        f.used = false;
        f.reason = Some("the fleet view is 5m old, older than fleet.max_age (2m)".into());
        let html = fleet_html(&f, &[], NOW);
        assert!(html.contains("<strong>NOT USED</strong>: the fleet view is 5m old, older than fleet.max_age (2m); failovers go by this host's knowledge alone."), "{html}");
        assert!(
            !html.contains("The last refresh at"),
            "the reason says it: {html}"
        );
    }
}
