//! homeswap's Claude Code hook in the loop: three accounts, homeswap's
//! hook and status line installed in every home by `homeswap setup
//! claude-code` (as a user installs them), and the audit log, limits and
//! sidecar read back the way an operator reads them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Rig;
use crate::common::Sandbox;

/// The accounts of the failover scenarios, in `failover.order`.
pub const ACCOUNTS: [&str; 3] = ["a", "b", "c"];

/// What the installed hook command starts with so that the shell running
/// it ignores SIGTERM before it becomes homeswap (an ignored signal stays
/// ignored across `exec`): `claude -p`, exiting after a failed turn, sends
/// its `StopFailure` hook SIGTERM some 20-40 ms after starting it, and a
/// homeswap that is still starting up or failing over dies of it.
pub const SHIELD: &str = "trap '' TERM; exec ";

/// Accounts `a`, `b` and `c` (in that order), links ensured, `a` active,
/// each home seeded for Claude Code with its own credential (logged in at
/// its own time, so their mtimes differ) and homeswap set up in it by
/// [`set_up`].
pub fn three_accounts() -> Rig {
    let sb = Sandbox::with_accounts(&ACCOUNTS, "");
    let rig = Rig::new(sb);
    rig.seed_home(&rig.sb.home("c"), "c");
    rig.set_credentials_mtime("c", SystemTime::now() - Duration::from_secs(1800));
    set_up(&rig.sb);
    rig
}

/// `homeswap setup claude-code` on `sb`, as a user runs it; the hook it
/// installed in every home runs this test's homeswap behind [`SHIELD`]
/// with the sandbox's configuration.
pub fn set_up(sb: &Sandbox) {
    let r = sb.ok(&["setup", "claude-code"]);
    let want = format!(
        "{SHIELD}'{}' --config '{}' hook",
        env!("CARGO_BIN_EXE_homeswap"),
        sb.config.display()
    );
    for a in sb_accounts(sb) {
        let text = std::fs::read_to_string(sb.home(&a).join("settings.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for event in ["SessionStart", "StopFailure"] {
            assert_eq!(
                v["hooks"][event][0]["hooks"][0]["command"], want,
                "{a}: {text}\n{r:?}"
            );
        }
    }
}

/// The accounts of `sb`'s homes (`home-NAME` under its root).
fn sb_accounts(sb: &Sandbox) -> Vec<String> {
    std::fs::read_dir(sb.root())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            name.strip_prefix("home-").map(str::to_string)
        })
        .collect()
}

