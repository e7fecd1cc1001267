//! The standard `process_*` metrics, with `process_cpu_seconds_total` in
//! fractions of a second.
//!
//! The prometheus crate's `ProcessCollector` keeps CPU time in an integer
//! counter of whole seconds, so `rate(process_cpu_seconds_total[5m])` of an
//! idle sidecar (well under a second of CPU per five minutes) reads 0. This
//! collector passes on every other family of that collector unchanged and
//! replaces the CPU family with a float counter read from getrusage(2),
//! which counts in microseconds.

use prometheus::core::{Collector, Desc};
use prometheus::process_collector::ProcessCollector;
use prometheus::proto::{Counter, Metric, MetricFamily, MetricType};

/// The CPU family's name: the same as the prometheus crate's.
const CPU_NAME: &str = "process_cpu_seconds_total";

/// The CPU family's help: the same as the prometheus crate's.
const CPU_HELP: &str = "Total user and system CPU time spent in seconds.";

/// The `process_*` collector of this process, CPU time in fractional seconds.
#[derive(Debug)]
pub(super) struct ProcessMetrics {
    /// Gives every `process_*` family but the CPU one.
    inner: ProcessCollector,
    /// Describes the float CPU family, for registration.
    cpu: Desc,
}

impl ProcessMetrics {
    /// The collector of the calling process.
    pub(super) fn for_self() -> prometheus::Result<ProcessMetrics> {
        let cpu = Desc::new(
            CPU_NAME.to_string(),
            CPU_HELP.to_string(),
            Vec::new(),
            Default::default(),
        )?;
        Ok(ProcessMetrics {
            inner: ProcessCollector::for_self(),
            cpu,
        })
    }
}

impl Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&Desc> {
        let mut descs: Vec<&Desc> = self
            .inner
            .desc()
            .into_iter()
            .filter(|d| d.fq_name != CPU_NAME)
            .collect();
        descs.push(&self.cpu);
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families: Vec<MetricFamily> = self
            .inner
            .collect()
            .into_iter()
            .filter(|f| f.name() != CPU_NAME)
            .collect();
        // No CPU time to be had: leave the family out rather than export 0.
        if let Some(seconds) = cpu_seconds() {
            families.push(cpu_family(seconds));
        }
        families
    }
}

/// The CPU family holding one unlabelled sample.
fn cpu_family(seconds: f64) -> MetricFamily {
    let mut counter = Counter::default();
    counter.set_value(seconds);
    let mut metric = Metric::default();
    metric.set_counter(counter);
    let mut family = MetricFamily::default();
    family.set_name(CPU_NAME.to_string());
    family.set_help(CPU_HELP.to_string());
    family.set_field_type(MetricType::COUNTER);
    family.set_metric(vec![metric]);
    family
}

/// User plus system CPU time of this process (every thread), in seconds,
/// at getrusage's microsecond resolution; `None` if getrusage fails.
fn cpu_seconds() -> Option<f64> {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Some(seconds(usage.user_time()) + seconds(usage.system_time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_family_replaces_the_integer_one_and_the_others_stay() {
        let p = ProcessMetrics::for_self().unwrap();
        let names: Vec<String> = p.desc().iter().map(|d| d.fq_name.clone()).collect();
        let inner: Vec<String> = ProcessCollector::for_self()
            .desc()
            .iter()
            .map(|d| d.fq_name.clone())
            .collect();
        assert_eq!(names.len(), inner.len(), "{names:?}");
        for name in &inner {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
        let families = p.collect();
        let cpu: Vec<&MetricFamily> = families.iter().filter(|f| f.name() == CPU_NAME).collect();
        assert_eq!(cpu.len(), 1);
        assert_eq!(cpu[0].get_field_type(), MetricType::COUNTER);
        assert_eq!(families.len(), inner.len());
    }
}
