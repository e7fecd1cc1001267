//! The usage section: per account and window, a bar of the last usage the
//! statusline recorded, the failover threshold marked on it, the reset time
//! and the time left until it.
//!
//! Server-rendered: a bar is a span whose width is the percentage, hidden
//! from screen readers because the text beside it (`5h 42%`, `at threshold`)
//! says the same without colour (and, without CSS, reads as a line of
//! text: `5h 42% resets … (in 3 h)`). Account names and times are escaped; the
//! widths are numbers the page computes, never text from the document.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::fs::pathfmt::shell_word;

use crate::http::page::age::human_age;
use crate::http::page::escape::esc;
use crate::ops::status::StatusDocument;
use crate::ops::usage::{AccountUsageView, UsageView, UsageWindowView};

/// What the section says while no account has reported usage: where usage
/// comes from and the `settings.json` line that installs it, naming the
/// configuration `config` in force so that it works pasted as it is.
fn not_reported(config: &Path) -> String {
    let command = format!("homeswap --config {} statusline", shell_word(config));
    // A JSON string (escaped for JSON, then for HTML).
    let json = serde_json::to_string(&command).unwrap_or_default();
    format!(
        "<p class=\"muted usage-hint\">No usage reported yet: Claude Code \
         reports it to <code>homeswap statusline</code>; set <code>&quot;statusLine&quot;: \
         {{&quot;type&quot;: &quot;command&quot;, &quot;command&quot;: {}}}</code> \
         in its <code>settings.json</code>.</p>\n",
        esc(&json)
    )
}

/// Usage bars per account and window, from the status document, as of now.
pub(crate) fn usage_section(doc: &StatusDocument) -> String {
    usage_html(&doc.usage, &doc.config, SystemTime::now())
}

/// The section for `usage` as of `now` (the time left until each reset);
/// `config` is the configuration file in force.
pub(crate) fn usage_html(usage: &UsageView, config: &Path, now: SystemTime) -> String {
    let mut html = String::from("<section id=\"usage\">\n<h2>Usage</h2>\n");
    if let Some(e) = &usage.error {
        html.push_str(&format!(
            "<p class=\"bad\">The usage file is unreadable, so no usage is known: {}</p>\n",
            esc(e)
        ));
    }
    let reported = usage
        .accounts
        .iter()
        .any(|a| a.five_hour.is_some() || a.seven_day.is_some());
    if !reported {
        if usage.error.is_none() {
            html.push_str(&not_reported(config));
        }
        html.push_str("</section>\n");
        return html;
    }
    let own = usage
        .accounts
        .iter()
        .any(|a| a.threshold.is_some() && a.threshold != usage.threshold);
    html.push_str(&threshold_line(usage.threshold, own));
    html.push_str("<ul class=\"usage\">\n");
    for account in &usage.accounts {
        let own = account
            .threshold
            .filter(|_| account.threshold != usage.threshold);
        html.push_str(&account_item(account, own, now));
    }
    html.push_str("</ul>\n</section>\n");
    html
}

/// What the mark on the bars is, or that there is none; `own` when some
/// account has a threshold of its own (`failover.thresholds`).
fn threshold_line(threshold: Option<u8>, own: bool) -> String {
    let others = if own {
        ", or the account's own from <code>failover.thresholds</code> where it has one"
    } else {
        ""
    };
    match threshold {
        Some(t) => format!(
            "<p class=\"muted\">The mark on each bar is <code>failover.threshold</code> \
             ({t}%){others}: a window at or above it makes the statusline fail over to an account below its own.</p>\n"
        ),
        None if own => "<p class=\"muted\">The mark on a bar is the account's own threshold \
                 (<code>failover.thresholds</code>): a window at or above it makes the statusline fail over; \
                 an account without one never fails over on usage alone.</p>\n"
            .to_string(),
        None => "<p class=\"muted\">No <code>failover.threshold</code> is set: \
                 usage alone never triggers a failover.</p>\n"
            .to_string(),
    }
}

