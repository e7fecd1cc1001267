//! `GET /`: the status page for a person, on the read-only listener.
//!
//! One server-rendered HTML page, rendered from the same
//! [`StatusDocument`] as `GET /api/v1/status` (built from the sidecar's
//! cached validation: loading the page never validates), plus the tail of
//! the audit log. No JavaScript, no file outside the binary (the CSS is
//! inline); it refreshes itself. Every name, path and message goes through
//! [`escape::esc`].
//!
//! The page reads top to bottom as its sections, each a function of the
//! document ([`sections`], [`grid`]), so a new field of the document is one
//! new section.

mod age;
mod audit;
mod escape;
mod grid;
mod input;
mod sections;
mod style;

use std::time::SystemTime;

use hyper::StatusCode;

use crate::http::response::{respond, HttpResponse};
use crate::ops::status::StatusDocument;
use crate::sidecar::Api;

use escape::esc;
use input::PageInput;

/// The content type of the page.
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// How often the page reloads itself, in seconds.
const REFRESH_SECONDS: u32 = 5;

/// How many audit entries the page shows.
const AUDIT_ENTRIES: usize = 10;

/// Serves `GET /` from the sidecar's cached state.
pub(crate) fn page(api: &dyn Api) -> HttpResponse {
    let doc = api.status();
    let audit = audit::recent(&api.audit_log(), AUDIT_ENTRIES);
    let input = PageInput {
        doc: &doc,
        audit: &audit,
        now: SystemTime::now(),
        stale_after: api.liveness_limit(),
    };
    respond(StatusCode::OK, HTML, render(&input))
}

/// The whole page.
pub(crate) fn render(input: &PageInput<'_>) -> String {
    let doc = input.doc;
    let mut html = String::with_capacity(16 * 1024);
    html.push_str(&head(doc));
    html.push_str("<body>\n<main>\n");
    let body = [
        sections::header(doc),
        sections::latch_section(doc),
        sections::summary(input),
        grid::grid_section(doc),
        sections::limits_section(doc),
        sections::usage_section(doc),
        sections::fleet_section(doc),
        sections::unmanaged_section(doc),
        sections::credentials_section(doc),
        sections::problems_section(doc),
        sections::audit_section(input.audit),
        sections::footer(doc),
    ];
    for section in body {
        html.push_str(&section);
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// The document head: refresh, viewport, colour schemes, the inline CSS.
fn head(doc: &StatusDocument) -> String {
    let state = if doc.ok { "ok" } else { "NOT READY" };
    let active = doc.active.as_deref().unwrap_or("no active account");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>homeswap: {state} · {}</title>\n<style>\n{}</style>\n</head>\n",
        esc(active),
        style::CSS
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::page::audit::RecentAudit;
    use crate::links::active::{ActiveLink, ActiveProblem};
    use crate::state::latch::LatchRecord;
    use std::path::PathBuf;
    use std::time::Duration;

    /// A document with no active account, an unreadable latch and a
    /// stale validation: the page's least happy state.
    fn unhappy() -> StatusDocument {
        let mut latch = LatchRecord::new(None, "", Vec::new());
        latch.unreadable = Some("latch.json: expected value at line 1 <&>".into());
        StatusDocument {
            config: PathBuf::from("/etc/homeswap.yaml"),
            state_dir: PathBuf::from("/var/lib/homeswap"),
            active: None,
            active_link: ActiveLink {
                path: PathBuf::from("/h/.claude"),
                target: None,
                account: None,
                problem: Some(ActiveProblem::Missing),
            },
            latch: Some(latch),
            swap_in_progress: true,
            ok: false,
            problems: vec!["the latch <is> set".into()],
            notices: vec!["an adoption was interrupted".into()],
            accounts: Vec::new(),
            last_validation: "2026-01-01T00:00:00Z".into(),
            limits: Vec::new(),
            limits_error: Some("limits.json: <unreadable>".into()),
            disabled_error: None,
            usage: crate::ops::usage::UsageView {
                accounts: Vec::new(),
                threshold: None,
                error: None,
            },
            warnings: vec!["account a: unmanaged entry: <todos> (a directory)".into()],
            fleet: None,
            credentials: Default::default(),
        }
    }

    #[test]
    fn no_active_account_an_unreadable_latch_and_a_stale_validation_are_all_said() {
        let doc = unhappy();
        let audit = RecentAudit {
            error: Some("/s/audit.jsonl is not a regular file (it is a FIFO)".into()),
            ..RecentAudit::default()
        };
        let html = render(&PageInput {
            doc: &doc,
            audit: &audit,
            now: humantime::parse_rfc3339("2026-01-01T01:00:00Z").unwrap(),
            stale_after: Duration::from_secs(95),
        });
        assert!(html.contains("<title>homeswap: NOT READY · no active account</title>"));
        assert!(
            html.contains("<strong class=\"bad\">none</strong>"),
            "{html}"
        );
        assert!(html.contains("active link /h/.claude: missing: no account is active"));
        assert!(html.contains(
            "cannot be read, so it counts as set: latch.json: expected value at line 1 &lt;&amp;&gt;"
        ));
        assert!(html.contains("1 h ago: stale"), "{html}");
        assert!(html.contains("<dt>Swap</dt>"));
        assert!(html.contains("<li>the latch &lt;is&gt; set</li>"));
        assert!(html.contains("<h3>Notices</h3>"));
        assert!(html.contains("The audit log cannot be read: /s/audit.jsonl is not a regular file"));
        assert!(html.contains(
            "The limits file is unreadable, so no limit is known: limits.json: &lt;unreadable&gt;"
        ));
        assert!(html.contains("<li>account a: unmanaged entry: &lt;todos&gt; (a directory)</li>"));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn credentials_findings_have_a_section_of_their_own() {
        let mut doc = unhappy();
        doc.credentials.duplicated = vec![vec!["a".into(), "b".into()]];
        doc.warnings.extend(doc.credentials.warnings());
        let html = render(&PageInput {
            doc: &doc,
            audit: &RecentAudit::default(),
            now: SystemTime::now(),
            stale_after: Duration::from_secs(95),
        });
        let section = |id: &str| {
            html.split(&format!("<section id=\"{id}\">"))
                .nth(1)
                .and_then(|rest| rest.split("</section>").next())
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            section("credentials")
                .contains("<li>accounts a and b hold the same OAuth refresh token"),
            "{html}"
        );
        assert!(!section("unmanaged").contains("refresh token"), "{html}");
        assert!(section("unmanaged").contains("&lt;todos&gt;"), "{html}");
    }
}
