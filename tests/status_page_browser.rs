//! The status page in a real browser: headless Chromium (Debian's
//! `chromium`) loads the page of a running sidecar, the test checks the
//! DOM it rendered and saves screenshots under `target/status-page/` (CI
//! keeps them as artifacts). Ignored by default, like the other tests that
//! need installed programs: `cargo test --features failpoints --test
//! status_page_browser -- --ignored`. Without `chromium` on the PATH (or
//! in `HOMESWAP_TEST_CHROMIUM`) it fails with the line that installs it.
#![cfg(feature = "failpoints")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::server::Server;
use common::{make_link, tool, Sandbox};

/// How long one Chromium run may take before the test gives up on it.
const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// The Chromium to run: `$HOMESWAP_TEST_CHROMIUM`, else Debian's on the
/// PATH; the test fails, saying how to install it, without one.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("HOMESWAP_TEST_CHROMIUM") {
        return PathBuf::from(p);
    }
    tool::find_any(&["chromium", "chromium-browser"]).unwrap_or_else(|| {
        tool::missing(
            "chromium is not installed",
            "install it with `apt-get install -y chromium fonts-dejavu-core` (or name one in HOMESWAP_TEST_CHROMIUM)",
        )
    })
}

/// Where the screenshots go: `target/status-page/`.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .join("status-page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium with `args` on the page of `server`, with a
/// fresh profile; returns its standard output.
fn browse(chromium: &Path, server: &Server, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{}/", server.addr);
    let child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium.display()));
    let r = common::finish_within(child, BROWSER_LIMIT, &format!("chromium {args:?}"));
    assert_eq!(r.code, 0, "chromium {args:?}: {r:?}");
    r.stdout
}

/// Saves screenshots of the page at a desktop and a phone width, and one in
/// the dark scheme, named `<name>.png`, `<name>-phone.png`, `<name>-dark.png`.
fn screenshots(chromium: &Path, server: &Server, name: &str) {
    let dir = artifacts();
    let shots = [
        (format!("{name}.png"), "1200,900", false),
        (format!("{name}-phone.png"), "400,900", false),
        (format!("{name}-dark.png"), "1200,900", true),
    ];
    for (file, size, dark) in shots {
        let path = dir.join(&file);
        let _ = std::fs::remove_file(&path);
        let mut args = vec![
            format!("--screenshot={}", path.display()),
            format!("--window-size={size}"),
        ];
        if dark {
            args.push("--force-dark-mode".into());
            args.push("--blink-settings=preferredColorScheme=0".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        browse(chromium, server, &args);
        let png = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", path.display());
        eprintln!("screenshot: {}", path.display());
    }
}

/// The DOM Chromium built from the page.
fn dom(chromium: &Path, server: &Server) -> String {
    browse(chromium, server, &["--dump-dom"])
}

#[test]
#[ignore = "needs Debian's chromium; CI runs it with --ignored"]
fn chromium_renders_a_broken_link_and_the_latch_banner() {
    let chromium = chromium();
    let s = Sandbox::ready();
    // A partial swap a -> b (ensure and rollback both fail) sets the latch
    // and leaves b active; then one of b's links is broken by hand.
    let r = s.run_with(&["swap", "b"], "swap::ensure=return;swap::rollback=return");
    assert_eq!(r.code, 3, "{r:?}");
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    make_link(&s.root().join("somewhere-else"), &s.link("b", "projects"));
    s.add_serve_section();
    let server = s.serve(None);

    let dom = dom(&chromium, &server);
    assert!(dom.contains("id=\"latch\""), "the latch banner: {dom}");
    assert!(dom.contains("Partial-swap latch is SET"), "{dom}");
    let at = dom
        .find("class=\"state state-divergent\"")
        .unwrap_or_else(|| panic!("no divergent cell in {dom}"));
    let cell = &dom[at..at + dom[at..].find("</td>").unwrap()];
    assert!(cell.contains("data-link=\"projects\""), "{cell}");
    assert!(
        cell.contains("<span class=\"name\">divergent</span>"),
        "{cell}"
    );
    assert!(
        cell.contains("somewhere-else"),
        "the path it points to: {cell}"
    );
    assert_eq!(dom.matches("class=\"state state-ok\"").count(), 5, "{dom}");
    assert!(dom.contains("NOT READY"));
    screenshots(&chromium, &server, "broken");
}

#[test]
#[ignore = "needs Debian's chromium; CI runs it with --ignored"]
fn chromium_renders_a_healthy_layout() {
    let chromium = chromium();
    let s = Sandbox::ready();
    s.ok(&["swap", "b"]);
    // Clear of the flip, so the status line can place the request on b.
    s.age_flips(Duration::from_secs(2));
    s.add_serve_section();
    s.set_config("failover.threshold", 95);
    let server = s.serve(None);
    // A status line reports b's usage: the page shows its bars.
    s.report_usage("browser", 42, 13);
    common::wait_for(
        "the sidecar to pick the usage up",
        Duration::from_secs(1),
        || server.get("/").text().contains("5h <strong>42%</strong>"),
    );

    let dom = dom(&chromium, &server);
    assert!(!dom.contains("id=\"latch\""), "{dom}");
    assert_eq!(dom.matches("class=\"state state-ok\"").count(), 6, "{dom}");
    assert!(dom.contains("<strong>OK</strong>"), "{dom}");
    assert!(dom.contains("5h <strong>42%</strong>"), "{dom}");
    assert!(dom.contains("width:42.0%"), "{dom}");
    screenshots(&chromium, &server, "healthy");
}
