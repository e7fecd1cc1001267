//! The schedule: what each round does, drawn from the seeded generator.
//! A round is a few changes made between rounds (`Quiet`: planting,
//! configuration edits, a sidecar restart, disk faults) and a batch of
//! operations that then run at the same time (`Op`).

use std::fmt;

use rand::rngs::StdRng;
use rand::RngExt;

use super::model::Model;
use super::world::World;

/// Every account name a run may configure (3 to 5 at a time).
pub const POOL: [&str; 5] = ["a", "b", "c", "d", "e"];

/// The links a plant can put a real directory or file in place of.
pub const PLANTABLE: [&str; 4] = ["projects", "file-history", "session-env", "history.jsonl"];

/// One operation of a round, run concurrently with the others.
#[derive(Debug, Clone)]
pub enum Op {
    /// `homeswap swap TO` with failpoints, killed after `kill` ms if set.
    Swap {
        to: String,
        fp: &'static str,
        kill: Option<u64>,
    },
    /// `POST /api/v1/swap` on the admin listener.
    AdminSwap { to: String },
    /// `homeswap failover [--from F] --reason R`.
    Failover {
        from: Option<String>,
        reason: &'static str,
        fp: &'static str,
        kill: Option<u64>,
    },
    /// `POST /api/v1/failover`.
    AdminFailover {
        from: Option<String>,
        reason: &'static str,
    },
    /// `homeswap hook` with one event on stdin.
    Hook {
        session: String,
        event: &'static str,
        error: &'static str,
        kill: Option<u64>,
    },
    /// `homeswap statusline` with this session's usage.
    Statusline {
        session: String,
        five_hour: u32,
        seven_day: u32,
        kill: Option<u64>,
    },
    /// `homeswap ensure [ACCOUNT]`.
    Ensure {
        account: Option<String>,
        kill: Option<u64>,
    },
    /// `homeswap adopt ACCOUNT [--keep-both]`.
    Adopt {
        account: String,
        keep_both: bool,
        fp: &'static str,
        kill: Option<u64>,
    },
    /// `homeswap latch clear --reason ...`.
    LatchClear,
    /// `homeswap limits clear ACCOUNT`.
    LimitsClear { account: String },
    /// A user appends lines to history.jsonl and a transcript.
    Append { user: u32, lines: u32 },
    /// `homeswap init` of a fresh home of its own (killed and resumed).
    Init {
        n: u64,
        fp: &'static str,
        kill: Option<u64>,
    },
    /// A read: `validate --json`, `status --json` or `limits --json`.
    Read { args: &'static [&'static str] },
    /// The sidecar killed (SIGKILL) after `after` ms.
    KillSidecar { after: u64 },
}

/// A change between rounds, when nothing runs.
#[derive(Debug, Clone)]
pub enum Quiet {
    /// Real directories and files where these links of `account` belong.
    Plant {
        account: String,
        links: Vec<&'static str>,
        conflict: bool,
    },
    /// The account added to the configuration, then SIGHUP.
    Add(String),
    /// The account removed from the configuration, then SIGHUP.
    Remove(String),
    /// The sidecar stopped (SIGKILL) and started again with failpoints.
    RestartSidecar { fp: &'static str },
    /// A disk fault (tmpfs runs only).
    Disk(super::disk::DiskFault),
}

/// One round: its changes first, then its operations at once.
pub struct Round {
    pub quiet: Vec<Quiet>,
    pub ops: Vec<Op>,
}

const SWAP_FAILPOINTS: [&str; 6] = [
    "",
    "",
    "swap::after_flip=sleep(30)",
    "swap::after_flip=sleep(10);swap::ensure=return",
    "swap::flip=return",
    "swap::ensure=return",
];

/// Ensure and rollback both fail: the latch (rarely, to a clean account).
const PARTIAL: [&str; 2] = [
    "swap::ensure=return;swap::rollback=return",
    "swap::ensure=return;swap::rollback=return;latch::write=return",
];

const FAILOVER_FAILPOINTS: [&str; 4] = [
    "",
    "failover::after_choose=sleep(20)",
    "swap::after_flip=sleep(20)",
    "swap::ensure=return",
];

/// What the sidecar is restarted with: sleeps that widen the windows of
/// its swaps, or ensure failing (each admin swap rolled back).
pub const SIDECAR_FAILPOINTS: [&str; 4] = [
    "",
    "swap::after_flip=sleep(20)",
    "failover::after_choose=sleep(10);swap::after_flip=sleep(5)",
    "swap::ensure=return",
];

const REASONS: [&str; 4] = ["rate_limit", "auth", "usage", "manual"];

/// A kill after 0..60 ms, with probability `p`.
fn kill(rng: &mut StdRng, p: f64) -> Option<u64> {
    rng.random_bool(p).then(|| rng.random_range(0..60))
}

fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())].clone()
}

