//! The status page `GET /` of the read-only listener, over a real socket
//! from the real sidecar: what a person's browser receives.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::server::{http, Server};
use common::{make_link, Sandbox, LINKS, LINK_STATES};

/// GETs `/` and insists on a 200 HTML answer in UTF-8.
fn page(server: &Server) -> String {
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    String::from_utf8(r.body).expect("the page is UTF-8 whatever the paths hold")
}

/// Text as the page escapes it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The inside of the page's `<section id="ID">`; panics if it has none.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    html.split(&format!("<section id=\"{id}\">"))
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no {id} section: {html}"))
}

/// The grid cell of one state, as the page writes it.
fn cell_of(state: &str) -> String {
    format!("<td class=\"state state-{state}\"")
}

#[test]
fn the_page_shows_the_active_account_every_link_and_the_last_swap_and_refreshes_itself() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let html = page(&server);

    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(html.contains("prefers-color-scheme: dark"), "a dark scheme");
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(!html.contains("<link "), "no file outside the page");
    assert!(html.contains("<strong>OK</strong>"), "{html}");
    assert!(html.contains("<dt>Active account</dt><dd><strong class=\"account\">a</strong>"));
    assert!(html.contains("<dt>Latch</dt><dd><span class=\"good\">clear</span>"));
    assert!(
        !html.contains("class=\"banner banner-latch\""),
        "no latch banner while clear"
    );
    // Every account × link, each saying its state in text.
    assert_eq!(html.matches(&cell_of("ok")).count(), 2 * LINKS.len());
    for link in LINKS {
        assert!(
            html.contains(&format!("<th scope=\"col\">{link}</th>")),
            "{link}"
        );
    }
    assert!(html.contains("<span class=\"tag\">active</span>"));
    // The last validation, with its age; the swap `ready` made, audited.
    let doc = server.get("/api/v1/status").json();
    let at = doc["last_validation"].as_str().unwrap();
    assert!(
        html.contains(&format!(
            " ago<br><small><time datetime=\"{at}\">{at}</time></small>"
        )),
        "{html}"
    );
    let audit = html.split("id=\"audit\"").nth(1).unwrap();
    assert!(
        audit.contains("<td>swap</td><td>- &rarr; a</td><td class=\"good\">swapped</td>"),
        "{audit}"
    );
    assert!(html.contains("None: every link is ok."));
}

#[test]
fn every_link_state_has_its_colour_class_and_its_name_in_its_cell() {
    // a: ok, missing, target_missing · b: divergent, not_a_link, missing ·
    // c: home_missing (no home) · d: error (the home is a file).
    let s = Sandbox::new();
    let root = s.root();
    std::fs::create_dir_all(s.shared().join("session-env")).unwrap();
    std::fs::create_dir_all(s.shared().join("file-history")).unwrap();
    make_link(&s.shared().join("session-env"), &s.link("a", "session-env"));
    make_link(&s.shared().join("projects"), &s.link("a", "projects"));
    make_link(&root.join("elsewhere"), &s.link("b", "session-env"));
    std::fs::create_dir(s.link("b", "file-history")).unwrap();
    std::fs::write(root.join("home-d"), "a file, not a home").unwrap();
    s.set_config("accounts.c", root.join("home-c"));
    s.set_config("accounts.d", root.join("home-d"));
    s.add_serve_section();
    let server = s.serve(None);
    let html = page(&server);

    for state in LINK_STATES {
        let cell = cell_of(state);
        let at = html
            .find(&cell)
            .unwrap_or_else(|| panic!("no {state} cell in {html}"));
        let rest = &html[at..];
        let end = rest.find("</td>").unwrap();
        assert!(
            rest[..end].contains(&format!("<span class=\"name\">{state}</span>")),
            "the cell names its state: {}",
            &rest[..end]
        );
        assert!(html.contains(&format!(".state-{state}")), "CSS for {state}");
    }
    assert_eq!(html.matches(&cell_of("home_missing")).count(), LINKS.len());
    assert_eq!(html.matches(&cell_of("error")).count(), LINKS.len());
    // The paths are in the cell: where a divergent link points.
    let elsewhere = root.join("elsewhere").display().to_string();
    assert!(
        html.contains(&format!("<small>→ {elsewhere}</small>")),
        "{html}"
    );
    assert!(html.contains("<strong>NOT READY</strong>"));
    // The problems list holds the same lines as /api/v1/status.
    let doc = server.get("/api/v1/status").json();
    for p in doc["problems"].as_array().unwrap() {
        let p = escaped(p.as_str().unwrap());
        assert!(html.contains(&format!("<li>{p}</li>")), "{p}");
    }
}

#[test]
fn hostile_paths_and_link_names_show_as_text_never_as_markup() {
    let s = Sandbox::new();
    let home = s.root().join("<script>alert(1)</script>");
    std::fs::create_dir_all(&home).unwrap();
    let odd_target = Path::new(OsStr::from_bytes(b"/tmp/\xff<script>alert(2)</script>\"'&"));
    let link_name = "<img src=x onerror=alert(3)>\"'&";
    make_link(odd_target, &home.join(link_name));
    s.set_config("accounts.b", &home);
    s.set_config("shared", [link_name, "projects"]);
    s.add_serve_section();
    let server = s.serve(None);
    let html = page(&server);

    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("alert(3)>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("/tmp/\\xff&lt;script&gt;alert(2)&lt;/script&gt;&quot;&#39;&amp;"),
        "the stray byte as \\xff text: {html}"
    );
    assert!(
        html.contains("<th scope=\"col\">&lt;img src=x onerror=alert(3)&gt;&quot;&#39;&amp;</th>"),
        "{html}"
    );
    assert!(html.contains(&cell_of("divergent")));
}

