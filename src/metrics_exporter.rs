//! The Prometheus side: the metric families of the Python tool, with the same names, label sets and
//! value rules, plus the `process_*` families of the collector itself.
//!
//! Methods are named after what happened (`on_container_metrics`, `on_log_lines`, `on_loop_end`); the
//! families themselves stay private so every value goes through the rules written here.
//!
//! The per-container families (about 33 series a container) live in a table of plain numbers of our
//! own, written straight into the text exposition: the `prometheus` crate would copy every series
//! into protobuf structures first, which with 1000 containers costs most of a scrape's time and
//! several MiB. The table is also a crate [`Collector`], so a registry gathers it like any family.
//! The collector's own families (a few series) and `process_*` stay in the crate.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};
use prometheus::{Encoder, GaugeVec, IntCounterVec, Opts, Registry, TextEncoder};

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
    collection_duration: GaugeVec,
    last_success: GaugeVec,
    engine_errors: IntCounterVec,
    log_lines_written: IntCounterVec,
    log_bytes_written: IntCounterVec,
    series: GaugeVec,
    /// Every container's series.
    table: Table,
    groups: MetricGroups,
    /// The crate's families (the collector's own, and `process_*` with a registry of its own), for
    /// encoding them between the table's.
    parts: Arc<Vec<Box<dyn Collector>>>,
    /// The registry holds only `parts` and `table` (made by [`MetricsExporter::new`]).
    own_registry: bool,
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

/// The series of one container: `None` (or absent) while a series does not exist, as a crate family
/// has no series for label values it was never given.
#[derive(Debug, Clone, Default, PartialEq)]
struct ContainerSeries {
    started_at: Option<f64>,
    up: Option<f64>,
    used_memory: Option<f64>,
    max_memory: Option<f64>,
    cpu_usage: Option<f64>,
    cpus_available: Option<f64>,
    /// `container_logs_total`, in the order of [`LEVELS_BY_LABEL`].
    logs: [Option<u64>; 3],
    cpu_seconds: Option<f64>,
    cfs_periods: Option<u64>,
    cfs_throttled_periods: Option<u64>,
    cfs_throttled_seconds: Option<f64>,
    memory_usage: Option<f64>,
    working_set: Option<f64>,
    pids: Option<f64>,
    /// Every interface ever reported, sorted by name, with its counters in [`NETWORK`] order. An
    /// interface the engine stops reporting keeps its last values, as its crate series did.
    interfaces: Vec<(String, [u64; 8])>,
    fs_reads: Option<u64>,
    fs_writes: Option<u64>,
    restarts: Option<f64>,
    oom_killed: Option<f64>,
    /// Index in [`HEALTH_STATES`] of the state whose series is 1; past the end when the engine said
    /// a state none of them names (all four at 0).
    health: Option<usize>,
    exit_code: Option<f64>,
    /// `container_info`'s id, image, compose project and compose service.
    info: Option<[String; 4]>,
}

/// The levels in the order of their label values, which is the order of their series.
const LEVELS_BY_LABEL: [Level; 3] = [Level::Error, Level::Info, Level::Warning];

/// Indexes in [`HEALTH_STATES`] in the order of their label values: healthy, none, starting,
/// unhealthy.
const HEALTH_BY_LABEL: [usize; 4] = [1, 3, 0, 2];

fn log_slot(level: Level) -> usize {
    match level {
        Level::Error => 0,
        Level::Info => 1,
        Level::Warning => 2,
    }
}

impl ContainerSeries {
    /// Records a metrics collection, with the rules of the families: an exited container records
    /// only its exit code and inspect's values; a group that is off records nothing.
    fn record(&mut self, m: &ContainerMetrics, g: MetricGroups) {
        if let Some(code) = m.exited {
            if g.state {
                self.exit_code = Some(code as f64);
            }
            self.record_inspect(&m.info, g);
            return;
        }
        if let Some(started) = m.started_at {
            self.started_at = Some(started as f64);
        }
        self.up = Some(m.collected_at as f64);
        self.used_memory = Some(m.memory_used as f64);
        self.max_memory = Some(m.memory_limit as f64);
        self.cpu_usage = Some(m.cpu_cores.unwrap_or(0.0));
        self.cpus_available = Some(m.cpus_available);
        self.record_extras(m, g);
        self.record_inspect(&m.info, g);
    }

    /// The families from the stats beyond the reference ones. Counters take the engine's running
    /// totals as they are: they only go up, except when the container restarted and they began
    /// again.
    fn record_extras(&mut self, m: &ContainerMetrics, g: MetricGroups) {
        let x = &m.extras;
        if let Some(s) = m.cpu_seconds.filter(|_| g.cpu) {
            self.cpu_seconds = Some(s);
        }
        if let Some(t) = x.throttling.filter(|t| g.cpu && t.periods > 0) {
            self.cfs_periods = Some(t.periods);
            self.cfs_throttled_periods = Some(t.throttled_periods);
            self.cfs_throttled_seconds = Some(t.throttled_ns as f64 / 1e9);
        }
        if g.memory {
            self.memory_usage = Some(m.memory_used as f64);
        }
        if let Some(inactive) = x.inactive_file.filter(|_| g.memory) {
            self.working_set = Some(m.memory_used.saturating_sub(inactive) as f64);
        }
        if let Some(p) = x.pids.filter(|_| g.state) {
            self.pids = Some(p as f64);
        }
        let interfaces = if g.network { &x.interfaces[..] } else { &[] };
        for i in interfaces {
            let mut values = [0u64; 8];
            values[..4].copy_from_slice(&i.rx);
            values[4..].copy_from_slice(&i.tx);
            match self
                .interfaces
                .binary_search_by(|(name, _)| name.as_str().cmp(&i.name))
            {
                Ok(k) => self.interfaces[k].1 = values,
                Err(k) => self.interfaces.insert(k, (i.name.clone(), values)),
            }
        }
        if let Some((read, written)) = x.io_bytes.filter(|_| g.io) {
            self.fs_reads = Some(read);
            self.fs_writes = Some(written);
        }
    }

