//! The audit log against the round: one record per finished operation
//! (by the pid that wrote it), none from a process that did not run, the
//! last move's `to` the active account, and no account limited without a
//! failover that named it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::exec::{Done, End};
use super::model::Model;
use super::ops::Op;
use super::world::World;

/// The records of one pid this round, by action.
type Actions = BTreeMap<String, Vec<Value>>;

/// Reads the records the round added and checks them; `checker`: the
/// pid of the check's own `status --json` (it may only recover).
pub fn check(world: &World, model: &mut Model, checker: u32, v: &mut Vec<String>) {
    let records = new_records(world, model, v);
    let sidecars = world.sidecar_pids.lock().unwrap().clone();
    let mut by_pid: BTreeMap<u32, Actions> = BTreeMap::new();
    let may_recover = model.round.iter().any(|d| {
        d.end == End::Killed
            || matches!(d.op, Op::KillSidecar { .. })
            || matches!(&d.op, Op::Swap { fp, .. } if fp.contains("latch::write"))
    }) || model.stats.disk_faults > 0;
    for r in &records {
        let action = r["action"].as_str().unwrap_or("?").to_string();
        if action == "recover" {
            model.stats.recoveries += 1;
            if !may_recover && r["outcome"] != "cleaned" {
                v.push(format!(
                    "a recovery with no swap interrupted this round: {r}"
                ));
            }
        } else {
            let pid = r["pid"].as_u64().unwrap_or(0) as u32;
            by_pid
                .entry(pid)
                .or_default()
                .entry(action)
                .or_default()
                .push(r.clone());
        }
        follow(model, r);
    }
    let mut claimed = vec![checker];
    for d in &model.round {
        let Some(pid) = d.pid else { continue };
        claimed.push(pid);
        let mine = by_pid.get(&pid).cloned().unwrap_or_default();
        per_process(model, d, &mine, v);
    }
    let sidecar: Actions =
        sidecars
            .iter()
            .filter_map(|p| by_pid.get(p))
            .fold(Actions::new(), |mut all, a| {
                for (k, rs) in a {
                    all.entry(k.clone()).or_default().extend(rs.iter().cloned());
                }
                all
            });
    per_sidecar(model, &sidecar, v);
    for (pid, actions) in &by_pid {
        if !claimed.contains(pid) && !sidecars.contains(pid) {
            v.push(format!(
                "audit records of pid {pid}, which ran nothing this round: {actions:?}"
            ));
        }
    }
}

/// The records appended since the last check (`cursor.rs`).
fn new_records(world: &World, model: &mut Model, v: &mut Vec<String>) -> Vec<Value> {
    let log = std::fs::read(world.s.state().join("audit.jsonl")).unwrap_or_default();
    let read = model.audit.read(&log, model.stats.disk_faults > 0);
    v.extend(read.bad);
    model.stats.unended_records += u64::from(read.unended);
    read.records
}

/// The model's view of moves and limits, from one record in log order.
fn follow(model: &mut Model, r: &Value) {
    let s = |k: &str| r[k].as_str().map(str::to_string);
    match (r["action"].as_str(), r["outcome"].as_str()) {
        // A partial swap's flip stays where its rollback failed.
        (Some("swap" | "recover"), Some("swapped" | "partial")) => {
            model.expect_active = s("to");
        }
        (Some("recover"), Some("rolled_back")) => model.expect_active = s("from"),
        (Some("failover"), _) => {
            if let Some(from) = s("from") {
                model.named.insert(from);
            }
        }
        (Some("limits_clear"), _) => {
            if let Some(from) = s("from") {
                model.named.remove(&from);
            }
        }
        _ => {}
    }
}

fn count(a: &Actions, action: &str) -> usize {
    a.get(action).map_or(0, Vec::len)
}

/// What one CLI process of the round may have written.
fn per_process(model: &Model, d: &Done, mine: &Actions, v: &mut Vec<String>) {
    // A limits clear that did not clear is not recorded (only its
    // successes are).
    let finished = match d.op {
        Op::LimitsClear { .. } => d.end == End::Exit(0),
        _ => matches!(d.end, End::Exit(c) if c != 2),
    };
    // An audit log that cannot be written is a warning, not a failure.
    let exact = finished && model.stats.disk_faults == 0;
    let (allowed, must): (&[&str], Option<&str>) = match &d.op {
        Op::Swap { .. } => (&["swap"], Some("swap")),
        Op::Failover { .. } => (&["failover", "swap"], Some("failover")),
        Op::Adopt { .. } => (&["adopt"], Some("adopt")),
        Op::LatchClear => (&["latch_clear"], Some("latch_clear")),
        Op::LimitsClear { .. } => (&["limits_clear"], Some("limits_clear")),
        // `attribution`: an event homeswap could not place on the account
        // that served it (ops::served), recorded as such.
        Op::Hook { .. } | Op::Statusline { .. } => (&["failover", "swap", "attribution"], None),
        _ => (&[], None),
    };
    for (action, rs) in mine {
        if !allowed.contains(&action.as_str()) {
            v.push(format!(
                "`{}` (pid {:?}) wrote a {action} record: {rs:?}",
                d.op, d.pid
            ));
        } else if rs.len() > 1 {
            v.push(format!(
                "`{}` (pid {:?}) wrote {} {action} records: {rs:?}",
                d.op,
                d.pid,
                rs.len()
            ));
        }
    }
    if let Some(action) = must {
        if exact && count(mine, action) != 1 {
            v.push(format!(
                "`{}` (pid {:?}, {:?}) finished without its {action} record",
                d.op, d.pid, d.end
            ));
        }
    }
    if let (Op::Swap { to, .. }, Some(r)) = (&d.op, mine.get("swap").and_then(|r| r.first())) {
        if r["to"].as_str() != Some(to) {
            v.push(format!("`{}`: its record names to={}", d.op, r["to"]));
        }
    }
}