/// One account: its name, its own threshold (`own`, when it has one),
/// when its usage was reported, and a row per window, marked at the
/// account's threshold.
fn account_item(a: &AccountUsageView, own: Option<u8>, now: SystemTime) -> String {
    let threshold = a.threshold;
    let windows = [("5h", &a.five_hour), ("7d", &a.seven_day)];
    let high = a.at_threshold
        || windows
            .iter()
            .any(|(_, w)| w.as_ref().is_some_and(|w| at_threshold(w, threshold)));
    let mut html = format!(
        "<li class=\"usage-account{}\">\n<div class=\"usage-head\"><strong class=\"account\">{}</strong>",
        if high { " usage-high" } else { "" },
        esc(&a.account)
    );
    if high {
        html.push_str(" <span class=\"warn\">at threshold</span>");
    }
    if let Some(t) = own {
        html.push_str(&format!(
            " <small class=\"muted\">own threshold {t}%</small>"
        ));
    }
    if let Some(at) = &a.updated {
        html.push_str(&format!(
            " <small class=\"muted\">reported {}</small>",
            reported_age(at, now)
        ));
    }
    html.push_str("</div>\n");
    for (label, window) in windows {
        html.push_str(&window_row(label, window.as_ref(), threshold, now));
    }
    html.push_str("</li>\n");
    html
}

/// One window: `5h 42%`, the bar with the threshold mark, the reset.
fn window_row(
    label: &str,
    w: Option<&UsageWindowView>,
    threshold: Option<u8>,
    now: SystemTime,
) -> String {
    let mark = threshold.map_or(String::new(), |t| {
        format!(
            "<span class=\"mark\" style=\"left:{}%\"></span>",
            t.min(100)
        )
    });
    let Some((w, pct)) = w.and_then(|w| percent(w).map(|p| (w, p))) else {
        return format!(
            "<div class=\"usage-window usage-none\"><span class=\"usage-label\">{label} —</span> \
             <span class=\"bar\" aria-hidden=\"true\">{mark}</span> \
             <span class=\"usage-reset muted\">not reported</span></div>\n"
        );
    };
    let high = at_threshold(w, threshold);
    format!(
        "<div class=\"usage-window{}\"><span class=\"usage-label\">{label} <strong>{}%</strong></span> \
         <span class=\"bar\" aria-hidden=\"true\"><span class=\"fill\" style=\"width:{pct:.1}%\"></span>{mark}</span>{} \
         <span class=\"usage-reset\">{}</span></div>\n",
        if high { " usage-high" } else { "" },
        // Floor: 99.6% is not yet 100%, and 94.6% not yet a threshold of 95.
        // `+ 0.0`: a -0 shows as 0, never "-0%".
        pct.floor() + 0.0,
        if high {
            " <span class=\"warn usage-flag\">≥ threshold</span>"
        } else {
            ""
        },
        reset(w, now)
    )
}

/// The percentage used, within 0..=100; `None` when it is not a number.
fn percent(w: &UsageWindowView) -> Option<f64> {
    w.used_percentage
        .is_finite()
        .then(|| w.used_percentage.clamp(0.0, 100.0))
}

/// Whether a window is at or above the threshold (never without one).
fn at_threshold(w: &UsageWindowView, threshold: Option<u8>) -> bool {
    match (percent(w), threshold) {
        (Some(p), Some(t)) => p >= f64::from(t),
        _ => false,
    }
}

/// When the window resets and how long until then; once passed, that the
/// usage shown is from before the reset (no session has reported since).
fn reset(w: &UsageWindowView, now: SystemTime) -> String {
    let now_unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let at = match (&w.resets_at, w.resets_at_unix) {
        (None, 0) => return "<span class=\"muted\">reset time not reported</span>".to_string(),
        (Some(s), _) => s.clone(),
        (None, u) => unix_time_text(u),
    };
    let time = format!("<time datetime=\"{0}\">{0}</time>", esc(&at));
    match w.resets_at_unix {
        0 => format!("resets {time}"),
        u if u > now_unix => format!(
            "resets {time} <span class=\"muted\">(in {})</span>",
            human_age(Duration::from_secs(u - now_unix))
        ),
        u => format!(
            "<span class=\"muted\">reset {} ago ({time}); this usage is from before it</span>",
            human_age(Duration::from_secs(now_unix - u))
        ),
    }
}