    /// The families from inspect: restarts, OOM kill, health, info.
    fn record_inspect(&mut self, info: &ContainerInfo, g: MetricGroups) {
        if g.state {
            if let Some(n) = info.restart_count {
                self.restarts = Some(n as f64);
            }
            if let Some(oom) = info.oom_killed {
                self.oom_killed = Some(if oom { 1.0 } else { 0.0 });
            }
            let state = info.health.as_deref().unwrap_or("none");
            let index = HEALTH_STATES.iter().position(|s| *s == state);
            self.health = Some(index.unwrap_or(HEALTH_STATES.len()));
        }
        if g.info && !info.id.is_empty() {
            let same = self.info.as_ref().is_some_and(|v| {
                v[0] == info.id
                    && v[1] == info.image
                    && v[2] == info.compose_project
                    && v[3] == info.compose_service
            });
            // New values replace the series: the old label values leave the exposition.
            if !same {
                self.info = Some([
                    info.id.clone(),
                    info.image.clone(),
                    info.compose_project.clone(),
                    info.compose_service.clone(),
                ]);
            }
        }
    }
}

/// How a per-container family's series are made from the table.
#[derive(Clone, Copy)]
enum Shape {
    /// One series per container, labels `container` and `machine`.
    Single(fn(&ContainerSeries) -> Option<f64>),
    /// `container_logs_total`: one series per level.
    Logs,
    /// A `container_network_*` family: one series per interface, with the counter at this index.
    Network(usize),
    /// `container_health_status`: four series, one per state.
    Health,
    /// `container_info`: one series whose labels carry the values.
    Info,
}

/// A per-container family.
struct Family {
    name: &'static str,
    help: &'static str,
    counter: bool,
    shape: Shape,
}

impl Family {
    /// The label names, in the order the families were created with (which the registry's checks
    /// see).
    fn label_names(&self) -> &'static [&'static str] {
        match self.shape {
            Shape::Single(_) => &["machine", "container"],
            Shape::Logs => &["machine", "container", "level"],
            Shape::Network(_) => &["machine", "container", "interface"],
            Shape::Health => &["machine", "container", "status"],
            Shape::Info => &[
                "machine",
                "container",
                "id",
                "image",
                "compose_project",
                "compose_service",
            ],
        }
    }
}

const fn gauge(
    name: &'static str,
    help: &'static str,
    get: fn(&ContainerSeries) -> Option<f64>,
) -> Family {
    Family {
        name,
        help,
        counter: false,
        shape: Shape::Single(get),
    }
}

const fn counter(
    name: &'static str,
    help: &'static str,
    get: fn(&ContainerSeries) -> Option<f64>,
) -> Family {
    Family {
        name,
        help,
        counter: true,
        shape: Shape::Single(get),
    }
}

