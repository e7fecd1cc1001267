//! `homeswap statusline` fed Claude Code's status JSON on stdin: it prints
//! one line, records the usage of the session's account only when it
//! changed, fails over once per threshold crossing, wraps the person's own
//! status-line command, always exits 0 within 2 s, and the sidecar shows
//! the usage within a second.
#![cfg(feature = "failpoints")]

mod common;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{wait_for, Run, Sandbox};

/// The contract's answer time.
const DEADLINE: Duration = Duration::from_secs(2);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A sandbox whose active link (`a`) was made two hours ago: a session's
/// requests now went out on `a`.
fn ready() -> Sandbox {
    let s = Sandbox::ready();
    s.age_flips(Duration::from_secs(2 * 3600));
    s
}

fn statusline(s: &Sandbox, args: &[&str], input: &[u8]) -> (Run, Duration) {
    statusline_with(s, args, input, None)
}

fn statusline_with(
    s: &Sandbox,
    args: &[&str],
    input: &[u8],
    failpoints: Option<&str>,
) -> (Run, Duration) {
    let mut all = vec!["statusline"];
    all.extend_from_slice(args);
    let input = after_a_request(s, input);
    s.run_stdin(&all, &input, failpoints)
}

/// What Claude Code does before a status update with numbers: one more
/// answered request in the session's transcript, which the update names
/// (input that is no such update is left as it is).
fn after_a_request(s: &Sandbox, input: &[u8]) -> Vec<u8> {
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice(input) else {
        return input.to_vec();
    };
    let (Some(session), true, false) = (
        doc.get("session_id").and_then(|v| v.as_str()),
        doc.contains_key("rate_limits"),
        doc.contains_key("transcript_path"),
    ) else {
        return input.to_vec();
    };
    let path = s.claude_request(session, "p", false);
    // Inserted as text: the numbers stay exactly as written.
    let mut out = format!("{{\"transcript_path\":\"{}\",", path.display()).into_bytes();
    out.extend_from_slice(&input[1..]);
    out
}

/// Exit 0, exactly one line on stdout (after any wrapped output), in time;
/// returns that line.
fn one_line(r: &Run, took: Duration) -> String {
    assert_eq!(r.code, 0, "{r:?}");
    assert!(took < DEADLINE, "took {took:?}: {r:?}");
    let last = r
        .stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no line: {r:?}"));
    assert!(r.stdout.ends_with('\n'), "{r:?}");
    last.to_string()
}

/// Claude Code's status JSON (the shape of ../shared/CLAUDE-CODE.md).
fn status(session: Option<&str>, five: f64, five_resets: u64, seven: f64) -> Vec<u8> {
    // Claude Code always names the session.
    let session = Some(session.unwrap_or("s-0"))
        .map(|s| format!(r#""session_id":"{s}","#))
        .unwrap_or_default();
    format!(
        r#"{{{session}"cwd":"/w","model":{{"id":"claude-opus-4-1","display_name":"Opus"}},"version":"2.1.328","cost":{{"total_cost_usd":0.01}},"context_window":{{"context_window_size":200000}},"rate_limits":{{"five_hour":{{"used_percentage":{five},"resets_at":{five_resets}}},"seven_day":{{"used_percentage":{seven},"resets_at":{}}}}}}}"#,
        now() + 5 * 24 * 3600
    )
    .into_bytes()
}

fn with_threshold(s: &Sandbox, threshold: u8) {
    s.set_config("failover.threshold", threshold);
}

fn usage(s: &Sandbox) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(s.state().join("usage.json")).unwrap()).unwrap()
}