/// The sidecar's records against the admin requests (and the hooks and
/// status lines that may have asked it).
fn per_sidecar(model: &mut Model, rs: &Actions, v: &mut Vec<String>) {
    let answered = |want: fn(&Op) -> bool| {
        model
            .round
            .iter()
            .filter(|d| want(&d.op))
            .filter(|d| matches!(d.end, End::Http(s) if s != 400 && s != 404))
            .count()
    };
    let asked = |want: fn(&Op) -> bool| model.round.iter().filter(|d| want(&d.op)).count();
    let admin_swap = |op: &Op| matches!(op, Op::AdminSwap { .. });
    let admin_failover = |op: &Op| matches!(op, Op::AdminFailover { .. });
    let via_socket = |op: &Op| {
        matches!(
            op,
            Op::AdminFailover { .. } | Op::Hook { .. } | Op::Statusline { .. }
        )
    };
    let (swaps, failovers) = (count(rs, "swap"), count(rs, "failover"));
    // Every request that could ask the sidecar for a failover is a credit
    // for one record, for 10 s (its 5 s lock wait and the work): a request
    // whose client was killed, or gave up at the hook's deadline, or a
    // status line, which does not wait, may see its record land rounds
    // later.
    let now = std::time::Instant::now();
    model
        .credits
        .retain(|t| now.duration_since(*t) < std::time::Duration::from_secs(10));
    let asking = model.round.iter().filter(|d| via_socket(&d.op)).count();
    model.credits.extend(std::iter::repeat_n(now, asking));
    let budget = model.credits.len();
    let exact = model.stats.disk_faults == 0;
    if exact && swaps < answered(admin_swap) {
        v.push(format!(
            "{} admin swaps answered, the sidecar wrote {swaps} swap records",
            answered(admin_swap)
        ));
    }
    if exact && failovers < answered(admin_failover) {
        v.push(format!(
            "{} admin failovers answered, the sidecar wrote {failovers} failover records",
            answered(admin_failover)
        ));
    }
    if failovers > budget {
        v.push(format!(
            "the sidecar wrote {failovers} failover records for {budget} requests that could ask for one"
        ));
    }
    if swaps > asked(admin_swap) + budget {
        v.push(format!(
            "the sidecar wrote {swaps} swap records for {} admin swaps and {failovers} failovers",
            asked(admin_swap)
        ));
    }
    model.credits.drain(..failovers.min(budget));
    for action in rs.keys() {
        if !["swap", "failover"].contains(&action.as_str()) {
            v.push(format!(
                "the sidecar wrote a {action} record: {:?}",
                rs[action]
            ));
        }
    }
}

/// The last move's `to` is the active account (unless the latch says
/// why not, or a kill this round stopped a flipped swap before its
/// record); every limited account was named by a failover.
pub fn active_and_limits(model: &mut Model, status: &Value, v: &mut Vec<String>) {
    let active = status["active"].as_str().map(str::to_string);
    let latched = !status["latch"].is_null();
    // A request still owed its record (a credit, above) may have flipped
    // the link after the lock was seen free: its record comes later.
    let late = model.killed_a_writer() || !model.credits.is_empty();
    if !latched && active != model.expect_active {
        if late {
            model.stats.unrecorded_flips += 1;
            model.expect_active = active.clone();
        } else {
            v.push(format!(
                "the active account is {active:?}; the audit log's last move names {:?}",
                model.expect_active
            ));
        }
    }
    for l in status["limits"].as_array().into_iter().flatten() {
        let Some(account) = l["account"].as_str() else {
            continue;
        };
        if l["limited"] == true && !model.named.contains(account) {
            if late {
                model.stats.unrecorded_limits += 1;
                model.named.insert(account.to_string());
            } else {
                v.push(format!(
                    "account {account} is limited ({l}) and no failover named it since its last clear"
                ));
            }
        }
    }
}
