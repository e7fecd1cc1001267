//! The page's sections other than the grid, each a function of the status
//! document (or of the audit tail) returning its HTML, empty when it has
//! nothing to show.

mod fleet;
mod usage;

use std::time::{Duration, SystemTime};

use crate::http::page::age::human_age;
use crate::http::page::audit::{RecentAudit, TAIL_BYTES};
use crate::http::page::escape::{esc, esc_path};
use crate::http::page::input::PageInput;
use crate::ops::limits::AccountLimitView;
use crate::ops::status::StatusDocument;
use crate::state::audit::AuditRecord;
use crate::state::outcome::Tone;

/// Usage bars per account and window (its own file: the bars, the reset,
/// the threshold).
pub(crate) use usage::usage_section;

/// What the other instances of the fleet reported (its own file).
pub(crate) use fleet::fleet_section;

/// The title and the one-word verdict.
pub(crate) fn header(doc: &StatusDocument) -> String {
    let verdict = if doc.ok {
        "<p class=\"verdict verdict-ok\"><strong>OK</strong>: every link ok, an account active, latch clear</p>".to_string()
    } else {
        let n = doc.problems.len();
        format!(
            "<p class=\"verdict verdict-bad\"><strong>NOT READY</strong>: {n} problem{} (listed below)</p>",
            if n == 1 { "" } else { "s" }
        )
    };
    format!("<header>\n<h1>homeswap</h1>\n{verdict}\n</header>\n")
}

/// The partial-swap latch as a banner when it is set; nothing when clear
/// (the summary says "clear").
pub(crate) fn latch_section(doc: &StatusDocument) -> String {
    let Some(l) = &doc.latch else {
        return String::new();
    };
    let mut html = String::from(
        "<section class=\"banner banner-latch\" id=\"latch\" role=\"alert\">\n\
         <h2>Partial-swap latch is SET: every swap is refused</h2>\n",
    );
    if let Some(why) = &l.unreadable {
        html.push_str(&format!(
            "<p>The latch file cannot be read, so it counts as set: {}</p>\n",
            esc(why)
        ));
    } else {
        html.push_str(&format!(
            "<p>Set at {} by process {}, during the swap {} &rarr; {}.</p>\n",
            esc(&l.set_at),
            l.pid,
            esc(l.from.as_deref().unwrap_or("(none)")),
            esc(&l.to)
        ));
    }
    if let Some(note) = &l.memory_only {
        html.push_str(&format!("<p>{}</p>\n", esc(note)));
    }
    html.push_str(&list("latch-errors", &l.errors));
    html.push_str(
        "<p>Repair the links, then clear it: <code>homeswap latch clear --reason TEXT</code> \
         (or <code>POST /api/v1/latch/clear</code> on the admin listener).</p>\n</section>\n",
    );
    html
}

/// Active account, active link, latch and the last validation's age.
pub(crate) fn summary(input: &PageInput<'_>) -> String {
    let doc = input.doc;
    let active = match &doc.active {
        Some(a) => format!("<strong class=\"account\">{}</strong>", esc(a)),
        None => "<strong class=\"bad\">none</strong>".to_string(),
    };
    let link = &doc.active_link;
    let link_line = match (&link.problem, &link.target) {
        (None, Some(t)) => format!(
            "<br><small>{} &rarr; {}</small>",
            esc_path(&link.path),
            esc_path(t)
        ),
        _ => format!("<br><small class=\"bad\">{}</small>", esc(link)),
    };
    let latch = if doc.latch.is_some() {
        "<a class=\"bad\" href=\"#latch\">SET</a>"
    } else {
        "<span class=\"good\">clear</span>"
    };
    let mut html = format!(
        "<section class=\"summary\">\n<dl>\n\
         <div><dt>Active account</dt><dd>{active}{link_line}</dd></div>\n\
         <div><dt>Latch</dt><dd>{latch}</dd></div>\n\
         <div><dt>Last validation</dt><dd>{}</dd></div>\n",
        validation_age(&doc.last_validation, input.now, input.stale_after)
    );
    if doc.swap_in_progress {
        html.push_str(
            "<div><dt>Swap</dt><dd class=\"warn\">in progress, or interrupted \
             (the next homeswap command finishes or rolls it back)</dd></div>\n",
        );
    }
    html.push_str("</dl>\n</section>\n");
    html
}