fn session_start(s: &Sandbox, id: &str) {
    let event =
        format!(r#"{{"session_id":"{id}","hook_event_name":"SessionStart","source":"startup"}}"#);
    let (r, _) = s.run_stdin(&["hook"], event.as_bytes(), None);
    assert_eq!(r.code, 0, "{r:?}");
}

fn usage_failovers(s: &Sandbox) -> Vec<serde_json::Value> {
    s.audit()
        .into_iter()
        .filter(|e| e["action"] == "failover" && e["reason"] == "usage")
        .collect()
}

#[test]
fn it_prints_the_line_and_records_the_usage_for_status() {
    let s = ready();
    let resets = now() + 3600;
    let (r, took) = statusline(&s, &[], &status(None, 42.0, resets, 13.0));
    assert_eq!(one_line(&r, took), "a · 5h 42% · 7d 13%");
    let u = usage(&s);
    assert_eq!(u["accounts"]["a"]["five_hour"]["used_percentage"], 42.0);
    assert_eq!(u["accounts"]["a"]["five_hour"]["resets_at"], resets);
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    let a = &doc["usage"]["accounts"][0];
    assert_eq!(a["account"], "a");
    assert_eq!(a["five_hour"]["ratio"], 0.42);
    assert_eq!(a["five_hour"]["resets_at_unix"], resets);
    assert_eq!(a["seven_day"]["used_percentage"], 13.0);
    assert_eq!(
        doc["usage"]["accounts"][1]["five_hour"],
        serde_json::Value::Null
    );
    let text = s.ok(&["status"]).stdout;
    assert!(text.contains("usage:    a: 5h 42% (resets "), "{text}");
}

#[test]
fn an_unchanged_update_does_not_touch_the_record() {
    let s = ready();
    let input = status(None, 42.0, now() + 3600, 13.0);
    statusline(&s, &[], &input);
    let path = s.state().join("usage.json");
    let before = std::fs::metadata(&path).unwrap();
    for _ in 0..3 {
        let (r, took) = statusline(&s, &[], &input);
        assert_eq!(one_line(&r, took), "a · 5h 42% · 7d 13%");
    }
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(
        (before.ino(), before.mtime(), before.mtime_nsec()),
        (after.ino(), after.mtime(), after.mtime_nsec()),
        "rewritten although nothing changed"
    );
    // No lock is even opened for an unchanged update: a lock that cannot
    // be taken (a directory in its place) is noticed only by a change.
    let lock = s.state().join("usage.lock");
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let (r, _) = statusline(&s, &[], &input);
    assert_eq!(r.stderr, "", "{r:?}");
    let (r, _) = statusline(&s, &[], &status(None, 44.0, now() + 3600, 13.0));
    assert!(r.stderr.contains("usage not recorded"), "{r:?}");
    std::fs::remove_dir(&lock).unwrap();
    // A change is written (a new file by rename).
    statusline(&s, &[], &status(None, 43.0, now() + 3600, 13.0));
    assert_ne!(std::fs::metadata(&path).unwrap().ino(), before.ino());
    assert_eq!(
        usage(&s)["accounts"]["a"]["five_hour"]["used_percentage"],
        43.0
    );
}

#[test]
fn a_busy_usage_lock_skips_the_write_and_the_next_update_retries() {
    let s = ready();
    statusline(&s, &[], &status(None, 42.0, now() + 3600, 13.0));
    let lock = std::fs::File::open(s.state().join("usage.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let input = status(None, 50.0, now() + 3600, 13.0);
    let (r, took) = statusline(&s, &[], &input);
    assert_eq!(one_line(&r, took), "a · 5h 50% · 7d 13%", "shown anyway");
    assert_eq!(
        usage(&s)["accounts"]["a"]["five_hour"]["used_percentage"],
        42.0
    );
    drop(held);
    statusline(&s, &[], &input);
    assert_eq!(
        usage(&s)["accounts"]["a"]["five_hour"]["used_percentage"],
        50.0
    );
}

#[test]
fn a_crossing_fails_over_once_and_rearms_below_the_threshold() {
    let s = ready();
    with_threshold(&s, 95);
    session_start(&s, "s-1");
    let resets = now() + 3600;
    let crossing = status(Some("s-1"), 96.0, resets, 13.0);
    let (r, took) = statusline(&s, &[], &crossing);
    let line = one_line(&r, took);
    assert_eq!(s.active_account(), "b", "{r:?}");
    assert!(
        line.starts_with("a · 5h 96% · 7d 13% · failed over to b"),
        "{line}"
    );
    let fired = usage_failovers(&s);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["from"], "a");
    assert_eq!(fired[0]["to"], "b");
    assert_eq!(fired[0]["outcome"], "swapped");
    let limits: serde_json::Value =
        serde_json::from_str(&s.ok(&["limits", "--json"]).stdout).unwrap();
    assert_eq!(limits["accounts"][0]["account"], "a");
    assert_eq!(limits["accounts"][0]["reason"], "usage");
    assert_eq!(limits["accounts"][0]["until_unix"], resets);
    // The same update again (no new request since): nothing new, no
    // second failover, however often it comes.
    for _ in 0..3 {
        let (r, took) = statusline(&s, &[], &crossing);
        let line = one_line(&r, took);
        assert!(line.starts_with("a · 5h 96%"), "{line}");
        assert!(line.contains("limited until"), "{line}");
    }
    assert_eq!(usage_failovers(&s).len(), 1);
    assert_eq!(s.active_account(), "b");
    // Back on a by hand, some time ago: a's own numbers again. Still at
    // the threshold: nothing fires; below it re-arms; the next crossing
    // requests again.
    s.ok(&["swap", "a"]);
    s.age_flips(Duration::from_secs(2 * 3600));
    statusline(&s, &[], &status(Some("s-1"), 97.0, resets, 13.0));
    assert_eq!(usage_failovers(&s).len(), 1);
    statusline(&s, &[], &status(Some("s-1"), 50.0, resets, 13.0));
    assert_eq!(usage_failovers(&s).len(), 1);
    statusline(&s, &[], &status(Some("s-1"), 96.0, resets, 13.0));
    let fired = usage_failovers(&s);
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert_eq!(fired[1]["from"], "a");
    assert_eq!(fired[1]["outcome"], "swapped", "{fired:?}");
    assert_eq!(s.active_account(), "b");
}

#[test]
fn each_account_fails_over_at_its_own_threshold() {
    let s = Sandbox::ready();
    with_threshold(&s, 95);
    s.set_config("failover.thresholds", serde_json::json!({"a": 80}));
    session_start(&s, "s-1");
    let resets = now() + 3600;
    // 79% is below a's own 80: nothing; 82% reaches it (not the common 95).
    let (r, took) = statusline(&s, &[], &status(Some("s-1"), 79.0, resets, 13.0));
    one_line(&r, took);
    assert_eq!(s.active_account(), "a", "{r:?}");
    let (r, took) = statusline(&s, &[], &status(Some("s-1"), 82.0, resets, 13.0));
    let line = one_line(&r, took);
    assert!(
        line.starts_with("a · 5h 82% · 7d 13% · failed over to b"),
        "{line}"
    );
    assert_eq!(s.active_account(), "b");
    // b has no entry of its own: the common 95 is its threshold (a
    // session started clear of the swap).
    s.age_flips(Duration::from_secs(2));
    session_start(&s, "s-2");
    let (r, took) = statusline(&s, &[], &status(Some("s-2"), 90.0, resets, 13.0));
    let line = one_line(&r, took);
    assert!(line.starts_with("b · 5h 90%"), "{line}");
    assert_eq!(usage_failovers(&s).len(), 1);
    assert_eq!(s.active_account(), "b");
    let v: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    let accounts = v["usage"]["accounts"].as_array().unwrap();
    let of = |name: &str| {
        accounts
            .iter()
            .find(|a| a["account"] == name)
            .unwrap_or_else(|| panic!("{name}: {v}"))
            .clone()
    };
    assert_eq!(of("a")["threshold"], 80, "{v}");
    assert_eq!(of("a")["at_threshold"], true, "{v}");
    assert_eq!(of("b")["threshold"], 95, "{v}");
    assert_eq!(of("b")["at_threshold"], false, "{v}");
}

#[test]
fn just_below_the_threshold_does_not_fire_and_minus_zero_shows_as_zero() {
    let s = ready();
    with_threshold(&s, 95);
    session_start(&s, "s-1");
    let resets = now() + 3600;
    // The last one is beyond f64's precision: read as the nearest double,
    // it would be 95 exactly.
    for (n, five) in [
        "94.99999999999999",
        "94.999999999999999",
        "94.99999999999999999999",
        "9.4999999999999999e1",
    ]
    .into_iter()
    .enumerate()
    {
        let seven = if n % 2 == 0 { "-0.0" } else { "-0" };
        let input = format!(
            r#"{{"session_id":"s-1","rate_limits":{{"five_hour":{{"used_percentage":{five},"resets_at":{resets}}},"seven_day":{{"used_percentage":{seven},"resets_at":{resets}}}}}}}"#
        );
        let (r, took) = statusline(&s, &[], input.as_bytes());
        let line = one_line(&r, took);
        assert_eq!(line, "a · 5h 94% · 7d 0%", "{five}, {seven}: {r:?}");
        assert_eq!(s.active_account(), "a", "{five}: no failover below 95");
    }
    assert!(usage_failovers(&s).is_empty());
    let u = usage(&s);
    assert!(
        u["accounts"]["a"]["five_hour"]["used_percentage"]
            .as_f64()
            .unwrap()
            < 95.0,
        "{u}"
    );
    let doc: serde_json::Value = serde_json::from_str(&s.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(doc["usage"]["accounts"][0]["at_threshold"], false, "{doc}");
    // 95 itself fires.
    let (r, took) = statusline(&s, &[], &status(Some("s-1"), 95.0, resets, 0.0));
    assert!(one_line(&r, took).contains("failed over to b"), "{r:?}");
}

/// Issue 21's steps 1-3 with the status line alone: each update's
/// numbers are recorded for the account that served its request (the one
/// the active link named when it went out), an update that repeats the
/// previous one records nothing, and a request too close to a flip is
/// nobody's: nothing recorded, and said.
#[test]
fn usage_is_recorded_for_the_account_that_served_the_request() {
    let s = ready();
    let resets = now() + 3600;
    let first = status(Some("s-a"), 42.0, resets, 13.0);
    let (r, took) = statusline(&s, &[], &first);
    assert_eq!(one_line(&r, took), "a · 5h 42% · 7d 13%");
    s.ok(&["swap", "b"]);
    // The same numbers again: no new request, nothing for b.
    let (r, took) = statusline(&s, &[], &first);
    assert_eq!(one_line(&r, took), "a · 5h 42% · 7d 13% · active b");
    assert!(r.stderr.is_empty(), "{r:?}");
    let u = usage(&s);
    assert_eq!(u["accounts"]["a"]["five_hour"]["used_percentage"], 42.0);
    assert!(u["accounts"].get("b").is_none(), "{u}");
    // New numbers from a request sent right at the swap: which account
    // served it cannot be told; nothing is recorded, and it says why.
    let (r, took) = statusline(&s, &[], &status(Some("s-a"), 17.0, resets, 5.0));
    assert_eq!(one_line(&r, took), "? · 5h 17% · 7d 5% · active b");
    assert!(
        r.stderr.contains("cannot be told") && r.stderr.contains("not recorded"),
        "{r:?}"
    );
    let u = usage(&s);
    assert!(u["accounts"].get("b").is_none(), "{u}");
    assert_eq!(u["accounts"]["a"]["five_hour"]["used_percentage"], 42.0);
    let said: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "attribution")
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(
        (&said[0]["outcome"], &said[0]["reason"]),
        (&"unknown".into(), &"usage".into())
    );
    // The session's next request, clear of the swap, went out on b: b's.
    s.age_flips(Duration::from_secs(2 * 3600));
    let (r, took) = statusline(&s, &[], &status(Some("s-a"), 18.0, resets, 5.0));
    assert_eq!(one_line(&r, took), "b · 5h 18% · 7d 5%");
    let u = usage(&s);
    assert_eq!(u["accounts"]["b"]["five_hour"]["used_percentage"], 18.0);
    assert_eq!(
        u["accounts"]["a"]["five_hour"]["used_percentage"], 42.0,
        "a keeps its numbers"
    );
    // Another session, new: b's too.
    let (r, took) = statusline(&s, &[], &status(Some("s-new"), 19.0, resets, 5.0));
    assert_eq!(one_line(&r, took), "b · 5h 19% · 7d 5%");
}

/// The counters (`prompt_cache.requests`) moved by more requests than the
/// session's transcript shows since the previous update (a subagent's
/// requests go to a transcript of their own): the numbers may be those of
/// a request homeswap cannot place, so nothing is recorded.
#[test]
fn requests_the_transcript_does_not_show_are_not_placed() {
    let s = ready();
    session_start(&s, "s-sub");
    s.ok(&["swap", "b"]);
    // Clear of the swap, which came after the session started: the
    // transcript places each request.
    s.wait_active_link_older_than(Duration::from_millis(1100));
    let resets = now() + 3600;
    let update = |requests: u32, pct: u32| {
        format!(
            r#"{{"session_id":"s-sub","prompt_cache":{{"requests":{requests}}},"rate_limits":{{"five_hour":{{"used_percentage":{pct},"resets_at":{resets}}}}}}}"#
        )
    };
    let (r, took) = statusline(&s, &[], update(1, 20).as_bytes());
    assert_eq!(one_line(&r, took), "b · 5h 20%", "{r:?}");
    // One more request in the transcript, three more in the counters.
    let (r, took) = statusline(&s, &[], update(4, 30).as_bytes());
    assert_eq!(one_line(&r, took), "? · 5h 30% · active b", "{r:?}");
    assert!(
        r.stderr
            .contains("the counters moved by 3 requests, of which the transcript shows 1"),
        "{r:?}"
    );
    assert_eq!(
        usage(&s)["accounts"]["b"]["five_hour"]["used_percentage"],
        20.0
    );
    // One each: placed again.
    let (r, took) = statusline(&s, &[], update(5, 31).as_bytes());
    assert_eq!(one_line(&r, took), "b · 5h 31%", "{r:?}");
}

/// Where homeswap cannot tell: an update that names no session, or whose
/// transcript is not where a session's is, or missing, records nothing
/// after a swap, and says so.
#[test]
fn an_update_it_cannot_place_records_nothing_and_says_so() {
    let s = ready();
    s.ok(&["swap", "b"]);
    let resets = now() + 3600;
    let no_session = format!(
        r#"{{"rate_limits":{{"five_hour":{{"used_percentage":30,"resets_at":{resets}}}}}}}"#
    );
    let (r, took) = statusline(&s, &[], no_session.as_bytes());
    assert_eq!(one_line(&r, took), "? · 5h 30% · active b");
    assert!(r.stderr.contains("names no session"), "{r:?}");
    let elsewhere = format!(
        r#"{{"session_id":"s-x","transcript_path":"/etc/passwd","rate_limits":{{"five_hour":{{"used_percentage":31,"resets_at":{resets}}}}}}}"#
    );
    let (r, took) = statusline(&s, &[], elsewhere.as_bytes());
    assert_eq!(one_line(&r, took), "? · 5h 31% · active b");
    assert!(r.stderr.contains("not the session's file"), "{r:?}");
    assert!(
        !r.stderr.contains("root:"),
        "nothing of it is printed: {r:?}"
    );
    let missing = format!(
        r#"{{"session_id":"s-y","transcript_path":"{}","rate_limits":{{"five_hour":{{"used_percentage":32,"resets_at":{resets}}}}}}}"#,
        s.transcript("s-y").display()
    );
    let (r, took) = statusline(&s, &[], missing.as_bytes());
    assert_eq!(one_line(&r, took), "? · 5h 32% · active b");
    assert!(r.stderr.contains("does not exist"), "{r:?}");
    assert!(!s.state().join("usage.json").exists(), "nothing recorded");
    let said = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "attribution")
        .count();
    assert_eq!(said, 3, "each said in the audit log");
}

#[test]
fn garbage_still_prints_a_line_and_exits_0() {
    let s = ready();
    let mut huge = b"{\"pad\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 3 << 20));
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"not json".to_vec(),
        b"\xff\xfe\x00".to_vec(),
        b"[1,2]".to_vec(),
        br#"{"session_id":"../../etc/passwd","rate_limits":{"five_hour":"x"}}"#.to_vec(),
        br#"{"model":{"id":"m"}}"#.to_vec(),
        huge,
    ];
    for input in inputs {
        let (r, took) = statusline(&s, &[], &input);
        let line = one_line(&r, took);
        assert!(
            line == "a" || line == "homeswap: no status",
            "{line}: {r:?}"
        );
        assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    }
    assert!(!s.state().join("usage.json").exists());
    // A broken configuration too.
    std::fs::write(&s.config, "accounts: [").unwrap();
    let (r, took) = statusline(&s, &[], &status(None, 1.0, now() + 60, 1.0));
    assert_eq!(one_line(&r, took), "homeswap: configuration error");
    // A usage file of garbage is reported and replaced, never a panic.
    let s = ready();
    std::fs::create_dir_all(s.state()).unwrap();
    std::fs::write(s.state().join("usage.json"), b"\x00garbage").unwrap();
    let (r, took) = statusline(&s, &[], &status(None, 5.0, now() + 60, 1.0));
    assert_eq!(one_line(&r, took), "a · 5h 5% · 7d 1%");
    assert!(r.stderr.contains("parse the usage"), "{r:?}");
    assert_eq!(
        usage(&s)["accounts"]["a"]["five_hour"]["used_percentage"],
        5.0
    );
}

