//! The loop: every LOGS_COLLECTION_INTERVAL list the containers, collect metrics when
//! METRICS_COLLECTION_INTERVAL has passed, collect logs, mark the loop's end, write the LAST_* files.
//! Ends within a second of the shutdown signal, after flushing the log files and their cursors.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::config::{Config, MappingSource};
use crate::container::{ContainerName, ContainerRef};
use crate::engine::{AtOnce, Containers, EngineError};
use crate::http::auth::{AuthError, Users};
use crate::http::server::Limits;
use crate::logs::levels::{Level, LevelMapping, LevelsError};
use crate::logs::patterns::{LogPatterns, PatternsError};
use crate::logs::{
    write_atomically, Budget, LogFiles, LogsDir, LogsError, LogsExporter, LogsReport,
};
use crate::metrics::{Collection, MetricsError, MetricsExporter};
use crate::say_once::{Latch, Say};
use crate::shutdown::Shutdown;
use crate::web::{Board, Figures, IndexFiles, Web};

/// Why the collector could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The level mapping file is missing or malformed.
    #[error("LOG_LEVELS_MAPPING_PATH: {0}")]
    Mapping(#[from] LevelsError),
    /// The log patterns file is missing or malformed.
    #[error("LOG_PATTERNS_PATH: {0}")]
    Patterns(#[from] PatternsError),
    /// LOGS_DIR cannot be used.
    #[error(transparent)]
    Logs(#[from] LogsError),
    /// The metric families cannot be set up.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// DOCKER_HOST cannot be used.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// WEB_CONFIG_FILE cannot be used.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The logs browser's port cannot be opened.
    #[error("WEB_PORT {port} cannot be opened: {source}")]
    WebListen {
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// The Prometheus port cannot be opened.
    #[error("METRICS_EXPORTER_PORT {port} cannot be opened: {source}")]
    Listen {
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
}

impl CollectorError {
    /// True when the error comes from a setting the user can fix (exit code 2).
    pub fn is_setting(&self) -> bool {
        match self {
            CollectorError::Metrics(_) => false,
            CollectorError::Engine(e) => matches!(e, EngineError::Host { .. }),
            _ => true,
        }
    }
}

/// The engine client set up as the settings say: the cgroup tree to read stats from, the filter.
fn watched(containers: Containers, config: &Config) -> Containers {
    containers
        .with_cgroups(
            config
                .cgroup_root
                .as_deref()
                .and_then(crate::host::cgroup::Cgroups::open),
        )
        .with_proc_root(config.proc_root.clone())
        .with_filter(config.filter.clone())
}

/// `--once`: one metrics collection of every watched container, and the exposition it gives (the
/// collector's own families included). Writes no file; an engine that does not answer is an error.
pub async fn collect_once(config: &Config) -> Result<Vec<u8>, CollectorError> {
    let metrics = MetricsExporter::new(&config.machine_name)?.with_groups(config.metric_groups);
    let mut containers = watched(
        Containers::connect_once(
            &config.docker_host,
            config.max_concurrent_requests,
            config.engine_timeout,
        )
        .await?,
        config,
    );
    let visit = containers.this_tick().await?;
    let started = Instant::now();
    let failures = collect_metrics(
        &containers,
        &visit,
        &metrics,
        None,
        config.max_concurrent_requests,
        config.engine_timeout,
    )
    .await;
    for (name, why) in &failures {
        warn!("{name}: {why}");
    }
    metrics.on_collection(
        Collection::Metrics,
        started.elapsed().as_secs_f64(),
        failures.is_empty(),
        unix_now(),
    );
    metrics.on_loop_end(unix_now());
    Ok(metrics.encode()?)
}

/// Reads the level mapping as the settings say, telling the user when the built-in one is used.
pub fn load_mapping(source: &MappingSource) -> Result<LevelMapping, LevelsError> {
    match source {
        MappingSource::File(path) => LevelMapping::load(path),
        MappingSource::DefaultPath(path) if path.exists() => LevelMapping::load(path),
        MappingSource::DefaultPath(path) => {
            info!(
                "No level mapping file at {}: using the built-in mapping (WARNING, WARN: warning; ERROR: error)",
                path.display()
            );
            Ok(LevelMapping::builtin())
        }
    }
}

/// Reads LOG_PATTERNS_PATH's patterns, if it is set, and says how many there are.
pub fn load_patterns(path: Option<&Path>) -> Result<LogPatterns, PatternsError> {
    let Some(path) = path else {
        return Ok(LogPatterns::none());
    };
    let patterns = LogPatterns::load(path)?;
    info!(
        "{} log pattern(s) from {}: matching lines are counted in container_log_pattern_matches_total",
        patterns.len(),
        path.display()
    );
    Ok(patterns)
}

/// The collector of one Docker host.
#[derive(Debug)]
pub struct Collector {
    config: Config,
    metrics: MetricsExporter,
    logs: LogsExporter,
    /// When each container known to the collector was last seen running.
    last_running: HashMap<ContainerName, Instant>,
    /// The engine failure reported last, so an outage is said once, not every tick.
    engine_failure: Latch<String>,
    /// The metrics failures reported last, likewise.
    metrics_failure: Latch<String>,
    /// How many containers' metrics are collected at once, adapted to the engine's pushback.
    metrics_at_once: AtOnce,
    /// Basic auth for both ports (WEB_CONFIG_FILE).
    users: Option<Arc<Users>>,
    /// The logs browser's view of the containers, when WEB_PORT is set.
    web: Option<Arc<Web>>,
}

/// The users of WEB_CONFIG_FILE, when it is set, said at start-up so a file that names no one is
/// noticed before every request gets 401.
fn load_users(config: &Config) -> Result<Option<Arc<Users>>, CollectorError> {
    let Some(path) = &config.web_config_file else {
        return Ok(None);
    };
    let users = Users::load(path)?;
    if users.is_empty() {
        warn!(
            "WEB_CONFIG_FILE {} names no user: every request gets 401",
            path.display()
        );
    }
    info!(
        "Basic auth on every port: {} user(s) from {}",
        users.len(),
        path.display()
    );
    Ok(Some(Arc::new(users)))
}

/// The logs browser's view of the containers when WEB_PORT is set: it reads the files the logs
/// side writes, in the same LOGS_DIR, with the same level mapping.
fn logs_browser(config: &Config, logs_dir: &LogsDir, mapping: &LevelMapping) -> Option<Arc<Web>> {
    config.web_port.map(|_| {
        Arc::new(Web {
            logs_dir: logs_dir.clone(),
            mapping: Arc::new(mapping.clone()),
            board: Board::default()
                .with_budget(config.logs_max_total_bytes, config.logs_keep_removed),
            times: Arc::new(IndexFiles {
                logs_dir: logs_dir.clone(),
                backup_count: config.logs_container_max_files,
            }),
            machine: config.machine_name.clone(),
        })
    })
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn write_timestamp(path: &Path, what: &str) {
    if let Err(e) = write_atomically(path, unix_now().to_string().as_bytes()) {
        error!("cannot write {what} {}: {e}", path.display());
    }
}

impl Collector {
    /// Prints the start-up lines, loads the level mapping and prepares LOGS_DIR, with a fresh registry.
    pub fn new(config: Config) -> Result<Collector, CollectorError> {
        info!("Starting collector for {} machine!", config.machine_name);
        for (name, value) in config.describe() {
            info!("{name}: {value}");
        }
        if config.container_retention.as_secs() <= 60 {
            warn!(
                "CONTAINER_RETENTION is {} s: a stopped container's series go before the ContainerDown alert (60 s) can fire",
                config.container_retention.as_secs()
            );
        }
        let metrics = MetricsExporter::new(&config.machine_name)?.with_groups(config.metric_groups);
        Collector::with_metrics(config, metrics)
    }

    /// Like [`Collector::new`] with families the caller created (for example in its own registry),
    /// without the start-up lines.
    pub fn with_metrics(
        config: Config,
        metrics: MetricsExporter,
    ) -> Result<Collector, CollectorError> {
        let mapping = load_mapping(&config.log_levels_mapping)?;
        let patterns = load_patterns(config.log_patterns_path.as_deref())?;
        let users = load_users(&config)?;
        // LOGS_DIR's one value: the logs side writes where it says, the pages read where it says.
        let logs_dir = LogsDir::new(config.logs_dir.clone());
        let web = logs_browser(&config, &logs_dir, &mapping);
        if config.web_port.is_some() && !config.web_external_url.is_empty() {
            metrics.on_logs_browser(&config.web_external_url);
        }
        let logs = LogsExporter::new(
            LogFiles {
                dir: logs_dir,
                max_bytes: config.logs_container_max_file_size,
                backup_count: config.logs_container_max_files,
                default_since: config.default_logs_since_now,
                max_line: config.max_line_bytes,
                read_timeout: config.engine_timeout,
                engine_logs: usable_logs_root(config.container_logs_root.as_deref()),
            },
            mapping,
        )?
        .with_budget(Budget {
            max_total: config.logs_max_total_bytes,
            keep_removed: config.logs_keep_removed,
        })
        .with_patterns(patterns);
        let metrics_at_once = AtOnce::new(config.max_concurrent_requests);
        Ok(Collector {
            config,
            metrics,
            logs,
            last_running: HashMap::new(),
            engine_failure: Latch::new(),
            metrics_failure: Latch::new(),
            metrics_at_once,
            users,
            web,
        })
    }

    /// The families this collector updates.
    pub fn metrics(&self) -> &MetricsExporter {
        &self.metrics
    }

    /// Connects to the engine (retrying until it answers), opens the Prometheus port, and runs the loop
    /// until `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: Shutdown) -> Result<(), CollectorError> {
        let Some(containers) = Containers::connect(
            &self.config.docker_host,
            self.config.max_concurrent_requests,
            self.config.engine_timeout,
            &mut shutdown,
        )
        .await?
        else {
            info!("Stopped before the engine answered");
            return Ok(());
        };
        let containers = watched(containers, &self.config);
        let listener = self.open_metrics_port().await?;
        let cgroup_root = self.config.cgroup_root.as_deref();
        info!("{}", StatsSource::new(cgroup_root, containers.cgroups()));
        let logs_root = self.config.container_logs_root.as_deref();
        info!("{}", LogsSource::new(logs_root, self.logs.engine_logs()));
        let limits = Limits {
            max_connections: self.config.max_connections,
            ..crate::metrics::default_limits()
        };
        let server = self.serve_metrics(listener, limits.clone(), &shutdown);
        let browser = self.serve_browser(limits, &shutdown).await?;
        self.run_loop(containers, &mut shutdown).await;
        // The answers in flight are finished before the collector returns.
        wait_for_servers(server, browser).await;
        Ok(())
    }

    /// Opens METRICS_EXPORTER_PORT before the loop starts, so a port that cannot be opened stops
    /// the collector at once, and says which port it is (a test's port 0 becomes a real one).
    async fn open_metrics_port(&self) -> Result<TcpListener, CollectorError> {
        let port = self.config.metrics_exporter_port;
        let listener = TcpListener::bind((self.config.metrics_exporter_address, port))
            .await
            .map_err(|source| CollectorError::Listen { port, source })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        info!(target: "container_metrics::metrics_exporter", "Metrics are exported on port {port}");
        Ok(listener)
    }

    /// Serves the scrapes in a task of their own, so a slow scrape never holds up the loop; the
    /// task ends after the shutdown signal, once the answers in flight are out.
    fn serve_metrics(
        &self,
        listener: TcpListener,
        limits: Limits,
        shutdown: &Shutdown,
    ) -> JoinHandle<()> {
        let mut stop = shutdown.clone();
        tokio::spawn(crate::metrics::serve(
            listener,
            Arc::new(self.metrics.clone()),
            limits,
            self.users.clone(),
            async move { stop.recv().await },
        ))
    }

    /// Opens WEB_PORT when it is set and serves the logs browser in a task of its own, like the
    /// scrapes; `None` when the browser is off.
    async fn serve_browser(
        &self,
        limits: Limits,
        shutdown: &Shutdown,
    ) -> Result<Option<JoinHandle<()>>, CollectorError> {
        let (Some(web), Some(port)) = (&self.web, self.config.web_port) else {
            return Ok(None);
        };
        let listener = TcpListener::bind((self.config.web_address, port))
            .await
            .map_err(|source| CollectorError::WebListen { port, source })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        info!("Logs are browsed on port {port}");
        let web = web.clone();
        let handler = move |req: hyper::Request<hyper::body::Incoming>| {
            let (method, uri) = (req.method().clone(), req.uri().clone());
            crate::web::routes::answer(web.clone(), method, uri)
        };
        let mut stop = shutdown.clone();
        Ok(Some(tokio::spawn(crate::http::server::serve(
            listener,
            limits,
            self.users.clone(),
            handler,
            async move { stop.recv().await },
            "logs browser",
        ))))
    }

    /// The loop itself, on an engine client that is already connected.
    pub async fn run_loop(&mut self, mut containers: Containers, shutdown: &mut Shutdown) {
        let tick = self.config.logs_collection_interval;
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_metrics: Option<Instant> = None;
        if let Some(web) = &self.web {
            web.board
                .on_history(crate::web::kept_histories(&web.logs_dir).iter());
        }
        let known = self.logs.known_containers();
        let now = Instant::now();
        for (_, name) in &known {
            self.last_running.insert(name.clone(), now);
        }
        containers.assume_running_before(known);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = shutdown.recv() => break,
            }
            let started = Instant::now();
            let iteration = self.iteration(&mut containers, &mut last_metrics);
            tokio::select! {
                _ = iteration => {}
                () = shutdown.recv() => break,
            }
            crate::process::memory::give_back();
            let next = tick.saturating_sub(started.elapsed());
            info!("Sleeping for {:.1} seconds", next.as_secs_f64());
        }
        info!("Stopping: flushing log files and cursors");
        let report = self.logs.commit();
        count_logs(&self.metrics, self.web.as_ref().map(|w| &w.board), &report);
    }

    /// One tick of the loop.
    async fn iteration(&mut self, containers: &mut Containers, last_metrics: &mut Option<Instant>) {
        let Some(visit) = self.list_containers(containers).await else {
            return;
        };
        let metrics_due = self.metrics_due(*last_metrics);
        let running = visit.iter().filter(|c| c.running).count();
        info!(
            "Checking {} containers ({running} running): logs{}",
            visit.len(),
            if metrics_due { " and metrics" } else { "" }
        );
        let containers = &*containers;
        let web = self.web.clone();
        let board = web.as_ref().map(|w| &w.board);
        let metrics_work = async {
            if metrics_due {
                let started = Instant::now();
                let at_once = self.metrics_at_once.size();
                let timeout = self.config.engine_timeout;
                let failures =
                    timed_metrics(containers, &visit, &self.metrics, board, at_once, timeout).await;
                *last_metrics = Some(started);
                Some(failures)
            } else {
                None
            }
        };
        let logs_work = timed_logs(&mut self.logs, containers, &visit, &self.metrics, board);
        let (failures, ()) = tokio::join!(metrics_work, logs_work);
        self.after_engine_work(containers, failures);
        containers.forget_gone();
        if let Some(board) = board {
            board.on_tick(visit.iter().filter(|c| c.running).map(|c| &c.name));
        }
        self.drop_long_gone(&visit);
        self.metrics.on_loop_end(unix_now());
        self.write_last_files(metrics_due);
    }

    /// The containers to visit this tick; `None` when the engine cannot list them, which is said
    /// once for the whole outage (and once when it ends), not every tick.
    async fn list_containers(&mut self, containers: &mut Containers) -> Option<Vec<ContainerRef>> {
        match containers.this_tick().await {
            Ok(v) => {
                if let Say::Recovered(failure) = self.engine_failure.now(None) {
                    info!("The Docker Engine answers again (it failed with: {failure})");
                }
                Some(v)
            }
            Err(e) => {
                self.metrics.on_engine_error(e.kind());
                if let Say::Failing(failure) = self.engine_failure.now(Some(e.to_string())) {
                    error!(
                        "Cannot list the containers: {failure}; the endpoint keeps the last values, trying again every tick"
                    );
                }
                None
            }
        }
    }

    /// Whether this tick collects metrics too: METRICS_COLLECTION_INTERVAL is counted in ticks of
    /// LOGS_COLLECTION_INTERVAL.
    fn metrics_due(&self, last_metrics: Option<Instant>) -> bool {
        let interval = self.config.metrics_collection_interval;
        // Half a tick of slack, so a 20 s interval on a 5 s tick means every 4th tick, not every 5th.
        let slack = self.config.logs_collection_interval / 2;
        last_metrics.is_none_or(|t| t.elapsed() + slack >= interval)
    }

    /// Counts the engine's pushback of this tick, and adapts how many containers' metrics are
    /// collected at once to it and to the tick's timeouts (`failures` is `None` on a logs-only tick).
    fn after_engine_work(
        &mut self,
        containers: &Containers,
        failures: Option<Vec<(ContainerName, EngineError)>>,
    ) {
        let pushback = containers.take_pushback();
        self.metrics
            .on_engine_pushback(pushback.refused, pushback.paused.as_secs_f64());
        if let Some(failures) = failures {
            let timed_out = failures
                .iter()
                .any(|(_, e)| matches!(e, EngineError::Timeout));
            self.metrics_at_once.after(pushback.refused > 0, timed_out);
            self.report_metrics_failures(&failures);
        }
    }

    /// Writes the LAST_* files at the end of a tick, for health checks that read the time of the
    /// last collection from a file rather than from the endpoint.
    fn write_last_files(&self, metrics_due: bool) {
        if metrics_due {
            write_timestamp(
                &self.config.last_metrics_collected_at_file,
                "LAST_METRICS_COLLECTED_AT_FILE",
            );
        }
        write_timestamp(
            &self.config.last_logs_collected_at_file,
            "LAST_LOGS_COLLECTED_AT_FILE",
        );
    }
}

/// One tick's metrics work: [`collect_metrics`], timed, its duration and success counted in the
/// collector's own families. Returns the containers that failed, with the reason.
async fn timed_metrics(
    containers: &Containers,
    visit: &[ContainerRef],
    metrics: &MetricsExporter,
    board: Option<&Board>,
    limit: usize,
    timeout: std::time::Duration,
) -> Vec<(ContainerName, EngineError)> {
    let started = Instant::now();
    let failures = collect_metrics(containers, visit, metrics, board, limit, timeout).await;
    let took = started.elapsed().as_secs_f64();
    debug!("Metrics collected in {took:.3} s");
    metrics.on_collection(Collection::Metrics, took, failures.is_empty(), unix_now());
    failures
}

/// One tick's logs work: the logs side's collection, timed, what it reports counted in the
/// metrics and on the logs browser's board.
async fn timed_logs(
    logs: &mut LogsExporter,
    containers: &Containers,
    visit: &[ContainerRef],
    metrics: &MetricsExporter,
    board: Option<&Board>,
) {
    let started = Instant::now();
    let report = logs.collect(containers, visit).await;
    let took = started.elapsed().as_secs_f64();
    count_logs(metrics, board, &report);
    metrics.on_collection(Collection::Logs, took, report.failed == 0, unix_now());
}

impl Collector {
    /// Says once when metrics start failing for some reason (one line for all containers), and once
    /// when they all succeed again; nothing while the same failure goes on.
    fn report_metrics_failures(&mut self, failures: &[(ContainerName, EngineError)]) {
        let reasons: std::collections::BTreeSet<String> =
            failures.iter().map(|(_, why)| why.to_string()).collect();
        let reasons: Vec<String> = reasons.into_iter().collect();
        let kind = failures.first().map(|_| reasons.join("; "));
        match self.metrics_failure.now(kind) {
            Say::Nothing => {}
            Say::Recovered(_) => info!("Metrics are collected from every container again"),
            Say::Failing(kind) => {
                let first = failures.first().map_or("", |(name, _)| name.as_str());
                warn!(
                    "Cannot collect the metrics of {} container(s) ({first} first): {kind}; said once until it changes",
                    failures.len()
                );
            }
        }
    }

    /// Forgets containers that have not been running for CONTAINER_RETENTION: their series leave the
    /// scrape and their cursors the state file, so churn grows neither without bound. Until then
    /// `container_up_timestamp_seconds` stands still, which is what the ContainerDown alert sees.
    fn drop_long_gone(&mut self, visit: &[ContainerRef]) {
        let now = Instant::now();
        for c in visit.iter().filter(|c| c.running) {
            self.last_running.insert(c.name.clone(), now);
        }
        let running: HashSet<&ContainerName> = visit
            .iter()
            .filter(|c| c.running)
            .map(|c| &c.name)
            .collect();
        let retention = self.config.container_retention;
        let gone: Vec<ContainerName> = self
            .last_running
            .iter()
            .filter(|(name, seen)| {
                !running.contains(name) && now.duration_since(**seen) >= retention
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            info!(
                "{name}: not running for {} s, its series and cursor are dropped",
                retention.as_secs()
            );
            self.metrics.forget(name.as_str());
            if let Some(web) = &self.web {
                web.board.forget(&name);
            }
            self.logs.forget(&name);
            self.last_running.remove(&name);
        }
    }
}

/// Counts what the logs side reports: its failed engine requests, and the lines and bytes its
/// commits made durable (a level's series only once a line of that level was counted; a pattern's
/// from the container's first committed line, at 0 if no line matched it).
fn count_logs(metrics: &MetricsExporter, board: Option<&Board>, report: &LogsReport) {
    let now = unix_now();
    for kind in &report.engine_errors {
        metrics.on_engine_error(kind);
    }
    metrics.on_log_reads(report.read_from_files, report.read_from_engine);
    for written in &report.written {
        for level in Level::ALL {
            let lines = written.lines(level);
            if lines > 0 {
                metrics.on_log_lines(written.container.as_str(), level, lines);
                if let Some(board) = board {
                    board.on_lines(&written.container, level, lines, now);
                }
            }
        }
        for (pattern, n) in written.pattern_matches() {
            metrics.on_pattern_matches(written.container.as_str(), pattern, n);
        }
        metrics.on_log_written(written.total_lines(), written.bytes);
    }
    if let Some(disk) = &report.disk {
        metrics.on_logs_disk(disk.kept_bytes, &disk.deleted);
        if let Some(board) = board {
            board.on_disk(disk.kept_bytes, disk.by_container.as_deref(), &disk.gone);
        }
    }
}

/// CONTAINER_LOGS_ROOT if it is a directory this process may enter (listing it is not needed: the
/// engine's is mode 0710): else the engine is asked for every log.
fn usable_logs_root(root: Option<&std::path::Path>) -> Option<std::path::PathBuf> {
    use rustix::fs::{access, Access};
    let root = root?;
    let enter = access(root, Access::EXEC_OK).is_ok();
    (enter && root.is_dir()).then(|| root.to_path_buf())
}

/// Collects the metrics of every container in `visit`, `limit` at a time (the [`AtOnce`] window),
/// each within `timeout`. Returns the containers that failed, with the reason.
async fn collect_metrics(
    containers: &Containers,
    visit: &[ContainerRef],
    metrics: &MetricsExporter,
    board: Option<&Board>,
    limit: usize,
    timeout: std::time::Duration,
) -> Vec<(ContainerName, EngineError)> {
    // Engine requests are bounded by the client's own semaphore; this bound keeps a container's
    // ENGINE_TIMEOUT from running while it waits its turn. On the cgroup path the waits are the
    // first-CPU window, not the engine: every container may wait at once.
    let at_once = if containers.cgroups().is_some() {
        visit.len()
    } else {
        limit
    };
    let results: Vec<(&ContainerRef, Result<_, EngineError>)> = futures_util::stream::iter(visit)
        .map(|c| async move {
            match tokio::time::timeout(timeout, containers.metrics(c)).await {
                Ok(r) => (c, r),
                Err(_) => (c, Err(EngineError::Timeout)),
            }
        })
        .buffer_unordered(at_once.max(1))
        .collect()
        .await;
    let mut failed = Vec::new();
    for (c, result) in results {
        match result {
            Ok(Some(m)) => {
                metrics.on_container_metrics(c.name.as_str(), &m);
                if let (Some(board), None) = (board, m.exited) {
                    let figures = Figures {
                        started_at: m.started_at,
                        cpu_cores: m.cpu_cores.unwrap_or(0.0),
                        cpus_available: m.cpus_available,
                        memory_bytes: m.memory_used,
                        memory_limit_bytes: m.memory_limit,
                    };
                    board.on_figures(&c.name, figures, m.collected_at);
                }
            }
            Ok(None) => debug!("{}: no metrics this cycle", c.name),
            Err(e) => {
                debug!("{}: {e}", c.name);
                metrics.on_engine_error(e.kind());
                failed.push((c.name.clone(), e));
            }
        }
    }
    failed
}

/// Waits for the scrapes' and the logs browser's tasks to finish their answers in flight, so the
/// collector does not return while a client is still being answered.
async fn wait_for_servers(server: JoinHandle<()>, browser: Option<JoinHandle<()>>) {
    if let Err(e) = server.await {
        error!("The metrics endpoint failed: {e}");
    }
    if let Some(Err(e)) = match browser {
        Some(b) => Some(b.await),
        None => None,
    } {
        error!("The logs browser failed: {e}");
    }
}

/// Where containers' stats come from, as CGROUP_ROOT and the host make it: its start-up line tells
/// the user what to mount when the kernel's figures are wanted but cannot be read.
#[derive(Debug)]
enum StatsSource<'a> {
    /// CGROUP_ROOT is empty: every container's stats are asked from the engine.
    Engine,
    /// CGROUP_ROOT names no cgroup tree this process can read.
    NoTree(&'a Path),
    /// The cgroup tree at the root, for every container found in it.
    Cgroups {
        /// The host's cgroup hierarchy.
        version: crate::host::cgroup::Version,
        /// CGROUP_ROOT.
        root: &'a Path,
    },
}

impl<'a> StatsSource<'a> {
    /// From CGROUP_ROOT and the cgroup tree opened there, if any.
    fn new(root: Option<&'a Path>, cgroups: Option<&crate::host::cgroup::Cgroups>) -> Self {
        match (root, cgroups) {
            (None, _) => StatsSource::Engine,
            (Some(root), None) => StatsSource::NoTree(root),
            (Some(root), Some(c)) => StatsSource::Cgroups {
                version: c.version(),
                root,
            },
        }
    }
}

impl std::fmt::Display for StatsSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatsSource::Engine => write!(f, "Stats come from the Docker Engine (CGROUP_ROOT is empty)"),
            StatsSource::NoTree(root) => write!(
                f,
                "Stats come from the Docker Engine: no cgroup tree at {} (mount the host's /sys/fs/cgroup there to read them from the kernel)",
                root.display()
            ),
            StatsSource::Cgroups { version, root } => write!(
                f,
                "Stats come from the cgroup {} tree at {} for every container found in it, from the Docker Engine for the others",
                match version {
                    crate::host::cgroup::Version::V1 => "v1",
                    crate::host::cgroup::Version::V2 => "v2",
                },
                root.display()
            ),
        }
    }
}

