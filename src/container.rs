//! What the collector knows of one container: shared by the engine side that reads it and the
//! metrics and logs sides that use it.
//!
//! Pure data, no behaviour: the engine side fills these values in from inspect, stats and the
//! cgroup files; the metrics side turns them into series by its own rules.

use std::fmt;

/// The engine's full id of a container (64 hex digits). A name can pass from one container to the
/// next (a recreated service); the id cannot, so what is remembered of a container is keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

impl ContainerId {
    /// The id as the engine wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, as `docker ps` shows them: the name of a container the engine
    /// listed without one.
    pub fn short(&self) -> String {
        self.0.chars().take(12).collect()
    }
}

impl From<String> for ContainerId {
    fn from(id: String) -> ContainerId {
        ContainerId(id)
    }
}

impl From<&str> for ContainerId {
    fn from(id: &str) -> ContainerId {
        ContainerId(id.to_string())
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A container to visit this tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerRef {
    /// The engine's full id.
    pub id: ContainerId,
    /// Its name without the leading `/`: the `container` label and the log directory's name.
    pub name: String,
    /// Whether it was in this tick's list of running containers (false: it was running at the previous
    /// tick and is visited once more so its last lines are not lost).
    pub running: bool,
}

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

/// The numbers of a stats answer beyond the reference families, each absent when the engine left it
/// out (cgroup v2 and v1 fill different fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extras {
    /// `memory_stats.stats.total_inactive_file` (v1) or `inactive_file` (v2).
    pub inactive_file: Option<u64>,
    /// `pids_stats.current`.
    pub pids: Option<u64>,
    /// `cpu_stats.throttling_data`.
    pub throttling: Option<Throttling>,
    /// `networks`, sorted by interface name.
    pub interfaces: Vec<Interface>,
    /// Bytes read and written, summed over devices (`Read`/`Write`, or `read`/`write` on v2).
    pub io_bytes: Option<(u64, u64)>,
}

/// One network interface's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// Its name inside the container (`eth0`).
    pub name: String,
    /// Bytes, packets, errors and dropped packets received.
    pub rx: [u64; 4],
    /// Bytes, packets, errors and dropped packets sent.
    pub tx: [u64; 4],
}

/// CFS throttling counters of a container with a CPU limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throttling {
    /// Enforcement periods that passed.
    pub periods: u64,
    /// Periods in which the container was throttled.
    pub throttled_periods: u64,
    /// Time it was throttled, nanoseconds.
    pub throttled_ns: u64,
}
