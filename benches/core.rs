//! In-process benchmarks of the library, each against a floor of bare
//! syscalls measured in the same run, interleaved sample by sample so that
//! a noisy neighbour slows both sides alike:
//!
//! - `validate_all` at 2, 100, 1,000 and 10,000 homes × 3 links, against a
//!   loop of `lstat` + `readlink` on the same entries (and that loop plus
//!   the `stat` of the target that tells `ok` from `target_missing`), and
//!   the sidecar's whole pass (validation, metrics, snapshot, change log);
//! - swap latency, warm (links present) and cold (links to create), and
//!   the rollback, against the bare flip and link syscalls;
//! - the configuration check (`Config::parse`, and `Config::load` with the
//!   file read) at 1,000 and 10,000 accounts, against parsing the same
//!   text into a bare YAML value.
//!
//! `cargo bench --bench core` (add `-- --smoke` for a seconds-long check).

mod support;

use std::ffi::CString;
use std::hint::black_box;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use homeswap::{
    ensure_account, replace_symlink, swap, validate_all, Config, Context, Sidecar, SwapError,
};
use nix::libc;
use support::{ms, percentile, table, us, Layout, Opts, LINKS};

fn main() {
    let opts = Opts::from_args();
    println!(
        "## homeswap core benchmarks{}",
        if opts.smoke {
            " (smoke: timings mean nothing)"
        } else {
            ""
        }
    );
    if opts.runs("validate") {
        validate_scaling(&opts);
    }
    if opts.runs("swap") {
        swap_latency(&opts);
    }
    if opts.runs("config") {
        config_check(&opts);
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in bench paths")
}

/// The floor of a validation: `lstat` and `readlink` of every entry, and
/// with `stat_target` also `stat` of the target, as bare libc calls.
fn floor_pass(entries: &[CString], targets: &[CString], stat_target: bool) {
    let mut buf = [0u8; 4096];
    // SAFETY: plain syscalls on NUL-terminated paths into local buffers.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        for (e, t) in entries.iter().zip(targets.iter().cycle()) {
            black_box(libc::lstat(e.as_ptr(), &mut st));
            black_box(libc::readlink(
                e.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            ));
            if stat_target {
                black_box(libc::stat(t.as_ptr(), &mut st));
            }
        }
    }
}

/// Times `reps` runs of `f`; the time of one run.
fn time_per_run(reps: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed() / reps
}

fn validate_scaling(opts: &Opts) {
    let sizes: &[usize] = if opts.smoke {
        &[2, 100]
    } else {
        &[2, 100, 1_000, 10_000]
    };
    let samples = if opts.smoke { 3 } else { 21 };
    let mut rows = Vec::new();
    let mut per_link_at_100 = None;
    for &n in sizes {
        let layout = Layout::new(n, true);
        let config = layout.config();
        let entries: Vec<CString> = layout
            .homes
            .iter()
            .flat_map(|(_, h)| LINKS.map(|l| cstr(&h.join(l))))
            .collect();
        let targets: Vec<CString> = LINKS.map(|l| cstr(&layout.shared.join(l))).to_vec();
        let report = validate_all(&config);
        assert!(
            report.is_ok(),
            "the layout is valid: {:?}",
            report.problems()
        );
        let reps = (20_000 / n as u32).clamp(1, 2_000);
        let sidecar = Sidecar::new(&layout.config_path, Context::new(layout.config())).unwrap();
        let (mut floor, mut floor_stat, mut validate) = (Vec::new(), Vec::new(), Vec::new());
        let mut revalidate = Vec::new();
        for _ in 0..samples {
            floor.push(time_per_run(reps, || floor_pass(&entries, &targets, false)));
            validate.push(time_per_run(reps, || {
                black_box(validate_all(&config));
            }));
            floor_stat.push(time_per_run(reps, || floor_pass(&entries, &targets, true)));
            revalidate.push(time_per_run(reps, || {
                black_box(sidecar.revalidate_changed());
            }));
        }
        let (f, fs, v) = (
            percentile(&floor, 50.0),
            percentile(&floor_stat, 50.0),
            percentile(&validate, 50.0),
        );
        let r = percentile(&revalidate, 50.0);
        let links = (n * LINKS.len()) as u32;
        let per_link = v / links;
        let growth = match per_link_at_100 {
            None if n >= 100 => {
                per_link_at_100 = Some(per_link);
                "1.00".to_string()
            }
            None => "-".to_string(),
            Some(base) => format!("{:.2}", per_link.as_secs_f64() / base.as_secs_f64()),
        };
        rows.push(vec![
            format!("{n}"),
            us(v),
            us(f),
            format!("{:.2}×", v.as_secs_f64() / f.as_secs_f64()),
            us(fs),
            format!("{:.2}×", v.as_secs_f64() / fs.as_secs_f64()),
            us(r),
            format!("{:.3}", per_link.as_secs_f64() * 1e6),
            growth,
        ]);
    }
    table(
        &format!("validate_all vs the syscall floor (median of {samples} samples)"),
        &[
            "homes",
            "validate_all µs",
            "floor lstat+readlink µs",
            "ratio",
            "floor +stat(target) µs",
            "ratio",
            "sidecar pass µs",
            "validate µs/link",
            "µs/link vs 100 homes",
        ],
        &rows,
    );
}