#[test]
fn other_methods_get_405_in_the_error_shape_and_unknown_pages_404() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    for method in ["POST", "PUT", "DELETE"] {
        let r = http(server.addr, method, "/", &[], b"");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET"));
        let v = r.json();
        assert_eq!(v["outcome"], "method_not_allowed");
        assert!(v["errors"][0].is_string());
    }
    assert_eq!(server.get("/index.html").status, 404);
    // The page is not served on the admin listener.
    let r = http(server.admin.unwrap(), "GET", "/", &[], b"");
    assert_ne!(r.status, 200);
}

#[test]
fn loading_the_page_never_runs_a_validation() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let validations = || server.metrics().value("homeswap_validations_total");
    let before = validations();
    for _ in 0..20 {
        page(&server);
    }
    assert_eq!(
        validations(),
        before,
        "the page is built from the cached state"
    );
}

#[cfg(feature = "failpoints")]
#[test]
fn a_set_latch_is_a_banner_with_its_accounts_and_errors() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(Some("swap::ensure=return;swap::rollback=return"));
    let r = server.admin_post("/api/v1/swap", Some(common::TOKEN), r#"{"to":"b"}"#);
    assert_eq!(r.status, 500, "{}", r.text());
    let latch = server.get("/api/v1/status").json()["latch"].clone();
    let html = page(&server);

    let banner = html
        .split("<section class=\"banner banner-latch\" id=\"latch\" role=\"alert\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no latch banner in {html}"));
    let banner = &banner[..banner.find("</section>").unwrap()];
    assert!(banner.contains("Partial-swap latch is SET"), "{banner}");
    assert!(banner.contains("during the swap a &rarr; b"), "{banner}");
    assert!(
        banner.contains(latch["set_at"].as_str().unwrap()),
        "{banner}"
    );
    for e in latch["errors"].as_array().unwrap() {
        let e = escaped(e.as_str().unwrap());
        assert!(banner.contains(&format!("<li>{e}</li>")), "{e} in {banner}");
    }
    assert!(html.contains("<dt>Latch</dt><dd><a class=\"bad\" href=\"#latch\">SET</a>"));
    assert!(html.contains("<strong>NOT READY</strong>"));
    let audit = html.split("id=\"audit\"").nth(1).unwrap();
    assert!(
        audit.contains("<td>a &rarr; b</td><td class=\"bad\">partial</td>"),
        "{audit}"
    );
}

#[test]
fn limits_and_unmanaged_entries_are_shown_within_a_second() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    assert!(!page(&server).contains("LIMITED"));
    let until = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
    )
    .to_string();
    s.ok(&[
        "failover",
        "--from",
        "a",
        "--reason",
        "rate_limit",
        "--until",
        &until,
    ]);
    std::fs::create_dir(s.home("b").join("todos")).unwrap();
    common::wait_for(
        "the page to show the limit and the entry",
        std::time::Duration::from_secs(1),
        || {
            let html = page(&server);
            html.contains("LIMITED") && html.contains("unmanaged entry: todos")
        },
    );
    let html = page(&server);
    assert!(
        html.contains("<strong>a</strong>: <span class=\"bad\">LIMITED</span> (rate_limit) until"),
        "{html}"
    );
    assert!(
        html.contains("<strong>b</strong>: <span class=\"good\">free</span>"),
        "{html}"
    );
}

#[test]
fn with_no_usage_reported_the_usage_section_says_how_to_install_the_statusline() {
    // The bars themselves are pinned by the unit tests of
    // `http::page::sections::usage`, which build the usage document; here
    // the real sidecar, whose accounts have reported nothing, over HTTP.
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let html = page(&server);
    let usage = section(&html, "usage");
    assert!(usage.contains("<h2>Usage</h2>"), "{usage}");
    assert!(
        usage.contains("No usage reported yet")
            && usage.contains("<code>homeswap statusline</code>"),
        "{usage}"
    );
    assert!(
        usage.contains("&quot;statusLine&quot;: {&quot;type&quot;: &quot;command&quot;"),
        "the settings.json line, escaped: {usage}"
    );
    // The line works pasted as it is: it names the configuration in force.
    assert!(
        usage.contains(&format!(
            "&quot;command&quot;: &quot;homeswap --config {} statusline&quot;",
            s.config.display()
        )),
        "{usage}"
    );
    assert!(!usage.contains("class=\"bar\""), "no bar without usage");
    // Where a person reads it: before the problems.
    let at = |needle: &str| html.find(needle).unwrap_or(usize::MAX);
    assert!(at("<section id=\"usage\">") < at("<section id=\"problems\">"));
}

#[test]
fn usage_a_status_line_reports_shows_as_bars_within_a_second() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let out = s.report_usage("page-1", 42, 13);
    assert_eq!(out.stdout.trim(), "a · 5h 42% · 7d 13%");
    common::wait_for(
        "the page to show a's usage",
        std::time::Duration::from_secs(1),
        || page(&server).contains("5h <strong>42%</strong>"),
    );
    let html = page(&server);
    let usage = section(&html, "usage");
    assert!(usage.contains("width:42.0%"), "{usage}");
    assert!(usage.contains("7d <strong>13%</strong>"), "{usage}");
    assert!(
        usage.contains("(in 2 h 59 min)") || usage.contains("(in 3 h"),
        "{usage}"
    );
    assert!(!usage.contains("No usage reported yet"), "{usage}");
    // b reported nothing: its windows say so.
    assert!(usage.contains("not reported"), "{usage}");
}
