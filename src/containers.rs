//! Everything the collector asks the Docker Engine: which containers to visit, their metrics, their
//! logs. Read-only: only GET requests to `/version`, `/containers/json`, `/containers/{id}/json`,
//! `/containers/{id}/stats` and `/containers/{id}/logs`.
//!
//! Requests in flight are bounded by MAX_CONCURRENT_REQUESTS. Stats are asked without streaming; the
//! first time for a container without `one-shot` (the engine then waits for a second sample of its own
//! and fills `precpu_stats`, so CPU is known at once), later with `one-shot` against the sample this
//! collector kept from the previous collection, which halves the engine's wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{ListContainersOptions, LogsOptions, StatsOptions};
use bollard::Docker;
use futures_util::{Stream, StreamExt};
use tokio::sync::{watch, Semaphore};
use tracing::{debug, error, info};

use crate::cgroup::{self, CgroupStats, Cgroups};
use crate::container::{ContainerInfo, ContainerMetrics};
use crate::filter::Filter;
use crate::stats::{self, CpuSample};

/// A container to visit this tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerRef {
    /// The engine's full id.
    pub id: String,
    /// Its name without the leading `/`: the `container` label and the log directory's name.
    pub name: String,
    /// Whether it was in this tick's list of running containers (false: it was running at the previous
    /// tick and is visited once more so its last lines are not lost).
    pub running: bool,
}

/// Errors talking to the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// DOCKER_HOST could not be used.
    #[error("cannot use DOCKER_HOST {host}: {source}")]
    Host {
        /// The address given.
        host: String,
        /// Why.
        source: BollardError,
    },
    /// A request failed.
    #[error("{}", with_causes(.0))]
    Request(#[from] BollardError),
    /// The engine took longer than ENGINE_TIMEOUT.
    #[error("no answer within ENGINE_TIMEOUT")]
    Timeout,
}

/// An error and its causes on one line: bollard's own text ("client error (Connect)") rarely says why.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The `kind` label of `collector_engine_errors_total` for a failed request.
pub fn error_kind(e: &BollardError) -> &'static str {
    match e {
        BollardError::DockerResponseServerError { .. } => "status",
        BollardError::JsonSerdeError { .. } | BollardError::JsonDataError { .. } => "decode",
        BollardError::RequestTimeoutError => "timeout",
        BollardError::IOError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::HyperLegacyError { .. } => "connection",
        _ => "other",
    }
}

impl EngineError {
    /// The `kind` label of `collector_engine_errors_total`: connection, timeout, status, decode or
    /// other.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::Host { .. } => "connection",
            EngineError::Timeout => "timeout",
            EngineError::Request(e) => error_kind(e),
        }
    }

    /// True when the engine said the container does not exist (any more).
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            EngineError::Request(BollardError::DockerResponseServerError {
                status_code: 404,
                ..
            })
        )
    }
}

/// A 404 from the engine: the container was removed between the list and this request.
fn is_not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The engine client and what the collector remembers between ticks.
#[derive(Debug)]
pub struct Containers {
    docker: Docker,
    requests: Arc<Semaphore>,
    /// Inspects in flight, also bounded by `requests`: they answer in milliseconds, so a few at a time
    /// keep up, where hundreds at once (a collector starting among 1000 containers) would each hold
    /// a connection and its buffers.
    inspects: Semaphore,
    /// Running at the previous tick: id -> container.
    running_before: HashMap<String, ContainerRef>,
    /// The CPU counters of the previous metrics collection, per container id.
    samples: Mutex<HashMap<String, CpuSample>>,
    /// The host's cgroup tree, when stats are read from it.
    cgroups: Option<Cgroups>,
    /// CPU time and wall time of the previous cgroup reading, per container id.
    cgroup_samples: Mutex<HashMap<String, CpuSample>>,
    /// What inspect said, per container id, while stats come from the cgroup files.
    inspected: Mutex<HashMap<String, Inspected>>,
    /// Which containers are watched.
    filter: Filter,
    /// CPUs online on the host, read once with the cgroup tree.
    online_cpus: u32,
}

