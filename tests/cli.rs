//! The real binary on real temporary directories: exit codes, stderr lines
//! and what ends up on disk.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{make_link, snapshot, Sandbox, LINKS};

#[test]
fn validate_reports_every_problem_of_every_account_at_once() {
    let s = Sandbox::new();
    let r = s.run(&["validate"]);
    assert_eq!(r.code, 1, "{r:?}");
    let lines = r.stderr_lines();
    // 3 links × 2 accounts, plus the missing active link.
    assert_eq!(lines.len(), 7, "{lines:#?}");
    assert!(lines[0].starts_with(&format!("active link {}: missing", s.active().display())));
    for account in ["a", "b"] {
        for name in LINKS {
            let want = format!(
                "account {account}: {name}: missing: {} does not exist, expected a link to {}",
                s.link(account, name).display(),
                s.shared().join(name).display()
            );
            assert!(
                lines.iter().any(|l| l.starts_with(&want)),
                "no line {want:?} in {lines:#?}"
            );
        }
    }
    // Read-only: nothing was created.
    assert!(!s.shared().exists());
    assert_eq!(std::fs::read_dir(s.home("a")).unwrap().count(), 0);
}

#[test]
fn ensure_creates_the_links_and_a_second_run_changes_nothing() {
    let s = Sandbox::new();
    let r = s.ok(&["ensure"]);
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.contains("created the link"))
            .count(),
        6,
        "{r:?}"
    );
    for account in ["a", "b"] {
        for name in LINKS {
            assert_eq!(
                std::fs::read_link(s.link(account, name)).unwrap(),
                s.shared().join(name)
            );
        }
    }
    let before = snapshot(s.root());
    let again = s.ok(&["ensure"]);
    assert_eq!(again.stdout.trim(), "ok: nothing to do");
    assert_eq!(snapshot(s.root()), before);
}

#[test]
fn ensure_dry_run_prints_the_plan_and_changes_nothing() {
    let s = Sandbox::new();
    let before = snapshot(s.root());
    let r = s.ok(&["ensure", "--dry-run", "b"]);
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.contains("would create the link"))
            .count(),
        3,
        "{r:?}"
    );
    assert!(
        r.stdout.lines().all(|l| l.starts_with("account b: ")),
        "{r:?}"
    );
    assert_eq!(snapshot(s.root()), before);
}

#[test]
fn ensure_refuses_divergent_and_not_a_link_and_touches_neither() {
    let s = Sandbox::new();
    make_link(Path::new("/tmp/somewhere-else"), &s.link("a", "projects"));
    std::fs::create_dir(s.link("b", "file-history")).unwrap();
    std::fs::write(s.link("b", "file-history").join("undo.json"), b"precious").unwrap();
    let r = s.run(&["ensure"]);
    assert_eq!(r.code, 1, "{r:?}");
    let lines = r.stderr_lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(
        lines[0],
        format!(
            "account a: projects: divergent: points to /tmp/somewhere-else, expected {}; merge what it holds into {} and replace the link by hand",
            s.shared().join("projects").display(),
            s.shared().join("projects").display()
        )
    );
    assert!(lines[1].starts_with(&format!(
        "account b: file-history: not_a_link: {} is a directory, expected a link to {}",
        s.link("b", "file-history").display(),
        s.shared().join("file-history").display()
    )));
    assert_eq!(
        std::fs::read_link(s.link("a", "projects")).unwrap(),
        Path::new("/tmp/somewhere-else")
    );
    assert_eq!(
        std::fs::read(s.link("b", "file-history").join("undo.json")).unwrap(),
        b"precious"
    );
    // Everything else was still repaired.
    assert_eq!(
        std::fs::read_link(s.link("b", "projects")).unwrap(),
        s.shared().join("projects")
    );
}

