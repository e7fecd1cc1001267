//! `homeswap hook` fed Claude Code's hook events on stdin, with and without
//! a sidecar on the admin socket: it remembers sessions, fails over from
//! the session's account, never writes stdout, always exits 0, and answers
//! within 2 s even while another process holds the lock or the sidecar
//! hangs.
#![cfg(feature = "failpoints")]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{wait_for, Run, Sandbox};

/// The contract's answer time for a hook.
const HOOK_DEADLINE: Duration = Duration::from_secs(2);

fn hook(s: &Sandbox, input: &[u8]) -> (Run, Duration) {
    s.run_stdin(&["hook"], input, None)
}

fn session_start(id: &str) -> Vec<u8> {
    format!(r#"{{"session_id":"{id}","hook_event_name":"SessionStart","source":"startup"}}"#)
        .into_bytes()
}

/// A sandbox whose active link (`a`) was made two hours ago.
fn ready() -> Sandbox {
    let s = Sandbox::ready();
    s.age_flips(Duration::from_secs(2 * 3600));
    s
}

/// Session `id`'s `StopFailure` for a request sent now that met the
/// limit (written to its transcript first, as Claude Code does).
fn stop_failure(s: &Sandbox, id: &str, error: &str) -> Vec<u8> {
    s.claude_request(id, "p1", true);
    late_stop_failure(s, id, error)
}

/// Session `id`'s `StopFailure` for the last request in its transcript.
fn late_stop_failure(s: &Sandbox, id: &str, error: &str) -> Vec<u8> {
    format!(
        r#"{{"session_id":"{id}","transcript_path":"{}","cwd":"/w","prompt_id":"p1","hook_event_name":"StopFailure","error":"{error}","last_assistant_message":"You've hit your 5-hour limit \u00b7 resets 9:46am (UTC)"}}"#,
        s.transcript(id).display()
    )
    .into_bytes()
}

fn limits(s: &Sandbox) -> serde_json::Value {
    serde_json::from_str(&s.ok(&["limits", "--json"]).stdout).unwrap()
}

/// Exit 0, nothing on stdout, within the deadline.
fn quiet_and_quick(r: &Run, took: Duration) {
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    assert!(took < HOOK_DEADLINE, "took {took:?}: {r:?}");
}

#[test]
fn a_session_that_hits_its_limit_fails_over_from_its_account() {
    let s = ready();
    let (r, took) = hook(&s, &session_start("s-1"));
    quiet_and_quick(&r, took);
    assert!(
        r.stderr.contains("session s-1 started on account a"),
        "{r:?}"
    );
    // Both requests went out on a a round trip before their answers
    // (stamped 100 ms back, so the swap below is clearly after them); the
    // other session's hook comes late.
    let sent = std::time::SystemTime::now() - Duration::from_millis(100);
    s.claude_request_sent("s-unknown", "p1", true, sent);
    s.claude_request_sent("s-1", "p1", true, sent);
    let (r, took) = hook(&s, &late_stop_failure(&s, "s-1", "rate_limit"));
    quiet_and_quick(&r, took);
    assert_eq!(s.active_account(), "b");
    assert!(r.stderr.contains("rate_limit: failed over a -> b"), "{r:?}");
    assert!(
        r.stderr
            .contains("at their next request, without a restart"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("claude --continue"), "{r:?}");
    assert!(r.stderr.contains("(from Claude Code's message)"), "{r:?}");
    let l = limits(&s);
    assert_eq!(l["accounts"][0]["source"], "message");
    assert!(
        l["accounts"][0]["until"]
            .as_str()
            .unwrap()
            .ends_with("09:46:00Z"),
        "{l}"
    );
    // The same request's hook again: served by a, already moved, and b is
    // not limited.
    let (r, _) = hook(&s, &late_stop_failure(&s, "s-1", "rate_limit"));
    assert!(r.stderr.contains("already moved to b"), "{r:?}");
    assert_eq!(limits(&s)["accounts"][1]["limited"], false);
    // A session homeswap never saw start, whose request went out on a
    // before the swap: its transcript tells, the same answer.
    let (r, _) = hook(&s, &late_stop_failure(&s, "s-unknown", "billing_error"));
    assert!(r.stderr.contains("auth: already moved to b"), "{r:?}");
    assert_eq!(limits(&s)["accounts"][1]["limited"], false);
    assert!(s.state().join("sessions/s-1.json").exists());
}

#[test]
fn bad_unknown_and_huge_input_is_ignored_with_one_line() {
    let s = ready();
    let huge = vec![b' '; 2 * 1024 * 1024];
    for (input, want) in [
        (&b"{not json"[..], "not a hook event"),
        (&b""[..], "not a hook event"),
        (
            &br#"{"hook_event_name":"PreToolUse","session_id":"x"}"#[..],
            "\"PreToolUse\" is not handled",
        ),
        (
            &br#"{"hook_event_name":"StopFailure","error":"server_error"}"#[..],
            "is not a limit",
        ),
        (
            &br#"{"hook_event_name":"SessionStart","session_id":"../../etc"}"#[..],
            "without a usable session_id",
        ),
        (&huge[..], "over 1 MiB"),
    ] {
        let (r, took) = hook(&s, input);
        quiet_and_quick(&r, took);
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        assert!(r.stderr.contains(want), "{want}: {r:?}");
    }
    assert_eq!(s.active_account(), "a");
    // No configuration at all (none at the default place either): still
    // 0, one line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .arg("hook")
        .env_remove("HOMESWAP_CONFIG")
        .env("XDG_CONFIG_HOME", s.root().join("no-config-here"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let r = Run::from(out);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{r:?}");
    assert!(r.stderr.contains("no configuration file"), "{r:?}");
}

#[test]
fn the_hook_answers_within_two_seconds_while_another_process_holds_the_lock() {
    let s = ready();
    // Sent on a, a moment before the swap that holds the lock.
    let sent = std::time::SystemTime::now() - Duration::from_millis(100);
    s.claude_request_sent("s-2", "p1", true, sent);
    let holder = s.held_swap("b", "");
    let (r, took) = hook(&s, &late_stop_failure(&s, "s-2", "rate_limit"));
    quiet_and_quick(&r, took);
    assert!(r.stderr.contains("failover did not happen (busy)"), "{r:?}");
    assert_eq!(holder.release().code, 0);
}

#[test]
fn the_hook_asks_the_sidecar_on_the_admin_socket() {
    let s = ready();
    let server = s.serve_on_socket(None);
    hook(&s, &session_start("s-3"));
    let (r, took) = hook(&s, &stop_failure(&s, "s-3", "rate_limit"));
    quiet_and_quick(&r, took);
    assert!(r.stderr.contains("rate_limit: failed over a -> b"), "{r:?}");
    assert_eq!(s.active_account(), "b");
    // The sidecar made it (its pid in the audit log) and counted it.
    let f: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "failover")
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["pid"].as_u64(), Some(u64::from(server.child.id())));
    assert!(
        f[0]["until"].as_str().unwrap().ends_with("09:46:00Z"),
        "{f:?}"
    );
    let m = server.metrics();
    assert_eq!(
        m.value("homeswap_failovers_total{outcome=\"swapped\",reason=\"rate_limit\"}"),
        1.0
    );
    assert_eq!(m.value("homeswap_account_limited{account=\"a\"}"), 1.0);
}

#[test]
fn a_hung_sidecar_is_given_up_on_and_the_hook_fails_over_itself_in_time() {
    let s = ready();
    let socket = s.root().join("hung.sock");
    s.set_config("serve.admin.socket", &socket);
    // Accepts and never answers.
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let _held = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(5));
        drop(conns);
    });
    let (r, took) = hook(&s, &stop_failure(&s, "s-4", "rate_limit"));
    quiet_and_quick(&r, took);
    assert!(r.stderr.contains("did not answer"), "{r:?}");
    assert!(r.stderr.contains("failed over a -> b"), "{r:?}");
    assert_eq!(s.active_account(), "b");
    assert!(!Path::new(&s.state().join("latch.json")).exists());
}

