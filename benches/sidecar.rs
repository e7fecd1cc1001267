//! Benchmarks of the real `homeswap serve` process, on 127.0.0.1 only:
//!
//! - scrape throughput, latency and peak RSS under `wrk`, against Debian's
//!   `prometheus-node-exporter` serving the same exposition from its
//!   textfile collector, alternating in one run;
//! - detection latency: a link broken on disk until `/metrics` shows it,
//!   through notifications and through the interval alone (inotify is
//!   made unavailable to that sidecar with strace's fault injection);
//! - idle cost: CPU time and RSS over an idle minute at 2 and 1,000
//!   accounts.
//!
//! `cargo bench --bench sidecar` (add `-- --smoke` for a seconds-long
//! check). Needs `wrk`, `prometheus-node-exporter` and `strace` on PATH;
//! `bench/homeswap-bench` installs them.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{ms, percentile, table, Layout, Opts};

fn main() {
    let opts = Opts::from_args();
    println!(
        "## homeswap sidecar benchmarks{}",
        if opts.smoke {
            " (smoke: timings mean nothing)"
        } else {
            ""
        }
    );
    if opts.runs("scrape") {
        scrape_vs_node_exporter(&opts);
    }
    if opts.runs("detection") {
        detection_latency(&opts);
    }
    if opts.runs("idle") {
        idle_cost(&opts);
    }
}

