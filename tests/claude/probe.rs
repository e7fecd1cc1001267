//! Tools for finding out what the real client does (tests/claude_probe.rs):
//! a recorder for hook and status-line stdin, the client under strace,
//! flips of the active link by hand, and one timeline of it all.
//!
//! Every time here is wall-clock Unix seconds (`date +%s.%N`, strace's
//! `-ttt`, the stand-in's [`Call::at`]), so the three sources line up.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::standin::Call;

/// The recorder: `record.sh DIR KIND [SLEEP]` saves its stdin with its
/// start and end times as one JSON file per run (`DIR/rec.*.json`; end
/// `null` while it runs, or when it was killed); with SLEEP it waits that
/// long before it ends. It ignores SIGTERM (`claude -p`
/// sends one to a `StopFailure` hook) and prints one line, for a status line.
const RECORD_SH: &str = r#"#!/bin/sh
trap '' TERM
t0=$(date +%s.%N)
n=$(mktemp "$1/rec.XXXXXXXX")
cat > "$n.in"
record() {
  {
    printf '{"kind":"%s","start":%s,"end":%s,"pid":%s,"ppid":%s,"payload":' "$2" "$t0" "$3" "$$" "$PPID"
    if [ -s "$n.in" ]; then cat "$n.in"; else printf null; fi
    printf '}\n'
  } > "$n.tmp" && mv "$n.tmp" "$n.json"
}
# Written at once (end null) and again at the end: a run killed while it
# sleeps still shows, with no end.
record "$1" "$2" null
if [ -n "$3" ]; then sleep "$3"; fi
record "$1" "$2" "$(date +%s.%N)"
rm -f "$n" "$n.in"
echo "REC $2"
"#;

/// One run of a hook or status-line command.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: String,
    pub start: f64,
    /// `None`: still running, or killed before it ended.
    pub end: Option<f64>,
    pub payload: Value,
}

/// Records what Claude Code hands its hooks and status line.
pub struct Recorder {
    dir: PathBuf,
    script: PathBuf,
}

impl Recorder {
    /// A recorder keeping its files in `dir` (created).
    pub fn new(dir: &Path) -> Recorder {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).unwrap();
        let script = dir.join("record.sh");
        std::fs::write(&script, RECORD_SH).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Recorder {
            dir: dir.to_path_buf(),
            script,
        }
    }

    /// The command that records one run as `kind`, ending `sleep` seconds
    /// after it read its stdin (0: at once).
    pub fn command(&self, kind: &str, sleep: f64) -> String {
        let wait = if sleep > 0.0 {
            format!(" {sleep}")
        } else {
            String::new()
        };
        format!(
            "'{}' '{}' {kind}{wait}",
            self.script.display(),
            self.dir.display()
        )
    }

    /// A `settings.json` with a recording hook for each `(event, sleep)` and,
    /// with `status_line`, a recording status line.
    pub fn settings(&self, hooks: &[(&str, f64)], status_line: bool) -> Value {
        let mut h = serde_json::Map::new();
        for (event, sleep) in hooks {
            let mut entry = serde_json::json!({"hooks": [
                {"type": "command", "command": self.command(event, *sleep)}]});
            if event.ends_with("ToolUse") {
                entry["matcher"] = Value::from("*");
            }
            h.insert(event.to_string(), Value::Array(vec![entry]));
        }
        let mut s = serde_json::json!({"hooks": h});
        if status_line {
            s["statusLine"] =
                serde_json::json!({"type": "command", "command": self.command("statusline", 0.0)});
        }
        s
    }

    /// Every recorded run so far, by start time.
    pub fn events(&self) -> Vec<Event> {
        let mut out: Vec<Event> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|t| serde_json::from_str::<Value>(&t).ok())
            .map(|v| Event {
                kind: v["kind"].as_str().unwrap_or_default().to_string(),
                start: v["start"].as_f64().unwrap_or_default(),
                end: v["end"].as_f64(),
                payload: v["payload"].clone(),
            })
            .collect();
        out.sort_by(|a, b| a.start.total_cmp(&b.start));
        out
    }

    /// The recorded runs of `kind`.
    pub fn of(&self, kind: &str) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }
}

/// Unix seconds of a wall-clock time.
pub fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Unix seconds now.
pub fn now() -> f64 {
    secs(SystemTime::now())
}

/// The argv that runs `argv` under `strace -f -ttt -y`, tracing `syscalls`
/// (strace's `-e trace=` list) into `log`.
pub fn straced(log: &Path, syscalls: &str, argv: &[String]) -> Vec<String> {
    let mut out: Vec<String> = [
        "strace",
        "-f",
        "-ttt",
        "-y",
        "-qq",
        "-s",
        "300",
        "-e",
        "signal=none",
        "-e",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    out.push(format!("trace={syscalls}"));
    out.push("-o".to_string());
    out.push(log.display().to_string());
    out.extend(argv.iter().cloned());
    out
}

/// Whether strace can run here.
pub fn have_strace() -> bool {
    std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One strace line: thread id, Unix time, the rest.
#[derive(Debug, Clone)]
pub struct Sys {
    pub tid: u32,
    pub t: f64,
    pub text: String,
}

/// The lines of an strace log (`-f -ttt`) that mention `needle`.
pub fn strace_lines(log: &Path, needle: &str) -> Vec<Sys> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            let tid = parts.next()?.trim().parse().ok()?;
            let mut rest = parts.next()?;
            // `-f` pads the thread id with spaces.
            let mut tail = parts.next().unwrap_or_default();
            while rest.is_empty() {
                let mut p = tail.splitn(2, ' ');
                rest = p.next()?;
                tail = p.next().unwrap_or_default();
            }
            let t = rest.parse().ok()?;
            Some(Sys {
                tid,
                t,
                text: tail.to_string(),
            })
        })
        .collect()
}

