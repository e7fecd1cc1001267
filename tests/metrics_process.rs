//! The `process_*` metrics of the sidecar's exposition, read back against
//! what the kernel says about this very process (its own test binary, so no
//! other test's threads burn CPU in it).

use homeswap::Metrics;

/// CPU time (user + system) this process has used, from getrusage(2),
/// which counts in microseconds.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

/// Spins until this process has used `more` CPU time beyond now.
fn burn_cpu(more: f64) {
    let until = cpu_seconds() + more;
    let mut x = 0u64;
    while cpu_seconds() < until {
        for i in 0..10_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
    }
}

/// The value of the one sample of `name` in an exposition.
fn sample(text: &str, name: &str) -> f64 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.split(' ').next() == Some(name))
        .collect();
    assert_eq!(lines.len(), 1, "one sample of {name}:\n{text}");
    let value = lines[0].split(' ').nth(1).unwrap();
    value
        .parse()
        .unwrap_or_else(|e| panic!("{name} value {value:?}: {e}"))
}

#[test]
fn cpu_seconds_total_has_sub_second_resolution() {
    let m = Metrics::new().unwrap();
    burn_cpu(0.15);

    let before = cpu_seconds();
    let text = String::from_utf8(m.encode_now()).unwrap();
    let after = cpu_seconds();
    let value = sample(&text, "process_cpu_seconds_total");
    // A whole-second counter reads 0 (or a whole number) here, and a
    // Grafana `rate(process_cpu_seconds_total[5m])` of an idle sidecar 0.
    assert_ne!(value.fract(), 0.0, "whole seconds: {value}\n{text}");
    assert!(
        value >= before - 0.1 && value <= after + 0.1,
        "process_cpu_seconds_total {value}, getrusage {before}..{after}"
    );

    // One family, still a counter, with the other process families beside it.
    assert_eq!(
        text.matches("# TYPE process_cpu_seconds_total ").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("# TYPE process_cpu_seconds_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
        ),
        "{text}"
    );
    for gauge in [
        "process_open_fds",
        "process_max_fds",
        "process_virtual_memory_bytes",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_threads",
    ] {
        assert!(
            text.contains(&format!("# TYPE {gauge} gauge\n")),
            "{gauge}\n{text}"
        );
        assert!(sample(&text, gauge) > 0.0, "{gauge}\n{text}");
    }
}

#[test]
fn a_scrape_through_the_cache_serves_fractional_cpu_seconds() {
    let m = Metrics::new().unwrap();
    burn_cpu(0.15);
    // A change makes the next scrape encode afresh, as a refresh would.
    m.observe_latch(false);
    let before = cpu_seconds();
    let text = String::from_utf8(m.encode().to_vec()).unwrap();
    let value = sample(&text, "process_cpu_seconds_total");
    assert_ne!(value.fract(), 0.0, "whole seconds: {value}\n{text}");
    assert!(value >= before - 0.1, "{value} < {before}");
}