/// `claude -p` sends its `StopFailure` hook SIGTERM some 20-40 ms after
/// starting it, as it exits, and waits about 1.5 s before it kills it
/// (tests/claude_failover.rs): the hook finishes its failover all the same.
#[test]
fn a_sigterm_in_the_middle_of_the_failover_does_not_stop_the_hook() {
    let s = ready();
    hook(&s, &session_start("s-term"));
    let hold = s.hold("failover::after_choose");
    let mut child = s
        .command(&["hook"], Some(&hold.failpoint()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&stop_failure(&s, "s-term", "rate_limit"))
        .unwrap();
    // Held after choosing its target: the hook is in the middle of its
    // failover now (no swap yet).
    hold.wait_reached();
    assert_eq!(s.active_account(), "a");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    hold.release();
    let r = Run::from(child.wait_with_output().unwrap());
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{r:?}");
    assert!(r.stderr.contains("rate_limit: failed over a -> b"), "{r:?}");
    assert_eq!(s.active_account(), "b");
}

/// A session that started on `a` and went on after a swap to `b` (the real
/// client reloads the credentials at its next request), with
/// `failover.settle: 0s`: the late hook of a request sent before the swap
/// is a's (`already_moved`, b not limited); a request sent after it that
/// meets a limit, however soon after the swap, is b's: the hook fails over
/// from b. One too close to the swap to tell: nothing recorded, said.
#[test]
fn the_hook_fails_over_from_the_account_that_served_the_failed_request() {
    let s = ready();
    s.set_config("failover.settle", "0s");
    hook(&s, &session_start("s-moved"));
    let sent = std::time::SystemTime::now();
    // Sent on a, a moment before the swap (the send's stamp is to the ms).
    std::thread::sleep(Duration::from_millis(50));
    s.claude_request_sent("s-moved", "p1", true, sent);
    s.ok(&["swap", "b"]);
    let (r, _) = hook(&s, &late_stop_failure(&s, "s-moved", "rate_limit"));
    assert!(r.stderr.contains("already moved to b"), "{r:?}");
    assert_eq!(limits(&s)["accounts"][1]["limited"], false);
    // (That late hook recorded a's limit, which it served; a is free again
    // here so that it can take over.)
    s.ok(&["limits", "clear", "a"]);
    // A request sent right at the swap: which account cannot be told.
    let (r, took) = hook(&s, &stop_failure(&s, "s-moved", "rate_limit"));
    quiet_and_quick(&r, took);
    assert!(
        r.stderr.contains("cannot be told") && r.stderr.contains("no limit recorded"),
        "{r:?}"
    );
    assert_eq!(s.active_account(), "b");
    let l = limits(&s);
    assert_eq!(
        (&l["accounts"][0]["limited"], &l["accounts"][1]["limited"]),
        (&false.into(), &false.into()),
        "{l}"
    );
    let said: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "attribution")
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(
        (&said[0]["outcome"], &said[0]["reason"]),
        (&"unknown".into(), &"rate_limit".into())
    );
    // The next one, clear of the swap (a second later): b's limit.
    s.wait_active_link_older_than(Duration::from_millis(1100));
    let (r, took) = hook(&s, &stop_failure(&s, "s-moved", "rate_limit"));
    quiet_and_quick(&r, took);
    assert!(r.stderr.contains("rate_limit: failed over b -> a"), "{r:?}");
    assert_eq!(s.active_account(), "a");
    assert_eq!(limits(&s)["accounts"][1]["limited"], true);
}

