//! The homes' `.credentials.json` across a swap and in the reports: every
//! swap gives the incoming file a fresh modification time (content
//! untouched), so running Claude Code sessions follow it; a swap waits
//! for, holds and releases the outgoing home's OAuth refresh lock as
//! Claude Code takes it; and two homes holding one refresh token, or
//! credential files with one modification time, are warnings in
//! `validate`, `status`, the status document, the page and
//! `homeswap_credentials_duplicated`, with the token never shown anywhere.
//! The real client's side of each is in `tests/claude_credentials.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{wait_for, Sandbox};

/// The refresh token every leak check looks for.
const SECRET: &str = "sk-ant-ort01-Zq9-never-shown-anywhere-42";

/// Writes `account`'s credentials with refresh token `refresh`.
fn login(s: &Sandbox, account: &str, refresh: &str) {
    let creds = serde_json::json!({"claudeAiOauth": {
        "accessToken": format!("access-{account}"), "refreshToken": refresh,
        "expiresAt": 4_102_444_800_000_u64, "scopes": ["user:inference"]}});
    std::fs::write(creds_path(s, account), creds.to_string()).unwrap();
}

fn creds_path(s: &Sandbox, account: &str) -> PathBuf {
    let home = s.home(account);
    if !home.exists() {
        std::fs::create_dir(&home).unwrap();
    }
    home.join(".credentials.json")
}

fn set_mtime(path: &Path, t: SystemTime) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// An hour ago, on a whole second.
fn an_hour_ago() -> SystemTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(now - 3600)
}

#[test]
fn a_swap_gives_the_incoming_credentials_a_time_of_their_own_and_keeps_their_bytes() {
    let s = Sandbox::ready();
    login(&s, "a", "refresh-a");
    login(&s, "b", "refresh-b");
    let same = an_hour_ago();
    set_mtime(&creds_path(&s, "a"), same);
    set_mtime(&creds_path(&s, "b"), same);
    let bytes = std::fs::read(creds_path(&s, "b")).unwrap();
    let warned = s.ok(&["validate"]);
    assert!(
        warned
            .stderr
            .contains("accounts a and b: their .credentials.json have the same modification time"),
        "{warned:?}"
    );

    let before = SystemTime::now();
    s.ok(&["swap", "b"]);
    let moved = mtime(&creds_path(&s, "b"));
    assert!(moved >= before, "b's time is the swap's: {moved:?}");
    assert_eq!(std::fs::read(creds_path(&s, "b")).unwrap(), bytes);
    assert_eq!(mtime(&creds_path(&s, "a")), same, "a is not touched");
    let clean = s.ok(&["validate"]);
    assert!(
        !clean.stderr.contains("same modification time"),
        "{clean:?}"
    );

    // b's file dated just ahead, where "now" would land: a keeps clear.
    let ahead = SystemTime::now() + Duration::from_micros(400);
    set_mtime(&creds_path(&s, "b"), ahead);
    s.ok(&["swap", "a"]);
    let a = mtime(&creds_path(&s, "a"));
    let gap = a.duration_since(ahead).unwrap_or_else(|e| e.duration());
    assert!(gap >= Duration::from_millis(1), "{gap:?}");
}