#[test]
fn ensure_of_an_unknown_account_is_a_usage_error() {
    let s = Sandbox::new();
    let r = s.run(&["ensure", "zz"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("unknown account \"zz\": configured accounts are a, b"),
        "{r:?}"
    );
    assert!(!s.shared().exists());
}

#[test]
fn swap_flips_the_active_link_and_audits_each_attempt() {
    let s = Sandbox::ready();
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    let r = s.ok(&["swap", "b"]);
    assert_eq!(r.stdout.trim(), "swapped: a -> b");
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    let r = s.ok(&["swap", "b"]);
    assert_eq!(r.stdout.trim(), "already active: b");
    let r = s.run(&["swap", "nobody"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("unknown account \"nobody\""), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("b"));

    let outcomes: Vec<String> = s
        .audit()
        .iter()
        .map(|e| format!("{} {} {}", e["action"], e["to"], e["outcome"]))
        .collect();
    assert_eq!(
        outcomes,
        [
            r#""swap" "a" "swapped""#,
            r#""swap" "b" "swapped""#,
            r#""swap" "b" "already_active""#,
            r#""swap" "nobody" "refused""#
        ]
    );
    assert!(!s.state().join("intent.json").exists());
}

#[test]
fn swap_creates_missing_links_of_the_target() {
    let s = Sandbox::ready();
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    let r = s.ok(&["swap", "b"]);
    assert!(r.stdout.contains("created"), "{r:?}");
    assert_eq!(
        std::fs::read_link(s.link("b", "projects")).unwrap(),
        s.shared().join("projects")
    );
    s.ok(&["validate"]);
}

#[test]
fn swap_onto_an_account_with_a_real_directory_is_refused_before_the_flip() {
    let s = Sandbox::ready();
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    std::fs::create_dir(s.link("b", "projects")).unwrap();
    let r = s.run(&["swap", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    let lines = r.stderr_lines();
    assert_eq!(
        lines[0],
        "homeswap: swap to b refused before the flip, nothing changed:"
    );
    assert!(
        lines[1].contains("account b: projects: not_a_link:"),
        "{lines:#?}"
    );
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    assert!(s.link("b", "projects").is_dir());
}

#[test]
fn swap_refuses_when_the_active_link_is_a_real_directory() {
    let s = Sandbox::new();
    s.ok(&["ensure"]);
    std::fs::create_dir(s.active()).unwrap();
    std::fs::write(s.active().join("settings.json"), b"{}").unwrap();
    let r = s.run(&["swap", "a"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("not_a_link"), "{r:?}");
    assert_eq!(
        std::fs::read(s.active().join("settings.json")).unwrap(),
        b"{}"
    );
}

#[test]
fn config_errors_name_file_key_line_and_column_and_exit_2() {
    let s = Sandbox::new();
    s.append_config("colour: blue\n");
    let r = s.run(&["validate"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .starts_with(&format!("homeswap: {}: ", s.config.display())),
        "{r:?}"
    );
    assert!(r.stderr.contains("unknown field `colour`"), "{r:?}");
    assert!(r.stderr.contains("line 7 column 1"), "{r:?}");

    s.remove_config("colour");
    s.set_config("accounts.b", "relative/b");
    let r = s.run(&["swap", "a"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("accounts.b: relative/b is not an absolute path (line 3, column 3)"),
        "{r:?}"
    );
}

#[test]
fn no_config_is_a_usage_error_and_the_env_variable_is_honoured() {
    let s = Sandbox::new();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_homeswap"));
    c.arg("status")
        .env_remove("HOMESWAP_CONFIG")
        .env("XDG_CONFIG_HOME", s.root().join("no-config-here"));
    let r = common::Run::from(c.output().unwrap());
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--config"), "{r:?}");

    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_homeswap"));
    c.arg("status").env("HOMESWAP_CONFIG", &s.config);
    let r = common::Run::from(c.output().unwrap());
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn status_and_validate_json_describe_every_link() {
    let s = Sandbox::ready();
    make_link(Path::new("/elsewhere"), &s.home("b").join("extra"));
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    symlink("/elsewhere", s.link("b", "projects")).unwrap();

    let r = s.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["active"], "a",
        "the account name, as GET /api/v1/status gives it"
    );
    assert_eq!(v["active_link"]["account"], "a");
    assert_eq!(v["latch"], serde_json::Value::Null);
    assert_eq!(v["ok"], false);
    assert_eq!(v["accounts"][1]["links"][2]["state"], "divergent");
    assert_eq!(v["accounts"][1]["links"][2]["points_to"], "/elsewhere");

    let r = s.run(&["validate", "--json"]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["problems"].as_array().unwrap().len(), 1);
    assert_eq!(v["accounts"][0]["links"][0]["state"], "ok");
}

#[test]
fn latch_show_and_clear_when_no_latch_is_set() {
    let s = Sandbox::ready();
    assert_eq!(s.ok(&["latch", "show"]).stdout.trim(), "latch: clear");
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["latch", "show", "--json"]).stdout).unwrap();
    assert_eq!(v["set"], false);
    assert_eq!(
        s.ok(&["latch", "clear", "--reason", "checking"])
            .stdout
            .trim(),
        "the latch is not set; nothing to clear"
    );
    assert_eq!(s.run(&["latch", "clear", "--reason", " "]).code, 2);
    assert_eq!(s.run(&["latch", "clear"]).code, 2, "--reason is required");
}

#[test]
fn a_latch_left_by_an_earlier_process_refuses_swaps_until_cleared() {
    let s = Sandbox::ready();
    let latch = serde_json::json!({
        "set_at": "2026-11-24T03:00:00Z", "from": "a", "to": "b",
        "errors": ["account b: ensure failed", "rollback failed: disk"], "pid": 1
    });
    std::fs::write(s.state().join("latch.json"), latch.to_string()).unwrap();
    let r = s.run(&["swap", "b"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("the partial-swap latch is set since 2026-11-24T03:00:00Z (swap a -> b)"),
        "{r:?}"
    );
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    assert!(s
        .ok(&["latch", "show"])
        .stdout
        .contains("SET since 2026-11-24T03:00:00Z"));
    // a is active and healthy, so the clear is allowed.
    let r = s.ok(&["latch", "clear", "--reason", "checked by hand"]);
    assert!(r.stdout.starts_with("latch cleared"), "{r:?}");
    s.ok(&["swap", "b"]);
    let last_clear = s
        .audit()
        .into_iter()
        .find(|e| e["action"] == "latch_clear")
        .unwrap();
    assert_eq!(last_clear["reason"], "checked by hand");
}

#[test]
fn an_unreadable_latch_file_counts_as_set() {
    let s = Sandbox::ready();
    std::fs::write(s.state().join("latch.json"), b"{not json").unwrap();
    let r = s.run(&["swap", "b"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("is unreadable"), "{r:?}");
}

#[test]
fn latch_clear_is_refused_while_the_active_account_is_unhealthy() {
    let s = Sandbox::ready();
    std::fs::write(
        s.state().join("latch.json"),
        r#"{"set_at":"t","from":"b","to":"a","errors":[],"pid":1}"#,
    )
    .unwrap();
    std::fs::remove_file(s.link("a", "session-env")).unwrap();
    let r = s.run(&["latch", "clear", "--reason", "too early"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("account a: session-env: missing"),
        "{r:?}"
    );
    assert!(s.state().join("latch.json").exists());
    s.ok(&["ensure", "a"]);
    s.ok(&["latch", "clear", "--reason", "relinked a/session-env"]);
    assert!(!s.state().join("latch.json").exists());
}

#[test]
fn leftover_temporary_links_are_removed_by_the_next_command() {
    let s = Sandbox::ready();
    let tmp = s.root().join(".active.homeswap-tmp.4242.0");
    symlink(s.home("b"), &tmp).unwrap();
    let r = s.ok(&["status"]);
    assert!(
        r.stderr.contains("removed leftover temporary links"),
        "{r:?}"
    );
    assert!(tmp.symlink_metadata().is_err());
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

fn plant_intent(s: &Sandbox, from: &str, to: &str) {
    let intent = serde_json::json!({
        "from": from, "from_target": s.home(from), "to": to, "to_home": s.home(to),
        "started": "2026-11-24T03:00:00Z", "pid": 4242
    });
    std::fs::write(s.state().join("intent.json"), intent.to_string()).unwrap();
}

#[test]
fn a_swap_interrupted_after_the_flip_is_finished_by_the_next_command() {
    let s = Sandbox::ready();
    // The state a crash right after the flip leaves: record, link on b,
    // b's links not yet ensured.
    plant_intent(&s, "a", "b");
    std::fs::remove_file(s.active()).unwrap();
    symlink(s.home("b"), s.active()).unwrap();
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    let r = s.ok(&["validate"]);
    assert!(
        r.stderr.contains("recovered an interrupted swap a -> b"),
        "{r:?}"
    );
    assert!(r.stderr.contains(": swapped"), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    assert!(!s.state().join("intent.json").exists());
    let last = s.audit().pop().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["outcome"].as_str()),
        (Some("recover"), Some("swapped"))
    );
}

#[test]
fn a_swap_interrupted_onto_a_broken_account_is_rolled_back() {
    let s = Sandbox::ready();
    plant_intent(&s, "a", "b");
    std::fs::remove_file(s.active()).unwrap();
    symlink(s.home("b"), s.active()).unwrap();
    std::fs::remove_file(s.link("b", "projects")).unwrap();
    symlink("/somewhere/else", s.link("b", "projects")).unwrap();
    let r = s.run(&["status"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains(": rolled_back"), "{r:?}");
    assert_eq!(s.active_target().unwrap(), s.home("a"));
    assert!(!s.state().join("intent.json").exists());
}

#[test]
fn a_swap_interrupted_before_the_flip_is_dropped() {
    let s = Sandbox::ready();
    plant_intent(&s, "a", "b");
    let r = s.ok(&["swap", "a"]);
    assert!(r.stderr.contains(": not_flipped"), "{r:?}");
    assert_eq!(r.stdout.trim(), "already active: a");
    assert!(!s.state().join("intent.json").exists());
}

/// Swaps from separate processes contend for the state lock. The first
/// is held after its flip (a failpoint hold) until eleven more have been
/// started and each is waiting for the lock, so they certainly race it.
/// Every one of them that swapped must have waited for the lock: it ends
/// after the first, and after each other by at least its own failpoint
/// sleep. Read in the order they ended, the swaps form one
/// chain (each starts from the account the previous one left), so no two
/// ever mixed the state.
#[cfg(feature = "failpoints")]
#[test]
fn concurrent_swaps_are_serialized_and_never_mix_the_state() {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    /// A swap process and, once it ends, when the test saw it end.
    fn watch(child: std::process::Child) -> (u32, std::thread::JoinHandle<(i32, Instant)>) {
        let pid = child.id();
        let handle = std::thread::spawn(move || {
            let out = child.wait_with_output().unwrap();
            (out.status.code().unwrap_or(-1), Instant::now())
        });
        (pid, handle)
    }
    let intent = |s: &Sandbox| -> Option<u64> {
        let text = std::fs::read_to_string(s.state().join("intent.json")).ok()?;
        serde_json::from_str::<serde_json::Value>(&text).ok()?["pid"].as_u64()
    };
    // Each waiter's own window; the lock gives up after 5 s, and the
    // chain of 11 × 200 ms after the release stays inside that (busy is
    // allowed anyway).
    let each = Duration::from_millis(200);

    let s = Sandbox::ready();
    let hold = s.hold("swap::after_flip");
    let (first_pid, first) = watch(s.spawn(&["swap", "b"], Some(&hold.failpoint())));
    hold.wait_reached();
    let others: Vec<_> = (1..12)
        .map(|i| {
            let to = if i % 2 == 1 { "a" } else { "b" };
            watch(s.spawn(&["swap", to], Some("swap::after_flip=sleep(200)")))
        })
        .collect();
    for (pid, _) in &others {
        s.wait_at_lock(*pid);
    }
    // The first is still held: every other swap started, and reached the
    // lock, while it held the lock (its intent record is written and
    // removed under it).
    assert!(
        !first.is_finished(),
        "the first swap ended before the others were started: no race was tested"
    );
    let holder = intent(&s);
    assert_eq!(
        holder,
        Some(u64::from(first_pid)),
        "the intent record is not the first swap's ({first_pid}): another swap got past the lock"
    );
    hold.release();

    let (code, first_end) = first.join().unwrap();
    assert_eq!(code, 0, "the first swap");
    let mut ends = BTreeMap::from([(first_pid, first_end)]);
    let mut codes = Vec::new();
    for (pid, h) in others {
        let (code, end) = h.join().unwrap();
        codes.push(code);
        ends.insert(pid, end);
    }
    assert!(codes.iter().all(|c| *c == 0 || *c == 4), "{codes:?}");

    // One audit line per attempt, none torn, each by its own process.
    let entries: Vec<serde_json::Value> = s
        .audit()
        .into_iter()
        .filter(|e| {
            e["action"] == "swap" && ends.contains_key(&(e["pid"].as_u64().unwrap() as u32))
        })
        .collect();
    assert_eq!(entries.len(), 12, "{entries:#?}");
    let mut swapped: Vec<(Instant, &serde_json::Value)> = entries
        .iter()
        .filter(|e| e["outcome"] == "swapped")
        .map(|e| (ends[&(e["pid"].as_u64().unwrap() as u32)], e))
        .collect();
    swapped.sort_by_key(|(end, _)| *end);
    let mut outcomes = BTreeMap::new();
    for e in &entries {
        *outcomes.entry(e["outcome"].as_str().unwrap()).or_insert(0) += 1;
    }
    eprintln!("12 racing swaps: {outcomes:?}");
    assert!(
        swapped.len() >= 2,
        "no swap raced the first one to the end: {entries:#?}"
    );
    let (end0, e0) = swapped[0];
    assert_eq!(
        end0, first_end,
        "the first swap must end first: {entries:#?}"
    );
    assert_eq!(
        (e0["from"].as_str(), e0["to"].as_str()),
        (Some("a"), Some("b"))
    );
    for (i, pair) in swapped.windows(2).enumerate() {
        let ((prev_end, prev), (end, e)) = (pair[0], pair[1]);
        // Waited for the lock: it ended a failpoint window after the swap
        // before it. Half a window of slack absorbs the time a process
        // takes to exit and the test's threads to notice; overlapping swaps
        // end within milliseconds of each other.
        assert!(
            end.duration_since(prev_end) >= each / 2,
            "swap {} ended {:?} after the one before: they overlapped",
            i + 1,
            end.duration_since(prev_end)
        );
        assert_eq!(
            e["from"],
            prev["to"],
            "swap {} did not start from where the one before left: {entries:#?}",
            i + 1
        );
    }
    let last = swapped.last().unwrap().1["to"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.active_target().unwrap(), s.home(&last));
    s.ok(&["validate"]);
    assert!(!s.state().join("intent.json").exists());
    let leftovers = std::fs::read_dir(s.root())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("homeswap-tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn every_command_has_help() {
    let s = Sandbox::new();
    for args in [
        vec!["--help"],
        vec!["validate", "--help"],
        vec!["ensure", "--help"],
        vec!["swap", "--help"],
        vec!["status", "--help"],
        vec!["latch", "--help"],
        vec!["latch", "clear", "--help"],
    ] {
        let r = s.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        assert!(r.stdout.contains("Usage: homeswap"), "{args:?}: {r:?}");
    }
    assert!(s.run(&["--help"]).stdout.contains("Exit codes:"));
    assert_eq!(s.run(&["frobnicate"]).code, 2);
}