/// Where the hook cannot tell: a `StopFailure` after a swap whose
/// transcript is missing, or is not a session's file (`/etc/passwd`), or
/// names no prompt: nothing recorded or swapped, said on stderr and in
/// the audit log, and nothing of the file printed.
#[test]
fn a_stop_failure_it_cannot_place_records_nothing() {
    let s = ready();
    hook(&s, &session_start("s-x"));
    s.ok(&["swap", "b"]);
    let events = [
        (late_stop_failure(&s, "s-x", "rate_limit"), "did not show"),
        (
            br#"{"session_id":"s-x","transcript_path":"/etc/passwd","prompt_id":"p1","hook_event_name":"StopFailure","error":"rate_limit"}"#.to_vec(),
            "not the session's file",
        ),
        (
            br#"{"session_id":"s-x","hook_event_name":"StopFailure","error":"rate_limit"}"#.to_vec(),
            "names no transcript",
        ),
    ];
    for (event, why) in &events {
        let (r, took) = hook(&s, event);
        quiet_and_quick(&r, took);
        assert!(
            r.stderr.contains(why) && r.stderr.contains("no limit recorded"),
            "{why}: {r:?}"
        );
        assert!(!r.stderr.contains("root:"), "{r:?}");
    }
    assert_eq!(s.active_account(), "b");
    let l = limits(&s);
    assert!(
        l["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["limited"] == false),
        "{l}"
    );
    let said = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "attribution")
        .count();
    assert_eq!(said, events.len());
}

/// A sidecar too slow to answer within the hook's 0.9 s, because it is in
/// the middle of this very failover (held by a failpoint): the hook's own
/// attempt finds the lock held and says the sidecar most likely has it,
/// rather than only "busy"; the sidecar's failover lands.
#[test]
fn a_slow_sidecar_holding_the_lock_is_named_when_the_hook_finds_it_busy() {
    let s = ready();
    let hold = s.hold("failover::after_choose");
    let _server = s.serve_on_socket(Some(&hold.failpoint()));
    hook(&s, &session_start("s-slow"));
    let (r, took) = hook(&s, &stop_failure(&s, "s-slow", "rate_limit"));
    quiet_and_quick(&r, took);
    assert!(r.stderr.contains("did not answer"), "{r:?}");
    assert!(r.stderr.contains("failover did not happen (busy)"), "{r:?}");
    assert!(
        r.stderr
            .contains("most likely by the sidecar still doing this failover"),
        "{r:?}"
    );
    assert!(hold.reached(), "the sidecar's failover went on meanwhile");
    hold.release();
    wait_for("the sidecar's failover", Duration::from_secs(10), || {
        s.active_target() == Some(s.home("b"))
    });
}