/// The next round, from the model's view of the world.
pub fn plan_round(rng: &mut StdRng, model: &mut Model, world: &World) -> Round {
    let quiet = plan_quiet(rng, model, world);
    let n = rng.random_range(2..=7);
    let ops = (0..n).flat_map(|_| plan_op(rng, model)).collect();
    Round { quiet, ops }
}

fn plan_quiet(rng: &mut StdRng, model: &Model, world: &World) -> Vec<Quiet> {
    let mut quiet = Vec::new();
    if !world.sidecar_up() || rng.random_bool(0.02) {
        quiet.push(Quiet::RestartSidecar {
            fp: pick(rng, &SIDECAR_FAILPOINTS),
        });
    }
    let accounts = model.account_names();
    if rng.random_bool(0.08) {
        let candidates: Vec<String> = accounts
            .iter()
            .filter(|a| model.plantable(a))
            .cloned()
            .collect();
        if !candidates.is_empty() {
            let n = rng.random_range(1..=2);
            let links = (0..n).map(|_| pick(rng, &PLANTABLE)).collect();
            quiet.push(Quiet::Plant {
                account: pick(rng, &candidates),
                links,
                conflict: rng.random_bool(0.3),
            });
        }
    }
    if rng.random_bool(0.04) {
        let absent: Vec<String> = POOL
            .iter()
            .map(|a| a.to_string())
            .filter(|a| !accounts.contains(a))
            .collect();
        let removable: Vec<String> = accounts
            .iter()
            .filter(|a| model.removable(a))
            .cloned()
            .collect();
        if rng.random_bool(0.5) && !absent.is_empty() {
            quiet.push(Quiet::Add(pick(rng, &absent)));
        } else if accounts.len() > 3 && !removable.is_empty() {
            quiet.push(Quiet::Remove(pick(rng, &removable)));
        }
    }
    if world.disks() && rng.random_bool(0.25) {
        quiet.push(Quiet::Disk(super::disk::plan(rng, world)));
    }
    quiet
}

/// One operation (a hook storm is several).
fn plan_op(rng: &mut StdRng, model: &mut Model) -> Vec<Op> {
    let accounts = model.account_names();
    let account = pick(rng, &accounts);
    let roll = rng.random_range(0..100);
    let op = match roll {
        0..=13 => {
            // A swap that would latch only to a clean account (a latched
            // swap to a planted one would need a person to repair by hand).
            let fp = if rng.random_bool(0.03) && model.clean(&account) {
                pick(rng, &PARTIAL)
            } else {
                pick(rng, &SWAP_FAILPOINTS)
            };
            Op::Swap {
                to: account,
                fp,
                kill: kill(rng, 0.3),
            }
        }
        14..=21 => Op::AdminSwap { to: account },
        22..=28 => Op::Failover {
            from: rng.random_bool(0.5).then(|| account.clone()),
            reason: pick(rng, &REASONS),
            fp: pick(rng, &FAILOVER_FAILPOINTS),
            kill: kill(rng, 0.3),
        },
        29..=33 => Op::AdminFailover {
            from: rng.random_bool(0.5).then_some(account),
            reason: pick(rng, &REASONS),
        },
        34..=41 => return hook_storm(rng, model),
        42..=52 => {
            let session = model.pick_session(rng);
            let (five_hour, seven_day) = model.next_usage(rng, &session);
            Op::Statusline {
                session,
                five_hour,
                seven_day,
                kill: kill(rng, 0.1),
            }
        }
        53..=57 => Op::Ensure {
            account: rng.random_bool(0.5).then_some(account),
            kill: kill(rng, 0.3),
        },
        58..=63 => match model.dirty_accounts().first() {
            Some(dirty) => Op::Adopt {
                account: dirty.clone(),
                keep_both: rng.random_bool(0.7),
                fp: if rng.random_bool(0.5) {
                    "adopt::after_move=sleep(15)"
                } else {
                    ""
                },
                kill: kill(rng, 0.35),
            },
            None => Op::Read {
                args: &["validate", "--json"],
            },
        },
        64..=65 => Op::LatchClear,
        66..=70 => Op::LimitsClear { account },
        71..=86 => Op::Append {
            user: rng.random_range(0..4),
            lines: rng.random_range(1..=4),
        },
        87..=88 => Op::Init {
            n: model.next_id(),
            fp: if rng.random_bool(0.6) {
                "init::after_move=sleep(15)"
            } else {
                ""
            },
            kill: kill(rng, 0.6),
        },
        89..=97 => Op::Read {
            args: pick(
                rng,
                &[
                    &["validate", "--json"][..],
                    &["status", "--json"][..],
                    &["limits", "--json"][..],
                ],
            ),
        },
        _ => Op::KillSidecar {
            after: rng.random_range(0..80),
        },
    };
    vec![op]
}