/// A container's cgroup files and its CPU sample against the wall clock, read now.
fn cgroup_reading(cgroups: &Cgroups, id: &str) -> Option<(CgroupStats, CpuSample)> {
    let s = cgroups.read(id)?;
    let sample = CpuSample {
        container_ns: s.cpu_ns,
        system_ns: monotonic_ns(),
    };
    Some((s, sample))
}

/// The values of an inspect answer the metrics need.
#[derive(Debug, Clone)]
struct Inspected {
    at: std::time::Instant,
    started_at: Option<i64>,
    nano_cpus: Option<i64>,
    /// `Some(exit code)` when the container is not running.
    exited: Option<i64>,
    info: ContainerInfo,
    /// [`CgroupStats::generation`] when this answer was taken.
    cgroup: Option<u64>,
}

impl Inspected {
    fn from_answer(id: &str, inspect: &bollard::models::ContainerInspectResponse) -> Inspected {
        let state = inspect.state.as_ref();
        let labels = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
        let label = |key: &str| labels.and_then(|l| l.get(key)).cloned().unwrap_or_default();
        Inspected {
            at: std::time::Instant::now(),
            started_at: state
                .and_then(|s| s.started_at.as_deref())
                .and_then(stats::unix_seconds),
            nano_cpus: inspect.host_config.as_ref().and_then(|h| h.nano_cpus),
            exited: state
                .filter(|s| s.running == Some(false))
                .map(|s| s.exit_code.unwrap_or(0)),
            cgroup: None,
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

/// On the cgroup path a container is inspected again after this long (a `docker update --cpus`
/// shows then), or at once when it restarted (a new cgroup directory, or its CPU counter went back).
const INSPECT_REFRESH: Duration = Duration::from_secs(300);

/// Nanoseconds on a monotonic clock that starts with the process.
fn monotonic_ns() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// How long apart the two first cgroup readings of a container are, for its first CPU figure (like
/// the engine's own two samples a second apart).
const FIRST_CPU_WINDOW: Duration = Duration::from_secs(1);

/// Inspect requests in flight at once (see [`Containers`]).
const INSPECTS_AT_ONCE: usize = 32;

/// Idle connections to the engine kept open for the next requests. bollard's own clients open a
/// connection per request; a tick of 1000 containers makes thousands of requests, so reusing
/// connections saves the collector (and the engine) a connect and its buffers each time.
const IDLE_CONNECTIONS: usize = 32;

/// A client for DOCKER_HOST (`unix://` or `tcp://`, see [`crate::config`]) whose every request gives
/// up after `timeout` (not connected yet). Connections are kept alive between requests.
fn client(docker_host: &str, timeout: Duration) -> Result<Docker, EngineError> {
    let host_error = |source| EngineError::Host {
        host: docker_host.to_string(),
        source,
    };
    let mut builder =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new());
    builder
        .pool_max_idle_per_host(IDLE_CONNECTIONS)
        .pool_timer(hyper_util::rt::TokioTimer::new());
    let seconds = timeout.as_secs().max(1);
    let docker = if let Some(path) = docker_host.strip_prefix("unix://") {
        if !std::path::Path::new(path).exists() {
            return Err(host_error(BollardError::SocketNotFoundError(
                path.to_string(),
            )));
        }
        // hyperlocal finds the socket's path in the host part, hex-encoded.
        let hex: String = path.bytes().map(|b| format!("{b:02x}")).collect();
        keep_alive(
            &builder,
            hyperlocal::UnixConnector,
            format!("unix://{hex}"),
            seconds,
        )
    } else if let Some(address) = docker_host
        .strip_prefix("tcp://")
        .or_else(|| docker_host.strip_prefix("http://"))
    {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        keep_alive(&builder, connector, format!("http://{address}"), seconds)
    } else {
        Docker::connect_with_host(docker_host)
    };
    Ok(docker.map_err(host_error)?.with_timeout(timeout))
}

/// A bollard client whose requests go through a client of `builder` (which keeps connections
/// alive) made with `connector`, to `address`, each giving up after `seconds`.
fn keep_alive<C>(
    builder: &hyper_util::client::legacy::Builder,
    connector: C,
    address: String,
    seconds: u64,
) -> Result<Docker, BollardError>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let client = Arc::new(builder.build(connector));
    Docker::connect_with_custom_transport(
        move |request: bollard::BollardRequest| {
            let client = client.clone();
            async move { Ok(client.request(request).await?) }
        },
        Some(address),
        seconds,
        bollard::API_DEFAULT_VERSION,
    )
}

/// A random whole number of seconds from 1 to 5, for the pause between connection attempts.
fn retry_pause() -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    Duration::from_secs(1 + h.finish() % 5)
}