/// Unix seconds as RFC 3339, or as the number past the year 9999 (which
/// RFC 3339 cannot write; `rfc3339` would show the last second of 9999).
fn unix_time_text(secs: u64) -> String {
    use crate::state::limits::{rfc3339, LAST_RFC3339_SECOND};
    if secs <= LAST_RFC3339_SECOND {
        rfc3339(secs)
    } else {
        format!("Unix time {secs}")
    }
}

/// `3 min ago`, or the time as given when it is not RFC 3339.
fn reported_age(at: &str, now: SystemTime) -> String {
    match humantime::parse_rfc3339(at) {
        Ok(t) => format!(
            "<time datetime=\"{}\">{} ago</time>",
            esc(at),
            human_age(now.duration_since(t).unwrap_or_default())
        ),
        Err(_) => esc(at).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The section as a sidecar reading `/etc/homeswap.yaml` renders it.
    fn render(usage: &UsageView, now: SystemTime) -> String {
        usage_html(usage, Path::new("/etc/homeswap.yaml"), now)
    }

    const NOW: u64 = 1_795_600_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn window(used: f64, resets_in: i64) -> UsageWindowView {
        let unix = NOW.saturating_add_signed(resets_in);
        UsageWindowView {
            used_percentage: used,
            ratio: used / 100.0,
            resets_at: Some(crate::state::limits::rfc3339(unix)),
            resets_at_unix: unix,
        }
    }

    fn account(name: &str, five: Option<f64>, seven: Option<f64>) -> AccountUsageView {
        AccountUsageView {
            account: name.to_string(),
            five_hour: five.map(|p| window(p, 3 * 3600 + 720)),
            seven_day: seven.map(|p| window(p, 4 * 86400)),
            updated: Some(crate::state::limits::rfc3339(NOW - 180)),
            updated_unix: NOW - 180,
            threshold: None,
            at_threshold: false,
        }
    }

    /// The view with `threshold` as `failover.threshold`: the threshold of
    /// every account that has none of its own.
    fn view(accounts: Vec<AccountUsageView>, threshold: Option<u8>) -> UsageView {
        let accounts = accounts
            .into_iter()
            .map(|a| AccountUsageView {
                threshold: a.threshold.or(threshold),
                ..a
            })
            .collect();
        UsageView {
            accounts,
            threshold,
            error: None,
        }
    }

    /// The row of one window of one account.
    fn row<'a>(html: &'a str, account: &str, label: &str) -> &'a str {
        let item = html
            .split("<li class=\"usage-account")
            .find(|i| i.contains(&format!("<strong class=\"account\">{account}</strong>")))
            .unwrap_or_else(|| panic!("no account {account} in {html}"));
        item.split("<div class=\"usage-window")
            .find(|r| r.contains(&format!("<span class=\"usage-label\">{label} ")))
            .unwrap_or_else(|| panic!("no {label} row for {account} in {item}"))
    }

    #[test]
    fn each_window_is_a_bar_with_its_percentage_in_text_its_reset_and_the_threshold_mark() {
        let html = render(
            &view(vec![account("a", Some(42.0), Some(13.5))], Some(95)),
            now(),
        );
        let five = row(&html, "a", "5h");
        assert!(
            five.contains("<span class=\"usage-label\">5h <strong>42%</strong></span>"),
            "{five}"
        );
        assert!(five.contains("<span class=\"fill\" style=\"width:42.0%\"></span>"));
        assert!(five.contains("<span class=\"mark\" style=\"left:95%\"></span>"));
        assert!(five.contains("(in 3 h 12 min)"), "{five}");
        assert!(
            five.contains("<time datetime=\"2026-11-25T12:58:40Z\">"),
            "{five}"
        );
        let seven = row(&html, "a", "7d");
        assert!(seven.contains("<strong>13%</strong>"), "{seven}");
        assert!(seven.contains("(in 4 d)"), "{seven}");
        assert!(html.contains("reported <time datetime=\"2026-11-25T09:43:40Z\">3 min ago</time>"));
        assert!(html.contains("<code>failover.threshold</code> (95%)"));
        assert!(!html.contains("usage-high"), "{html}");
        assert!(!html.contains("No usage reported yet"));
    }

    #[test]
    fn a_window_at_or_above_the_threshold_is_flagged_in_text_and_class() {
        let html = render(
            &view(
                vec![
                    account("a", Some(95.0), Some(10.0)),
                    account("b", Some(94.6), None),
                ],
                Some(95),
            ),
            now(),
        );
        let a5 = row(&html, "a", "5h");
        assert!(a5.starts_with(" usage-high\">"), "{a5}");
        assert!(
            a5.contains("<strong>95%</strong></span> <span class=\"bar\""),
            "{a5}"
        );
        assert!(a5.contains("</span> <span class=\"warn usage-flag\">≥ threshold</span> <span class=\"usage-reset\">"), "{a5}");
        assert!(!row(&html, "a", "7d").starts_with(" usage-high"));
        assert!(html.contains(
            "<li class=\"usage-account usage-high\">\n<div class=\"usage-head\"><strong class=\"account\">a</strong> <span class=\"warn\">at threshold</span>"
        ));
        // 94.6 is below 95: shown as 94%, not flagged.
        let b5 = row(&html, "b", "5h");
        assert!(b5.contains("<strong>94%</strong></span>"), "{b5}");
        assert!(!b5.starts_with(" usage-high"));
        assert!(html.contains("<li class=\"usage-account\">\n<div class=\"usage-head\"><strong class=\"account\">b</strong> <small"));
    }

    #[test]
    fn an_account_with_its_own_threshold_is_marked_and_flagged_at_it() {
        let mut b = account("b", Some(85.0), None);
        b.threshold = Some(80);
        let html = render(
            &view(vec![account("a", Some(85.0), None), b], Some(95)),
            now(),
        );
        assert!(row(&html, "a", "5h").contains("<span class=\"mark\" style=\"left:95%\"></span>"));
        let b5 = row(&html, "b", "5h");
        assert!(
            b5.contains("<span class=\"mark\" style=\"left:80%\"></span>"),
            "{b5}"
        );
        assert!(b5.starts_with(" usage-high\">"), "{b5}");
        assert!(!row(&html, "a", "5h").starts_with(" usage-high"));
        assert!(html.contains("<strong class=\"account\">b</strong> <span class=\"warn\">at threshold</span> <small class=\"muted\">own threshold 80%</small>"), "{html}");
        assert!(html.contains("or the account's own from <code>failover.thresholds</code>"));
    }

    #[test]
    fn the_account_flag_follows_the_document_too() {
        let mut a = account("a", Some(50.0), Some(100.0));
        a.at_threshold = true;
        let html = render(&view(vec![a], None), now());
        assert!(
            html.contains("<li class=\"usage-account usage-high\">"),
            "{html}"
        );
        // Without a threshold there is no mark and no window is flagged.
        assert!(!html.contains("class=\"mark\""));
        assert!(html.contains("No <code>failover.threshold</code> is set"));
        assert!(row(&html, "a", "7d").contains("<strong>100%</strong></span>"));
    }

    #[test]
    fn unknown_windows_and_accounts_say_not_reported() {
        let mut c = account("c", None, None);
        c.updated = None;
        let html = render(
            &view(vec![account("a", Some(10.0), None), c], Some(90)),
            now(),
        );
        let a7 = row(&html, "a", "7d");
        assert!(
            a7.starts_with(" usage-none\"><span class=\"usage-label\">7d —</span>"),
            "{a7}"
        );
        assert!(a7.contains("not reported"));
        assert!(!a7.contains("class=\"fill\""));
        for label in ["5h", "7d"] {
            let r = row(&html, "c", label);
            assert!(
                r.contains(&format!("{label} —")) && r.contains("not reported"),
                "{r}"
            );
        }
    }

    #[test]
    fn a_passed_reset_says_the_usage_is_older_and_a_missing_one_says_so() {
        let mut a = account("a", Some(99.0), Some(20.0));
        a.five_hour = Some(window(99.0, -7500));
        if let Some(w) = a.seven_day.as_mut() {
            w.resets_at = None;
            w.resets_at_unix = 0;
        }
        let html = render(&view(vec![a], Some(95)), now());
        let five = row(&html, "a", "5h");
        assert!(five.contains("reset 2 h 5 min ago (<time"), "{five}");
        assert!(five.contains("this usage is from before it"));
        assert!(row(&html, "a", "7d").contains("reset time not reported"));
    }

    #[test]
    fn odd_numbers_never_make_a_bar_wider_than_its_track() {
        let mut a = account("a", Some(250.0), Some(f64::NAN));
        if let Some(w) = a.five_hour.as_mut() {
            w.used_percentage = 250.0;
        }
        let html = render(&view(vec![a], Some(200)), now());
        let five = row(&html, "a", "5h");
        assert!(five.contains("style=\"width:100.0%\""), "{five}");
        assert!(five.contains("style=\"left:100%\""), "{five}");
        assert!(row(&html, "a", "7d").contains("7d —"));
        let neg = render(&view(vec![account("n", Some(-5.0), None)], None), now());
        assert!(neg.contains("style=\"width:0.0%\""), "{neg}");
    }

    #[test]
    fn a_reset_time_without_its_text_is_written_from_the_number_even_a_huge_one() {
        let mut a = account("a", Some(10.0), Some(10.0));
        for (w, unix) in [(&mut a.five_hour, NOW + 60), (&mut a.seven_day, u64::MAX)] {
            if let Some(w) = w.as_mut() {
                w.resets_at = None;
                w.resets_at_unix = unix;
            }
        }
        let html = render(&view(vec![a], Some(95)), now());
        assert!(
            row(&html, "a", "5h").contains("<time datetime=\"2026-11-25T09:47:40Z\">"),
            "{html}"
        );
        assert!(
            row(&html, "a", "7d").contains(&format!(
                "<time datetime=\"Unix time {0}\">Unix time {0}</time>",
                u64::MAX
            )),
            "{html}"
        );
    }

    #[test]
    fn hostile_names_and_times_show_as_text() {
        let evil = "<script>alert('x')</script>\"&";
        let mut a = account(evil, Some(50.0), None);
        a.updated = Some("<b>yesterday</b>".into());
        if let Some(w) = a.five_hour.as_mut() {
            w.resets_at = Some("\"><img src=x onerror=alert(1)>".into());
        }
        let mut usage = view(vec![a], Some(95));
        usage.error = Some("usage.json: <bad> \u{1b}[31m".into());
        let html = render(&usage, now());
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains(
            "<strong class=\"account\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;</strong>"
        ));
        assert!(html.contains("<time datetime=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\">"));
        assert!(html.contains("reported &lt;b&gt;yesterday&lt;/b&gt;"));
        assert!(html.contains("so no usage is known: usage.json: &lt;bad&gt; \\u{1b}[31m</p>"));
    }

    #[test]
    fn without_any_usage_the_section_says_where_usage_comes_from() {
        let mut silent = account("a", None, None);
        silent.updated = None;
        for usage in [view(Vec::new(), Some(95)), view(vec![silent], None)] {
            let html = render(&usage, now());
            assert!(html.contains("No usage reported yet"), "{html}");
            assert!(html.contains("<code>homeswap statusline</code>"));
            assert!(html.contains(
                "&quot;command&quot;: &quot;homeswap --config /etc/homeswap.yaml statusline&quot;"
            ));
            assert!(!html.contains("<ul class=\"usage\">"));
        }
        // A path a shell would split is quoted, then escaped for JSON and HTML.
        let odd = usage_html(
            &view(Vec::new(), None),
            Path::new("/etc/my home/it's.yaml"),
            now(),
        );
        assert!(
            odd.contains(
                "&quot;command&quot;: &quot;homeswap --config &#39;/etc/my home/it&#39;\\\\&#39;&#39;s.yaml&#39; statusline&quot;"
            ),
            "{odd}"
        );
        // An unreadable file is said instead: installing would not help.
        let mut broken = view(Vec::new(), None);
        broken.error = Some("usage.json: not JSON".into());
        let html = render(&broken, now());
        assert!(html.contains("The usage file is unreadable"));
        assert!(!html.contains("No usage reported yet"));
    }
}
