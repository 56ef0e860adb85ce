//! The catalogue of the per-container families, and the rules by which a container's samples
//! become their values.
//!
//! The rules are the Python tool's for the reference families; the others follow cAdvisor's names.
//! [`ContainerSeries`] holds one container's values as plain numbers; each [`Family`] says how its
//! series are read out of it, with which labels, and which METRIC_GROUPS group turns it on.

use super::groups::Group;
use crate::container::{ContainerInfo, ContainerMetrics};
use crate::logs::levels::Level;

/// The health states `container_health_status` has a series for.
pub(super) const HEALTH_STATES: [&str; 4] = ["starting", "healthy", "unhealthy", "none"];

/// The series of one container: `None` (or absent) while a series does not exist, as a crate family
/// has no series for label values it was never given.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ContainerSeries {
    started_at: Option<f64>,
    up: Option<f64>,
    used_memory: Option<f64>,
    max_memory: Option<f64>,
    cpu_usage: Option<f64>,
    cpus_available: Option<f64>,
    /// `container_logs_total`, indexed by [`Level::index`].
    pub(super) logs: [Option<u64>; 3],
    cpu_seconds: Option<f64>,
    cfs_periods: Option<u64>,
    cfs_throttled_periods: Option<u64>,
    cfs_throttled_seconds: Option<f64>,
    memory_usage: Option<f64>,
    working_set: Option<f64>,
    pids: Option<f64>,
    /// Every interface ever reported, sorted by name, with its counters in [`NETWORK`] order. An
    /// interface the engine stops reporting keeps its last values, as its crate series did.
    pub(super) interfaces: Vec<(String, [u64; 8])>,
    fs_reads: Option<u64>,
    fs_writes: Option<u64>,
    restarts: Option<f64>,
    oom_killed: Option<f64>,
    /// Index in [`HEALTH_STATES`] of the state whose series is 1; past the end when the engine said
    /// a state none of them names (all four at 0).
    pub(super) health: Option<usize>,
    exit_code: Option<f64>,
    /// `container_info`'s id, image, compose project and compose service.
    pub(super) info: Option<[String; 4]>,
    /// `container_log_pattern_matches_total`: every pattern counted for the container, sorted by
    /// name (the order of its series), with its count.
    pub(super) patterns: Vec<(Box<str>, u64)>,
}

/// The levels in the order of their label values, which is the order of their series in the text
/// (the counts themselves are kept in the one order of [`Level::ALL`]).
pub(super) const LEVELS_BY_LABEL: [Level; 3] = [Level::Error, Level::Info, Level::Warning];

/// Indexes in [`HEALTH_STATES`] in the order of their label values: healthy, none, starting,
/// unhealthy.
pub(super) const HEALTH_BY_LABEL: [usize; 4] = [1, 3, 0, 2];

impl ContainerSeries {
    /// `n` more lines of `level`. As the crate's counter does, an atomic add, which wraps.
    pub(super) fn count_lines(&mut self, level: Level, n: u64) {
        let count = self.logs[level.index()].get_or_insert(0);
        *count = count.wrapping_add(n);
    }

    /// `n` more lines matched `pattern`; the series exists from then on, at 0 when `n` is 0. An
    /// atomic add, as the crate's counter does, which wraps.
    pub(super) fn count_matches(&mut self, pattern: &str, n: u64) {
        match self
            .patterns
            .binary_search_by(|(name, _)| (**name).cmp(pattern))
        {
            Ok(k) => self.patterns[k].1 = self.patterns[k].1.wrapping_add(n),
            Err(k) => self.patterns.insert(k, (pattern.into(), n)),
        }
    }

