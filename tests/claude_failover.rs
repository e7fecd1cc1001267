//! Exploration (temporary).

mod claude;
mod common;

use claude::hooks::{self, three_accounts};

#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn explore() {
    if !claude::isolated("explore") {
        return;
    }
    let rig = three_accounts();
    let log = rig.sb.root().join("probe.log");
    let probe = rig.sb.root().join("probe.sh");
    std::fs::write(&probe, format!(r#"#!/bin/sh
L={log}
echo "start $$ $(date +%s.%N)" >> $L
trap "echo got TERM $(date +%s.%N) >> $L" TERM
setsid sh -c 'trap "" TERM; i=0; while [ $i -lt 40 ]; do sleep 0.05; echo "detached $i $(date +%s.%N)" >> '$L'; i=$((i+1)); done' &
i=0; while [ $i -lt 40 ]; do sleep 0.05; echo "tick $i $(date +%s.%N)" >> $L; i=$((i+1)); done
echo "end $(date +%s.%N)" >> $L
"#, log = log.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rec = serde_json::json!({"type": "command", "command": probe.to_str().unwrap()});
    let hooks = serde_json::json!({"hooks": {"StopFailure": [{"hooks": [rec]}]}});
    std::fs::write(rig.sb.home("a").join("settings.json"), hooks.to_string()).unwrap();
    let reset = hooks::reset_in_two_hours();
    rig.api.limit("a", reset);
    let dbg = rig.sb.root().join("debug.txt");
    let t0 = std::time::Instant::now();
    let r = rig.claude(&["-p", "on a", "--debug-file", dbg.to_str().unwrap()]);
    println!("RUN1 {r:#?} after {:?} at {:?}", t0.elapsed(), std::time::SystemTime::now());
    std::thread::sleep(std::time::Duration::from_secs(3));
    println!("PROBE {}", std::fs::read_to_string(&log).unwrap_or_default());
    for l in std::fs::read_to_string(&dbg).unwrap_or_default().lines().filter(|l| l.contains("ook") || l.contains("hut")) { println!("D {l}"); }
    panic!("explore");
}