/// The `StopFailure` hook command installed in `account`'s settings.
pub fn installed_command(rig: &Rig, account: &str) -> String {
    let text = std::fs::read_to_string(rig.sb.home(account).join("settings.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["hooks"]["StopFailure"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap_or_else(|| panic!("no StopFailure hook in {account}'s settings.json: {text}"))
        .to_string()
}

/// A reset time about two hours ahead, on a whole minute: Claude Code
/// shows it to the minute (`resets 9:46am (UTC)`), so the limit homeswap
/// reads from the message ends exactly then.
pub fn reset_in_two_hours() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (now / 60 + 120) * 60
}

/// The audit log's `failover` entries.
pub fn failovers(sb: &Sandbox) -> Vec<serde_json::Value> {
    sb.audit()
        .into_iter()
        .filter(|e| e["action"] == "failover")
        .collect()
}

/// The audit log's `failover` entries that swapped.
pub fn swapping_failovers(sb: &Sandbox) -> Vec<serde_json::Value> {
    failovers(sb)
        .into_iter()
        .filter(|e| e["outcome"] == "swapped")
        .collect()
}

/// `homeswap limits --json`: account → its entry.
pub fn limits(sb: &Sandbox) -> std::collections::BTreeMap<String, serde_json::Value> {
    let r = sb.ok(&["limits", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    doc["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["account"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

/// Unix seconds of an RFC 3339 time.
pub fn unix_of(rfc3339: &str) -> u64 {
    humantime::parse_rfc3339(rfc3339)
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Writes an observation to the test's stderr directly, in the form the
/// harness repeats from the namespace into every run's log.
pub fn report(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "claude_e2e: observed: {text}");
}

/// How often a turn at the limit is tried when Claude Code killed its
/// `StopFailure` hook before homeswap did anything ([`limited_turn`]).
pub const ATTEMPTS: usize = 3;

/// How long the hook's effects may take to show after `claude` exited
/// (Claude Code waits for its `StopFailure` hook, or kills it, before it
/// exits; the margin is for a loaded machine and a busy sidecar).
pub const HOOK_LIMIT: Duration = Duration::from_secs(10);

/// What `claude -p` prints at a spent five-hour window.
pub const LIMIT_MESSAGE: &str = "You've hit your 5-hour limit";

/// One turn at the limit, as [`limited_turn`] runs it.
pub struct Turn<'a> {
    /// `claude`'s arguments.
    pub args: &'a [&'a str],
    /// Added to Claude Code's environment (its hooks inherit it).
    pub env: &'a [(&'a str, &'a str)],
    /// Whether to ask Claude Code for a debug log (`--debug-file`), where
    /// it names each hook it ran; it also slows Claude Code's exit.
    pub debug_log: bool,
    /// The sidecar the hooks ask, if any (its log goes into a failure).
    pub server: Option<&'a crate::common::server::Server>,
}

/// What a turn at the limit came to.
pub struct Limited {
    /// The failover lines the turn's hook added to the audit log.
    pub lines: Vec<serde_json::Value>,
    /// How many times the turn was run (1 unless a hook was lost).
    pub attempts: usize,
}

/// Runs a turn that meets the limit: `claude` must exit 1 showing the
/// limit, and its `StopFailure` hook must add failover lines to the audit
/// log until `enough` holds for the new ones. Claude Code 2.1.328's `-p`
/// sends that hook SIGTERM as it exits; when this killed the hook before
/// homeswap did anything (no new line, no new limit), the turn is run
/// again, as a user's next turn at the limit would be, up to [`ATTEMPTS`]
/// times, and the loss is reported. A hook that recorded a limit but left
/// no line fails the test at once.
pub fn limited_turn(
    rig: &Rig,
    turn: &Turn,
    enough: impl Fn(&[serde_json::Value]) -> bool,
) -> Limited {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    for attempt in 1..=ATTEMPTS {
        let before_lines = failovers(&rig.sb).len();
        let before_limits = limited_accounts(&rig.sb);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log_path = rig.sb.root().join(format!("turn-{n}.log"));
        let log_arg = log_path.to_str().unwrap().to_string();
        let mut args = turn.args.to_vec();
        if turn.debug_log {
            args.extend(["--debug-file", &log_arg]);
        }
        let r = rig.claude_with_env(&rig.sb.active(), turn.env, &args);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stdout.contains(LIMIT_MESSAGE), "{r:?}");
        assert!(r.stdout.contains("resets "), "{r:?}");
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if turn.debug_log {
            assert_ran_the_hook(rig, &log);
        }
        let start = std::time::Instant::now();
        let lines = loop {
            let all = failovers(&rig.sb);
            let new = all[before_lines.min(all.len())..].to_vec();
            if !new.is_empty() && enough(&new) {
                return Limited {
                    lines: new,
                    attempts: attempt,
                };
            }
            if start.elapsed() > HOOK_LIMIT {
                break new;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let lost = lines.is_empty() && limited_accounts(&rig.sb) == before_limits;
        if !lost || attempt == ATTEMPTS {
            fail_with_context(rig, turn, &lines, &log, attempt);
        }
        report(&format!(
            "claude {:?}: its StopFailure hook was killed before homeswap did anything (attempt {attempt}); trying the turn again",
            turn.args
        ));
    }
    unreachable!("the last attempt returns or fails")
}

/// The accounts `homeswap limits` shows limited.
fn limited_accounts(sb: &Sandbox) -> Vec<String> {
    limits(sb)
        .into_iter()
        .filter(|(_, l)| l["limited"] == true)
        .map(|(a, _)| a)
        .collect()
}

/// Fails with what there is to know: the new lines, the limits, the hook
/// lines of Claude Code's debug log and the sidecar's log.
fn fail_with_context(
    rig: &Rig,
    turn: &Turn,
    lines: &[serde_json::Value],
    log: &str,
    attempt: usize,
) -> ! {
    let hooks: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Hook") || l.contains("StopFailure"))
        .collect();
    let sidecar: Vec<serde_json::Value> = turn
        .server
        .map(|s| s.logs.lock().unwrap().clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l["message"] != "unmanaged entry")
        .collect();
    panic!(
        "claude {:?} (attempt {attempt}): the hook's failover did not show within {HOOK_LIMIT:?}; new lines: {lines:#?}\nlimited: {:?}\nClaude Code's hooks: {hooks:#?}\nsidecar: {sidecar:#?}",
        turn.args,
        limited_accounts(&rig.sb)
    );
}

/// Claude Code's debug log shows that it ran the installed hook command
/// for a rate-limit `StopFailure`.
fn assert_ran_the_hook(rig: &Rig, log: &str) {
    let ran = format!("StopFailure:rate_limit [{}]", installed_command(rig, "a"));
    assert!(
        log.lines().any(|l| l.contains(&ran)),
        "Claude Code's debug log does not show {ran:?}:\n{}",
        log.lines()
            .filter(|l| l.contains("ook"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Asserts that `lines` are one failover line from `from` to `to` for a
/// rate limit that swapped.
pub fn assert_one_swapping_failover(lines: &[serde_json::Value], from: &str, to: &str) {
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let f = &lines[0];
    assert_eq!(
        (&f["from"], &f["to"], &f["reason"], &f["outcome"]),
        (
            &from.into(),
            &to.into(),
            &"rate_limit".into(),
            &"swapped".into()
        ),
        "{lines:#?}"
    );
}

/// Runs `n` `claude -p "<prefix><i>"` sessions on the active link at once
/// (released together by a barrier); their runs in order.
pub fn storm(rig: &Rig, prefix: &str, n: usize) -> Vec<crate::common::Run> {
    let barrier = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    rig.claude(&["-p", &format!("{prefix}{i}")])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