#[test]
fn one_refresh_token_in_two_homes_is_a_warning_everywhere_and_the_token_is_never_shown() {
    let s = Sandbox::ready();
    login(&s, "a", SECRET);
    login(&s, "b", SECRET);
    set_mtime(&creds_path(&s, "b"), an_hour_ago());
    let mut shown = String::new();

    let v = s.ok(&["validate"]);
    assert!(
        v.stderr.contains("accounts a and b hold the same OAuth refresh token in their .credentials.json (compared by digest; the token is not shown)"),
        "{v:?}"
    );
    assert!(v.stdout.starts_with("ok: 2 accounts"), "exit 0: {v:?}");
    let j = s.ok(&["validate", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(
        doc["credentials"]["duplicated"],
        serde_json::json!([["a", "b"]])
    );
    let st = s.ok(&["status"]);
    assert!(
        st.stdout
            .contains("credentials: accounts a, b hold the same OAuth refresh token"),
        "{st:?}"
    );
    let sj = s.ok(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&sj.stdout).unwrap();
    assert_eq!(
        doc["credentials"]["duplicated"],
        serde_json::json!([["a", "b"]])
    );
    assert_eq!(doc["ok"], true, "a warning, not a problem");
    for r in [&v, &j, &st, &sj] {
        shown.push_str(&r.stdout);
        shown.push_str(&r.stderr);
    }
    shown.push_str(&s.ok(&["swap", "b"]).stderr);
    shown.push_str(&s.ok(&["swap", "a"]).stdout);

    // The sidecar: the metric, the page, the document, the log.
    s.add_serve_section();
    let server = s.serve(None);
    let m = server.metrics();
    assert_eq!(
        m.value(r#"homeswap_credentials_duplicated{account="a"}"#),
        1.0
    );
    assert_eq!(
        m.value(r#"homeswap_credentials_duplicated{account="b"}"#),
        1.0
    );
    let page = server.get("/").text();
    assert!(page.contains("<h2>Credentials</h2>"), "{page}");
    assert!(page.contains("accounts a and b hold the same OAuth refresh token"));
    let api = server.get("/api/v1/status").text();
    assert!(server.logged("credentials"));
    // One of them logs in again (Claude Code writes a temporary file and
    // renames it into place): the finding goes, within a second.
    login(&s, "c", "a-new-login-of-b");
    std::fs::rename(creds_path(&s, "c"), creds_path(&s, "b")).unwrap();
    wait_for("the duplicate to go", Duration::from_secs(5), || {
        server
            .metrics()
            .value(r#"homeswap_credentials_duplicated{account="a"}"#)
            == 0.0
    });
    shown.push_str(&server.get("/metrics").text());
    shown.push_str(&page);
    shown.push_str(&api);
    shown.push_str(&format!("{:?}", server.logs.lock().unwrap()));
    drop(server);

    // Nothing homeswap wrote holds the token, nor its digest.
    for (path, e) in common::snapshot(&s.state()) {
        if let common::Entry::File(bytes) = e {
            shown.push_str(&format!(
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&bytes)
            ));
        }
    }
    let digest = sha256_hex(SECRET);
    assert!(
        shown.contains("audit.jsonl: {"),
        "the audit log was looked at"
    );
    assert!(!shown.contains(SECRET), "the token was shown");
    assert!(!shown.contains(&digest), "its digest was shown");
}

/// The hex SHA-256 of `text`, by the system's `sha256sum`.
fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// Claude Code's refresh lock of `account`'s home, held by the test as a
/// live Claude Code would hold it (no owner record: a fresh lock).
fn hold_refresh_lock(s: &Sandbox, account: &str) -> PathBuf {
    let lock = s.home(account).join(".oauth_refresh.lock");
    std::fs::create_dir(&lock).unwrap();
    lock
}

#[test]
fn a_swap_waits_for_the_outgoing_refresh_lock_and_flips_once_it_is_released() {
    let s = Sandbox::ready();
    login(&s, "a", "refresh-a");
    login(&s, "b", "refresh-b");
    let lock = hold_refresh_lock(&s, "a");
    let mut swap = s.spawn(&["swap", "b"], None);
    wait_for("the swap's intent record", Duration::from_secs(10), || {
        s.state().join("intent.json").exists()
    });
    // Held: the swap waits and the link stays on a.
    std::thread::sleep(Duration::from_millis(300));
    assert!(swap.try_wait().unwrap().is_none(), "the swap did not wait");
    assert_eq!(s.active_account(), "a");
    std::fs::remove_dir(&lock).unwrap();
    let r = common::finish_within(swap, Duration::from_secs(10), "the swap");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(s.active_account(), "b");
    // Released again, with nothing of homeswap's left in or beside a.
    let left: Vec<_> = std::fs::read_dir(s.home("a"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains("lock"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(!s.root().join("home-a.lock").exists());
}

#[test]
fn a_refresh_lock_held_past_the_lock_budget_makes_the_swap_busy_and_changes_nothing() {
    let s = Sandbox::ready();
    login(&s, "a", "refresh-a");
    let lock = hold_refresh_lock(&s, "a");
    let start = Instant::now();
    let r = s.run(&["swap", "b"]);
    assert_eq!(r.code, 4, "busy: {r:?}");
    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "the whole budget"
    );
    assert!(
        r.stderr
            .contains("account a: Claude Code is refreshing its OAuth token"),
        "{r:?}"
    );
    assert_eq!(s.active_account(), "a");
    assert!(lock.is_dir(), "the holder's lock is left to it");
    assert!(!s.state().join("intent.json").exists());
    assert_eq!(
        s.audit_outcomes().last().map(String::as_str),
        Some("swap busy")
    );
}

#[test]
fn a_stale_refresh_lock_is_taken_over_as_claude_code_would() {
    let s = Sandbox::ready();
    let lock = hold_refresh_lock(&s, "a");
    set_mtime_dir(&lock, SystemTime::now() - Duration::from_secs(61));
    let r = s.run(&["swap", "b"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!lock.exists(), "taken over, then released");
}

fn set_mtime_dir(dir: &Path, t: SystemTime) {
    std::fs::File::open(dir).unwrap().set_modified(t).unwrap();
}

#[cfg(feature = "failpoints")]
#[test]
fn a_crash_while_holding_the_refresh_lock_leaves_claude_codes_owner_record_and_recovery_releases_it(
) {
    let s = Sandbox::ready();
    login(&s, "a", "refresh-a");
    s.interrupted_swap("b");
    // As Claude Code would find it: its lock, the legacy lock, and an owner
    // record in its format naming the crashed process.
    let lock = s.home("a").join(".oauth_refresh.lock");
    assert!(lock.is_dir());
    assert!(s.root().join("home-a.lock").is_dir());
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.home("a").join(".oauth_refresh.lock.owner")).unwrap(),
    )
    .unwrap();
    let intent: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.state().join("intent.json")).unwrap())
            .unwrap();
    assert_eq!(record["pid"], intent["pid"]);
    for key in [
        "procStart",
        "pidDomain",
        "pidSpace",
        "lockBirthtimeMs",
        "legacyLockBirthtimeMs",
    ] {
        assert!(!record[key].is_null(), "{key}: {record}");
    }
    let born = std::fs::metadata(&lock).unwrap().created().unwrap();
    let d = born.duration_since(UNIX_EPOCH).unwrap();
    let ms = d.as_secs() as f64 * 1000.0 + f64::from(d.subsec_nanos()) / 1e6;
    assert_eq!(record["lockBirthtimeMs"].as_f64(), Some(ms));

    let r = s.ok(&["status"]);
    assert!(
        r.stderr.contains("recovered an interrupted swap a -> b"),
        "{r:?}"
    );
    assert!(r.stderr.contains(".oauth_refresh.lock"), "{r:?}");
    assert!(!lock.exists());
    assert!(!s.home("a").join(".oauth_refresh.lock.owner").exists());
    assert!(!s.root().join("home-a.lock").exists());
}