#[test]
fn stdin_that_never_closes_still_gets_a_line_in_time() {
    let s = ready();
    let start = Instant::now();
    let mut child = s
        .command(&["statusline"], None)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"{\"session_id\":").unwrap();
    let out = child.wait_with_output().unwrap();
    let r = Run::from(out);
    assert_eq!(one_line(&r, start.elapsed()), "homeswap: no status");
    drop(stdin);
}

#[test]
fn the_latch_and_a_limit_are_marked() {
    let s = ready();
    session_start(&s, "s-a");
    let input = status(Some("s-a"), 10.0, now() + 60, 1.0);
    statusline(&s, &[], &input);
    let until = now() + 7200;
    let until_text = {
        let r = s.ok(&["failover", "--from", "a", "--until", &rfc3339(until)]);
        assert!(r.stdout.contains('b') || r.stderr.contains('b'), "{r:?}");
        rfc3339(until)
    };
    // The same update again: still a's numbers, with a's marks.
    let (r, took) = statusline(&s, &[], &input);
    let line = one_line(&r, took);
    assert!(
        line.starts_with("a · 5h 10% · 7d 1% · limited until "),
        "{line} ({until_text})"
    );
    let r = s.run_with(&["swap", "a"], "swap::ensure=return;swap::rollback=return");
    assert_eq!(r.code, 3, "{r:?}");
    let (r, took) = statusline(&s, &[], b"{}");
    assert!(one_line(&r, took).ends_with(" · LATCHED"), "{r:?}");
}

fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

#[test]
fn a_wrapped_command_prints_first_and_a_hanging_one_is_cut_off() {
    let s = ready();
    let input = status(Some("s-w"), 42.0, now() + 3600, 13.0);
    let (r, took) = statusline(
        &s,
        &[
            "--wrap",
            "grep -o '\"version\":\"[^\"]*\"'; printf 'second'",
        ],
        &input,
    );
    assert_eq!(one_line(&r, took), "a · 5h 42% · 7d 13%");
    assert_eq!(
        r.stdout, "\"version\":\"2.1.328\"\nsecond\na · 5h 42% · 7d 13%\n",
        "{r:?}"
    );
    let (r, took) = statusline(&s, &["--wrap", "echo partial; sleep 30"], &input);
    assert_eq!(r.stdout, "a · 5h 42% · 7d 13%\n", "{r:?}");
    assert!(took < DEADLINE, "{took:?}");
    assert!(r.stderr.contains("did not finish in time"), "{r:?}");
    let (r, took) = statusline(&s, &["--wrap", "echo mine; exit 7"], &input);
    assert_eq!(r.stdout, "mine\na · 5h 42% · 7d 13%\n", "{r:?}");
    assert_eq!(r.code, 0);
    assert!(took < DEADLINE);
}

/// True once `pid` has ended (gone, or a zombie waiting to be reaped).
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

