//! What one audit record may hold, and what the status page says when the
//! end of the audit log cannot be shown: a failover over hundreds of
//! accounts writes a line of bounded size that counts what it left out,
//! and a last line too long to read is said to be so, not taken for an
//! empty log.

mod common;

use std::io::Write;

use common::Sandbox;

/// The most one audit line homeswap writes may take: far below what the
/// status page reads of the log's end (64 KiB).
const MAX_LINE: usize = 16 * 1024;

#[test]
fn an_exhausted_failover_over_500_accounts_writes_a_bounded_line_that_counts_what_it_left_out() {
    // `a` and 499 more, `a` active.
    let names: Vec<String> = std::iter::once("a".to_string())
        .chain((1..500).map(|i| format!("account-{i:03}")))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let s = Sandbox::with_accounts(&refs, "");
    // Every other home gone: each is skipped as home_missing.
    for n in &names[1..] {
        std::fs::remove_dir_all(s.home(n)).unwrap();
    }
    let r = s.run(&["failover", "--from", "a"]);
    assert_eq!(r.code, 1, "exhausted: {r:?}");
    let skipped = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("  account"))
        .count();
    assert!(skipped >= 499, "every account is named on stderr: {r:?}");

    let log = std::fs::read_to_string(s.state().join("audit.jsonl")).unwrap();
    let line = log.lines().last().unwrap();
    assert!(
        line.len() <= MAX_LINE,
        "the failover's audit line is {} bytes",
        line.len()
    );
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["action"], "failover");
    assert_eq!(entry["outcome"], "exhausted");
    let listed = entry["errors"].as_array().unwrap().len();
    assert!(listed > 0, "{entry}");
    assert_eq!(
        listed as u64 + entry["errors_omitted"].as_u64().unwrap_or(0),
        skipped as u64,
        "the count of what was left out makes up the rest: {entry}"
    );
}

#[test]
fn the_page_says_when_the_last_audit_line_is_too_long_to_read() {
    let s = Sandbox::ready();
    s.add_serve_section();
    // A line over the 64 KiB the page reads of the log's end, after the
    // swap `ready` made.
    let huge = format!(
        "{{\"time\":\"2026-01-01T00:00:00Z\",\"action\":\"latch_clear\",\"from\":null,\"to\":null,\"outcome\":\"refused\",\"errors\":[\"{}\"],\"duration_seconds\":0.0,\"reason\":\"x\",\"pid\":1}}\n",
        "e".repeat(70 * 1024)
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(s.state().join("audit.jsonl"))
        .unwrap()
        .write_all(huge.as_bytes())
        .unwrap();
    let server = s.serve(None);
    let r = server.get("/");
    assert_eq!(r.status, 200);
    let html = String::from_utf8(r.body).unwrap();
    let audit = html
        .split("<section id=\"audit\">")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap();
    assert!(
        !audit.contains("recorded yet"),
        "a log with entries is not called empty: {audit}"
    );
    assert!(
        audit.contains("The latest audit entries cannot be shown"),
        "{audit}"
    );
    assert!(audit.contains("64 KiB"), "{audit}");
}
