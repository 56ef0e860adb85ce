//! What the collector knows of one container: shared by the engine side that reads it and the
//! metrics and logs sides that use it.
//!
//! Pure data, no behaviour: the engine side fills these values in from inspect, stats and the
//! cgroup files; the metrics side turns them into series by its own rules.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

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

/// A container's name as Docker gives it, without the leading `/`: the `container` label of its
/// series, its directory under LOGS_DIR, the key of what the metrics, logs and web sides keep of
/// it. Unlike its [`ContainerId`], a name can pass to a container created again under it, which is
/// why the files and series, kept by name, go on across such a change.
///
/// Saying what a value is, not checking it: whether a name may become a path is
/// [`is_safe_name`](crate::logs::is_safe_name)'s to say. It serializes as the plain string, so the
/// cursor file and the browser's JSON read as they did before the type existed; `Borrow<str>` lets
/// a map keyed by names be looked up with the `&str` of a URL or of the public API.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContainerName(String);

impl ContainerName {
    /// The name as the engine wrote it, without the leading `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for ContainerName {
    fn from(name: String) -> ContainerName {
        ContainerName(name)
    }
}

impl From<&str> for ContainerName {
    fn from(name: &str) -> ContainerName {
        ContainerName(name.to_string())
    }
}

impl Borrow<str> for ContainerName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A container to visit this tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerRef {
    /// The engine's full id.
    pub id: ContainerId,
    /// Its name: the `container` label and the log directory's name.
    pub name: ContainerName,
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use super::*;

    #[test]
    fn maps_keyed_by_names_are_looked_up_by_str() {
        let mut hashed: HashMap<ContainerName, u32> = HashMap::new();
        hashed.insert(ContainerName::from("web"), 1);
        assert_eq!(hashed.get("web"), Some(&1));
        assert_eq!(hashed.get("api"), None);
        assert_eq!(hashed.remove("web"), Some(1));

        let sorted: BTreeMap<ContainerName, u32> =
            [("b", 2), ("a", 1)].map(|(n, v)| (n.into(), v)).into();
        assert_eq!(sorted.get("a"), Some(&1));
        let order: Vec<&str> = sorted.keys().map(ContainerName::as_str).collect();
        assert_eq!(order, ["a", "b"], "names sort as their strings do");

        let set: HashSet<ContainerName> = HashSet::from([ContainerName::from(String::from("db"))]);
        assert!(set.contains("db"));
    }

    #[test]
    fn a_name_shows_and_serializes_as_its_plain_string() {
        let name = ContainerName::from("my-app.1");
        assert_eq!(name.to_string(), "my-app.1");
        assert_eq!(format!("{name}: gone"), "my-app.1: gone");
        assert_eq!(name.as_str(), "my-app.1");
        assert_eq!(
            serde_json::to_string(&name).expect("serializes"),
            r#""my-app.1""#
        );
        let keyed: HashMap<ContainerName, u32> =
            serde_json::from_str(r#"{"web": 3}"#).expect("a map keyed by names deserializes");
        assert_eq!(keyed.get("web"), Some(&3));
    }
}