/// A child process, killed and reaped on drop (also when a benchmark
/// panics), so no run leaves a server behind.
struct Proc {
    child: Child,
    /// Under strace: the traced sidecar, killed first.
    tracee: Option<u32>,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.tracee.unwrap_or(self.child.id())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(pid) = self.tracee {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `homeswap serve` on `layout` (optionally under `strace` with
/// inotify made to fail) and waits for its read-only listener.
fn serve(layout: &Layout, without_inotify: bool) -> (Proc, SocketAddr) {
    let bin = env!("CARGO_BIN_EXE_homeswap");
    let config = layout.config_path.to_str().unwrap();
    let args = ["--config", config, "serve", "--log-format", "json"];
    let mut cmd = if without_inotify {
        let mut c = Command::new("strace");
        c.args([
            "-f",
            "-qq",
            "--seccomp-bpf",
            "-o",
            "/dev/null",
            "-e",
            "trace=inotify_init1",
            "-e",
            "inject=inotify_init1:error=ENOSYS",
            bin,
        ]);
        c
    } else {
        Command::new(bin)
    };
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start homeswap serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Keeps reading the logs, so the sidecar never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut proc = Proc {
        child,
        tracee: None,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("homeswap serve did not report its listener within 60 s");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if v["message"] == "read-only listener ready" {
            break v["addr"].as_str().unwrap().parse().unwrap();
        }
    };
    if without_inotify {
        let children = format!("/proc/{0}/task/{0}/children", proc.child.id());
        let text = std::fs::read_to_string(children).unwrap_or_default();
        proc.tracee = text.split_whitespace().next().and_then(|p| p.parse().ok());
        assert!(proc.tracee.is_some(), "the traced sidecar's pid");
    }
    (proc, addr)
}

/// One HTTP/1.0 `GET` (no chunked body, the connection closes after it);
/// the status and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the response");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// A port of 127.0.0.1 that is free now (for node_exporter, which needs one).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `VmHWM` (peak RSS) or `VmRSS` of a process, in KiB.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of a process and all its threads, dead ones too.
fn cpu_time(pid: u32) -> Duration {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses.
    let rest = &text[text.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    Duration::from_secs_f64(ticks as f64 / hz as f64)
}

/// What one `wrk` run measured.
struct WrkRun {
    requests_per_sec: f64,
    p50: Duration,
    p99: Duration,
    /// wrk's error lines (socket errors, non-2xx answers); empty if none.
    errors: String,
}

/// `wrk --latency` against `url`.
fn wrk(url: &str, threads: u32, connections: u32, seconds: u32) -> WrkRun {
    let out = Command::new("timeout")
        .args([&format!("{}", seconds + 30), "wrk", "--latency"])
        .args([
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{seconds}s"),
        ])
        .arg(url)
        .output()
        .expect("run wrk (bench/homeswap-bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}");
    let latency = |pct: &str| {
        text.lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(pct)).then(|| w.next()).flatten()
            })
            .map(parse_wrk_duration)
            .unwrap_or_else(|| panic!("no {pct} line in wrk's output: {text}"))
    };
    WrkRun {
        requests_per_sec: text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no Requests/sec in wrk's output: {text}")),
        p50: latency("50%"),
        p99: latency("99%"),
        errors: text
            .lines()
            .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// wrk's `245.00us`, `1.23ms`, `1.01s`.
fn parse_wrk_duration(v: &str) -> Duration {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        panic!("unknown wrk duration {v}")
    };
    Duration::from_secs_f64(num.parse::<f64>().unwrap() * scale)
}

/// The sidecar's exposition without the `process_*` family, which
/// node_exporter exposes for itself (a textfile may not repeat it).
fn without_process_metrics(exposition: &str) -> String {
    exposition
        .lines()
        .filter(|l| {
            let name = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .unwrap_or(l);
            !name.starts_with("process_")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Starts node_exporter with only the textfile collector, reading `dir`.
fn node_exporter(dir: &Path) -> (Proc, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new("prometheus-node-exporter")
        .args([
            "--collector.disable-defaults",
            "--collector.textfile",
            &format!("--collector.textfile.directory={}", dir.display()),
            &format!("--web.listen-address={addr}"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus-node-exporter (bench/homeswap-bench installs it)");
    let proc = Proc {
        child,
        tracee: None,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "node_exporter did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (proc, addr)
}

fn scrape_vs_node_exporter(opts: &Opts) {
    let (threads, connections, seconds, rounds) = if opts.smoke {
        (1, 4, 1, 1)
    } else {
        (2, 32, 10, 2)
    };
    let layout = Layout::new(2, true);
    layout.add_serve("30s");
    let (sidecar, sidecar_addr) = serve(&layout, false);
    let (status, exposition) = get(sidecar_addr, "/metrics");
    assert_eq!(status, 200, "{exposition}");
    let textfiles = layout.dir.path().join("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    let prom = without_process_metrics(&exposition);
    std::fs::write(textfiles.join("homeswap.prom"), &prom).unwrap();
    let (node, node_addr) = node_exporter(&textfiles);
    // Both must serve the same homeswap series before they are compared.
    let (status, node_text) = get(node_addr, "/metrics");
    assert_eq!(status, 200, "{node_text}");
    // (Go and Rust print floats differently, so values compare as numbers.)
    let series = |text: &str| -> Vec<(String, f64)> {
        text.lines()
            .filter(|l| l.starts_with("homeswap_"))
            .filter_map(|l| l.rsplit_once(' '))
            .map(|(name, v)| (name.to_string(), v.parse().unwrap()))
            .collect()
    };
    let served = series(&node_text);
    for (name, value) in series(&prom) {
        assert!(
            served.iter().any(|(n, v)| *n == name && *v == value),
            "node_exporter does not serve {name} {value}"
        );
    }
    let sides = [
        ("homeswap serve", sidecar_addr, sidecar.pid()),
        ("node_exporter (textfile only)", node_addr, node.pid()),
    ];
    let mut runs: Vec<Vec<WrkRun>> = vec![Vec::new(), Vec::new()];
    let mut raw = Vec::new();
    for round in 0..rounds {
        // Alternate which side goes first, so neither always runs warmer.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (name, addr, _) = sides[i];
            let r = wrk(
                &format!("http://{addr}/metrics"),
                threads,
                connections,
                seconds,
            );
            assert!(r.requests_per_sec > 0.0, "{name}: no request answered");
            raw.push(vec![
                format!("{}", round + 1),
                name.to_string(),
                format!("{:.0}", r.requests_per_sec),
                ms(r.p50),
                ms(r.p99),
                if r.errors.is_empty() {
                    "none".to_string()
                } else {
                    r.errors.clone()
                },
            ]);
            runs[i].push(r);
        }
    }
    let summary = |i: usize| {
        let n = runs[i].len() as f64;
        let rps = runs[i].iter().map(|r| r.requests_per_sec).sum::<f64>() / n;
        let p50 = runs[i].iter().map(|r| r.p50).sum::<Duration>() / runs[i].len() as u32;
        let p99 = runs[i].iter().map(|r| r.p99).max().unwrap();
        let hwm = proc_status_kib(sides[i].2, "VmHWM");
        (rps, p50, p99, hwm)
    };
    let (s, n) = (summary(0), summary(1));
    let row = |name: &str, v: &(f64, Duration, Duration, u64)| {
        vec![
            name.to_string(),
            format!("{:.0}", v.0),
            ms(v.1),
            ms(v.2),
            format!("{:.1}", v.3 as f64 / 1024.0),
        ]
    };
    table(
        &format!(
            "scrape /metrics: wrk -t{threads} -c{connections} -d{seconds}s, {rounds} round(s) each, alternating"
        ),
        &["round", "server", "req/s", "p50 ms", "p99 ms", "wrk errors"],
        &raw,
    );
    table(
        "scrape summary (req/s and p50: mean of rounds; p99: worst round; RSS: peak over the run)",
        &["server", "req/s", "p50 ms", "p99 ms", "peak RSS MiB"],
        &[
            row(sides[0].0, &s),
            row(sides[1].0, &n),
            vec![
                "ratio homeswap / node_exporter".into(),
                format!("{:.2}×", s.0 / n.0),
                format!("{:.2}×", s.1.as_secs_f64() / n.1.as_secs_f64()),
                format!("{:.2}×", s.2.as_secs_f64() / n.2.as_secs_f64()),
                format!("{:.2}×", s.3 as f64 / n.3 as f64),
            ],
        ],
    );
    println!(
        "exposition: {} bytes from homeswap (with process_*), {} bytes in the .prom file\n",
        exposition.len(),
        prom.len()
    );
}

/// Breaks or restores account `a00000`'s `projects` link in one rename.
fn set_projects_link(layout: &Layout, broken: bool) {
    let home = layout.home(0);
    let target = if broken {
        layout.dir.path().join("elsewhere")
    } else {
        layout.shared.join("projects")
    };
    let tmp = home.join(".projects.bench-tmp");
    symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, home.join("projects")).unwrap();
}

/// Polls `/metrics` until `a00000`'s `projects` health is `healthy`.
fn wait_for_health(addr: SocketAddr, healthy: bool, limit: Duration) -> Duration {
    let want = format!(
        "homeswap_link_healthy{{account=\"a00000\",link=\"projects\"}} {}",
        u8::from(healthy)
    );
    let start = Instant::now();
    loop {
        let (_, body) = get(addr, "/metrics");
        if body.lines().any(|l| l == want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "/metrics did not show `{want}` within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether strace can run a traced child here (containers may forbid ptrace).
fn strace_works() -> bool {
    Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn detection_latency(opts: &Opts) {
    let (notified_trials, interval_trials) = if opts.smoke { (3, 2) } else { (60, 30) };
    let mut rows = Vec::new();
    for (path, without_inotify, trials, interval) in [
        ("notification (interval 1h)", false, notified_trials, "1h"),
        (
            "interval only (1s, inotify off)",
            true,
            interval_trials,
            "1s",
        ),
    ] {
        if without_inotify && !strace_works() {
            rows.push(vec![
                path.to_string(),
                "skipped: strace cannot trace here (no ptrace)".into(),
            ]);
            continue;
        }
        let layout = Layout::new(2, true);
        layout.add_serve(interval);
        let (_sidecar, addr) = serve(&layout, without_inotify);
        wait_for_health(addr, true, Duration::from_secs(10));
        let mut samples = Vec::new();
        for i in 0..trials {
            // A pause of varying length, so breaks land at every phase
            // of the interval.
            std::thread::sleep(Duration::from_millis(50 + (i as u64 * 337) % 1000));
            let broken = i % 2 == 0;
            let start = Instant::now();
            set_projects_link(&layout, broken);
            wait_for_health(addr, !broken, Duration::from_secs(10));
            samples.push(start.elapsed());
        }
        rows.push(vec![
            path.to_string(),
            format!("{trials}"),
            ms(percentile(&samples, 50.0)),
            ms(percentile(&samples, 99.0)),
            ms(*samples.iter().max().unwrap()),
        ]);
    }
    table(
        "detection latency: link broken or restored on disk → visible in /metrics",
        &["path", "trials", "p50 ms", "p99 ms", "max ms"],
        &rows,
    );
}

fn idle_cost(opts: &Opts) {
    let (sizes, window): (&[usize], Duration) = if opts.smoke {
        (&[2], Duration::from_secs(2))
    } else {
        (&[2, 1_000], Duration::from_secs(60))
    };
    let mut rows = Vec::new();
    for &n in sizes {
        let layout = Layout::new(n, true);
        // The contract's default interval.
        layout.add_serve("30s");
        let (sidecar, addr) = serve(&layout, false);
        wait_for_health(addr, true, Duration::from_secs(30));
        // Let the start (first validation, watches, blocking threads) settle.
        std::thread::sleep(Duration::from_secs(if opts.smoke { 1 } else { 5 }));
        let pid = sidecar.pid();
        let (cpu0, t0) = (cpu_time(pid), Instant::now());
        std::thread::sleep(window);
        let (cpu1, elapsed) = (cpu_time(pid), t0.elapsed());
        let (status, _) = get(addr, "/healthz");
        assert_eq!(status, 200, "the sidecar is healthy after idling");
        let cpu = cpu1.saturating_sub(cpu0);
        rows.push(vec![
            format!("{n}"),
            format!("{:.0}", elapsed.as_secs_f64()),
            ms(cpu),
            format!("{:.3}", 100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64()),
            format!("{:.1}", proc_status_kib(pid, "VmRSS") as f64 / 1024.0),
            format!("{:.1}", proc_status_kib(pid, "VmHWM") as f64 / 1024.0),
        ]);
    }
    table(
        "idle cost of `homeswap serve` (interval 30s, no scrapes)",
        &[
            "accounts",
            "window s",
            "CPU ms",
            "CPU %",
            "RSS MiB",
            "peak RSS MiB",
        ],
        &rows,
    );
}