/// The bare flip: a symlink under a temporary name, `rename(2)` over the
/// link, `fsync` of the directory.
fn floor_flip(dir: &CString, tmp: &CString, link: &CString, target: &CString) {
    // SAFETY: plain syscalls on NUL-terminated paths; the fd is closed.
    unsafe {
        let fd = libc::open(dir.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
        assert!(fd >= 0, "open the bench directory");
        assert_eq!(libc::symlink(target.as_ptr(), tmp.as_ptr()), 0, "symlink");
        assert_eq!(libc::rename(tmp.as_ptr(), link.as_ptr()), 0, "rename");
        assert_eq!(libc::fsync(fd), 0, "fsync");
        libc::close(fd);
    }
}

/// What ensure needs at least on a warm home: `lstat` + `readlink` of each
/// link. On a cold one: a `symlink` per link and one `fsync` of the home.
fn floor_ensure(home: &Path, shared: &Path, cold: bool) {
    let mut buf = [0u8; 4096];
    // SAFETY: plain syscalls on NUL-terminated paths; the fd is closed.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        for l in LINKS {
            let entry = cstr(&home.join(l));
            if cold {
                let target = cstr(&shared.join(l));
                assert_eq!(libc::symlink(target.as_ptr(), entry.as_ptr()), 0);
            } else {
                black_box(libc::lstat(entry.as_ptr(), &mut st));
                black_box(libc::readlink(
                    entry.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                ));
            }
        }
        if cold {
            let fd = libc::open(cstr(home).as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            assert_eq!(libc::fsync(fd), 0);
            libc::close(fd);
        }
    }
}

/// Removes a home's links and makes that durable (untimed, before a cold run).
fn unlink_all(home: &Path) {
    for l in LINKS {
        let _ = std::fs::remove_file(home.join(l));
    }
    std::fs::File::open(home).unwrap().sync_all().unwrap();
}

/// One side of a swap comparison and its timed runs.
struct Side {
    name: &'static str,
    samples: Vec<Duration>,
}

fn swap_latency(opts: &Opts) {
    let iterations = if opts.smoke { 5 } else { 200 };
    let mut rows = Vec::new();
    for cold in [false, true] {
        let layout = Layout::new(2, true);
        let ctx = Context::new(layout.config());
        let root = layout.dir.path();
        let (dir, link) = (cstr(root), cstr(&layout.active));
        let tmp = cstr(&root.join(".active.bench-tmp"));
        let mut floor = Side {
            name: "floor (bare syscalls)",
            samples: Vec::new(),
        };
        let mut primitives = Side {
            name: "flip + ensure (replace_symlink + ensure_account)",
            samples: Vec::new(),
        };
        let mut full = Side {
            name: "swap() (adds lock, intent record, recovery check, audit)",
            samples: Vec::new(),
        };
        // Account 0 is active; each run swaps to the other one.
        let mut active = 0;
        for i in 0..iterations * 3 {
            let to = 1 - active;
            let (name, home) = (&layout.homes[to].0, layout.home(to));
            if cold {
                unlink_all(home);
            }
            let start = Instant::now();
            let side = match i % 3 {
                0 => {
                    floor_flip(&dir, &tmp, &link, &cstr(home));
                    floor_ensure(home, &layout.shared, cold);
                    &mut floor
                }
                1 => {
                    replace_symlink(&layout.active, home).unwrap();
                    let r = ensure_account(name, home, &ctx.config.shared, false);
                    assert!(r.is_ok(), "{:?}", r.problems());
                    &mut primitives
                }
                _ => {
                    swap(&ctx, name).unwrap();
                    &mut full
                }
            };
            side.samples.push(start.elapsed());
            active = to;
        }
        let state = if cold {
            "cold (3 links to create)"
        } else {
            "warm (links present)"
        };
        let base = percentile(&floor.samples, 50.0);
        for side in [&floor, &primitives, &full] {
            let p50 = percentile(&side.samples, 50.0);
            rows.push(vec![
                state.to_string(),
                side.name.to_string(),
                us(p50),
                us(percentile(&side.samples, 99.0)),
                format!("{:.2}×", p50.as_secs_f64() / base.as_secs_f64()),
            ]);
        }
    }
    rows.extend(rollback_latency(iterations));
    table(
        &format!("swap latency vs the syscall floor ({iterations} runs per row, interleaved)"),
        &["layout", "what", "p50 µs", "p99 µs", "p50 vs floor"],
        &rows,
    );
}