/// Where containers' logs come from, as CONTAINER_LOGS_ROOT and the host make it: its start-up line
/// tells the user what to mount when the engine's json-file logs are wanted but cannot be read.
#[derive(Debug)]
enum LogsSource<'a> {
    /// CONTAINER_LOGS_ROOT is empty: every container's logs are asked from the engine.
    Engine,
    /// CONTAINER_LOGS_ROOT cannot be entered by this process.
    Unreadable(&'a Path),
    /// The engine's json-file logs under this directory, for the containers that use that driver.
    Files(&'a Path),
}

impl<'a> LogsSource<'a> {
    /// From CONTAINER_LOGS_ROOT and the directory the logs side reads, if any.
    fn new(root: Option<&'a Path>, engine_logs: Option<&'a Path>) -> Self {
        match (root, engine_logs) {
            (None, _) => LogsSource::Engine,
            (Some(root), None) => LogsSource::Unreadable(root),
            (Some(_), Some(root)) => LogsSource::Files(root),
        }
    }
}

impl std::fmt::Display for LogsSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogsSource::Engine => write!(f, "Logs are asked from the Docker Engine (CONTAINER_LOGS_ROOT is empty)"),
            LogsSource::Unreadable(root) => write!(
                f,
                "Logs are asked from the Docker Engine: {} cannot be read (mount the engine's /var/lib/docker/containers there, read-only, to read its json-file logs)",
                root.display()
            ),
            LogsSource::Files(root) => write!(
                f,
                "Logs are read from the engine's json-file logs under {} (other log drivers: asked from the Docker Engine)",
                root.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start-up lines about where logs come from keep the text tests and users grep.
    #[test]
    fn logs_source_lines() {
        let (root, read) = (Path::new("/engine"), Path::new("/engine/read"));
        for (source, text) in [
            (
                LogsSource::new(None, Some(read)),
                "Logs are asked from the Docker Engine (CONTAINER_LOGS_ROOT is empty)",
            ),
            (
                LogsSource::new(Some(root), None),
                "Logs are asked from the Docker Engine: /engine cannot be read (mount the engine's /var/lib/docker/containers there, read-only, to read its json-file logs)",
            ),
            (
                LogsSource::new(Some(root), Some(read)),
                "Logs are read from the engine's json-file logs under /engine/read (other log drivers: asked from the Docker Engine)",
            ),
        ] {
            assert_eq!(source.to_string(), text);
        }
    }

    /// Likewise for where stats come from (the cgroup tree itself needs a host: tests/it).
    #[test]
    fn stats_source_lines() {
        use crate::host::cgroup::Version;
        let root = Path::new("/host/cgroup");
        for (source, text) in [
            (
                StatsSource::new(None, None),
                "Stats come from the Docker Engine (CGROUP_ROOT is empty)",
            ),
            (
                StatsSource::new(Some(root), None),
                "Stats come from the Docker Engine: no cgroup tree at /host/cgroup (mount the host's /sys/fs/cgroup there to read them from the kernel)",
            ),
            (
                StatsSource::Cgroups { version: Version::V1, root },
                "Stats come from the cgroup v1 tree at /host/cgroup for every container found in it, from the Docker Engine for the others",
            ),
            (
                StatsSource::Cgroups { version: Version::V2, root },
                "Stats come from the cgroup v2 tree at /host/cgroup for every container found in it, from the Docker Engine for the others",
            ),
        ] {
            assert_eq!(source.to_string(), text);
        }
    }
}