/// Points the symlink `link` at `target` atomically (symlink + rename), as
/// a swap does, without homeswap: the probes control what else changes.
pub fn flip(link: &Path, target: &Path) -> f64 {
    let tmp = link.with_extension("probe-tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, link).unwrap();
    now()
}

/// Sets a file's mtime (and atime) exactly, to the nanosecond.
pub fn set_mtime(path: &Path, unix: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    let t = UNIX_EPOCH + unix;
    f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

/// A file's mtime since the epoch.
pub fn mtime(path: &Path) -> Duration {
    std::fs::metadata(path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
}

/// Lines for a timeline: (time, what).
pub type Line = (f64, String);

/// The stand-in's record as timeline lines.
pub fn call_lines(calls: &[Call]) -> Vec<Line> {
    calls
        .iter()
        .map(|c| {
            (
                secs(c.at),
                format!(
                    "REQUEST {} {} token={} status={} messages={} prompt={:?} tool_results={}",
                    c.method,
                    c.path,
                    c.token.as_deref().unwrap_or("-"),
                    c.status,
                    c.messages,
                    c.prompt().unwrap_or_default(),
                    c.tool_results.len()
                ),
            )
        })
        .collect()
}

/// Recorded hook and status-line runs as timeline lines (start and end).
pub fn event_lines(events: &[Event]) -> Vec<Line> {
    let mut out = Vec::new();
    for e in events {
        let mut p = e.payload.clone();
        // The status JSON is long; its counters are what changes.
        let brief = if e.kind == "statusline" {
            serde_json::json!({"cost": p["cost"], "rate_limits": p["rate_limits"],
                "prompt_cache": p.get("prompt_cache").cloned().unwrap_or(Value::Null),
                "session_id": p["session_id"]})
            .to_string()
        } else {
            if let Some(o) = p.as_object_mut() {
                o.remove("transcript_path");
                o.remove("cwd");
            }
            p.to_string()
        };
        out.push((e.start, format!("HOOK-START {} {brief}", e.kind)));
        match e.end {
            Some(end) => out.push((end, format!("HOOK-END   {}", e.kind))),
            None => out.push((e.start, format!("HOOK-NO-END {} (killed?)", e.kind))),
        }
    }
    out
}

/// strace lines as timeline lines.
pub fn sys_lines(lines: &[Sys]) -> Vec<Line> {
    lines
        .iter()
        .map(|s| (s.t, format!("SYSCALL [{}] {}", s.tid, s.text)))
        .collect()
}

/// A transcript's entries (type, timestamp, requestId, uuid) as timeline lines.
pub fn transcript_lines(path: &Path) -> Vec<Line> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            let ts = v["timestamp"].as_str()?;
            let t = humantime::parse_rfc3339(ts).ok().map(secs)?;
            let content = &v["message"]["content"];
            let what = match content {
                Value::String(s) => format!("text {s:?}"),
                Value::Array(a) => a
                    .iter()
                    .map(|b| b["type"].as_str().unwrap_or("?").to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                _ => String::new(),
            };
            Some((
                t,
                format!(
                    "TRANSCRIPT {} requestId={} promptId={} {what}",
                    v["type"].as_str().unwrap_or("?"),
                    v["requestId"].as_str().unwrap_or("-"),
                    v["promptId"].as_str().unwrap_or("-"),
                ),
            ))
        })
        .collect()
}

/// All lines by time, each with its offset from the first.
pub fn timeline(mut lines: Vec<Line>) -> String {
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let t0 = lines.first().map(|l| l.0).unwrap_or_default();
    lines
        .iter()
        .map(|(t, what)| format!("{t:.6} +{:>9.3}ms {what}\n", (t - t0) * 1000.0))
        .collect()
}

/// Where a probe keeps what it saw: `$HOMESWAP_PROBE_OUT/NAME`, else
/// `target/claude-probe/NAME` (created afresh).
pub fn out_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("HOMESWAP_PROBE_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/claude-probe"));
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sends tmux key names (`Escape`, `Enter`) to the session on `socket`.
pub fn press(socket: &Path, keys: &[&str]) {
    let out = std::process::Command::new("tmux")
        .arg("-S")
        .arg(socket)
        .args(["send-keys", "-t", "e2e"])
        .args(keys)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "tmux send-keys {keys:?}: {out:?}");
}

/// The last component of `path`, as text.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}