/// `12 s ago` over the time itself, flagged stale past `stale_after`.
fn validation_age(at: &str, now: SystemTime, stale_after: Duration) -> String {
    let Ok(t) = humantime::parse_rfc3339(at) else {
        return esc(at).to_string();
    };
    let age = now.duration_since(t).unwrap_or_default();
    let time = format!(
        "<br><small><time datetime=\"{0}\">{0}</time></small>",
        esc(at)
    );
    if age > stale_after {
        format!(
            "<span class=\"bad\">{} ago: stale, the validation loop is not running</span>{time}",
            human_age(age)
        )
    } else {
        format!("{} ago{time}", human_age(age))
    }
}

/// Each account's limit: limited or free, why, and the time to its reset.
pub(crate) fn limits_section(doc: &StatusDocument) -> String {
    if doc.limits.is_empty() && doc.limits_error.is_none() {
        return String::new();
    }
    let mut html = String::from("<section id=\"limits\">\n<h2>Limits</h2>\n");
    if let Some(e) = &doc.limits_error {
        html.push_str(&format!(
            "<p class=\"bad\">The limits file is unreadable, so no limit is known: {}</p>\n",
            esc(e)
        ));
    }
    if let Some(e) = &doc.disabled_error {
        html.push_str(&format!(
            "<p class=\"bad\">The disabled accounts' file is unreadable, so no account is known to be disabled: {}</p>\n",
            esc(e)
        ));
    }
    html.push_str("<ul class=\"limits\">\n");
    let now = crate::state::limits::unix_now();
    for l in &doc.limits {
        html.push_str(&limit_item(l, now));
    }
    html.push_str("</ul>\n</section>\n");
    html
}

/// One account's limit item: free or limited, and disabled when it is.
fn limit_item(l: &AccountLimitView, now: u64) -> String {
    let disabled = l.disabled.as_ref().map_or(String::new(), |d| {
        format!(
            " · <span class=\"warn\">DISABLED</span> since {}{}: held out of failover",
            esc(&d.since),
            d.reason
                .as_deref()
                .map(|r| format!(" ({})", esc(r)))
                .unwrap_or_default()
        )
    });
    let class = if l.disabled.is_some() {
        " limit-disabled"
    } else {
        ""
    };
    if !l.limited {
        return format!(
            "<li class=\"limit-free{class}\"><strong>{}</strong>: <span class=\"good\">free</span>{disabled}</li>\n",
            esc(&l.account)
        );
    }
    let left = human_age(Duration::from_secs(l.until_unix.saturating_sub(now)));
    format!(
        "<li class=\"limit-limited{class}\"><strong>{}</strong>: <span class=\"bad\">LIMITED</span> ({}) until {} <span class=\"muted\">(in {left})</span>{disabled}</li>\n",
        esc(&l.account),
        esc(l.reason.map(|r| r.as_str()).unwrap_or("unknown")),
        esc(l.until.as_deref().unwrap_or("?")),
    )
}

/// Per-account unmanaged entries (neither shared nor private): warnings,
/// not problems.
pub(crate) fn unmanaged_section(doc: &StatusDocument) -> String {
    let credentials = doc.credentials.warnings();
    let unmanaged: Vec<String> = doc
        .warnings
        .iter()
        .filter(|w| !credentials.contains(w))
        .cloned()
        .collect();
    if unmanaged.is_empty() {
        return String::new();
    }
    format!(
        "<section id=\"unmanaged\">\n<h2>Unmanaged entries</h2>\n<p class=\"warn\">Each account keeps its own copy of these, so a failover forks them: add each to shared, shared_files or private.</p>\n{}</section>\n",
        list("unmanaged", &unmanaged)
    )
}

/// Homes that hold one refresh token, or whose credentials files share a
/// modification time: warnings, not problems.
pub(crate) fn credentials_section(doc: &StatusDocument) -> String {
    let lines = doc.credentials.warnings();
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "<section id=\"credentials\">\n<h2>Credentials</h2>\n<p class=\"warn\">Found in the homes' .credentials.json (tokens are compared by digest and never shown).</p>\n{}</section>\n",
        list("credentials", &lines)
    )
}

/// Every problem (the `/readyz` reasons) and notice, one line each.
pub(crate) fn problems_section(doc: &StatusDocument) -> String {
    let mut html = String::from("<section id=\"problems\">\n<h2>Problems</h2>\n");
    if doc.problems.is_empty() {
        html.push_str("<p class=\"good\">None: every link is ok.</p>\n");
    } else {
        html.push_str(&list("problems", &doc.problems));
    }
    if !doc.notices.is_empty() {
        html.push_str("<h3>Notices</h3>\n");
        html.push_str(&list("notices", &doc.notices));
    }
    html.push_str("</section>\n");
    html
}

