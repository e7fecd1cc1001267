//! The invariants, checked after every round (when nothing runs) and at
//! the end. A violation is a line of text; the run stops at the first
//! round that has one.

use serde_json::Value;

use super::exec::{Done, End};
use super::model::Model;
use super::ops::Op;
use super::world::World;

/// The account names of a status document, sorted (it lists them by
/// name).
pub fn account_names(status: &Value) -> Vec<String> {
    let mut names: Vec<String> = status["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["account"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Runs `homeswap ARGS` for the check itself, bounded.
fn run(world: &World, args: &[&str]) -> Done {
    run_as(world, &Op::Read { args: &[] }, args)
}

fn run_as(world: &World, op: &Op, args: &[&str]) -> Done {
    super::exec::cli(world, op, args, "", None, None)
}

/// `status --json`: it recovers an interrupted swap first, as every
/// command does. `None` (and a violation) if it fails.
fn status(world: &World, v: &mut Vec<String>) -> Option<(Value, u32)> {
    let d = run(world, &["status", "--json"]);
    match (&d.end, serde_json::from_str::<Value>(&d.stdout)) {
        (End::Exit(0), Ok(st)) => Some((st, d.pid.unwrap())),
        _ => {
            v.push(format!("status --json: {:?} {}", d.end, d.stderr));
            None
        }
    }
}

/// Waits until no process holds the state lock: a request whose client
/// was killed may still be running in the sidecar. Past the swaps' own
/// 5 s wait it is a violation.
fn wait_unlocked(world: &World, v: &mut Vec<String>) {
    use nix::fcntl::{Flock, FlockArg};
    let Ok(file) = std::fs::File::open(world.s.state().join("lock")) else {
        return;
    };
    let start = std::time::Instant::now();
    let mut file = file;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(_unlocked_on_drop) => return,
            Err((f, _)) => file = f,
        }
        if start.elapsed() > std::time::Duration::from_secs(6) {
            v.push("the state lock is still held 6 s after the round ended".into());
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Every invariant after a round; then the operator's repair of a latch.
pub fn after_round(world: &World, model: &mut Model) -> Vec<String> {
    let mut v = std::mem::take(&mut model.violations);
    for d in &model.round {
        per_op(world, model, d, &mut v);
    }
    wait_unlocked(world, &mut v);
    let Some((st, checker)) = status(world, &mut v) else {
        return v;
    };
    state(world, model, &st, &mut v);
    super::content::check(world, model, model.dirty_accounts().is_empty(), &mut v);
    super::audit::check(world, model, checker, &mut v);
    super::audit::active_and_limits(model, &st, &mut v);
    if v.is_empty() && model.stats.disk_faults == 0 {
        let again = || status(world, &mut Vec::new()).map(|(st, _)| st);
        super::agree::check(world, &st, again, &mut v);
    }
    model.active = st["active"].as_str().map(str::to_string);
    if !st["latch"].is_null() && v.is_empty() {
        repair(world, model, &mut v);
    }
    v
}

/// The end: every planted account adopted, everything ensured, and then
/// every invariant, with each line in exactly one place.
pub fn at_end(world: &World, model: &mut Model) -> Vec<String> {
    if let Some(d) = &world.disks {
        d.free_all();
        model.disk_trouble = false;
    }
    if !world.sidecar_up() {
        let _ = world.restart_sidecar("");
    }
    model.round.clear();
    // As an operator would: an adopt refused because another account's
    // interrupted adoption must be finished first names that account, and
    // the second pass finds it finished (there is one journal, so one
    // such wait at most); adopting an account already ok changes nothing.
    let dirty = model.dirty_accounts();
    for _pass in 0..2 {
        end_adopts(world, model, &dirty);
    }
    let d = run(world, &["ensure"]);
    model.step(format!("(end) ensure -> {:?}: {}", d.end, d.stderr.trim()));
    let mut v = after_round(world, model);
    if !v.is_empty() {
        return v;
    }
    let d = run(world, &["validate", "--json"]);
    if d.end != End::Exit(0) {
        v.push(format!("at the end, validate: {:?}\n{}", d.end, d.stdout));
    }
    if !model.dirty_accounts().is_empty() {
        v.push(format!(
            "at the end, planted accounts were not adopted: {:?}",
            model.dirty_accounts()
        ));
    }
    super::content::check(world, model, true, &mut v);
    v
}

/// The exit code or HTTP status of one operation is one the contract
/// allows, it did not hang, and it did not panic.
fn per_op(world: &World, model: &Model, d: &Done, v: &mut Vec<String>) {
    v.extend(d.problems.iter().cloned());
    if d.stderr.contains("panicked at") {
        v.push(format!("`{}` panicked: {}", d.op, d.stderr));
    }
    let sidecar_killed = model
        .round
        .iter()
        .any(|d| matches!(d.op, Op::KillSidecar { .. }));
    let unknown = |a: &str| !model.configured(a);
    let (codes, unknown_code): (&[i32], bool) = match &d.op {
        Op::Swap { to, .. } => (&[0, 1, 3, 4], unknown(to)),
        Op::Failover { from, .. } => (&[0, 1, 3, 4], from.as_deref().is_some_and(unknown)),
        Op::Hook { .. } | Op::Statusline { .. } => (&[0], false),
        Op::Ensure { account, .. } => (&[0, 1], account.as_deref().is_some_and(unknown)),
        Op::Adopt { account, .. } => (&[0, 1, 3], unknown(account)),
        Op::LatchClear => (&[0, 1], false),
        // The contract names no code for a limits file it cannot write or
        // a lock held for 5 s; homeswap says so and exits 1 (RELIABILITY.md).
        // A long disk run fills the small state mount by itself too (the
        // audit log and the session records grow), not only when the
        // harness fills it.
        Op::LimitsClear { account }
            if model.disk_trouble
                || d.stderr.contains("another homeswap holds")
                || d.stderr.contains("No space left on device") =>
        {
            (&[0, 1], unknown(account))
        }
        Op::LimitsClear { account } => (&[0], unknown(account)),
        Op::Read { args } if args[0] == "validate" => (&[0, 1], false),
        _ => (&[0], false),
    };
    match &d.end {
        End::Hung => v.push(format!("`{}` did not end within its bound", d.op)),
        End::Exit(c) if unknown_code && *c != 2 => v.push(format!(
            "`{}` names an account not configured and exited {c}, not 2",
            d.op
        )),
        End::Exit(c) if !unknown_code && !codes.contains(c) && !matches!(d.op, Op::Init { .. }) => {
            v.push(format!("`{}` exited {c}: {}", d.op, d.stderr))
        }
        End::Http(s) => {
            let ok = match &d.op {
                Op::AdminSwap { to } if unknown(to) => *s == 404,
                Op::AdminFailover { from: Some(f), .. } if unknown(f) => *s == 404,
                _ => [200, 409, 423, 500, 503].contains(s),
            };
            if !ok {
                v.push(format!("`{}` answered {s}: {}", d.op, d.stdout));
            }
        }
        End::NoAnswer(e) if !sidecar_killed && world.sidecar_up() => {
            v.push(format!("`{}` got no answer from a live sidecar: {e}", d.op))
        }
        _ => {}
    }
}

/// The end's `adopt ACCOUNT --keep-both` of each of `accounts`.
fn end_adopts(world: &World, model: &mut Model, accounts: &[String]) {
    for account in accounts {
        let op = Op::Adopt {
            account: account.clone(),
            keep_both: true,
            fp: "",
            kill: None,
        };
        let d = run_as(world, &op, &["adopt", account, "--keep-both"]);
        model.round.push(d.clone());
        model.step(format!(
            "(end) adopt {account} --keep-both -> {:?}: {}",
            d.end,
            d.stderr.trim()
        ));
    }
}

/// The active link names a configured home or the latch says why; every
/// link is ok or broken as the model expects; nothing is left of a swap.
fn state(world: &World, model: &mut Model, st: &Value, v: &mut Vec<String>) {
    let names = account_names(st);
    if names != model.sorted_names() {
        v.push(format!(
            "status lists {names:?}, the configuration {:?}",
            model.sorted_names()
        ));
    }
    let latch = &st["latch"];
    match st["active"].as_str() {
        Some(a) if model.configured(a) => {}
        active => {
            let why = latch["errors"].as_array().is_some_and(|e| !e.is_empty());
            if latch.is_null() || !why {
                v.push(format!(
                    "the active link names {active:?} ({}) and no latch says why: {latch}",
                    st["active_link"]
                ));
            }
        }
    }
    if !latch.is_null() {
        model.stats.latched += 1;
    }
    let mut adopted = 0;
    for a in st["accounts"].as_array().into_iter().flatten() {
        let name = a["account"].as_str().unwrap_or("");
        let Some(acct) = model.account_mut(name) else {
            continue;
        };
        let mut all_ok = true;
        for l in a["links"].as_array().into_iter().flatten() {
            let link = l["link"].as_str().unwrap_or("");
            let state = l["state"].as_str().unwrap_or("");
            all_ok &= state == "ok";
            let expected = match state {
                "ok" => true,
                "missing" => acct.fresh || !acct.planted.is_empty(),
                "not_a_link" => acct.planted.contains(link),
                _ => false,
            };
            if !expected {
                v.push(format!(
                    "account {name}: {link}: {state}, the model expects ok{}: {l}",
                    if acct.planted.is_empty() {
                        ""
                    } else {
                        " or planted"
                    }
                ));
            }
        }
        if all_ok {
            if !acct.planted.is_empty() {
                adopted += 1;
            }
            acct.fresh = false;
            acct.planted.clear();
        }
    }
    model.stats.adopted += adopted;
    if world.s.state().join("intent.json").exists() {
        // A sidecar request still owed (its client killed or gone at its
        // deadline) may have started a swap after the lock was seen free:
        // its record is its own until it ends. Once no one holds the lock,
        // a command must recover whatever is left.
        wait_unlocked(world, v);
        let again = run(world, &["status"]);
        if let Ok(intent) = std::fs::read_to_string(world.s.state().join("intent.json")) {
            v.push(format!(
                "an intent record is left after a command recovered: {intent}; `status` once more: {:?}: {}",
                again.end, again.stderr
            ));
        }
    }
    let temporaries: Vec<String> = std::fs::read_dir(world.s.root())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".homeswap-tmp."))
        .collect();
    if !temporaries.is_empty() {
        v.push(format!(
            "temporary links left beside the active link: {temporaries:?}"
        ));
    }
}

/// What an operator does about a latch: ensure, then clear it.
fn repair(world: &World, model: &mut Model, v: &mut Vec<String>) {
    let ensure = run(world, &["ensure"]);
    let clear = run_as(
        world,
        &Op::LatchClear,
        &["latch", "clear", "--reason", "chaos: operator repair"],
    );
    model.step(format!(
        "(repair) ensure -> {:?}; latch clear -> {:?} {}",
        ensure.end,
        clear.end,
        clear.stderr.trim()
    ));
    if clear.end != End::Exit(0) && model.stats.disk_faults == 0 {
        v.push(format!(
            "the latch could not be cleared after ensure: {}",
            clear.stderr
        ));
    }
    model.round = vec![clear];
    let mut ignored = Vec::new();
    if let Some((st, checker)) = status(world, &mut ignored) {
        super::audit::check(world, model, checker, v);
        model.expect_active = st["active"].as_str().map(str::to_string);
        model.active = model.expect_active.clone();
    }
    model.round.clear();
}
