//! One container's metrics: from its cgroup files when the host's tree is readable, else from the
//! engine's stats, with what inspect said (cached on the cgroup path) around them.
//!
//! Stats are asked without streaming; the first time for a container without `one-shot` (the engine
//! then waits for a second sample of its own and fills `precpu_stats`, so CPU is known at once),
//! later with `one-shot` against the sample kept from the previous collection, which halves the
//! engine's wait. What is kept of a container between collections is one [`ContainerState`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bollard::models::ContainerInspectResponse;
use tokio::sync::Semaphore;
use tracing::debug;

use super::client::Client;
use super::error::EngineError;
use super::stats::{self, CpuSample};
use super::CONSOLE_NAME;
use crate::container::{ContainerId, ContainerRef};
use crate::container::{ContainerInfo, ContainerMetrics};
use crate::host::cgroup::{self, CgroupStats, Cgroups};
use crate::say_once::Latch;

#[cfg(test)]
mod tests;

/// On the cgroup path a container is inspected again after this long (a `docker update --cpus`
/// shows then), or at once when it restarted (a new cgroup directory, or its CPU counter went back).
const INSPECT_REFRESH: Duration = Duration::from_secs(300);

/// How long apart the two first cgroup readings of a container are, for its first CPU figure (like
/// the engine's own two samples a second apart).
const FIRST_CPU_WINDOW: Duration = Duration::from_secs(1);

/// Inspect requests in flight at once, also bounded by the client's request slots: they answer in
/// milliseconds, so a few at a time keep up, where hundreds at once (a collector starting among 1000
/// containers) would each hold a connection and its buffers.
const INSPECTS_AT_ONCE: usize = 32;

/// Reads containers' metrics and remembers, per container, what the next reading needs.
#[derive(Debug)]
pub(super) struct Sampler {
    /// The host's cgroup tree, when stats are read from it.
    cgroups: Option<Cgroups>,
    /// CPUs online on the host, read once with the cgroup tree.
    online_cpus: u32,
    /// The host's /proc (PROC_ROOT), for the network counters on the cgroup path.
    proc_root: Option<std::path::PathBuf>,
    /// Said once: container processes are not visible under `proc_root`.
    proc_hidden: Latch,
    inspects: Semaphore,
    /// Everything kept of a container between collections, in one place.
    containers: Mutex<HashMap<ContainerId, ContainerState>>,
}

/// What is kept of one container between two collections of its metrics.
#[derive(Debug, Default)]
struct ContainerState {
    /// The engine's CPU counters at the previous collection.
    engine_cpu: Option<CpuSample>,
    /// CPU time and wall time of the previous cgroup reading.
    cgroup_cpu: Option<CpuSample>,
    /// What inspect said, while stats come from the cgroup files.
    inspected: Option<Inspected>,
}

/// The values of an inspect answer the metrics need.
#[derive(Debug, Clone)]
struct Inspected {
    at: Instant,
    started_at: Option<i64>,
    nano_cpus: Option<i64>,
    /// `Some(exit code)` when the container is not running.
    exited: Option<i64>,
    info: ContainerInfo,
    /// [`CgroupStats::generation`] when this answer was taken.
    cgroup: Option<u64>,
    /// `State.Pid` of a running container: its network counters are in that process's `net/dev`.
    pid: Option<i64>,
}

impl Inspected {
    fn from_answer(id: &ContainerId, inspect: &ContainerInspectResponse) -> Inspected {
        let state = inspect.state.as_ref();
        let labels = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
        let label = |key: &str| labels.and_then(|l| l.get(key)).cloned().unwrap_or_default();
        Inspected {
            at: Instant::now(),
            started_at: state
                .and_then(|s| s.started_at.as_deref())
                .and_then(stats::unix_seconds),
            nano_cpus: inspect.host_config.as_ref().and_then(|h| h.nano_cpus),
            exited: state
                .filter(|s| s.running == Some(false))
                .map(|s| s.exit_code.unwrap_or(0)),
            cgroup: None,
            pid: state.and_then(|s| s.pid).filter(|pid| *pid > 0),
            info: ContainerInfo {
                id: id.to_string(),
                image: inspect
                    .config
                    .as_ref()
                    .and_then(|c| c.image.clone())
                    .unwrap_or_default(),
                compose_project: label("com.docker.compose.project"),
                compose_service: label("com.docker.compose.service"),
                restart_count: inspect.restart_count,
                oom_killed: state.and_then(|s| s.oom_killed),
                health: state
                    .and_then(|s| s.health.as_ref())
                    .and_then(|h| h.status)
                    .map(|s| s.to_string())
                    .filter(|s| !s.is_empty() && s != "none"),
            },
        }
    }
}