impl Containers {
    /// Wraps an engine client that is already connected (for embedding and tests).
    pub fn new(docker: Docker, max_concurrent_requests: usize) -> Containers {
        Containers {
            docker,
            requests: Arc::new(Semaphore::new(max_concurrent_requests.max(1))),
            inspects: Semaphore::new(INSPECTS_AT_ONCE),
            running_before: HashMap::new(),
            samples: Mutex::new(HashMap::new()),
            cgroups: None,
            cgroup_samples: Mutex::new(HashMap::new()),
            inspected: Mutex::new(HashMap::new()),
            filter: Filter::default(),
            online_cpus: 1,
        }
    }

    /// Reads CPU and memory from this cgroup tree for every container found in it; the others (and
    /// every container when `None`) keep asking the engine.
    pub fn with_cgroups(mut self, cgroups: Option<Cgroups>) -> Containers {
        if cgroups.is_some() {
            self.online_cpus = cgroup::online_cpus();
        }
        self.cgroups = cgroups;
        self
    }

    /// Watches only the containers `filter` lets through.
    pub fn with_filter(mut self, filter: Filter) -> Containers {
        self.filter = filter;
        self
    }

    /// The cgroup tree in use, if any.
    pub fn cgroups(&self) -> Option<&Cgroups> {
        self.cgroups.as_ref()
    }

