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
fn abc(extra: &str) -> Sandbox {
    Sandbox::with_accounts(&["a", "b", "c"], extra)
}

fn event(name: &str, session: Option<&str>) -> String {
    let id = session
        .map(|s| format!(r#""session_id":"{s}","#))
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
                let input = event("StopFailure", session.as_deref());
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

fn start_sessions(s: &Sandbox, prefix: &str, n: usize) -> Vec<Option<String>> {
    (0..n)
        .map(|i| {
            let id = format!("{prefix}-{i}");
            let (r, _) = s.run_stdin(&["hook"], event("SessionStart", Some(&id)).as_bytes(), None);
            assert_eq!(r.code, 0, "{r:?}");
            Some(id)
        })
        .collect()
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

#[test]
fn twenty_sessions_of_one_account_end_in_exactly_one_swap() {
    let s = abc("");
    let sessions = start_sessions(&s, "a", N);
    storm(&s, sessions);
    assert_eq!(swaps(&s), [("a".to_string(), "b".to_string())]);
    assert!(limited(&s, "a"));
    assert!(
        !limited(&s, "b"),
        "a late hook marked the new account limited"
    );
    let o = outcomes(&s);
    assert_eq!(o.len(), N);
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

#[test]
fn twenty_hooks_of_unknown_sessions_end_in_one_swap_by_the_settle_rule() {
    let s = abc("");
    storm(&s, vec![None; N]);
    assert_eq!(swaps(&s), [("a".to_string(), "b".to_string())]);
    assert!(limited(&s, "a"));
    assert!(!limited(&s, "b"));
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