/// A swap whose ensure fails after the flip rolls the flip back; against
/// two bare flips. The failure: the target's `projects` link is missing
/// (so the swap goes ahead) and `<shared>/projects` is a regular file, so
/// the link ensure creates is not `ok`.
fn rollback_latency(iterations: usize) -> Vec<Vec<String>> {
    let layout = Layout::new(2, true);
    let ctx = Context::new(layout.config());
    let root = layout.dir.path();
    let blocked = layout.home(1).join("projects");
    std::fs::remove_dir(layout.shared.join("projects")).unwrap();
    std::fs::write(layout.shared.join("projects"), b"not a directory").unwrap();
    let (dir, link) = (cstr(root), cstr(&layout.active));
    let tmp = cstr(&root.join(".active.bench-tmp"));
    let (from, to) = (cstr(layout.home(0)), cstr(layout.home(1)));
    let (mut floor, mut rolled) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        let _ = std::fs::remove_file(&blocked);
        let start = Instant::now();
        floor_flip(&dir, &tmp, &link, &to);
        floor_flip(&dir, &tmp, &link, &from);
        floor.push(start.elapsed());
        let start = Instant::now();
        let r = swap(&ctx, &layout.homes[1].0);
        rolled.push(start.elapsed());
        assert!(
            matches!(r, Err(SwapError::RolledBack { .. })),
            "expected a rollback: {r:?}"
        );
    }
    let base = percentile(&floor, 50.0);
    let p50 = percentile(&rolled, 50.0);
    vec![
        vec![
            "rollback (ensure fails)".into(),
            "floor: two bare flips".into(),
            us(base),
            us(percentile(&floor, 99.0)),
            "1.00×".into(),
        ],
        vec![
            "rollback (ensure fails)".into(),
            "swap() → rolled back".into(),
            us(p50),
            us(percentile(&rolled, 99.0)),
            format!("{:.2}×", p50.as_secs_f64() / base.as_secs_f64()),
        ],
    ]
}

/// The configuration check grows with the accounts as the YAML parse does
/// (n log n at worst): the ratio to the bare parse must not grow with `n`.
fn config_check(opts: &Opts) {
    let sizes: &[usize] = if opts.smoke {
        &[100, 1_000]
    } else {
        &[1_000, 10_000]
    };
    let samples = if opts.smoke { 3 } else { 11 };
    let mut rows = Vec::new();
    for &n in sizes {
        let layout = Layout::new(n, false);
        let path = layout.config_path.as_path();
        let text = std::fs::read_to_string(path).unwrap();
        let reps = (10_000 / n as u32).clamp(1, 100);
        let (mut floor, mut parse, mut load) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..samples {
            floor.push(time_per_run(reps, || {
                black_box(serde_yaml::from_str::<serde_yaml::Value>(&text).unwrap());
            }));
            parse.push(time_per_run(reps, || {
                black_box(Config::parse(path, &text).unwrap());
            }));
            load.push(time_per_run(reps, || {
                black_box(Config::load(path).unwrap());
            }));
        }
        let (f, p, l) = (
            percentile(&floor, 50.0),
            percentile(&parse, 50.0),
            percentile(&load, 50.0),
        );
        rows.push(vec![
            format!("{n}"),
            ms(f),
            ms(p),
            format!("{:.2}×", p.as_secs_f64() / f.as_secs_f64()),
            ms(l),
            format!("{:.3}", p.as_secs_f64() * 1e6 / n as f64),
        ]);
    }
    table(
        &format!("configuration check vs a bare YAML parse (median of {samples} samples)"),
        &[
            "accounts",
            "YAML → Value ms",
            "Config::parse ms",
            "ratio",
            "Config::load ms",
            "parse µs/account",
        ],
        &rows,
    );
}
