//! The Prometheus side: the metric families of the Python tool, with the same names, label sets and
//! value rules, plus the `process_*` families of the collector itself.
//!
//! Methods are named after what happened (`on_container_metrics`, `on_log_lines`, `on_loop_end`); the
//! families themselves stay private so every value goes through the rules written here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::Collector;
use prometheus::{CounterVec, Encoder, GaugeVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::levels::Level;
use crate::stats::Extras;

/// What inspect says of a container, for the families beyond the reference ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The full id.
    pub id: String,
    /// `Config.Image`, as the container was created.
    pub image: String,
    /// Label `com.docker.compose.project`, or empty.
    pub compose_project: String,
    /// Label `com.docker.compose.service`, or empty.
    pub compose_service: String,
    /// `RestartCount`.
    pub restart_count: Option<i64>,
    /// `State.OOMKilled`.
    pub oom_killed: Option<bool>,
    /// `State.Health.Status` (`starting`, `healthy`, `unhealthy`); `None`: no health check.
    pub health: Option<String>,
}

/// Which families beyond the reference ones are exported (METRIC_GROUPS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricGroups {
    /// container_cpu_usage_seconds_total, container_cpu_cfs_*.
    pub cpu: bool,
    /// container_memory_usage_bytes, container_memory_working_set_bytes.
    pub memory: bool,
    /// container_network_*.
    pub network: bool,
    /// container_fs_reads_bytes_total, container_fs_writes_bytes_total.
    pub io: bool,
    /// container_pids, container_restarts, container_oom_killed, container_health_status,
    /// container_exit_code.
    pub state: bool,
    /// container_info.
    pub info: bool,
}

impl Default for MetricGroups {
    fn default() -> Self {
        MetricGroups::ALL
    }
}

impl MetricGroups {
    /// Every group.
    pub const ALL: MetricGroups = MetricGroups {
        cpu: true,
        memory: true,
        network: true,
        io: true,
        state: true,
        info: true,
    };
    const NAMES: [&'static str; 6] = ["cpu", "memory", "network", "io", "state", "info"];

    /// `all`, `none`, or a comma-separated list of group names; `None` for an unknown name.
    pub fn parse(text: &str) -> Option<MetricGroups> {
        let text = text.trim();
        match text {
            "all" | "" => return Some(MetricGroups::ALL),
            "none" => return Some(MetricGroups::from_fn(|_| false)),
            _ => {}
        }
        let names: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.iter().any(|n| !MetricGroups::NAMES.contains(n)) {
            return None;
        }
        Some(MetricGroups::from_fn(|g| names.contains(&g)))
    }

    fn from_fn(on: impl Fn(&str) -> bool) -> MetricGroups {
        MetricGroups {
            cpu: on("cpu"),
            memory: on("memory"),
            network: on("network"),
            io: on("io"),
            state: on("state"),
            info: on("info"),
        }
    }

    fn flags(&self) -> [bool; 6] {
        [
            self.cpu,
            self.memory,
            self.network,
            self.io,
            self.state,
            self.info,
        ]
    }
}

impl std::fmt::Display for MetricGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on: Vec<&str> = MetricGroups::NAMES
            .iter()
            .zip(self.flags())
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        match on.len() {
            0 => f.write_str("none"),
            6 => f.write_str("all"),
            _ => f.write_str(&on.join(",")),
        }
    }
}

/// The health states `container_health_status` has a series for.
pub const HEALTH_STATES: [&str; 4] = ["starting", "healthy", "unhealthy", "none"];

/// What one metrics collection found for one container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerMetrics {
    /// Unix seconds of inspect's `State.StartedAt`, truncated; `None` if the engine gave no time.
    pub started_at: Option<i64>,
    /// Unix seconds when these metrics were collected.
    pub collected_at: i64,
    /// `memory_stats.usage`, page cache included.
    pub memory_used: u64,
    /// `memory_stats.limit`.
    pub memory_limit: u64,
    /// Cores in use (the reference's `container_cpu_usage_percent`), `None` while no earlier sample
    /// exists to compare with.
    pub cpu_cores: Option<f64>,
    /// CPUs the container may use.
    pub cpus_available: f64,
    /// CPU time used since the container started, seconds.
    pub cpu_seconds: Option<f64>,
    /// Numbers beyond the reference families.
    pub extras: Extras,
    /// What inspect said.
    pub info: ContainerInfo,
    /// `Some(exit code)` for a container that is not running: only the exit code and inspect's
    /// values are recorded, the others keep their last values.
    pub exited: Option<i64>,
}

