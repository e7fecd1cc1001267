//! Running one round: every operation on a thread of its own, all at
//! once; each the real binary (bounded, or killed at its moment) or a
//! real request to the sidecar.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::finish_within;

use super::ops::Op;
use super::world::World;

/// How an operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// The process exited with this code.
    Exit(i32),
    /// Killed by the harness (SIGKILL) while it ran.
    Killed,
    /// Still running at its bound (then killed): a hang.
    Hung,
    /// The sidecar answered with this status.
    Http(u16),
    /// No answer from the sidecar (down, killed mid-request, or hung).
    NoAnswer(String),
    /// In-process work (a user's appends) finished.
    Done,
}

/// One finished operation.
#[derive(Debug, Clone)]
pub struct Done {
    pub op: Op,
    /// The process's id (for its audit records).
    pub pid: Option<u32>,
    pub end: End,
    pub took: Duration,
    pub stdout: String,
    pub stderr: String,
    /// The user lines written (their ids), for an `Append`.
    pub lines: Vec<String>,
    /// What the operation itself found wrong (init's own checks).
    pub problems: Vec<String>,
}

impl Done {
    fn new(op: &Op, end: End) -> Done {
        Done {
            op: op.clone(),
            pid: None,
            end,
            took: Duration::ZERO,
            stdout: String::new(),
            stderr: String::new(),
            lines: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// The documented bounds: a hook or status line answers within 2 s (plus
/// a second for the process to start on a loaded machine); a swap waits
/// at most 5 s for the lock; adopt waits up to 12 s for Claude Code's
/// append lock.
fn bound(op: &Op) -> Duration {
    match op {
        Op::Hook { .. } | Op::Statusline { .. } => Duration::from_secs(3),
        Op::Adopt { .. } | Op::Init { .. } => Duration::from_secs(25),
        _ => Duration::from_secs(10),
    }
}

/// Runs the round's operations at once and returns how each ended, in
/// the round's order.
pub fn run_round(world: &World, ops: &[Op]) -> Vec<Done> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = ops
            .iter()
            .map(|op| scope.spawn(move || run_op(world, op)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn run_op(world: &World, op: &Op) -> Done {
    let start = Instant::now();
    let mut done = match op {
        Op::Swap { to, fp, kill } => cli(world, op, &["swap", to], fp, None, *kill),
        Op::Failover {
            from,
            reason,
            fp,
            kill,
        } => {
            let mut args = vec!["failover", "--reason", reason];
            if let Some(f) = from {
                args.extend(["--from", f]);
            }
            cli(world, op, &args, fp, None, *kill)
        }
        Op::AdminSwap { to } => admin(world, op, "/api/v1/swap", format!(r#"{{"to":"{to}"}}"#)),
        Op::AdminFailover { from, reason } => {
            let from = from
                .as_ref()
                .map(|f| format!(r#""from":"{f}","#))
                .unwrap_or_default();
            admin(
                world,
                op,
                "/api/v1/failover",
                format!(r#"{{{from}"reason":"{reason}"}}"#),
            )
        }
        Op::Hook {
            session,
            event,
            error,
            kill,
        } => {
            let input = hook_event(world, session, event, error);
            cli(world, op, &["hook"], "", Some(input), *kill)
        }
        Op::Statusline {
            session,
            five_hour,
            seven_day,
            kill,
        } => {
            let input = status_update(session, *five_hour, *seven_day);
            cli(world, op, &["statusline"], "", Some(input), *kill)
        }
        Op::Ensure { account, kill } => {
            let mut args = vec!["ensure"];
            args.extend(account.as_deref());
            cli(world, op, &args, "", None, *kill)
        }
        Op::Adopt {
            account,
            keep_both,
            fp,
            kill,
        } => {
            let mut args = vec!["adopt", account.as_str()];
            if *keep_both {
                args.push("--keep-both");
            }
            cli(world, op, &args, fp, None, *kill)
        }
        Op::LatchClear => cli(
            world,
            op,
            &["latch", "clear", "--reason", "chaos: latch clear"],
            "",
            None,
            None,
        ),
        Op::LimitsClear { account } => {
            cli(world, op, &["limits", "clear", account], "", None, None)
        }
        Op::Append { user, lines } => super::users::append(world, op, *user, *lines),
        Op::Init { n, fp, kill } => super::init::run(world, op, *n, fp, *kill),
        Op::Read { args } => cli(world, op, args, "", None, None),
        Op::KillSidecar { after } => {
            std::thread::sleep(Duration::from_millis(*after));
            world.kill_sidecar();
            Done::new(op, End::Done)
        }
    };
    done.took = start.elapsed();
    done
}

/// Runs `homeswap ARGS` (with `fp` as FAILPOINTS and `input` on stdin):
/// killed after `kill` ms if set, else bounded.
pub fn cli(
    world: &World,
    op: &Op,
    args: &[&str],
    fp: &str,
    input: Option<String>,
    kill: Option<u64>,
) -> Done {
    let mut cmd = world.s.command(args, (!fp.is_empty()).then_some(fp));
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
    }
    let mut done = match kill {
        Some(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            let end = match (out.status.code(), out.status.signal()) {
                (Some(code), _) => End::Exit(code),
                _ => End::Killed,
            };
            let mut d = Done::new(op, end);
            d.stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            d.stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            d
        }
        None => {
            let what = format!("homeswap {}", args.join(" "));
            let limit = bound(op);
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                finish_within(child, limit, &what)
            })) {
                Ok(run) => {
                    let mut d = Done::new(op, End::Exit(run.code));
                    d.stdout = run.stdout;
                    d.stderr = run.stderr;
                    d
                }
                Err(_) => Done::new(op, End::Hung),
            }
        }
    };
    done.pid = Some(pid);
    done
}

fn admin(world: &World, op: &Op, path: &str, body: String) -> Done {
    let Some(addr) = world.admin_addr() else {
        return Done::new(op, End::NoAnswer("no sidecar".into()));
    };
    match super::http::admin_post(addr, path, &body) {
        Ok(r) => {
            let mut d = Done::new(op, End::Http(r.status));
            d.stdout = r.text();
            d
        }
        Err(e) => Done::new(op, End::NoAnswer(e)),
    }
}

/// A hook event as Claude Code sends it (the transcript path spelled
/// through the active link).
fn hook_event(world: &World, session: &str, event: &str, error: &str) -> String {
    let transcript = world
        .s
        .active()
        .join("projects/chaos")
        .join(format!("{session}.jsonl"));
    let base = serde_json::json!({
        "session_id": session,
        "transcript_path": transcript,
        "cwd": "/work",
        "hook_event_name": event,
    });
    let mut v = base;
    match event {
        "SessionStart" => v["source"] = "startup".into(),
        "UserPromptSubmit" => v["prompt"] = "chaos".into(),
        _ => {
            v["error"] = error.into();
            v["last_assistant_message"] =
                "You've hit your 5-hour limit \u{b7} resets 9:46am (UTC)".into();
        }
    }
    v.to_string()
}

/// A status update of `session` with these usage percentages.
fn status_update(session: &str, five_hour: u32, seven_day: u32) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    serde_json::json!({
        "session_id": session,
        "rate_limits": {
            "five_hour": {"used_percentage": five_hour, "resets_at": now + 3 * 3600},
            "seven_day": {"used_percentage": seven_day, "resets_at": now + 4 * 86_400},
        }
    })
    .to_string()
}