    /// Records a metrics collection, with the rules of the families: an exited container records
    /// only its exit code and inspect's values. Every value is recorded; the families of a group
    /// that is off are left out when the table is written.
    pub(super) fn record(&mut self, m: &ContainerMetrics) {
        if let Some(code) = m.exited {
            self.exit_code = Some(code as f64);
            self.record_inspect(&m.info);
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
        self.record_extras(m);
        self.record_inspect(&m.info);
    }

    /// The families from the stats beyond the reference ones. Counters take the engine's running
    /// totals as they are: they only go up, except when the container restarted and they began
    /// again.
    fn record_extras(&mut self, m: &ContainerMetrics) {
        let x = &m.extras;
        if let Some(s) = m.cpu_seconds {
            self.cpu_seconds = Some(s);
        }
        if let Some(t) = x.throttling.filter(|t| t.periods > 0) {
            self.cfs_periods = Some(t.periods);
            self.cfs_throttled_periods = Some(t.throttled_periods);
            self.cfs_throttled_seconds = Some(t.throttled_ns as f64 / 1e9);
        }
        self.memory_usage = Some(m.memory_used as f64);
        if let Some(inactive) = x.inactive_file {
            self.working_set = Some(m.memory_used.saturating_sub(inactive) as f64);
        }
        if let Some(p) = x.pids {
            self.pids = Some(p as f64);
        }
        for i in &x.interfaces {
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
        if let Some((read, written)) = x.io_bytes {
            self.fs_reads = Some(read);
            self.fs_writes = Some(written);
        }
    }

    /// The families from inspect: restarts, OOM kill, health, info.
    fn record_inspect(&mut self, info: &ContainerInfo) {
        if let Some(n) = info.restart_count {
            self.restarts = Some(n as f64);
        }
        if let Some(oom) = info.oom_killed {
            self.oom_killed = Some(if oom { 1.0 } else { 0.0 });
        }
        let state = info.health.as_deref().unwrap_or("none");
        let index = HEALTH_STATES.iter().position(|s| *s == state);
        self.health = Some(index.unwrap_or(HEALTH_STATES.len()));
        if !info.id.is_empty() {
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
pub(super) enum Shape {
    /// One series per container, labels `container` and `machine`.
    Single(fn(&ContainerSeries) -> Option<f64>),
    /// `container_logs_total`: one series per level.
    Logs,
    /// `container_log_pattern_matches_total`: one series per pattern counted.
    Patterns,
    /// A `container_network_*` family: one series per interface, with the counter at this index.
    Network(usize),
    /// `container_health_status`: four series, one per state.
    Health,
    /// `container_info`: one series whose labels carry the values.
    Info,
}

/// A per-container family.
pub(super) struct Family {
    pub(super) name: &'static str,
    pub(super) help: &'static str,
    pub(super) counter: bool,
    pub(super) shape: Shape,
    /// The METRIC_GROUPS group that turns it on; `None` for a reference family, always exported.
    pub(super) group: Option<Group>,
}

impl Family {
    /// The label names, in the order the families were created with (which the registry's checks
    /// see).
    pub(super) fn label_names(&self) -> &'static [&'static str] {
        match self.shape {
            Shape::Single(_) => &["machine", "container"],
            Shape::Logs => &["machine", "container", "level"],
            Shape::Patterns => &["machine", "container", "pattern"],
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
        group: None,
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
        group: None,
    }
}

const fn network(index: usize) -> Family {
    Family {
        name: NETWORK[index].0,
        help: NETWORK[index].1,
        counter: true,
        shape: Shape::Network(index),
        group: Some(Group::Network),
    }
}

impl Family {
    /// The same family, in `group`.
    const fn of(self, group: Group) -> Family {
        Family {
            group: Some(group),
            ..self
        }
    }
}

/// `container_network_*` families, in the order of [`Interface`](crate::container::Interface)'s rx
/// then tx counters.
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

impl Group {
    /// The names of the families it adds, from the catalogue. (Beside the catalogue rather than
    /// the groups, so that the groups need not know the families that name them.)
    pub fn families(self) -> impl Iterator<Item = &'static str> {
        FAMILIES
            .iter()
            .filter(move |f| f.group == Some(self))
            .map(|f| f.name)
    }
}

/// Every per-container family (in any order: [`Table::new`](super::table::Table::new) sorts them
/// by name).
pub(super) static FAMILIES: [Family; 30] = [
    counter(
        "container_cpu_cfs_periods_total",
        "CPU limit enforcement periods that passed (containers with a CPU limit).",
        |s| s.cfs_periods.map(|v| v as f64),
    )
    .of(Group::Cpu),
    counter(
        "container_cpu_cfs_throttled_periods_total",
        "Enforcement periods in which the container was throttled.",
        |s| s.cfs_throttled_periods.map(|v| v as f64),
    )
    .of(Group::Cpu),
    counter(
        "container_cpu_cfs_throttled_seconds_total",
        "Time the container was throttled, in seconds.",
        |s| s.cfs_throttled_seconds,
    )
    .of(Group::Cpu),
    gauge(
        "container_cpu_usage_percent",
        "CPU used by the container, in cores: 1 means one full core.",
        |s| s.cpu_usage,
    ),
    counter(
        "container_cpu_usage_seconds_total",
        "CPU time used by the container since it started, in seconds.",
        |s| s.cpu_seconds,
    )
    .of(Group::Cpu),
    gauge(
        "container_cpus_available",
        "CPUs available to the container: its CPU limit, or the host's CPUs when it has none.",
        |s| s.cpus_available,
    ),
    gauge(
        "container_exit_code",
        "Exit code of a container that stopped (while its series are kept).",
        |s| s.exit_code,
    )
    .of(Group::State),
    counter(
        "container_fs_reads_bytes_total",
        "Bytes read from block devices, summed over devices.",
        |s| s.fs_reads.map(|v| v as f64),
    )
    .of(Group::Io),
    counter(
        "container_fs_writes_bytes_total",
        "Bytes written to block devices, summed over devices.",
        |s| s.fs_writes.map(|v| v as f64),
    )
    .of(Group::Io),
    Family {
        name: "container_health_status",
        help: "1 for the container's health check state (starting, healthy, unhealthy, none), 0 for the others.",
        counter: false,
        shape: Shape::Health,
        group: Some(Group::State),
    },
    Family {
        name: "container_info",
        help: "Always 1: the container's id, image and compose project and service, for joins.",
        counter: false,
        shape: Shape::Info,
        group: Some(Group::Info),
    },
    Family {
        name: "container_log_pattern_matches_total",
        help: "Log lines written by the container that matched a pattern of LOG_PATTERNS_PATH, by pattern.",
        counter: true,
        shape: Shape::Patterns,
        group: None,
    },
    Family {
        name: "container_logs_total",
        help: "Log lines written by the container, by level.",
        counter: true,
        shape: Shape::Logs,
        group: None,
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
    )
    .of(Group::Memory),
    gauge(
        "container_memory_working_set_bytes",
        "Memory used minus inactive file pages, as docker stats shows it.",
        |s| s.working_set,
    )
    .of(Group::Memory),
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
    )
    .of(Group::State),
    gauge(
        "container_pids",
        "Processes and threads in the container.",
        |s| s.pids,
    )
    .of(Group::State),
    gauge(
        "container_restarts",
        "Times the engine restarted the container (its restart policy).",
        |s| s.restarts,
    )
    .of(Group::State),
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
