//! Storms: many Claude Code sessions of one account hit its limit at once
//! and fire their hooks together. They must end in exactly one swap, and
//! the account after it must not be marked limited by the late ones; two
//! limits one after the other (a, then b) fail over twice.
#![cfg(feature = "failpoints")]

mod common;

use std::sync::Barrier;

use common::Sandbox;

const N: usize = 20;

/// Accounts a, b, c, links ensured, `a` active.
/// The link was made two hours ago.
fn abc(extra: &str) -> Sandbox {
    let s = Sandbox::with_accounts(&["a", "b", "c"], extra);
    s.age_flips(std::time::Duration::from_secs(2 * 3600));
    s
}

/// A hook event; a `StopFailure` of a session names its transcript,
/// where its failed request is.
fn event(s: &Sandbox, name: &str, session: Option<&str>) -> String {
    let id = session
        .map(|id| {
            format!(
                r#""session_id":"{id}","transcript_path":"{}","prompt_id":"p1","#,
                s.transcript(id).display()
            )
        })
        .unwrap_or_default();
    format!(
        r#"{{{id}"hook_event_name":"{name}","error":"rate_limit","last_assistant_message":"You've hit your 5-hour limit · resets 9:46am (UTC)"}}"#
    )
}

/// Fires one StopFailure hook per entry of `sessions` at the same moment
/// and waits for all; each must exit 0 with nothing on stdout.
fn storm(s: &Sandbox, sessions: Vec<Option<String>>) {
    let barrier = Barrier::new(sessions.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = sessions
            .into_iter()
            .map(|session| {
                let barrier = &barrier;
                let input = event(s, "StopFailure", session.as_deref());
                scope.spawn(move || {
                    barrier.wait();
                    let (r, _) = s.run_stdin(&["hook"], input.as_bytes(), None);
                    assert_eq!(r.code, 0, "{r:?}");
                    assert!(r.stdout.is_empty(), "{r:?}");
                    r.stderr
                })
            })
            .collect();
        for h in handles {
            let stderr = h.join().unwrap();
            assert!(!stderr.contains("busy"), "{stderr}");
        }
    });
}

/// `n` sessions started (their `SessionStart` recorded), each with one
/// request at the limit in its transcript, sent now.
fn start_sessions(s: &Sandbox, prefix: &str, n: usize) -> Vec<Option<String>> {
    let ids: Vec<_> = (0..n)
        .map(|i| {
            let id = format!("{prefix}-{i}");
            let (r, _) = s.run_stdin(
                &["hook"],
                event(s, "SessionStart", Some(&id)).as_bytes(),
                None,
            );
            assert_eq!(r.code, 0, "{r:?}");
            s.claude_request(&id, "p1", true);
            Some(id)
        })
        .collect();
    // The requests' stamps are to the ms: the swap comes clearly after.
    std::thread::sleep(std::time::Duration::from_millis(50));
    ids
}

/// Swaps that moved the active link, after the set-up's `swap a`.
fn swaps(s: &Sandbox) -> Vec<(String, String)> {
    s.audit()
        .iter()
        .filter(|e| e["action"] == "swap" && e["outcome"] == "swapped")
        .skip(1)
        .map(|e| {
            (
                e["from"].as_str().unwrap_or("").to_string(),
                e["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn limited(s: &Sandbox, account: &str) -> bool {
    let v: serde_json::Value = serde_json::from_str(&s.ok(&["limits", "--json"]).stdout).unwrap();
    v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["account"] == account && a["limited"] == true)
}

fn outcomes(s: &Sandbox) -> Vec<String> {
    s.audit()
        .iter()
        .filter(|e| e["action"] == "failover")
        .map(|e| e["outcome"].as_str().unwrap().to_string())
        .collect()
}

/// With the default `failover.settle` and with `0s` (issue 21's step 6):
/// the late hooks find their requests were served by `a`, no longer
/// active.
#[test]
fn twenty_sessions_of_one_account_end_in_exactly_one_swap() {
    for extra in ["", "failover:\n  settle: 0s\n"] {
        twenty_sessions(extra);
    }
}

fn twenty_sessions(extra: &str) {
    let s = abc(extra);
    let sessions = start_sessions(&s, "a", N);
    storm(&s, sessions);
    assert_eq!(swaps(&s), [("a".to_string(), "b".to_string())]);
    assert!(limited(&s, "a"));
    assert!(
        !limited(&s, "b"),
        "a late hook marked the new account limited"
    );
    let o = outcomes(&s);
    assert_eq!(
        o.len(),
        N,
        "{:#?}",
        s.audit()
            .iter()
            .filter(|e| e["action"] == "attribution")
            .collect::<Vec<_>>()
    );
    assert_eq!(o.iter().filter(|o| *o == "swapped").count(), 1, "{o:?}");
    assert_eq!(
        o.iter().filter(|o| *o == "already_moved").count(),
        N - 1,
        "{o:?}"
    );

    // Later b's sessions hit b's limit: a second failover, to c.
    let sessions = start_sessions(&s, "b", N);
    storm(&s, sessions);
    assert_eq!(
        swaps(&s),
        [
            ("a".to_string(), "b".to_string()),
            ("b".to_string(), "c".to_string())
        ]
    );
    assert!(!limited(&s, "c"));
}

/// Hooks that name no session (so no transcript) on a link made long
/// ago: the first fails over from the account the link named all along;
/// the late ones, after the swap, cannot tell which account served their
/// request and record nothing (saying so), with any `failover.settle`.
#[test]
fn twenty_hooks_of_unknown_sessions_end_in_one_swap_and_the_late_ones_record_nothing() {
    let s = abc("failover:\n  settle: 0s\n");
    storm(&s, vec![None; N]);
    assert_eq!(swaps(&s), [("a".to_string(), "b".to_string())]);
    assert!(limited(&s, "a"));
    assert!(!limited(&s, "b"));
    let unknown = s
        .audit()
        .iter()
        .filter(|e| e["action"] == "attribution" && e["outcome"] == "unknown")
        .count();
    let o = outcomes(&s);
    assert_eq!(o.iter().filter(|o| *o == "swapped").count(), 1, "{o:?}");
    assert_eq!(
        o.len() + unknown,
        N,
        "every hook did one or the other: {o:?}"
    );
}

#[test]
fn twenty_hooks_through_the_sidecar_end_in_one_swap() {
    let s = abc("");
    let server = s.serve_on_socket(None);
    let sessions = start_sessions(&s, "a", N);
    storm(&s, sessions);
    assert_eq!(swaps(&s), [("a".to_string(), "b".to_string())]);
    assert!(!limited(&s, "b"));
    let pid = u64::from(server.child.id());
    assert!(s
        .audit()
        .iter()
        .filter(|e| e["action"] == "failover")
        .all(|e| e["pid"].as_u64() == Some(pid)));
    assert_eq!(
        server
            .metrics()
            .value("homeswap_failovers_total{outcome=\"already_moved\",reason=\"rate_limit\"}"),
        (N - 1) as f64
    );
}