/// The last audit entries, newest first, and what could not be shown.
pub(crate) fn audit_section(audit: &RecentAudit) -> String {
    let mut html = String::from("<section id=\"audit\">\n<h2>Recent actions</h2>\n");
    if let Some(e) = &audit.error {
        html.push_str(&format!(
            "<p class=\"bad\">The audit log cannot be read: {}</p>\n",
            esc(e)
        ));
    } else if audit.is_empty() {
        html.push_str("<p>No swap, failover or latch clear recorded yet.</p>\n");
    }
    if audit.overlong {
        html.push_str(&format!(
            "<p class=\"warn\">The latest audit entries cannot be shown: the last line of the audit log is longer than the {} KiB the page reads of it.</p>\n",
            TAIL_BYTES / 1024
        ));
    }
    if !audit.entries.is_empty() {
        html.push_str(
            "<div class=\"scroll\"><table class=\"audit\">\n<thead><tr><th scope=\"col\">time</th>\
             <th scope=\"col\">action</th><th scope=\"col\">from &rarr; to</th>\
             <th scope=\"col\">outcome</th><th scope=\"col\">reason, errors</th></tr></thead>\n<tbody>\n",
        );
        for entry in audit.entries.iter().rev() {
            html.push_str(&audit_row(entry));
        }
        html.push_str("</tbody>\n</table></div>\n");
    }
    if audit.unreadable > 0 {
        html.push_str(&format!(
            "<p class=\"muted\">{} line(s) at the end of the audit log are not audit entries.</p>\n",
            audit.unreadable
        ));
    }
    html.push_str("</section>\n");
    html
}

/// One audit entry as a table row.
fn audit_row(e: &AuditRecord) -> String {
    let class = match e.outcome.tone() {
        Tone::Good => "good",
        Tone::Warn => "warn",
        Tone::Bad => "bad",
    };
    let mut notes: Vec<String> = e
        .reason
        .iter()
        .map(|r| format!("reason: {}", esc(r)))
        .collect();
    notes.extend(e.errors.iter().map(|x| esc(x).to_string()));
    if e.errors_omitted > 0 {
        notes.push(format!("and {} more", e.errors_omitted));
    }
    let time = if e.time.is_empty() { "?" } else { &e.time };
    format!(
        "<tr><td>{}</td><td>{}</td><td>{} &rarr; {}</td><td class=\"{class}\">{}</td><td>{}</td></tr>\n",
        esc(time),
        esc(e.action.as_str()),
        esc(e.from.as_deref().unwrap_or("-")),
        esc(e.to.as_deref().unwrap_or("-")),
        esc(e.outcome.as_str()),
        notes.join("<br>")
    )
}

/// Where the page comes from, and the machine-readable answers.
pub(crate) fn footer(doc: &StatusDocument) -> String {
    format!(
        "<footer>\n<p>Configuration <code>{}</code> · state <code>{}</code></p>\n\
         <p>This page reloads every few seconds. For programs: \
         <a href=\"/api/v1/status\">/api/v1/status</a> · <a href=\"/metrics\">/metrics</a> · \
         <a href=\"/readyz\">/readyz</a></p>\n</footer>\n",
        esc_path(&doc.config),
        esc_path(&doc.state_dir)
    )
}

/// A `<ul>` of escaped lines; nothing when there are none.
fn list(class: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut html = format!("<ul class=\"{class}\">\n");
    for l in lines {
        html.push_str(&format!("<li>{}</li>\n", esc(l)));
    }
    html.push_str("</ul>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_older_than_the_limit_is_flagged_stale() {
        let at = "2026-01-01T00:00:00Z";
        let t = humantime::parse_rfc3339(at).unwrap();
        let limit = Duration::from_secs(95);
        let fresh = validation_age(at, t + Duration::from_secs(3), limit);
        assert!(
            fresh.starts_with("3 s ago<br><small><time") && !fresh.contains("stale"),
            "{fresh}"
        );
        let stale = validation_age(at, t + Duration::from_secs(600), limit);
        assert!(
            stale.contains("10 min ago: stale, the validation loop is not running"),
            "{stale}"
        );
        assert_eq!(validation_age("<x>", t, limit), "&lt;x&gt;");
    }
}
