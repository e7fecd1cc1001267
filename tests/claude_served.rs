//! Which account served a request, with the real Claude Code in the loop
//! (issue 21's numbered steps 1-6, the contract's "Which account served a
//! request").
//!
//! A running Claude Code 2.1.328 re-reads `.credentials.json` through the
//! active link right before each request when its mtime changed, so a
//! session follows a swap at its next request: every usage report and
//! every limit belongs to the account whose home the link named when the
//! request went out. These scenarios run the pinned client against the
//! stand-in Messages API (each account with its own numbers) and read back
//! what homeswap recorded, per account, the way an operator does:
//! `homeswap status --json`, the sidecar's `/metrics`, `homeswap limits`
//! and the audit log. Each interactive scenario runs twice: with the
//! status line alone (the status page's own install hint) and with the
//! hooks `setup claude-code` installs.
//!
//! `#[ignore]`d in a plain `cargo test` (root, tmux and the client);
//! `.ci/run` runs it with `cargo test --features failpoints --test
//! claude_served -- --ignored`.

mod claude;
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use claude::hooks::{self, failovers, limits, reset_in_two_hours, three_accounts, HOOK_LIMIT};
use claude::tmux::{Tmux, SCREEN_LIMIT};
use claude::Rig;
use common::server::Server;
use common::{wait_for, Sandbox};

/// Held by each scenario around its run: the storm's 20 Claude Code
/// processes load the machine enough to starve another scenario.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How many sessions of one account hit its limit together.
const STORM: usize = 20;

/// A little more than the margin around a flip within which homeswap
/// cannot tell which account a request went out on (`ops::served::BEFORE`).
const MARGIN: Duration = Duration::from_millis(1100);

/// The five-hour usage `homeswap status --json` has recorded per account
/// (accounts without any are left out).
fn recorded(sb: &Sandbox) -> BTreeMap<String, f64> {
    let r = sb.ok(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    doc["usage"]["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let pct = a["five_hour"]["used_percentage"].as_f64()?;
            Some((a["account"].as_str()?.to_string(), pct))
        })
        .collect()
}

/// The five-hour usage ratio series of `account` in the sidecar's metrics.
fn usage_metric(server: &Server, account: &str) -> Option<f64> {
    let series =
        format!("homeswap_account_usage_ratio{{account=\"{account}\",window=\"five_hour\"}}");
    server.metrics().series.get(&series).copied()
}

/// `(account, five-hour %)` pairs as a map, for comparing.
fn usage(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(a, p)| (a.to_string(), *p)).collect()
}

/// The accounts `homeswap limits` shows limited.
fn limited(sb: &Sandbox) -> Vec<String> {
    limits(sb)
        .into_iter()
        .filter(|(_, l)| l["limited"] == true)
        .map(|(a, _)| a)
        .collect()
}

/// The audit log's `attribution` lines (homeswap could not tell).
fn unknowns(sb: &Sandbox) -> Vec<serde_json::Value> {
    sb.audit()
        .into_iter()
        .filter(|e| e["action"] == "attribution")
        .collect()
}