/// Errors of the metrics side.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A family could not be created or registered (a name clash in an embedding program's registry).
    #[error("cannot register the metric families: {0}")]
    Register(#[from] prometheus::Error),
    /// The exposition could not be encoded.
    #[error("cannot encode the metrics: {0}")]
    Encode(prometheus::Error),
}

/// The registry and the families the collector exports.
#[derive(Clone)]
pub struct MetricsExporter {
    registry: Registry,
    machine: String,
    collector_up: GaugeVec,
    started_at: GaugeVec,
    up: GaugeVec,
    used_memory: GaugeVec,
    max_memory: GaugeVec,
    cpu_usage: GaugeVec,
    cpus_available: GaugeVec,
    logs: IntCounterVec,
    collection_duration: GaugeVec,
    last_success: GaugeVec,
    engine_errors: IntCounterVec,
    log_lines_written: IntCounterVec,
    log_bytes_written: IntCounterVec,
    series: GaugeVec,
    cpu_seconds: CounterVec,
    cfs_periods: IntCounterVec,
    cfs_throttled_periods: IntCounterVec,
    cfs_throttled_seconds: CounterVec,
    memory_usage: GaugeVec,
    working_set: GaugeVec,
    pids: GaugeVec,
    network: Vec<IntCounterVec>,
    fs_reads: IntCounterVec,
    fs_writes: IntCounterVec,
    restart_count: GaugeVec,
    oom_killed: GaugeVec,
    health: GaugeVec,
    exit_code: GaugeVec,
    info: GaugeVec,
    /// Per container, the label values of its series whose extra labels vary (interfaces, info), so
    /// they can be removed with it.
    labelled: Arc<Mutex<HashMap<String, Labelled>>>,
    groups: MetricGroups,
    /// Every family registered, for encoding one family at a time.
    parts: Arc<Vec<Box<dyn Collector>>>,
    /// The registry holds only `parts` (made by [`MetricsExporter::new`]).
    own_registry: bool,
}

#[derive(Debug, Default)]
struct Labelled {
    interfaces: Vec<String>,
    info: Option<[String; 4]>,
}

/// `container_network_*` families, in the order of [`crate::stats::Interface`]'s rx then tx counters.
const NETWORK: [(&str, &str); 8] = [
    (
        "container_network_receive_bytes_total",
        "Bytes received, by interface.",
    ),
    (
        "container_network_receive_packets_total",
        "Packets received, by interface.",
    ),
    (
        "container_network_receive_errors_total",
        "Receive errors, by interface.",
    ),
    (
        "container_network_receive_packets_dropped_total",
        "Received packets dropped, by interface.",
    ),
    (
        "container_network_transmit_bytes_total",
        "Bytes sent, by interface.",
    ),
    (
        "container_network_transmit_packets_total",
        "Packets sent, by interface.",
    ),
    (
        "container_network_transmit_errors_total",
        "Transmit errors, by interface.",
    ),
    (
        "container_network_transmit_packets_dropped_total",
        "Sent packets dropped, by interface.",
    ),
];

/// Sets a counter to `value`, which the engine reports as a running total: it only goes up, except
/// when the container restarted and its counters began again.
fn set_counter<P: prometheus::core::Atomic>(c: &prometheus::core::GenericCounter<P>, value: P::T) {
    let current = c.get();
    if value >= current {
        let mut step = value;
        step -= current;
        c.inc_by(step);
    } else {
        c.reset();
        c.inc_by(value);
    }
}

/// What a collection was about: the `kind` label of the collector's own families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// CPU and memory of every container.
    Metrics,
    /// New log lines of every container.
    Logs,
}

impl Collection {
    fn as_str(self) -> &'static str {
        match self {
            Collection::Metrics => "metrics",
            Collection::Logs => "logs",
        }
    }
}

impl std::fmt::Debug for MetricsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExporter")
            .field("machine", &self.machine)
            .finish_non_exhaustive()
    }
}

const CONTAINER_LABELS: &[&str] = &["machine", "container"];