/// Several sessions' hooks at once: most `StopFailure` (the limit hit by
/// every session of one account), some `SessionStart`.
fn hook_storm(rng: &mut StdRng, model: &mut Model) -> Vec<Op> {
    let n = rng.random_range(1..=8);
    (0..n)
        .map(|_| {
            let (event, error) = match rng.random_range(0..10) {
                0..=2 => ("SessionStart", ""),
                3 => ("UserPromptSubmit", ""),
                4 => ("StopFailure", "authentication_failed"),
                _ => ("StopFailure", "rate_limit"),
            };
            let session = if event == "SessionStart" {
                model.new_session()
            } else {
                model.pick_session(rng)
            };
            Op::Hook {
                session,
                event,
                error,
                kill: kill(rng, 0.08),
            }
        })
        .collect()
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = |kill: &Option<u64>| kill.map(|ms| format!(" [kill@{ms}ms]")).unwrap_or_default();
        let p = |fp: &str| {
            if fp.is_empty() {
                String::new()
            } else {
                format!(" FAILPOINTS='{fp}'")
            }
        };
        match self {
            Op::Swap { to, fp, kill } => write!(f, "swap {to}{}{}", p(fp), k(kill)),
            Op::AdminSwap { to } => write!(f, "POST /api/v1/swap to={to}"),
            Op::Failover {
                from,
                reason,
                fp,
                kill,
            } => write!(
                f,
                "failover from={from:?} reason={reason}{}{}",
                p(fp),
                k(kill)
            ),
            Op::AdminFailover { from, reason } => {
                write!(f, "POST /api/v1/failover from={from:?} reason={reason}")
            }
            Op::Hook {
                session,
                event,
                error,
                kill,
            } => write!(f, "hook {event} {error} session={session}{}", k(kill)),
            Op::Statusline {
                session,
                five_hour,
                seven_day,
                kill,
            } => write!(
                f,
                "statusline session={session} 5h={five_hour}% 7d={seven_day}%{}",
                k(kill)
            ),
            Op::Ensure { account, kill } => write!(f, "ensure {account:?}{}", k(kill)),
            Op::Adopt {
                account,
                keep_both,
                fp,
                kill,
            } => write!(
                f,
                "adopt {account}{}{}{}",
                if *keep_both { " --keep-both" } else { "" },
                p(fp),
                k(kill)
            ),
            Op::LatchClear => write!(f, "latch clear"),
            Op::LimitsClear { account } => write!(f, "limits clear {account}"),
            Op::Append { user, lines } => write!(f, "user {user} appends {lines} line(s)"),
            Op::Init { n, fp, kill } => write!(f, "init #{n}{}{}", p(fp), k(kill)),
            Op::Read { args } => write!(f, "{}", args.join(" ")),
            Op::KillSidecar { after } => write!(f, "kill -9 the sidecar after {after} ms"),
        }
    }
}