/// How many times the status line has run (its wrapper counts the runs).
fn status_runs(rig: &Rig) -> usize {
    std::fs::read_to_string(rig.sb.root().join("status-runs"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Installs what `setup claude-code` installs (hooks and status line), or
/// with `hooks == false` the status line alone; the status line behind a
/// wrapper that counts its runs. `failover.threshold: 95`; serves.
fn install(rig: &Rig, with_hooks: bool) -> Server {
    let settings = rig.sb.home("a").join("settings.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    let status = v["statusLine"]["command"].as_str().unwrap().to_string();
    let counter = rig.sb.root().join("status-runs");
    v["statusLine"]["command"] = format!("echo run >> '{}'; {status}", counter.display()).into();
    if !with_hooks {
        v.as_object_mut().unwrap().remove("hooks");
    }
    // settings.json is a shared file: one write serves every home.
    std::fs::write(&settings, v.to_string()).unwrap();
    rig.sb.set_config("failover.threshold", 95);
    rig.sb.add_serve_section();
    rig.sb.serve(None)
}

/// A status update that reports no new request: `/cost` opened and
/// closed; waits until the status line ran after it.
fn update_without_a_request(tmux: &Tmux, rig: &Rig) {
    let before = status_runs(rig);
    tmux.type_line("/cost");
    std::thread::sleep(Duration::from_millis(500));
    tmux.press(&["Escape"]);
    wait_for("a status update after /cost", SCREEN_LIMIT, || {
        status_runs(rig) > before
    });
    // Its effects (none expected) are written before the line is printed.
    let printed = status_runs(rig);
    wait_for("the status line to finish", Duration::from_secs(5), || {
        status_runs(rig) == printed
    });
}

/// Steps 1-5 of the issue in one running interactive session, the status
/// line alone or with the hooks: the numbers of each request are recorded
/// for the account that served it, an update with no new request records
/// nothing, `a` keeps its numbers, `b`'s limit fails over from `b` and
/// marks nobody else, and a repeated update over the threshold fails over
/// once.
fn steps_one_to_five(with_hooks: bool, name: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !claude::isolated_interactive(name) {
        return;
    }
    let rig = three_accounts();
    let server = install(&rig, with_hooks);
    rig.api.set_usage("a", 0.42, 0.13);
    rig.api.set_usage("b", 0.17, 0.05);
    rig.api.set_usage("c", 0.08, 0.02);
    let tmux = rig.interactive();

    // 1. A prompt on a: 42 % for a.
    tmux.turn("one", "a · 5h 42%");
    assert_eq!(rig.api.call_for("one").account.as_deref(), Some("a"));
    wait_for("a's 42 % in /metrics", HOOK_LIMIT, || {
        usage_metric(&server, "a") == Some(0.42)
    });
    assert_eq!(recorded(&rig.sb), usage(&[("a", 42.0)]));

    // 2. A swap to b, then an update with no new request: nothing new is
    // recorded, for b or anyone.
    rig.sb.ok(&["swap", "b"]);
    update_without_a_request(&tmux, &rig);
    assert_eq!(
        recorded(&rig.sb),
        usage(&[("a", 42.0)]),
        "a's repeated numbers are not b's"
    );
    assert_eq!(usage_metric(&server, "b"), None);

    // 3. The next prompt goes out on b's credential: 17 % for b; a keeps
    // its 42 %. (Typed more than a second after the swap: a request sent
    // closer to a flip than `ops::served::BEFORE` is one homeswap cannot
    // place, and records nothing for.)
    rig.sb.wait_active_link_older_than(MARGIN);
    tmux.turn("three", "b · 5h 17%");
    assert_eq!(rig.api.call_for("three").account.as_deref(), Some("b"));
    wait_for("b's 17 % in /metrics", HOOK_LIMIT, || {
        usage_metric(&server, "b") == Some(0.17)
    });
    assert_eq!(recorded(&rig.sb), usage(&[("a", 42.0), ("b", 17.0)]));
    assert_eq!(usage_metric(&server, "a"), Some(0.42));

    // 4. b at its limit in that session: the failover is from b (the
    // hook's StopFailure, or with the status line alone the 429's 100 %
    // over the threshold), to c; a is not marked limited.
    let reset = reset_in_two_hours();
    rig.api.limit("b", reset);
    tmux.type_line("four");
    // (The audit line comes after the flip: wait for it.)
    wait_for("the failover from b", HOOK_LIMIT, || {
        failovers(&rig.sb).iter().any(|e| e["outcome"] == "swapped")
    });
    assert_eq!(rig.api.call_for("four").account.as_deref(), Some("b"));
    assert_eq!(rig.api.call_for("four").status, 429);
    let f = failovers(&rig.sb);
    let swapped: Vec<_> = f.iter().filter(|e| e["outcome"] == "swapped").collect();
    assert_eq!(swapped.len(), 1, "{f:#?}");
    assert_eq!(
        (&swapped[0]["from"], &swapped[0]["to"]),
        (&"b".into(), &"c".into())
    );
    for e in &f {
        assert_eq!(e["from"], "b", "{f:#?}");
    }
    assert_eq!(limited(&rig.sb), ["b"], "only b is limited");
    assert_eq!(recorded(&rig.sb)["a"], 42.0, "a keeps its numbers");
    let lines: Vec<String> = f
        .iter()
        .map(|e| format!("{} {} pid {}", e["reason"], e["outcome"], e["pid"]))
        .collect();
    hooks::report(&format!(
        "step 4, b's limit: failover lines from b: {lines:?}"
    ));

    // 5. The next prompt goes out on c at 96 % (threshold 95): one usage
    // failover from c; the same numbers repeated (updates without a
    // request) fire nothing more, and never is every account limited.
    rig.api.set_usage("c", 0.96, 0.30);
    rig.sb.wait_active_link_older_than(MARGIN);
    tmux.turn("five", "5h 96%");
    assert_eq!(rig.api.call_for("five").account.as_deref(), Some("c"));
    wait_for("the usage failover from c", HOOK_LIMIT, || {
        failovers(&rig.sb).iter().any(|e| e["from"] == "c")
    });
    for _ in 0..3 {
        update_without_a_request(&tmux, &rig);
    }
    let f = failovers(&rig.sb);
    let from_c: Vec<_> = f.iter().filter(|e| e["from"] == "c").collect();
    assert_eq!(from_c.len(), 1, "one failover from c: {f:#?}");
    assert_eq!(
        (
            &from_c[0]["reason"],
            &from_c[0]["to"],
            &from_c[0]["outcome"]
        ),
        (&"usage".into(), &"a".into(), &"swapped".into()),
        "{f:#?}"
    );
    assert_eq!(limited(&rig.sb), ["b", "c"], "a is not limited");
    assert_eq!(rig.sb.active_account(), "a");
    assert_eq!(
        recorded(&rig.sb),
        usage(&[("a", 42.0), ("b", 100.0), ("c", 96.0)])
    );
    assert_eq!(usage_metric(&server, "c"), Some(0.96));
    assert_eq!(usage_metric(&server, "a"), Some(0.42));
    hooks::report(&format!(
        "served ({}): {} attribution line(s) (could not tell): {:?}",
        if with_hooks {
            "hooks"
        } else {
            "status line alone"
        },
        unknowns(&rig.sb).len(),
        unknowns(&rig.sb)
    ));
    tmux.type_line("/exit");
    tmux.wait_exit(SCREEN_LIMIT);
}

#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn steps_one_to_five_with_the_status_line_alone() {
    steps_one_to_five(false, "steps_one_to_five_with_the_status_line_alone");
}

#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn steps_one_to_five_with_the_hooks() {
    steps_one_to_five(true, "steps_one_to_five_with_the_hooks");
}

/// Step 4 at its sharpest, with the hooks and the default
/// `failover.settle` (60 s): a session started on `a`, a manual swap to
/// `b`, and at once (well within 5 s) the session's next request meets
/// `b`'s limit: its `StopFailure` fails over from `b`, not `a`.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn a_swap_then_at_once_the_new_accounts_limit_fails_over_from_the_new_account() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !claude::isolated_interactive(
        "a_swap_then_at_once_the_new_accounts_limit_fails_over_from_the_new_account",
    ) {
        return;
    }
    let rig = three_accounts();
    let tmux = rig.interactive();
    tmux.turn("on a", "ANSWER[on a]");
    rig.api.limit("b", reset_in_two_hours());
    rig.sb.ok(&["swap", "b"]);
    let swapped = Instant::now();
    rig.sb.wait_active_link_older_than(MARGIN);
    tmux.type_line("at b's limit");
    wait_for("the request at b's limit", SCREEN_LIMIT, || {
        rig.api
            .messages_calls()
            .iter()
            .any(|c| c.prompt() == Some("at b's limit"))
    });
    let sent_after = swapped.elapsed();
    assert!(sent_after < Duration::from_secs(5), "{sent_after:?}");
    let call = rig.api.call_for("at b's limit");
    assert_eq!((call.account.as_deref(), call.status), (Some("b"), 429));
    wait_for("the hook's failover", HOOK_LIMIT, || {
        !failovers(&rig.sb).is_empty()
    });
    let f = failovers(&rig.sb);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(
        (&f[0]["from"], &f[0]["to"], &f[0]["outcome"]),
        (&"b".into(), &"c".into(), &"swapped".into()),
        "{f:#?}"
    );
    assert_eq!(limited(&rig.sb), ["b"], "a was not limited");
    hooks::report(&format!(
        "a swap, then {sent_after:?} later the new account's 429: failed over from b"
    ));
    tmux.type_line("/exit");
    tmux.wait_exit(SCREEN_LIMIT);
}