/// A container's cgroup files, and its CPU time against the wall clock, read at one moment.
#[derive(Debug, Clone, Copy)]
struct CgroupReading {
    stats: CgroupStats,
    cpu: CpuSample,
}

/// Whether a container is inspected again on the cgroup path, given how old its cached answer is
/// (`None`: nothing cached). A health check's state changes any time, so such containers are
/// inspected every time; a restart changes StartedAt and maybe the limits.
fn inspect_again(age: Option<Duration>, health_check: bool, restarted: bool) -> bool {
    match age {
        None => true,
        Some(age) => restarted || health_check || age >= INSPECT_REFRESH,
    }
}

/// The previous CPU sample to measure from, unless there is none or the counter went back since
/// (the container restarted and its count began again).
fn usable_before(previous: Option<CpuSample>, now: CpuSample) -> Option<CpuSample> {
    previous.filter(|p| p.container_ns <= now.container_ns)
}

/// Whether the container restarted since it was inspected: its cgroup directory is not the one then
/// (`generation_then`), or its CPU counter cannot be measured from the previous reading.
fn restart_seen(
    generation_then: Option<u64>,
    generation_now: u64,
    previous: Option<CpuSample>,
    now: CpuSample,
) -> bool {
    generation_then != Some(generation_now) || usable_before(previous, now).is_none()
}