    /// Connects to the engine at `docker_host` (unix:// or tcp://), negotiating the API version, and
    /// retries forever with a random 1-5 s pause until it answers. Returns `None` if `shutdown` turns
    /// true first.
    pub async fn connect(
        docker_host: &str,
        max_concurrent_requests: usize,
        timeout: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<Containers>, EngineError> {
        let client = client(docker_host, timeout)?;
        info!("Trying to get client...");
        loop {
            let attempt = async {
                let docker = client.clone().negotiate_version().await?;
                let version = docker.version().await?;
                Ok::<_, BollardError>((docker, version))
            };
            let result = tokio::select! {
                r = attempt => r,
                _ = shutdown.wait_for(|stop| *stop) => return Ok(None),
            };
            match result {
                Ok((docker, version)) => {
                    let pretty =
                        serde_json::to_string_pretty(&version).unwrap_or_else(|e| e.to_string());
                    info!("Client connected, docker version: {pretty}");
                    return Ok(Some(Containers::new(docker, max_concurrent_requests)));
                }
                Err(e) => {
                    let pause = retry_pause();
                    error!(
                        "Cannot connect to the Docker Engine at {docker_host}: {}; trying again in {} s",
                        with_causes(&e),
                        pause.as_secs()
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return Ok(None),
                    }
                }
            }
        }
    }

    /// Connects once (for `--once`): an engine that does not answer is an error, not a retry.
    pub async fn connect_once(
        docker_host: &str,
        max_concurrent_requests: usize,
        timeout: Duration,
    ) -> Result<Containers, EngineError> {
        let docker = client(docker_host, timeout)?.negotiate_version().await?;
        Ok(Containers::new(docker, max_concurrent_requests))
    }

    /// The engine client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The containers to visit this tick: those running now, and those that were running at the
    /// previous tick but are not any more (visited once more so their last lines are not lost).
    pub async fn to_visit(&mut self) -> Result<Vec<ContainerRef>, EngineError> {
        let listed = {
            let _permit = self.requests.acquire().await;
            self.docker
                .list_containers(Some(ListContainersOptions {
                    all: false,
                    ..Default::default()
                }))
                .await?
        };
        let mut running = HashMap::with_capacity(listed.len());
        let no_labels = HashMap::new();
        for summary in listed {
            let Some(id) = summary.id else { continue };
            let name = summary
                .names
                .and_then(|names| names.into_iter().next())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_else(|| id.chars().take(12).collect());
            if !self
                .filter
                .watches(&name, summary.labels.as_ref().unwrap_or(&no_labels))
            {
                continue;
            }
            running.insert(
                id.clone(),
                ContainerRef {
                    id,
                    name,
                    running: true,
                },
            );
        }
        let mut visit: Vec<ContainerRef> = running.values().cloned().collect();
        let running_names: std::collections::HashSet<&str> =
            running.values().map(|c| c.name.as_str()).collect();
        for (id, before) in &self.running_before {
            // A name taken by a new container now (a recreated service) belongs to the new one.
            if !running.contains_key(id) && !running_names.contains(before.name.as_str()) {
                visit.push(ContainerRef {
                    running: false,
                    ..before.clone()
                });
            }
        }
        visit.sort_by(|a, b| a.name.cmp(&b.name));
        self.running_before = running;
        Ok(visit)
    }

    /// Treats these containers (id, name) as running at the previous tick, so the next tick visits
    /// those that are not running any more once (used at start with the containers of the last run).
    pub fn assume_running_before(
        &mut self,
        containers: impl IntoIterator<Item = (String, String)>,
    ) {
        for (id, name) in containers {
            self.running_before
                .entry(id.clone())
                .or_insert(ContainerRef {
                    id,
                    name,
                    running: true,
                });
        }
    }

    /// Forgets the CPU samples of containers that are not running any more.
    pub fn forget_gone(&self) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        samples.retain(|id, _| self.running_before.contains_key(id));
        drop(samples);
        self.cgroup_samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| self.running_before.contains_key(id));
        self.inspected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| self.running_before.contains_key(id));
    }

    /// One container's metrics. `Ok(None)` when there is nothing to report this cycle: the container
    /// is gone (404) or not running, or its stats came back empty or partial.
    pub async fn metrics(
        &self,
        container: &ContainerRef,
    ) -> Result<Option<ContainerMetrics>, EngineError> {
        // On the cgroup path the files are read once, here; inspect is asked only when its cached
        // answer is old or the container restarted.
        let from_files = self.cgroups.as_ref().and_then(|cg| {
            let (s, sample) = cgroup_reading(cg, &container.id)?;
            Some((cg, s, sample))
        });
        let cached = from_files.as_ref().and_then(|(_, reading, now)| {
            let mut inspected = self
                .inspected
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let entry = inspected.get(&container.id).cloned()?;
            let mut samples = self
                .cgroup_samples
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A new cgroup directory or a CPU counter that went back: the container restarted.
            let restarted = entry.cgroup != Some(reading.generation)
                || samples
                    .get(&container.id)
                    .is_none_or(|before| now.container_ns < before.container_ns);
            if restarted {
                samples.remove(&container.id);
            }
            // A health check's state changes any time: such containers are inspected every time.
            if restarted || entry.at.elapsed() >= INSPECT_REFRESH || entry.info.health.is_some() {
                inspected.remove(&container.id);
                return None;
            }
            Some(entry)
        });
        let Inspected {
            started_at,
            nano_cpus,
            exited,
            info,
            ..
        } = match cached {
            Some(entry) => entry,
            None => {
                let inspect = {
                    let _turn = self.inspects.acquire().await;
                    let _permit = self.requests.acquire().await;
                    // Boxed, like the stats call below: only a container not inspected yet makes
                    // it, and 1000 containers' futures would otherwise each carry its space.
                    let answer = Box::pin(self.docker.inspect_container(&container.id, None));
                    match answer.await {
                        Ok(i) => i,
                        Err(e) if is_not_found(&e) => return Ok(None),
                        Err(e) => return Err(e.into()),
                    }
                };
                let mut entry = Inspected::from_answer(&container.id, &inspect);
                entry.cgroup = from_files
                    .as_ref()
                    .map(|(_, reading, _)| reading.generation);
                if self.cgroups.is_some() && entry.exited.is_none() {
                    self.inspected
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(container.id.clone(), entry.clone());
                }
                entry
            }
        };
        if let Some(code) = exited {
            return Ok(Some(ContainerMetrics {
                exited: Some(code),
                info,
                ..Default::default()
            }));
        }
        if let Some((cgroups, reading, now)) = from_files {
            if let Some(m) = self
                .metrics_from_cgroup(cgroups, container, (reading, now), started_at, nano_cpus)
                .await
            {
                return Ok(Some(ContainerMetrics { info, ..m }));
            }
        }
        let previous = self
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&container.id)
            .copied();
        let answer = {
            let _permit = self.requests.acquire().await;
            let options = StatsOptions {
                stream: false,
                one_shot: previous.is_some(),
            };
            Box::pin(self.docker.stats(&container.id, Some(options)))
                .next()
                .await
        };
        let response = match answer {
            Some(Ok(r)) => r,
            None => {
                debug!("{}: empty stats, skipped this cycle", container.name);
                return Ok(None);
            }
            Some(Err(e)) if is_not_found(&e) => return Ok(None),
            Some(Err(
                e @ (BollardError::JsonSerdeError { .. } | BollardError::JsonDataError { .. }),
            )) => {
                debug!(
                    "{}: unreadable stats ({e}), skipped this cycle",
                    container.name
                );
                return Ok(None);
            }
            Some(Err(e)) => return Err(e.into()),
        };
        let reading = match stats::reading(&response) {
            Ok(r) => r,
            Err(e) => {
                debug!("{}: {e}, skipped this cycle", container.name);
                return Ok(None);
            }
        };
        let cpu_cores = reading
            .precpu
            .or(previous)
            .map(|before| stats::cpu_cores(reading.cpu, before, reading.online_cpus));
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(container.id.clone(), reading.cpu);
        Ok(Some(ContainerMetrics {
            started_at,
            collected_at: chrono::Utc::now().timestamp(),
            memory_used: reading.memory_usage,
            memory_limit: reading.memory_limit,
            cpu_cores,
            cpus_available: stats::cpus_available(nano_cpus, reading.online_cpus),
            cpu_seconds: Some(reading.cpu.container_ns as f64 / 1e9),
            extras: stats::extras(&response),
            info,
            exited: None,
        }))
    }

    /// One container's metrics from its cgroup files; `None` when its cgroup is not in the tree (the
    /// engine is asked instead). A container seen for the first time (or whose CPU counter went
    /// back: a restart) is read twice, a second apart, so its first CPU figure is there at once.
    async fn metrics_from_cgroup(
        &self,
        cgroups: &Cgroups,
        container: &ContainerRef,
        first_reading: (CgroupStats, CpuSample),
        started_at: Option<i64>,
        nano_cpus: Option<i64>,
    ) -> Option<ContainerMetrics> {
        let (mut reading, mut now) = first_reading;
        let previous = self
            .cgroup_samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&container.id)
            .copied()
            .filter(|p| p.container_ns <= now.container_ns);
        let before = match previous {
            Some(p) => p,
            None => {
                tokio::time::sleep(FIRST_CPU_WINDOW).await;
                let first = now;
                (reading, now) = cgroup_reading(cgroups, &container.id)?;
                first
            }
        };
        self.cgroup_samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(container.id.clone(), now);
        // Wall time stands for the engine's system CPU time divided by the CPUs: cores in use are
        // CPU time over wall time.
        let cores = stats::cpu_cores(now, before, 1);
        Some(ContainerMetrics {
            started_at,
            collected_at: chrono::Utc::now().timestamp(),
            memory_used: reading.memory_usage,
            memory_limit: reading.memory_limit,
            cpu_cores: Some(cores),
            cpus_available: stats::cpus_available(nano_cpus, self.online_cpus),
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
        })
    }

    /// The container's stdout and stderr entries from `since` (unix seconds, inclusive) on, with the
    /// engine's timestamps, as the client decodes them; with `tail`, only those among the last `tail`
    /// entries of its log (the engine takes the last entries, then drops those before `since`). The
    /// stream holds one of the request slots until it is dropped.
    pub async fn logs(
        &self,
        container: &ContainerRef,
        since: i64,
        tail: Option<usize>,
    ) -> impl Stream<Item = Result<LogOutput, BollardError>> + Send + Unpin + 'static {
        let permit = self.requests.clone().acquire_owned().await;
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            timestamps: true,
            since: i32::try_from(since.max(0)).unwrap_or(i32::MAX),
            tail: tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
            ..Default::default()
        };
        self.docker
            .logs(&container.id, Some(options))
            .map(move |item| {
                let _slot = &permit;
                item
            })
    }
}