/// Step 6: `failover.settle: 0s` and no sidecar; 20 `claude -p` sessions
/// of `a`, each with its `SessionStart` recorded, meet `a`'s limit at
/// once. Their hooks fail over themselves: exactly one swaps (a -> b), the
/// late ones find their request was served by `a`, no longer active
/// (`already_moved`), and neither `b` nor `c` is marked limited.
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn a_storm_with_settle_zero_ends_in_one_swap() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !claude::isolated("a_storm_with_settle_zero_ends_in_one_swap") {
        return;
    }
    let rig = three_accounts();
    rig.sb.set_config("failover.settle", "0s");
    let reset = reset_in_two_hours();
    rig.api.limit("a", reset);
    rig.api.gate("storm ", STORM);
    let runs = hooks::storm(&rig, "storm ", STORM);
    let mut hit = 0;
    for (i, r) in runs.iter().enumerate() {
        let call = rig.api.call_for(&format!("storm {i}"));
        if r.code == 0 {
            assert_eq!(call.account.as_deref(), Some("b"), "{call:#?}");
        } else {
            assert_eq!(
                (call.status, call.account.as_deref()),
                (429, Some("a")),
                "{r:?}"
            );
            hit += 1;
        }
    }
    assert!(hit > 0, "no session met a's limit");
    wait_for("the storm's swap", HOOK_LIMIT, || {
        failovers(&rig.sb).iter().any(|e| e["outcome"] == "swapped")
    });
    // Every session waited for (or killed) its hook before it exited:
    // every line there is to come is in the log.
    let f = failovers(&rig.sb);
    let swapped: Vec<_> = f.iter().filter(|e| e["outcome"] == "swapped").collect();
    assert_eq!(swapped.len(), 1, "exactly one swap: {f:#?}");
    assert_eq!(
        (&swapped[0]["from"], &swapped[0]["to"]),
        (&"a".into(), &"b".into())
    );
    for e in &f {
        assert_eq!(e["from"], "a", "every hook fails over from a: {f:#?}");
        assert!(
            e["outcome"] == "swapped" || e["outcome"] == "already_moved",
            "{f:#?}"
        );
    }
    assert_eq!(rig.sb.active_account(), "b");
    assert_eq!(limited(&rig.sb), ["a"], "the late hooks spare b and c");
    let l = limits(&rig.sb);
    assert_eq!(l["a"]["until_unix"], reset, "{l:#?}");
    let unknown = unknowns(&rig.sb);
    hooks::report(&format!(
        "storm, settle 0s: {hit} of {STORM} sessions met a's limit; {} failover lines, {} could not tell",
        f.len(),
        unknown.len()
    ));
}