/// Nanoseconds on a monotonic clock that starts with the process (the first call).
pub(super) fn monotonic_ns() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl Sampler {
    /// Reads CPU and memory from `cgroups` for every container found in it; the others (and every
    /// container when `None`) are asked of the engine.
    pub(super) fn new(cgroups: Option<Cgroups>) -> Sampler {
        Sampler {
            online_cpus: if cgroups.is_some() {
                cgroup::online_cpus()
            } else {
                1
            },
            cgroups,
            proc_root: None,
            proc_hidden: Latch::new(),
            inspects: Semaphore::new(INSPECTS_AT_ONCE),
            containers: Mutex::new(HashMap::new()),
        }
    }

    /// The cgroup tree in use, if any.
    pub(super) fn cgroups(&self) -> Option<&Cgroups> {
        self.cgroups.as_ref()
    }

    /// Forgets every container for which `keep` says no. The one place a container is let go of.
    pub(super) fn forget_all_but(&self, keep: impl Fn(&ContainerId) -> bool) {
        self.state().retain(|id, _| keep(id));
    }

    fn state(&self) -> MutexGuard<'_, HashMap<ContainerId, ContainerState>> {
        self.containers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// One container's metrics. `Ok(None)` when there is nothing to report this cycle: the container
    /// is gone (404) or not running, or its stats came back empty or partial.
    pub(super) async fn metrics(
        &self,
        client: &Client,
        container: &ContainerRef,
    ) -> Result<Option<ContainerMetrics>, EngineError> {
        // On the cgroup path the files are read once, here; inspect is asked only when its cached
        // answer is old or the container restarted.
        let from_files = self.read_cgroup(&container.id);
        if from_files.is_none() {
            // From the engine, stats are asked at once beside inspect: the stats answer waits for
            // the engine's sampler (up to 1-2 s), the inspect answer comes meanwhile, so a
            // collection is one wait for the sampler, not the inspects' turns and then that wait.
            let previous = self.state().get(&container.id).and_then(|s| s.engine_cpu);
            let (inspected, stats) = tokio::join!(
                self.inspected(client, container, None),
                client.stats(&container.id, previous.is_some())
            );
            let Some(inspected) = inspected? else {
                return Ok(None);
            };
            if let Some(code) = inspected.exited {
                return Ok(Some(exited(code, inspected)));
            }
            return self.engine_metrics(container, inspected, previous, stats);
        }
        let Some(inspected) = self.inspected(client, container, from_files).await? else {
            return Ok(None);
        };
        if let Some(code) = inspected.exited {
            return Ok(Some(exited(code, inspected)));
        }
        if let Some(reading) = from_files {
            if let Some(m) = self
                .metrics_from_cgroup(container, reading, &inspected)
                .await
            {
                return Ok(Some(ContainerMetrics {
                    info: inspected.info,
                    ..m
                }));
            }
        }
        self.metrics_from_engine(client, container, inspected).await
    }

    /// The container's cgroup files read now; `None` when there is no tree or it is not in it.
    fn read_cgroup(&self, id: &ContainerId) -> Option<CgroupReading> {
        let stats = self.cgroups.as_ref()?.read(id.as_str())?;
        let cpu = CpuSample {
            container_ns: stats.cpu_ns,
            system_ns: monotonic_ns(),
        };
        Some(CgroupReading { stats, cpu })
    }

    /// What inspect says of the container, from the cache when it still holds; `None` when the
    /// container is gone.
    async fn inspected(
        &self,
        client: &Client,
        container: &ContainerRef,
        reading: Option<CgroupReading>,
    ) -> Result<Option<Inspected>, EngineError> {
        if let Some(cached) = reading.and_then(|r| self.cached_inspect(&container.id, r)) {
            return Ok(Some(cached));
        }
        let answer = {
            let _turn = self.inspects.acquire().await;
            match client.inspect(&container.id).await {
                Ok(answer) => answer,
                Err(e) if e.is_gone() => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        let mut entry = Inspected::from_answer(&container.id, &answer);
        entry.cgroup = reading.map(|r| r.stats.generation);
        if self.cgroups.is_some() && entry.exited.is_none() {
            self.state()
                .entry(container.id.clone())
                .or_default()
                .inspected = Some(entry.clone());
        }
        Ok(Some(entry))
    }

    /// The cached inspect answer, unless it is to be asked again (then it is dropped). A restart
    /// also drops the previous cgroup sample, so the first CPU figure is measured afresh.
    fn cached_inspect(&self, id: &ContainerId, reading: CgroupReading) -> Option<Inspected> {
        let mut state = self.state();
        let container = state.get_mut(id)?;
        let cached = container.inspected.as_ref()?;
        let restarted = restart_seen(
            cached.cgroup,
            reading.stats.generation,
            container.cgroup_cpu,
            reading.cpu,
        );
        if restarted {
            container.cgroup_cpu = None;
        }
        let health_check = cached.info.health.is_some();
        if inspect_again(Some(cached.at.elapsed()), health_check, restarted) {
            container.inspected = None;
            return None;
        }
        Some(cached.clone())
    }

    /// The metrics from the cgroup files; `None` when the container left the tree meanwhile (the
    /// engine is asked instead). A container seen for the first time (or whose CPU counter went
    /// back: a restart) is read twice, a second apart, so its first CPU figure is there at once.
    async fn metrics_from_cgroup(
        &self,
        container: &ContainerRef,
        first: CgroupReading,
        inspected: &Inspected,
    ) -> Option<ContainerMetrics> {
        let previous = self.state().get(&container.id).and_then(|s| s.cgroup_cpu);
        let (before, now) = match usable_before(previous, first.cpu) {
            Some(before) => (before, first),
            None => {
                tokio::time::sleep(FIRST_CPU_WINDOW).await;
                (first.cpu, self.read_cgroup(&container.id)?)
            }
        };
        self.state()
            .entry(container.id.clone())
            .or_default()
            .cgroup_cpu = Some(now.cpu);
        let mut metrics = cgroup_metrics(now, before, inspected, self.online_cpus);
        metrics.extras.interfaces = self.interfaces(container, inspected.pid);
        Some(metrics)
    }

    /// The container's network counters from PROC_ROOT, if its process is visible there (said once
    /// when it is not: the network families then stay away on this path).
    fn interfaces(
        &self,
        container: &ContainerRef,
        pid: Option<i64>,
    ) -> Vec<crate::container::Interface> {
        let (Some(root), Some(pid)) = (&self.proc_root, pid) else {
            return Vec::new();
        };
        match crate::host::netdev::read(root, pid) {
            Some(interfaces) => interfaces,
            None => {
                if self.proc_hidden.first() {
                    tracing::info!(
                        target: CONSOLE_NAME,
                        "{}: its process {pid} is not visible under PROC_ROOT {}: network counters need the host's /proc mounted there (said once)",
                        container.name,
                        root.display()
                    );
                }
                Vec::new()
            }
        }
    }

    /// Network counters on the cgroup path come from `proc_root` (the host's /proc).
    pub(super) fn set_proc_root(&mut self, proc_root: Option<std::path::PathBuf>) {
        self.proc_root = proc_root;
    }

    /// The metrics from the engine's stats.
    async fn metrics_from_engine(
        &self,
        client: &Client,
        container: &ContainerRef,
        inspected: Inspected,
    ) -> Result<Option<ContainerMetrics>, EngineError> {
        let previous = self.state().get(&container.id).and_then(|s| s.engine_cpu);
        let stats = client.stats(&container.id, previous.is_some()).await;
        self.engine_metrics(container, inspected, previous, stats)
    }

    /// The metrics of a stats answer (or its failure), measured from `previous` unless the answer
    /// carries the engine's own previous sample.
    fn engine_metrics(
        &self,
        container: &ContainerRef,
        inspected: Inspected,
        previous: Option<CpuSample>,
        stats: Result<Option<Box<bollard::models::ContainerStatsResponse>>, EngineError>,
    ) -> Result<Option<ContainerMetrics>, EngineError> {
        let response = match stats {
            Ok(Some(response)) => response,
            Ok(None) => {
                let name = &container.name;
                debug!(target: CONSOLE_NAME, "{name}: empty stats, skipped this cycle");
                return Ok(None);
            }
            Err(e) if e.is_gone() => return Ok(None),
            Err(e) if e.is_unreadable() => {
                debug!(
                    target: CONSOLE_NAME,
                    "{}: unreadable stats ({e}), skipped this cycle",
                    container.name
                );
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let reading = match stats::reading(&response) {
            Ok(r) => r,
            Err(e) => {
                let name = &container.name;
                debug!(target: CONSOLE_NAME, "{name}: {e}, skipped this cycle");
                return Ok(None);
            }
        };
        let cpu_cores = reading
            .precpu
            .or(previous)
            .map(|before| stats::cpu_cores(reading.cpu, before, reading.online_cpus));
        self.state()
            .entry(container.id.clone())
            .or_default()
            .engine_cpu = Some(reading.cpu);
        Ok(Some(ContainerMetrics {
            started_at: inspected.started_at,
            collected_at: chrono::Utc::now().timestamp(),
            memory_used: reading.memory_usage,
            memory_limit: reading.memory_limit,
            cpu_cores,
            cpus_available: stats::cpus_available(inspected.nano_cpus, reading.online_cpus),
            cpu_seconds: Some(reading.cpu.container_ns as f64 / 1e9),
            extras: stats::extras(&response),
            info: inspected.info,
            exited: None,
        }))
    }
}

/// What is reported of a container that is not running: its exit code and its info.
fn exited(code: i64, inspected: Inspected) -> ContainerMetrics {
    ContainerMetrics {
        exited: Some(code),
        info: inspected.info,
        ..Default::default()
    }
}

/// The metrics of a cgroup reading, measured from the CPU sample `before`. Wall time stands for the
/// engine's system CPU time divided by the CPUs: cores in use are CPU time over wall time. The
/// container's info is the caller's to add.
fn cgroup_metrics(
    now: CgroupReading,
    before: CpuSample,
    inspected: &Inspected,
    online_cpus: u32,
) -> ContainerMetrics {
    let reading = now.stats;
    ContainerMetrics {
        started_at: inspected.started_at,
        collected_at: chrono::Utc::now().timestamp(),
        memory_used: reading.memory_usage,
        memory_limit: reading.memory_limit,
        cpu_cores: Some(stats::cpu_cores(now.cpu, before, 1)),
        cpus_available: stats::cpus_available(inspected.nano_cpus, online_cpus),
        cpu_seconds: Some(reading.cpu_ns as f64 / 1e9),
        extras: stats::Extras {
            inactive_file: Some(reading.inactive_file),
            pids: reading.pids,
            throttling: reading.throttling,
            io_bytes: reading.io_bytes,
            interfaces: Vec::new(),
        },
        info: ContainerInfo::default(),
        exited: None,
    }
}