const fn network(index: usize) -> Family {
    Family {
        name: NETWORK[index].0,
        help: NETWORK[index].1,
        counter: true,
        shape: Shape::Network(index),
    }
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

/// Every per-container family (in any order: [`Table::new`] sorts them by name).
static FAMILIES: [Family; 29] = [
    counter(
        "container_cpu_cfs_periods_total",
        "CPU limit enforcement periods that passed (containers with a CPU limit).",
        |s| s.cfs_periods.map(|v| v as f64),
    ),
    counter(
        "container_cpu_cfs_throttled_periods_total",
        "Enforcement periods in which the container was throttled.",
        |s| s.cfs_throttled_periods.map(|v| v as f64),
    ),
    counter(
        "container_cpu_cfs_throttled_seconds_total",
        "Time the container was throttled, in seconds.",
        |s| s.cfs_throttled_seconds,
    ),
    gauge(
        "container_cpu_usage_percent",
        "CPU used by the container, in cores: 1 means one full core.",
        |s| s.cpu_usage,
    ),
    counter(
        "container_cpu_usage_seconds_total",
        "CPU time used by the container since it started, in seconds.",
        |s| s.cpu_seconds,
    ),
    gauge(
        "container_cpus_available",
        "CPUs available to the container: its CPU limit, or the host's CPUs when it has none.",
        |s| s.cpus_available,
    ),
    gauge(
        "container_exit_code",
        "Exit code of a container that stopped (while its series are kept).",
        |s| s.exit_code,
    ),
    counter(
        "container_fs_reads_bytes_total",
        "Bytes read from block devices, summed over devices.",
        |s| s.fs_reads.map(|v| v as f64),
    ),
    counter(
        "container_fs_writes_bytes_total",
        "Bytes written to block devices, summed over devices.",
        |s| s.fs_writes.map(|v| v as f64),
    ),
    Family {
        name: "container_health_status",
        help: "1 for the container's health check state (starting, healthy, unhealthy, none), 0 for the others.",
        counter: false,
        shape: Shape::Health,
    },
    Family {
        name: "container_info",
        help: "Always 1: the container's id, image and compose project and service, for joins.",
        counter: false,
        shape: Shape::Info,
    },
    Family {
        name: "container_logs_total",
        help: "Log lines written by the container, by level.",
        counter: true,
        shape: Shape::Logs,
    },
    gauge(
        "container_max_memory_bytes",
        "Memory limit of the container (the host's memory when it has no limit).",
        |s| s.max_memory,
    ),
    gauge(
        "container_memory_usage_bytes",
        "Memory used by the container, page cache included (the same value as container_used_memory_bytes).",
        |s| s.memory_usage,
    ),
    gauge(
        "container_memory_working_set_bytes",
        "Memory used minus inactive file pages, as docker stats shows it.",
        |s| s.working_set,
    ),
    network(0),
    network(1),
    network(2),
    network(3),
    network(4),
    network(5),
    network(6),
    network(7),
    gauge(
        "container_oom_killed",
        "1 when the container's last exit was an out-of-memory kill.",
        |s| s.oom_killed,
    ),
    gauge(
        "container_pids",
        "Processes and threads in the container.",
        |s| s.pids,
    ),
    gauge(
        "container_restarts",
        "Times the engine restarted the container (its restart policy).",
        |s| s.restarts,
    ),
    gauge(
        "container_started_at_timestamp_seconds",
        "Unix time at which the container was started.",
        |s| s.started_at,
    ),
    gauge(
        "container_up_timestamp_seconds",
        "Unix time at which the container's metrics were last collected.",
        |s| s.up,
    ),
    gauge(
        "container_used_memory_bytes",
        "Memory used by the container, page cache included.",
        |s| s.used_memory,
    ),
];

/// The labels of one series, names sorted, as the crate writes them.
type Labels<'a> = [(&'static str, &'a str)];

/// The table of every container's series; a crate [`Collector`] of the per-container families.
#[derive(Clone)]
struct Table {
    machine: Arc<str>,
    /// [`FAMILIES`] sorted by name, the order of the exposition.
    families: Arc<[&'static Family]>,
    /// In the order of `families`.
    descs: Arc<Vec<Desc>>,
    containers: Arc<Mutex<BTreeMap<String, ContainerSeries>>>,
}

impl Table {
    fn new(machine: &str) -> Result<Table, MetricsError> {
        let mut families: Vec<&'static Family> = FAMILIES.iter().collect();
        families.sort_by_key(|f| f.name);
        let descs = families
            .iter()
            .map(|f| {
                let labels = f.label_names().iter().map(|l| l.to_string()).collect();
                Desc::new(
                    f.name.to_string(),
                    f.help.to_string(),
                    labels,
                    Default::default(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Table {
            machine: machine.into(),
            families: families.into(),
            descs: Arc::new(descs),
            containers: Arc::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ContainerSeries>> {
        self.containers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on `container`'s series, made empty if the container had none.
    fn update(&self, container: &str, f: impl FnOnce(&mut ContainerSeries)) {
        let mut containers = self.lock();
        // No new key is allocated for a container already known, the common case.
        if let Some(series) = containers.get_mut(container) {
            return f(series);
        }
        f(containers.entry(container.to_string()).or_default())
    }

    fn forget(&self, container: &str) {
        self.lock().remove(container);
    }

    /// Calls `sample` for every series of `family`, in the order the registry's `gather` sorts them
    /// (by label values, labels in name order), with its labels in name order.
    fn each_series(
        &self,
        containers: &BTreeMap<String, ContainerSeries>,
        family: &Family,
        mut sample: impl FnMut(&Labels<'_>, f64),
    ) {
        let m = &*self.machine;
        match family.shape {
            Shape::Single(get) => {
                for (c, s) in containers {
                    if let Some(v) = get(s) {
                        sample(&[("container", c.as_str()), ("machine", m)], v);
                    }
                }
            }
            Shape::Logs => {
                for (c, s) in containers {
                    for (n, level) in s.logs.iter().zip(LEVELS_BY_LABEL) {
                        if let Some(n) = n {
                            let labels = [
                                ("container", c.as_str()),
                                ("level", level.as_str()),
                                ("machine", m),
                            ];
                            sample(&labels, *n as f64);
                        }
                    }
                }
            }
            Shape::Network(i) => {
                for (c, s) in containers {
                    for (interface, values) in &s.interfaces {
                        let labels = [
                            ("container", c.as_str()),
                            ("interface", interface.as_str()),
                            ("machine", m),
                        ];
                        sample(&labels, values[i] as f64);
                    }
                }
            }
            Shape::Health => {
                for (c, s) in containers {
                    if let Some(state) = s.health {
                        for i in HEALTH_BY_LABEL {
                            let on = if i == state { 1.0 } else { 0.0 };
                            let labels = [
                                ("container", c.as_str()),
                                ("machine", m),
                                ("status", HEALTH_STATES[i]),
                            ];
                            sample(&labels, on);
                        }
                    }
                }
            }
            Shape::Info => {
                // The first label is not the container's name: these series sort otherwise.
                let mut rows: Vec<(&str, &[String; 4])> = containers
                    .iter()
                    .filter_map(|(c, s)| Some((c.as_str(), s.info.as_ref()?)))
                    .collect();
                fn key<'a>((c, v): &(&'a str, &'a [String; 4])) -> [&'a str; 5] {
                    [&v[2], &v[3], c, &v[0], &v[1]]
                }
                rows.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
                for (c, v) in rows {
                    let labels = [
                        ("compose_project", v[2].as_str()),
                        ("compose_service", v[3].as_str()),
                        ("container", c),
                        ("id", v[0].as_str()),
                        ("image", v[1].as_str()),
                        ("machine", m),
                    ];
                    sample(&labels, 1.0);
                }
            }
        }
    }

    /// Writes the text exposition of `family`, and returns how many samples it wrote (none, and
    /// no header either, for a family without series).
    fn write_family(
        &self,
        containers: &BTreeMap<String, ContainerSeries>,
        family: &Family,
        out: &mut Vec<u8>,
    ) -> std::io::Result<usize> {
        let start = out.len();
        let kind = if family.counter { "counter" } else { "gauge" };
        write_header(out, family.name, family.help, kind);
        let headers = out.len();
        let mut samples = 0usize;
        let mut result = Ok(());
        self.each_series(containers, family, |labels, value| {
            if result.is_ok() {
                result = write_sample(out, family.name, labels, value);
                samples += 1;
            }
        });
        result?;
        if out.len() == headers {
            out.truncate(start);
        }
        Ok(samples)
    }
}

impl Collector for Table {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let containers = self.lock();
        let mut families = Vec::new();
        for family in self.families.iter() {
            let mut metrics = Vec::new();
            self.each_series(&containers, family, |labels, value| {
                let mut pairs: Vec<LabelPair> = labels
                    .iter()
                    .map(|(name, value)| {
                        let mut pair = LabelPair::default();
                        pair.set_name(name.to_string());
                        pair.set_value(value.to_string());
                        pair
                    })
                    .collect();
                // As the crate's own metrics do; the direct encoder relies on `labels`' order.
                pairs.sort();
                let mut metric = proto::Metric::from_label(pairs);
                if family.counter {
                    let mut c = proto::Counter::default();
                    c.set_value(value);
                    metric.set_counter(c);
                } else {
                    let mut g = proto::Gauge::default();
                    g.set_value(value);
                    metric.set_gauge(g);
                }
                metrics.push(metric);
            });
            let mut f = MetricFamily::default();
            f.set_name(family.name.to_string());
            f.set_help(family.help.to_string());
            f.set_field_type(if family.counter {
                MetricType::COUNTER
            } else {
                MetricType::GAUGE
            });
            f.set_metric(metrics);
            families.push(f);
        }
        families
    }
}

/// `# HELP` and `# TYPE` lines, as the crate's `TextEncoder` writes them.
fn write_header(out: &mut Vec<u8>, name: &str, help: &str, kind: &str) {
    if !help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        write_escaped(out, help, false);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(kind.as_bytes());
    out.push(b'\n');
}

/// One sample line, as the crate's `TextEncoder` writes it: the value as f64's `Display`.
fn write_sample(
    out: &mut Vec<u8>,
    name: &str,
    labels: &Labels<'_>,
    value: f64,
) -> std::io::Result<()> {
    out.extend_from_slice(name.as_bytes());
    let mut separator = b'{';
    for (label, text) in labels {
        out.push(separator);
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(b"=\"");
        write_escaped(out, text, true);
        out.push(b'"');
        separator = b',';
    }
    if !labels.is_empty() {
        out.push(b'}');
    }
    writeln!(out, " {value}")
}

/// `text` with `\` and newline escaped, and `"` too when `quotes` (label values; help texts keep
/// theirs), as the crate escapes them.
fn write_escaped(out: &mut Vec<u8>, text: &str, quotes: bool) {
    let mut rest = text.as_bytes();
    loop {
        let found = if quotes {
            memchr::memchr3(b'\\', b'\n', b'"', rest)
        } else {
            memchr::memchr2(b'\\', b'\n', rest)
        };
        let Some(at) = found else {
            out.extend_from_slice(rest);
            return;
        };
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(match rest[at] {
            b'\n' => b"\\n",
            b'\\' => b"\\\\",
            _ => b"\\\"",
        });
        rest = &rest[at + 1..];
    }
}

impl MetricsExporter {
    /// Families in a fresh registry that also carries the `process_*` families of this process.
    pub fn new(machine: &str) -> Result<MetricsExporter, MetricsError> {
        MetricsExporter::own(machine, true)
    }

    /// Families in a fresh registry; with the `process_*` ones when `process` (tests leave them out,
    /// as their values change between two reads).
    fn own(machine: &str, process: bool) -> Result<MetricsExporter, MetricsError> {
        let registry = Registry::new();
        let mut m = MetricsExporter::with_registry(registry.clone(), machine)?;
        if process {
            let process = prometheus::process_collector::ProcessCollector::for_self;
            registry.register(Box::new(process()))?;
            // Every family of this registry is known: encode them without `gather` (see `encode`).
            if let Some(list) = Arc::get_mut(&mut m.parts) {
                list.push(Box::new(process()));
            }
        }
        m.own_registry = true;
        Ok(m)
    }

    /// Families registered in a registry of the caller's (for programs that embed the collector).
    pub fn with_registry(
        registry: Registry,
        machine: &str,
    ) -> Result<MetricsExporter, MetricsError> {
        let mut parts: Vec<Box<dyn Collector>> = Vec::new();
        // Each family goes into the registry, and into `parts` for encoding beside the table.
        let mut gauge = |name: &str, help: &str, labels: &[&str]| {
            let family = GaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(family.clone()))?;
            parts.push(Box::new(family.clone()));
            Ok::<_, MetricsError>(family)
        };
        let collector_up = gauge(
            "collector_up_timestamp_seconds",
            "Unix time at the end of the collector's last loop iteration.",
            &["machine"],
        )?;
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
        let series = gauge(
            "collector_series",
            "Samples in the previous exposition served (this family's own included).",
            &["machine"],
        )?;
        let mut counter = |name: &str, help: &str, labels: &[&str]| {
            let family = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(family.clone()))?;
            parts.push(Box::new(family.clone()));
            Ok::<_, MetricsError>(family)
        };
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
        let table = Table::new(machine)?;
        registry.register(Box::new(table.clone()))?;
        for kind in ["connection", "timeout", "status", "decode", "other"] {
            engine_errors.with_label_values(&[machine, kind]);
        }
        log_lines_written.with_label_values(&[machine]);
        log_bytes_written.with_label_values(&[machine]);
        Ok(MetricsExporter {
            registry,
            machine: machine.to_string(),
            collector_up,
            collection_duration,
            last_success,
            engine_errors,
            log_lines_written,
            log_bytes_written,
            series,
            table,
            groups: MetricGroups::ALL,
            parts: Arc::new(parts),
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
        self.table
            .update(container, |series| series.record(m, self.groups));
    }

    /// `n` lines of `level` were written for `container`. A level's series exists once a line of it
    /// was counted, as the Python client made it: users' rules such as `increase(
    /// container_logs_total{level="error"}[5m])` with no comparison fire for every series they get,
    /// so a series at 0 for a quiet container would page for it.
    pub fn on_log_lines(&self, container: &str, level: Level, n: u64) {
        self.table.update(container, |series| {
            let count = series.logs[log_slot(level)].get_or_insert(0);
            // As the crate's counter: an atomic add, which wraps.
            *count = count.wrapping_add(n);
        });
    }

    /// `container` is gone for good: its series leave the exposition.
    pub fn forget(&self, container: &str) {
        self.table.forget(container);
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

    /// The text exposition (format 0.0.4) of every family in the registry, whole.
    ///
    /// With a registry of its own, the per-container families are written straight from the table
    /// and only the crate's few families go through the crate's encoder; the text is the same as the
    /// registry's `gather` and `TextEncoder` give, families sorted by name.
    pub fn encode(&self) -> Result<Vec<u8>, MetricsError> {
        let mut out = Vec::new();
        for chunk in self.exposition() {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// The same text as [`MetricsExporter::encode`], in chunks of about [`CHUNK_BYTES`] written one
    /// at a time as the iterator is advanced: a scrape of 1000 containers (a few MB of text) then
    /// holds one chunk at a time instead of the whole text. Each family is written from the table
    /// as it is at that moment.
    pub fn exposition(&self) -> Exposition {
        let mut parts = VecDeque::new();
        if self.own_registry {
            let mut theirs: Vec<MetricFamily> = self
                .parts
                .iter()
                .flat_map(|c| c.collect())
                .filter(|f| !f.get_metric().is_empty())
                .collect();
            // As the registry does: series ordered by their label values, families by name.
            for f in &mut theirs {
                f.mut_metric().sort_by(|a, b| {
                    a.get_label()
                        .iter()
                        .map(|l| l.value())
                        .cmp(b.get_label().iter().map(|l| l.value()))
                });
            }
            theirs.sort_by(|a, b| a.name().cmp(b.name()));
            let mut theirs = theirs.into_iter().peekable();
            let mut ours = self.table.families.iter().peekable();
            loop {
                let take_ours = match (ours.peek(), theirs.peek()) {
                    (Some(o), Some(t)) => o.name < t.name(),
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                let part = if take_ours {
                    ours.next().map(|f| Part::Ours(f))
                } else {
                    theirs.next().map(Part::Theirs)
                };
                parts.extend(part);
            }
        } else {
            parts.extend(self.registry.gather().into_iter().map(Part::Theirs));
        }
        Exposition {
            exporter: self.clone(),
            parts,
            samples: 0,
        }
    }
}

/// A scrape's chunks are at least this long (but for the last), and hold whole families.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// A family to write in an [`Exposition`].
enum Part {
    /// One of the table's, written from the table when its turn comes.
    Ours(&'static Family),
    /// One of the crate's, gathered when the scrape began.
    Theirs(MetricFamily),
}

/// The chunks of one scrape's text, written as they are asked for (see
/// [`MetricsExporter::exposition`]). Once the last is handed out, `collector_series` says how many
/// samples it held.
pub struct Exposition {
    exporter: MetricsExporter,
    parts: VecDeque<Part>,
    samples: usize,
}

impl std::fmt::Debug for Exposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exposition")
            .field("parts_left", &self.parts.len())
            .field("samples", &self.samples)
            .finish()
    }
}

impl Iterator for Exposition {
    type Item = Result<Vec<u8>, MetricsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.parts.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        let table = &self.exporter.table;
        while out.len() < CHUNK_BYTES {
            let Some(part) = self.parts.pop_front() else {
                break;
            };
            let written = match &part {
                Part::Ours(family) => table
                    .write_family(&table.lock(), family, &mut out)
                    .map_err(|e| MetricsError::Encode(e.into())),
                Part::Theirs(family) => TextEncoder::new()
                    .encode(std::slice::from_ref(family), &mut out)
                    .map(|()| family.get_metric().len())
                    .map_err(MetricsError::Encode),
            };
            match written {
                Ok(n) => self.samples += n,
                Err(e) => {
                    self.parts.clear();
                    return Some(Err(e));
                }
            }
        }
        if self.parts.is_empty() {
            let exporter = &self.exporter;
            exporter
                .series
                .with_label_values(&[exporter.machine.as_str()])
                .set(self.samples as f64);
        }
        Some(Ok(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Interface, Throttling};

    /// The direct text of the per-container families is the registry's text with the table as
    /// a crate `Collector` (the `process_*` values aside, which change between two reads).
    #[test]
    fn the_direct_text_matches_the_registrys_gather() {
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
                        interfaces: vec![Interface {
                            name: "eth0".into(),
                            rx: [1, 2, 3, 4],
                            tx: [5, 6, 7, 8],
                        }],
                        ..Default::default()
                    },
                    ..Default::default()
                },
            );
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
        assert!(ours.contains("container_info{compose_project=\"\",compose_service=\"\",container=\"b\",id=\"id-b\",image=\"img\",machine=\"m1\"} 1"));
    }

    /// Checks the text against the crate's encoder over the registry's `gather`, byte for byte.
    ///
    /// Encodes twice first: `collector_series` has a series from the first encoding on, which the
    /// second counts, so the third says what it writes itself.
    fn assert_same_as_registry(m: &MetricsExporter) -> String {
        m.encode().expect("encode");
        m.encode().expect("encode");
        let ours = String::from_utf8(m.encode().expect("encode")).expect("utf8");
        let mut theirs = Vec::new();
        TextEncoder::new()
            .encode(&m.registry().gather(), &mut theirs)
            .expect("encode");
        let theirs = String::from_utf8(theirs).expect("utf8");
        assert_eq!(ours, theirs);
        let samples = ours.lines().filter(|l| !l.starts_with('#')).count();
        let line = format!("collector_series{{machine={:?}}} {samples}", m.machine);
        assert!(ours.lines().any(|l| l == line), "{line} in\n{ours}");
        ours
    }

    fn running(at: i64, interfaces: &[&str], info: ContainerInfo) -> ContainerMetrics {
        ContainerMetrics {
            started_at: Some(1_795_546_425),
            collected_at: at,
            memory_used: 12_345_678,
            memory_limit: 67_108_864,
            cpu_cores: Some(0.0123),
            cpus_available: 0.5,
            cpu_seconds: Some(12.25),
            extras: Extras {
                inactive_file: Some(1000),
                pids: Some(7),
                throttling: Some(Throttling {
                    periods: 10,
                    throttled_periods: 2,
                    throttled_ns: 1_500_000_000,
                }),
                interfaces: interfaces
                    .iter()
                    .map(|n| Interface {
                        name: n.to_string(),
                        rx: [1, 2, 3, 4],
                        tx: [5, 6, 7, u64::MAX],
                    })
                    .collect(),
                io_bytes: Some((4096, 8192)),
            },
            info,
            exited: None,
        }
    }

    fn inspected(id: &str, image: &str, project: &str, health: Option<&str>) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            image: image.into(),
            compose_project: project.into(),
            compose_service: "web".into(),
            restart_count: Some(2),
            oom_killed: Some(false),
            health: health.map(str::to_string),
        }
    }

    /// Several containers: names and label values needing escapes, interfaces, exited and
    /// forgotten containers, every health state, replaced info values.
    fn fill(m: &MetricsExporter) {
        let names = ["web-1", "db\"1\\x", "line\nbreak", "a", "zz", "gone"];
        for (i, name) in names.iter().enumerate() {
            let health = [Some("healthy"), Some("starting"), None, Some("unhealthy")][i % 4];
            let info = inspected(&format!("id{i}"), "img:\"q\"\\", ["b", "a"][i % 2], health);
            m.on_container_metrics(name, &running(100 + i as i64, &["eth1", "eth0"], info));
            m.on_log_lines(name, Level::Warning, i as u64);
        }
        // Only the level series of lines counted.
        m.on_log_lines("one-level", Level::Error, 4);
        // A state none of the four: all its series at 0.
        let odd = inspected("id-odd", "img", "", Some("weird"));
        m.on_container_metrics("odd", &running(5, &[], odd));
        // Exited: its exit code, and its inspect values replace the old ones.
        m.on_container_metrics(
            "zz",
            &ContainerMetrics {
                exited: Some(137),
                info: inspected("id-new", "img2", "p\nq", Some("unhealthy")),
                ..Default::default()
            },
        );
        // An interface that comes later sorts among the others.
        m.on_container_metrics(
            "a",
            &running(300, &["eth00"], inspected("id3", "i", "b", None)),
        );
        m.forget("gone");
        m.on_collection(Collection::Metrics, 0.25, true, 1000);
        m.on_collection(Collection::Logs, 0.5, false, 1000);
        m.on_engine_error("timeout");
        m.on_log_written(10, 1000);
        m.on_loop_end(1001);
    }

    #[test]
    fn direct_text_is_byte_identical_to_the_crate_encoder() {
        let m = MetricsExporter::own("m\"1\\\n", false).expect("registry");
        fill(&m);
        let text = assert_same_as_registry(&m);
        assert!(text.contains(r#"container="db\"1\\x""#), "{text}");
        assert!(text.contains(r#"container="line\nbreak""#), "{text}");
        assert!(text.contains(r#"image="img:\"q\"\\""#), "{text}");
        assert!(!text.contains("gone"), "forgotten: {text}");
        assert!(text.contains(
            "container_network_transmit_packets_dropped_total{container=\"a\",interface=\"eth00\""
        ));
        assert!(
            text.contains("18446744073709552000"),
            "u64::MAX as f64: {text}"
        );
    }

    #[test]
    fn direct_text_with_groups_off_is_byte_identical_to_the_crate_encoder() {
        for groups in ["none", "cpu", "memory,io", "network", "state", "info"] {
            let groups = MetricGroups::parse(groups).expect("groups");
            let m = MetricsExporter::own("m1", false)
                .expect("registry")
                .with_groups(groups);
            fill(&m);
            let text = assert_same_as_registry(&m);
            let has = |family: &str| text.contains(&format!("# TYPE {family} "));
            assert_eq!(has("container_cpu_usage_seconds_total"), groups.cpu);
            assert_eq!(has("container_memory_working_set_bytes"), groups.memory);
            assert_eq!(has("container_network_receive_bytes_total"), groups.network);
            assert_eq!(has("container_fs_reads_bytes_total"), groups.io);
            assert_eq!(has("container_health_status"), groups.state);
            assert_eq!(has("container_exit_code"), groups.state);
            assert_eq!(has("container_info"), groups.info);
            assert!(has("container_used_memory_bytes"));
        }
    }

    #[test]
    fn an_empty_table_writes_only_the_collectors_families() {
        let m = MetricsExporter::own("m1", false).expect("registry");
        let text = assert_same_as_registry(&m);
        assert!(!text.contains("container_"), "{text}");
        m.on_log_lines("x", Level::Info, 1);
        m.forget("x");
        assert!(!assert_same_as_registry(&m).contains("container_"));
    }

    #[test]
    fn container_families_follow_a_restart_and_a_stop() {
        let m = MetricsExporter::own("m1", false).expect("registry");
        let info = inspected("id1", "img", "p", Some("healthy"));
        m.on_container_metrics("c", &running(100, &["eth0"], info.clone()));
        // A restart: the engine's counters began again, and so do ours.
        let mut again = running(200, &[], info.clone());
        again.cpu_seconds = Some(0.5);
        m.on_container_metrics("c", &again);
        // Stopped: exit code and inspect values only.
        m.on_container_metrics(
            "c",
            &ContainerMetrics {
                exited: Some(3),
                info: inspected("id2", "img", "p", None),
                ..Default::default()
            },
        );
        let text = assert_same_as_registry(&m);
        let l = r#"{container="c",machine="m1"}"#;
        for (series, want) in [
            (format!("container_cpu_usage_seconds_total{l}"), 0.5),
            (format!("container_up_timestamp_seconds{l}"), 200.0),
            (format!("container_exit_code{l}"), 3.0),
            (format!("container_cpu_cfs_throttled_seconds_total{l}"), 1.5),
            (
                r#"container_network_receive_bytes_total{container="c",interface="eth0",machine="m1"}"#.to_string(),
                1.0,
            ),
            (
                r#"container_health_status{container="c",machine="m1",status="none"}"#.to_string(),
                1.0,
            ),
            (
                r#"container_health_status{container="c",machine="m1",status="healthy"}"#.to_string(),
                0.0,
            ),
        ] {
            assert_eq!(value(&text, &series), Some(want), "{series} in\n{text}");
        }
        assert_eq!(text.matches("container_info{").count(), 1, "{text}");
        assert!(text.contains("id=\"id2\""), "{text}");
        m.forget("c");
        assert!(!assert_same_as_registry(&m).contains("container_"));
    }

    /// A program that embeds the collector still finds every family in its own registry.
    #[test]
    fn a_callers_registry_gathers_the_container_families() {
        let registry = Registry::new();
        let m = MetricsExporter::with_registry(registry.clone(), "m1").expect("families");
        fill(&m);
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        for family in &FAMILIES {
            assert!(names.iter().any(|n| n == family.name), "{}", family.name);
        }
        let text = String::from_utf8(m.encode().expect("encode")).expect("utf8");
        assert!(text
            .contains("container_logs_total{container=\"a\",level=\"warning\",machine=\"m1\"} 3"));
        // The same names again in that registry clash.
        assert!(MetricsExporter::with_registry(registry, "m1").is_err());
    }

    mod random {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Event {
            Metrics(usize, Box<ContainerMetrics>),
            Lines(usize, usize, u64),
            Forget(usize),
        }

        const NAMES: [&str; 6] = ["a", "b", "a\"", "b\\\n", "ä-1", ""];

        fn text() -> impl Strategy<Value = String> {
            "[ab\"\\\\\n]{0,3}"
        }

        fn metrics() -> impl Strategy<Value = ContainerMetrics> {
            let info = (
                text(),
                text(),
                text(),
                text(),
                proptest::option::of(0i64..5),
                proptest::option::of(any::<bool>()),
                proptest::option::of(proptest::sample::select(vec![
                    "starting",
                    "healthy",
                    "unhealthy",
                    "other",
                ])),
            )
                .prop_map(
                    |(id, image, project, service, restarts, oom, health)| ContainerInfo {
                        id,
                        image,
                        compose_project: project,
                        compose_service: service,
                        restart_count: restarts,
                        oom_killed: oom,
                        health: health.map(str::to_string),
                    },
                );
            let interface = (
                proptest::sample::select(vec!["eth0", "eth1", "lo"]),
                any::<[u64; 8]>(),
            )
                .prop_map(|(name, v)| Interface {
                    name: name.to_string(),
                    rx: [v[0], v[1], v[2], v[3]],
                    tx: [v[4], v[5], v[6], v[7]],
                });
            let extras = (
                proptest::option::of(any::<u64>()),
                proptest::option::of(0u64..100),
                proptest::option::of((0u64..3, any::<u64>(), any::<u64>())),
                proptest::collection::vec(interface, 0..3),
                proptest::option::of(any::<(u64, u64)>()),
            )
                .prop_map(
                    |(inactive_file, pids, throttling, mut interfaces, io_bytes)| {
                        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
                        interfaces.dedup_by(|a, b| a.name == b.name);
                        Extras {
                            inactive_file,
                            pids,
                            throttling: throttling.map(
                                |(periods, throttled_periods, throttled_ns)| Throttling {
                                    periods,
                                    throttled_periods,
                                    throttled_ns,
                                },
                            ),
                            interfaces,
                            io_bytes,
                        }
                    },
                );
            (
                (
                    proptest::option::of(any::<i64>()),
                    any::<i64>(),
                    any::<u64>(),
                    any::<u64>(),
                ),
                (
                    proptest::option::of(any::<f64>()),
                    any::<f64>(),
                    proptest::option::of(0.0f64..1e6),
                ),
                extras,
                info,
                proptest::option::of(-1i64..256),
            )
                .prop_map(
                    |(
                        (started_at, collected_at, memory_used, memory_limit),
                        (cpu_cores, cpus_available, cpu_seconds),
                        extras,
                        info,
                        exited,
                    )| ContainerMetrics {
                        started_at,
                        collected_at,
                        memory_used,
                        memory_limit,
                        cpu_cores,
                        cpus_available,
                        cpu_seconds,
                        extras,
                        info,
                        exited,
                    },
                )
        }

        fn event() -> impl Strategy<Value = Event> {
            let c = 0..NAMES.len();
            prop_oneof![
                3 => (c.clone(), metrics()).prop_map(|(c, m)| Event::Metrics(c, Box::new(m))),
                1 => (c.clone(), 0..3usize, 0u64..1000).prop_map(|(c, l, n)| Event::Lines(c, l, n)),
                1 => c.prop_map(Event::Forget),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn direct_text_matches_the_crate_encoder_for_any_containers(
                events in proptest::collection::vec(event(), 0..24),
                groups in any::<[bool; 6]>(),
            ) {
                let groups = MetricGroups {
                    cpu: groups[0],
                    memory: groups[1],
                    network: groups[2],
                    io: groups[3],
                    state: groups[4],
                    info: groups[5],
                };
                let m = MetricsExporter::own("m\\1", false)
                    .expect("registry")
                    .with_groups(groups);
                for e in events {
                    match e {
                        Event::Metrics(c, x) => m.on_container_metrics(NAMES[c], &x),
                        Event::Lines(c, l, n) => m.on_log_lines(NAMES[c], Level::ALL[l], n),
                        Event::Forget(c) => m.forget(NAMES[c]),
                    }
                }
                assert_same_as_registry(&m);
            }
        }
    }

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// A large exposition comes in chunks of whole families, at least CHUNK_BYTES each but the
    /// last, which together are the whole text; `collector_series` counts it once it is all out.
    #[test]
    fn a_large_exposition_comes_in_chunks_of_whole_families() {
        let m = MetricsExporter::new("m1").expect("registry");
        for i in 0..1000 {
            let name = format!("c{i:04}");
            m.on_container_metrics(
                &name,
                &ContainerMetrics {
                    started_at: Some(1),
                    memory_used: 5,
                    cpu_seconds: Some(1.5),
                    info: ContainerInfo {
                        id: format!("id-{name}"),
                        image: "img".into(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            );
            m.on_log_lines(&name, Level::Info, 1);
        }
        let chunks: Vec<Vec<u8>> = m.exposition().collect::<Result<_, _>>().expect("chunks");
        assert!(chunks.len() > 5, "{} chunks", chunks.len());
        for (i, chunk) in chunks.iter().enumerate() {
            if i + 1 < chunks.len() {
                assert!(
                    chunk.len() >= CHUNK_BYTES,
                    "chunk {i}: {} bytes",
                    chunk.len()
                );
            }
            assert!(chunk.starts_with(b"# HELP "), "chunk {i} starts a family");
            assert!(chunk.ends_with(b"\n"), "chunk {i} ends a line");
        }
        let joined: Vec<u8> = chunks.concat();
        let text = String::from_utf8(joined).expect("utf8");
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        let whole = String::from_utf8(m.encode().expect("encode")).expect("utf8");
        let without_process = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.contains("process_") && !l.contains("collector_series"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(without_process(&text), without_process(&whole));
        assert_eq!(
            value(&whole, "collector_series{machine=\"m1\"}"),
            Some(samples as f64),
            "the series of the previous exposition"
        );
        let mut partial = m.exposition();
        partial.next();
        drop(partial);
        assert_eq!(
            value(
                &String::from_utf8(m.encode().expect("encode")).expect("utf8"),
                "collector_series{machine=\"m1\"}"
            ),
            Some(samples as f64 + 1.0),
            "a scrape broken off does not count; the last whole one (with its own series) does"
        );
    }

    #[test]
    fn the_reference_families_have_their_names_labels_and_values() {
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
        ];
        for (series, want) in cases {
            assert_eq!(value(&text, &series), Some(want), "{series} in\n{text}");
        }
        // No line of these levels was counted: no series, as with the Python client.
        for level in ["info", "warning"] {
            assert!(
                !text.contains(&format!("level=\"{level}\"")),
                "a {level} series without a {level} line:\n{text}"
            );
        }
        assert!(text.contains("# TYPE container_logs_total counter"));
        assert!(text.contains("# TYPE container_cpu_usage_percent gauge"));
        assert!(
            text.contains("process_resident_memory_bytes"),
            "process families present"
        );
    }
}