#[test]
fn a_wrapped_command_that_detaches_with_setsid_is_killed_with_it() {
    let s = ready();
    let input = status(Some("s-w"), 42.0, now() + 3600, 13.0);
    for (n, how) in [
        // In a new session, holding the output pipe.
        "setsid sh -c 'echo $$ > PIDFILE; exec sleep 60' 2>/dev/null",
        // In a new session in the background, its parent hanging.
        "setsid sh -c 'echo $$ > PIDFILE; exec sleep 60' >/dev/null 2>&1 & sleep 30",
        // A daemon's double fork: orphaned at once, in a new session.
        "(setsid sh -c 'echo $$ > PIDFILE; exec sleep 60' 2>/dev/null &); sleep 30",
    ]
    .into_iter()
    .enumerate()
    {
        let pidfile = s.root().join(format!("detached-{n}.pid"));
        let wrap = how.replace("PIDFILE", &pidfile.display().to_string());
        let (r, took) = statusline(&s, &["--wrap", &wrap], &input);
        assert_eq!(r.stdout, "a · 5h 42% · 7d 13%\n", "{how}: {r:?}");
        assert!(took < DEADLINE, "{how}: {took:?}");
        assert!(r.stderr.contains("did not finish in time"), "{how}: {r:?}");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone = std::time::Instant::now() + Duration::from_secs(5);
        while !ended(pid) && std::time::Instant::now() < gone {
            std::thread::sleep(Duration::from_millis(10));
        }
        let survived = !ended(pid);
        if survived {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        assert!(!survived, "{how}: the detached process {pid} survived");
    }
}

#[test]
fn the_sidecar_shows_the_usage_within_a_second() {
    let s = ready();
    s.add_serve_section();
    let server = s.serve(None);
    let metrics = server.metrics();
    assert!(
        !metrics
            .series
            .keys()
            .any(|k| k.starts_with("homeswap_account_usage_ratio{")),
        "absent until reported"
    );
    let resets = now() + 3600;
    let (r, took) = statusline(&s, &[], &status(None, 42.0, resets, 13.0));
    one_line(&r, took);
    let reported = Instant::now();
    let series = "homeswap_account_usage_ratio{account=\"a\",window=\"five_hour\"}";
    wait_for("the usage gauge", Duration::from_secs(1), || {
        server.metrics().series.get(series) == Some(&0.42)
    });
    assert!(reported.elapsed() < Duration::from_secs(1));
    let m = server.metrics();
    assert_eq!(
        m.value("homeswap_account_usage_ratio{account=\"a\",window=\"seven_day\"}"),
        0.13
    );
    assert_eq!(
        m.value(
            "homeswap_account_usage_reset_timestamp_seconds{account=\"a\",window=\"five_hour\"}"
        ),
        resets as f64
    );
    assert!(!m.series.keys().any(|k| k.contains("account=\"b\",window")));
    let doc = server.get("/api/v1/status").json();
    assert_eq!(doc["usage"]["accounts"][0]["five_hour"]["ratio"], 0.42);
}

#[test]
fn the_threshold_failover_goes_through_the_sidecar_when_one_answers() {
    let s = ready();
    with_threshold(&s, 95);
    let server = s.serve_on_socket(None);
    session_start(&s, "s-1");
    let resets = now() + 3600;
    let (r, took) = statusline(&s, &[], &status(Some("s-1"), 96.0, resets, 13.0));
    let line = one_line(&r, took);
    assert!(
        r.stderr.contains("through the sidecar: 200 swapped"),
        "{r:?}"
    );
    assert!(line.contains("failed over to b"), "{line}");
    assert_eq!(s.active_account(), "b");
    let series = "homeswap_failovers_total{outcome=\"swapped\",reason=\"usage\"}";
    assert_eq!(server.metrics().value(series), 1.0);
    for _ in 0..3 {
        statusline(&s, &[], &status(Some("s-1"), 97.0, resets, 13.0));
    }
    assert_eq!(server.metrics().value(series), 1.0);
    let already = "homeswap_failovers_total{outcome=\"already_moved\",reason=\"usage\"}";
    assert_eq!(server.metrics().value(already), 0.0);
}

#[test]
fn a_panic_in_the_failover_still_prints_a_line_and_exits_0() {
    let s = ready();
    with_threshold(&s, 95);
    let input = status(None, 96.0, now() + 3600, 13.0);
    let (r, took) = statusline_with(&s, &[], &input, Some("failover::after_choose=panic"));
    assert_eq!(one_line(&r, took), "homeswap: internal error", "{r:?}");
    assert_eq!(s.active_account(), "a", "nothing swapped");
    // The lock was released: the next failover works.
    s.ok(&["failover", "--from", "a"]);
    assert_eq!(s.active_account(), "b");
}