impl MetricsExporter {
    /// Families in a fresh registry that also carries the `process_*` families of this process.
    pub fn new(machine: &str) -> Result<MetricsExporter, MetricsError> {
        let registry = Registry::new();
        let process = prometheus::process_collector::ProcessCollector::for_self;
        registry.register(Box::new(process()))?;
        let mut m = MetricsExporter::with_registry(registry, machine)?;
        // Every family of this registry is known: encode them one at a time (see `encode`).
        let mut parts = std::mem::take(&mut m.parts);
        if let Some(list) = Arc::get_mut(&mut parts) {
            list.push(Box::new(process()));
        }
        m.parts = parts;
        m.own_registry = true;
        Ok(m)
    }

    /// Families registered in a registry of the caller's (for programs that embed the collector).
    pub fn with_registry(
        registry: Registry,
        machine: &str,
    ) -> Result<MetricsExporter, MetricsError> {
        let parts: std::cell::RefCell<Vec<Box<dyn Collector>>> = Default::default();
        // Into the registry, and into `parts` for encoding one family at a time.
        fn add<C: Collector + Clone + 'static>(
            registry: &Registry,
            parts: &std::cell::RefCell<Vec<Box<dyn Collector>>>,
            family: C,
        ) -> Result<C, MetricsError> {
            registry.register(Box::new(family.clone()))?;
            parts.borrow_mut().push(Box::new(family.clone()));
            Ok(family)
        }
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            add(
                &registry,
                &parts,
                GaugeVec::new(Opts::new(name, help), labels)?,
            )
        };
        let collector_up = gauge(
            "collector_up_timestamp_seconds",
            "Unix time at the end of the collector's last loop iteration.",
            &["machine"],
        )?;
        let started_at = gauge(
            "container_started_at_timestamp_seconds",
            "Unix time at which the container was started.",
            CONTAINER_LABELS,
        )?;
        let up = gauge(
            "container_up_timestamp_seconds",
            "Unix time at which the container's metrics were last collected.",
            CONTAINER_LABELS,
        )?;
        let used_memory = gauge(
            "container_used_memory_bytes",
            "Memory used by the container, page cache included.",
            CONTAINER_LABELS,
        )?;
        let max_memory = gauge(
            "container_max_memory_bytes",
            "Memory limit of the container (the host's memory when it has no limit).",
            CONTAINER_LABELS,
        )?;
        let cpu_usage = gauge(
            "container_cpu_usage_percent",
            "CPU used by the container, in cores: 1 means one full core.",
            CONTAINER_LABELS,
        )?;
        let cpus_available = gauge(
            "container_cpus_available",
            "CPUs available to the container: its CPU limit, or the host's CPUs when it has none.",
            CONTAINER_LABELS,
        )?;
        let logs = IntCounterVec::new(
            Opts::new(
                "container_logs_total",
                "Log lines written by the container, by level.",
            ),
            &["machine", "container", "level"],
        )?;
        let logs = add(&registry, &parts, logs)?;
        let counter = |name: &str, help: &str, labels: &[&str]| {
            add(
                &registry,
                &parts,
                IntCounterVec::new(Opts::new(name, help), labels)?,
            )
        };
        let collection_duration = gauge(
            "collector_collection_duration_seconds",
            "Wall time of the collector's last collection, by kind (metrics or logs).",
            &["machine", "kind"],
        )?;
        let last_success = gauge(
            "collector_last_success_timestamp_seconds",
            "Unix time at the end of the last collection, by kind, in which no container failed.",
            &["machine", "kind"],
        )?;
        let engine_errors = counter(
            "collector_engine_errors_total",
            "Failed Docker Engine requests, by kind (connection, timeout, status, decode, other).",
            &["machine", "kind"],
        )?;
        let log_lines_written = counter(
            "collector_log_lines_written_total",
            "Log lines written to the containers' files.",
            &["machine"],
        )?;
        let log_bytes_written = counter(
            "collector_log_bytes_written_total",
            "Bytes written to the containers' log files, line ends included.",
            &["machine"],
        )?;
        let series = gauge(
            "collector_series",
            "Samples in the previous exposition served (this family's own included).",
            &["machine"],
        )?;
        let counter_f64 = |name: &str, help: &str| {
            add(
                &registry,
                &parts,
                CounterVec::new(Opts::new(name, help), CONTAINER_LABELS)?,
            )
        };
        let cpu_seconds = counter_f64(
            "container_cpu_usage_seconds_total",
            "CPU time used by the container since it started, in seconds.",
        )?;
        let cfs_periods = counter(
            "container_cpu_cfs_periods_total",
            "CPU limit enforcement periods that passed (containers with a CPU limit).",
            CONTAINER_LABELS,
        )?;
        let cfs_throttled_periods = counter(
            "container_cpu_cfs_throttled_periods_total",
            "Enforcement periods in which the container was throttled.",
            CONTAINER_LABELS,
        )?;
        let cfs_throttled_seconds = counter_f64(
            "container_cpu_cfs_throttled_seconds_total",
            "Time the container was throttled, in seconds.",
        )?;
        let memory_usage = gauge(
            "container_memory_usage_bytes",
            "Memory used by the container, page cache included (the same value as container_used_memory_bytes).",
            CONTAINER_LABELS,
        )?;
        let working_set = gauge(
            "container_memory_working_set_bytes",
            "Memory used minus inactive file pages, as docker stats shows it.",
            CONTAINER_LABELS,
        )?;
        let pids = gauge(
            "container_pids",
            "Processes and threads in the container.",
            CONTAINER_LABELS,
        )?;
        let network = NETWORK
            .iter()
            .map(|(name, help)| counter(name, help, &["machine", "container", "interface"]))
            .collect::<Result<Vec<_>, _>>()?;
        let fs_reads = counter(
            "container_fs_reads_bytes_total",
            "Bytes read from block devices, summed over devices.",
            CONTAINER_LABELS,
        )?;
        let fs_writes = counter(
            "container_fs_writes_bytes_total",
            "Bytes written to block devices, summed over devices.",
            CONTAINER_LABELS,
        )?;
        let restart_count = gauge(
            "container_restarts",
            "Times the engine restarted the container (its restart policy).",
            CONTAINER_LABELS,
        )?;
        let oom_killed = gauge(
            "container_oom_killed",
            "1 when the container's last exit was an out-of-memory kill.",
            CONTAINER_LABELS,
        )?;
        let health = gauge(
            "container_health_status",
            "1 for the container's health check state (starting, healthy, unhealthy, none), 0 for the others.",
            &["machine", "container", "status"],
        )?;
        let exit_code = gauge(
            "container_exit_code",
            "Exit code of a container that stopped (while its series are kept).",
            CONTAINER_LABELS,
        )?;
        let info = gauge(
            "container_info",
            "Always 1: the container's id, image and compose project and service, for joins.",
            &[
                "machine",
                "container",
                "id",
                "image",
                "compose_project",
                "compose_service",
            ],
        )?;
        for kind in ["connection", "timeout", "status", "decode", "other"] {
            engine_errors.with_label_values(&[machine, kind]);
        }
        log_lines_written.with_label_values(&[machine]);
        log_bytes_written.with_label_values(&[machine]);
        Ok(MetricsExporter {
            registry,
            machine: machine.to_string(),
            collector_up,
            started_at,
            up,
            used_memory,
            max_memory,
            cpu_usage,
            cpus_available,
            logs,
            collection_duration,
            last_success,
            engine_errors,
            log_lines_written,
            log_bytes_written,
            series,
            cpu_seconds,
            cfs_periods,
            cfs_throttled_periods,
            cfs_throttled_seconds,
            memory_usage,
            working_set,
            pids,
            network,
            fs_reads,
            fs_writes,
            restart_count,
            oom_killed,
            health,
            exit_code,
            info,
            labelled: Arc::default(),
            groups: MetricGroups::ALL,
            parts: Arc::new(parts.into_inner()),
            own_registry: false,
        })
    }

    /// Exports only these groups of the families beyond the reference ones.
    pub fn with_groups(mut self, groups: MetricGroups) -> MetricsExporter {
        self.groups = groups;
        self
    }

    /// The registry holding the families.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A metrics collection succeeded for `container`.
    pub fn on_container_metrics(&self, container: &str, m: &ContainerMetrics) {
        let labels = [self.machine.as_str(), container];
        if let Some(code) = m.exited {
            if self.groups.state {
                self.exit_code.with_label_values(&labels).set(code as f64);
            }
            self.on_inspect(container, &m.info);
            return;
        }
        if let Some(started) = m.started_at {
            self.started_at
                .with_label_values(&labels)
                .set(started as f64);
        }
        self.up
            .with_label_values(&labels)
            .set(m.collected_at as f64);
        self.used_memory
            .with_label_values(&labels)
            .set(m.memory_used as f64);
        self.max_memory
            .with_label_values(&labels)
            .set(m.memory_limit as f64);
        self.cpu_usage
            .with_label_values(&labels)
            .set(m.cpu_cores.unwrap_or(0.0));
        self.cpus_available
            .with_label_values(&labels)
            .set(m.cpus_available);
        self.on_extras(container, m);
        self.on_inspect(container, &m.info);
    }

    /// The families from the stats beyond the reference ones.
    fn on_extras(&self, container: &str, m: &ContainerMetrics) {
        let labels = [self.machine.as_str(), container];
        let g = self.groups;
        let x = &m.extras;
        if let Some(s) = m.cpu_seconds.filter(|_| g.cpu) {
            set_counter(&self.cpu_seconds.with_label_values(&labels), s);
        }
        if let Some(t) = x.throttling.filter(|t| g.cpu && t.periods > 0) {
            set_counter(&self.cfs_periods.with_label_values(&labels), t.periods);
            set_counter(
                &self.cfs_throttled_periods.with_label_values(&labels),
                t.throttled_periods,
            );
            set_counter(
                &self.cfs_throttled_seconds.with_label_values(&labels),
                t.throttled_ns as f64 / 1e9,
            );
        }
        if g.memory {
            self.memory_usage
                .with_label_values(&labels)
                .set(m.memory_used as f64);
        }
        if let Some(inactive) = x.inactive_file.filter(|_| g.memory) {
            self.working_set
                .with_label_values(&labels)
                .set(m.memory_used.saturating_sub(inactive) as f64);
        }
        if let Some(p) = x.pids.filter(|_| g.state) {
            self.pids.with_label_values(&labels).set(p as f64);
        }
        let interfaces = if g.network { &x.interfaces[..] } else { &[] };
        for i in interfaces {
            let l = [self.machine.as_str(), container, i.name.as_str()];
            for (family, value) in self.network.iter().zip(i.rx.iter().chain(i.tx.iter())) {
                set_counter(&family.with_label_values(&l), *value);
            }
        }
        if let Some((read, written)) = x.io_bytes.filter(|_| g.io) {
            set_counter(&self.fs_reads.with_label_values(&labels), read);
            set_counter(&self.fs_writes.with_label_values(&labels), written);
        }
        let mut labelled = self.labelled.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = labelled.entry(container.to_string()).or_default();
        for i in interfaces {
            if !entry.interfaces.contains(&i.name) {
                entry.interfaces.push(i.name.clone());
            }
        }
    }

    /// The families from inspect: restarts, OOM kill, health, info.
    fn on_inspect(&self, container: &str, info: &ContainerInfo) {
        if self.groups.state {
            self.on_state(container, info);
        }
        if self.groups.info && !info.id.is_empty() {
            self.on_info(container, info);
        }
    }

    fn on_state(&self, container: &str, info: &ContainerInfo) {
        let labels = [self.machine.as_str(), container];
        if let Some(n) = info.restart_count {
            self.restart_count.with_label_values(&labels).set(n as f64);
        }
        if let Some(oom) = info.oom_killed {
            self.oom_killed
                .with_label_values(&labels)
                .set(if oom { 1.0 } else { 0.0 });
        }
        let state = info.health.as_deref().unwrap_or("none");
        for s in HEALTH_STATES {
            self.health
                .with_label_values(&[self.machine.as_str(), container, s])
                .set(if s == state { 1.0 } else { 0.0 });
        }
    }

    fn on_info(&self, container: &str, info: &ContainerInfo) {
        let values = [
            info.id.clone(),
            info.image.clone(),
            info.compose_project.clone(),
            info.compose_service.clone(),
        ];
        let mut labelled = self.labelled.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = labelled.entry(container.to_string()).or_default();
        if entry.info.as_ref() != Some(&values) {
            if let Some(old) = entry.info.take() {
                let _ = self
                    .info
                    .remove_label_values(&self.info_labels(container, &old));
            }
            self.info
                .with_label_values(&self.info_labels(container, &values))
                .set(1.0);
            entry.info = Some(values);
        }
    }

    fn info_labels<'a>(&'a self, container: &'a str, values: &'a [String; 4]) -> [&'a str; 6] {
        [
            self.machine.as_str(),
            container,
            values[0].as_str(),
            values[1].as_str(),
            values[2].as_str(),
            values[3].as_str(),
        ]
    }

    /// The collector started following `container`'s log: its three level series exist from now on, at
    /// zero, so `increase()` sees the first lines.
    pub fn on_log_followed(&self, container: &str) {
        for level in Level::ALL {
            self.logs
                .with_label_values(&[self.machine.as_str(), container, level.as_str()]);
        }
    }

    /// `n` lines of `level` were written for `container`.
    pub fn on_log_lines(&self, container: &str, level: Level, n: u64) {
        self.logs
            .with_label_values(&[self.machine.as_str(), container, level.as_str()])
            .inc_by(n);
    }

    /// `container` is gone for good: its series leave the exposition.
    pub fn forget(&self, container: &str) {
        let labels = [self.machine.as_str(), container];
        for family in [
            &self.started_at,
            &self.up,
            &self.used_memory,
            &self.max_memory,
            &self.cpu_usage,
            &self.cpus_available,
            &self.memory_usage,
            &self.working_set,
            &self.pids,
            &self.restart_count,
            &self.oom_killed,
            &self.exit_code,
        ] {
            // Err only says the series did not exist.
            let _ = family.remove_label_values(&labels);
        }
        for family in [&self.cpu_seconds, &self.cfs_throttled_seconds] {
            let _ = family.remove_label_values(&labels);
        }
        for family in [
            &self.cfs_periods,
            &self.cfs_throttled_periods,
            &self.fs_reads,
            &self.fs_writes,
        ] {
            let _ = family.remove_label_values(&labels);
        }
        for s in HEALTH_STATES {
            let _ = self
                .health
                .remove_label_values(&[self.machine.as_str(), container, s]);
        }
        let gone = self
            .labelled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(container);
        if let Some(gone) = gone {
            for interface in &gone.interfaces {
                for family in &self.network {
                    let _ = family.remove_label_values(&[
                        self.machine.as_str(),
                        container,
                        interface.as_str(),
                    ]);
                }
            }
            if let Some(info) = &gone.info {
                let _ = self
                    .info
                    .remove_label_values(&self.info_labels(container, info));
            }
        }
        for level in Level::ALL {
            let _ =
                self.logs
                    .remove_label_values(&[self.machine.as_str(), container, level.as_str()]);
        }
    }

    /// A collection of `kind` took `seconds`; `clean` when no container failed.
    pub fn on_collection(&self, kind: Collection, seconds: f64, clean: bool, unix_secs: i64) {
        let labels = [self.machine.as_str(), kind.as_str()];
        self.collection_duration
            .with_label_values(&labels)
            .set(seconds);
        if clean {
            self.last_success
                .with_label_values(&labels)
                .set(unix_secs as f64);
        }
    }

    /// An engine request failed; `kind` as [`crate::containers::EngineError::kind`] says.
    pub fn on_engine_error(&self, kind: &str) {
        self.engine_errors
            .with_label_values(&[self.machine.as_str(), kind])
            .inc();
    }

    /// `lines` lines of `bytes` bytes in all reached the files (counted at the commit).
    pub fn on_log_written(&self, lines: u64, bytes: u64) {
        let machine = [self.machine.as_str()];
        self.log_lines_written
            .with_label_values(&machine)
            .inc_by(lines);
        self.log_bytes_written
            .with_label_values(&machine)
            .inc_by(bytes);
    }

    /// A loop iteration ended at `unix_secs`.
    pub fn on_loop_end(&self, unix_secs: i64) {
        self.collector_up
            .with_label_values(&[self.machine.as_str()])
            .set(unix_secs as f64);
    }

    /// The text exposition (format 0.0.4) of every family in the registry.
    ///
    /// With a registry of its own, the families are gathered and encoded one at a time, so a scrape
    /// of 1000 containers holds one family's copy at a time instead of every series' (the
    /// registry's `gather` copies them all at once); the output is the same, families sorted by
    /// name.
    pub fn encode(&self) -> Result<Vec<u8>, MetricsError> {
        let mut out = Vec::with_capacity(64 * 1024);
        let encoder = TextEncoder::new();
        let mut samples = 0usize;
        if self.own_registry {
            let mut order: Vec<(String, usize)> = self
                .parts
                .iter()
                .enumerate()
                .flat_map(|(i, c)| c.desc().into_iter().map(move |d| (d.fq_name.clone(), i)))
                .collect();
            order.sort();
            order.dedup_by_key(|(_, i)| *i);
            for (_, i) in order {
                let mut families = self.parts[i].collect();
                families.retain(|f| !f.get_metric().is_empty());
                // As the registry does: series ordered by their label values.
                for f in &mut families {
                    f.mut_metric().sort_by(|a, b| {
                        a.get_label()
                            .iter()
                            .map(|l| l.value())
                            .cmp(b.get_label().iter().map(|l| l.value()))
                    });
                }
                families.sort_by(|a, b| a.name().cmp(b.name()));
                samples += families.iter().map(|f| f.get_metric().len()).sum::<usize>();
                encoder
                    .encode(&families, &mut out)
                    .map_err(MetricsError::Encode)?;
            }
        } else {
            let families = self.registry.gather();
            samples = families.iter().map(|f| f.get_metric().len()).sum();
            encoder
                .encode(&families, &mut out)
                .map_err(MetricsError::Encode)?;
        }
        self.series
            .with_label_values(&[self.machine.as_str()])
            .set(samples as f64);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encoding family by family gives the same text as the registry's gather (the `process_*`
    /// values aside, which change between two reads).
    #[test]
    fn encoding_one_family_at_a_time_matches_the_registry() {
        let m = MetricsExporter::new("m1").expect("registry");
        for name in ["b", "a", "c"] {
            m.on_container_metrics(
                name,
                &ContainerMetrics {
                    started_at: Some(1),
                    memory_used: 5,
                    cpu_seconds: Some(1.5),
                    info: ContainerInfo {
                        id: format!("id-{name}"),
                        image: "img".into(),
                        ..Default::default()
                    },
                    extras: Extras {
                        interfaces: vec![crate::stats::Interface {
                            name: "eth0".into(),
                            rx: [1, 2, 3, 4],
                            tx: [5, 6, 7, 8],
                        }],
                        ..Default::default()
                    },
                    ..Default::default()
                },
            );
            m.on_log_followed(name);
        }
        m.on_loop_end(7);
        let ours = String::from_utf8(m.encode().expect("encode")).expect("utf8");
        let mut theirs = Vec::new();
        TextEncoder::new()
            .encode(&m.registry().gather(), &mut theirs)
            .expect("encode");
        let theirs = String::from_utf8(theirs).expect("utf8");
        let without_process = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.contains("process_") && !l.contains("collector_series"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(without_process(&ours), without_process(&theirs));
        assert!(ours.contains("process_cpu_seconds_total"));
        assert!(ours.contains("container_network_receive_bytes_total{container=\"a\",interface=\"eth0\",machine=\"m1\"} 1"));
    }

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn families_names_labels_and_values() {
        let m = MetricsExporter::new("m1").expect("registry");
        m.on_container_metrics(
            "t1",
            &ContainerMetrics {
                started_at: Some(1_795_546_425),
                collected_at: 1_795_546_500,
                memory_used: 831_488,
                memory_limit: 67_108_864,
                cpu_cores: Some(0.005),
                cpus_available: 0.5,
                ..Default::default()
            },
        );
        m.on_log_followed("t1");
        m.on_log_lines("t1", Level::Error, 3);
        m.on_loop_end(1_795_546_501);
        let text = String::from_utf8(m.encode().expect("encode")).expect("utf8");
        let l = r#"{container="t1",machine="m1"}"#;
        let cases = [
            (
                "collector_up_timestamp_seconds{machine=\"m1\"}".to_string(),
                1_795_546_501.0,
            ),
            (
                format!("container_started_at_timestamp_seconds{l}"),
                1_795_546_425.0,
            ),
            (
                format!("container_up_timestamp_seconds{l}"),
                1_795_546_500.0,
            ),
            (format!("container_used_memory_bytes{l}"), 831_488.0),
            (format!("container_max_memory_bytes{l}"), 67_108_864.0),
            (format!("container_cpu_usage_percent{l}"), 0.005),
            (format!("container_cpus_available{l}"), 0.5),
            (
                r#"container_logs_total{container="t1",level="error",machine="m1"}"#.to_string(),
                3.0,
            ),
            (
                r#"container_logs_total{container="t1",level="info",machine="m1"}"#.to_string(),
                0.0,
            ),
            (
                r#"container_logs_total{container="t1",level="warning",machine="m1"}"#.to_string(),
                0.0,
            ),
        ];
        for (series, want) in cases {
            assert_eq!(value(&text, &series), Some(want), "{series} in\n{text}");
        }
        assert!(text.contains("# TYPE container_logs_total counter"));
        assert!(text.contains("# TYPE container_cpu_usage_percent gauge"));
        assert!(
            text.contains("process_resident_memory_bytes"),
            "process families present"
        );
    }
}
