//! [`Containers`]: the engine side's one door. Each method hands over to the part that does the work:
//! the client (connection, requests), the visits (which containers), the sampler (their metrics).

use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use futures_util::Stream;

use super::client::{self, Client};
use super::error::EngineError;
use super::filter::Filter;
use super::list::Visits;
use super::logs::{LogChunk, LogFile};
use super::pushback::{Pushback, PushbackCount};
use super::sampler::Sampler;
use crate::container::ContainerMetrics;
use crate::container::{ContainerId, ContainerName, ContainerRef};
use crate::host::cgroup::Cgroups;
use crate::shutdown::Shutdown;

/// The engine client and what the collector remembers between ticks.
#[derive(Debug)]
pub struct Containers {
    client: Client,
    visits: Visits,
    sampler: Sampler,
    /// Where each container's log is kept, from one inspect per container: it never changes.
    log_files: std::sync::Mutex<std::collections::HashMap<ContainerId, LogFile>>,
}

impl Containers {
    /// Wraps an engine client that is already connected (for embedding and tests).
    pub fn new(docker: Docker, max_concurrent_requests: usize) -> Containers {
        Containers {
            client: Client::new(docker, max_concurrent_requests),
            visits: Visits::default(),
            sampler: Sampler::new(None),
            log_files: Default::default(),
        }
    }

    /// Reads CPU and memory from this cgroup tree for every container found in it; the others (and
    /// every container when `None`) keep asking the engine.
    pub fn with_cgroups(mut self, cgroups: Option<Cgroups>) -> Containers {
        self.sampler = Sampler::new(cgroups);
        self
    }

    /// Reads network counters on the cgroup path from this /proc (the host's); `None`: never. Call
    /// after [`Containers::with_cgroups`].
    pub fn with_proc_root(mut self, proc_root: Option<std::path::PathBuf>) -> Containers {
        self.sampler.set_proc_root(proc_root);
        self
    }

    /// Watches only the containers `filter` lets through.
    pub fn with_filter(mut self, filter: Filter) -> Containers {
        self.visits.filter = filter;
        self
    }

    /// The cgroup tree in use, if any.
    pub fn cgroups(&self) -> Option<&Cgroups> {
        self.sampler.cgroups()
    }

    /// Connects to the engine at `docker_host` (unix:// or tcp://), negotiating the API version, and
    /// retries forever with a random 1-5 s pause until it answers. Returns `None` if `shutdown` turns
    /// true first.
    pub async fn connect(
        docker_host: &str,
        max_concurrent_requests: usize,
        timeout: Duration,
        shutdown: &mut Shutdown,
    ) -> Result<Option<Containers>, EngineError> {
        let pushback = Arc::new(Pushback::new(timeout));
        let docker = client::connect(docker_host, timeout, &pushback, shutdown).await?;
        Ok(docker.map(|docker| {
            Containers::new(docker, max_concurrent_requests).with_stats_host(docker_host, pushback)
        }))
    }

    /// Connects once (for `--once`): an engine that does not answer is an error, not a retry.
    pub async fn connect_once(
        docker_host: &str,
        max_concurrent_requests: usize,
        timeout: Duration,
    ) -> Result<Containers, EngineError> {
        let pushback = Arc::new(Pushback::new(timeout));
        let docker = client::connect_once(docker_host, timeout, &pushback).await?;
        Ok(Containers::new(docker, max_concurrent_requests).with_stats_host(docker_host, pushback))
    }

    /// Stats go on the lean client to the engine at `docker_host` (see `stats_http`); pushback is
    /// counted in the transport's `pushback`.
    fn with_stats_host(mut self, docker_host: &str, pushback: Arc<Pushback>) -> Containers {
        self.client = self.client.with_stats_host(docker_host, pushback);
        self
    }

    /// How often the engine pushed back (connects it could not take, tried again) since the
    /// previous call.
    pub fn take_pushback(&self) -> PushbackCount {
        self.client.take_pushback()
    }

    /// The containers to visit this tick: those running now, and those that were running at the
    /// previous tick but are not any more (visited once more so their last lines are not lost).
    pub async fn this_tick(&mut self) -> Result<Vec<ContainerRef>, EngineError> {
        let listed = self.client.running().await?;
        Ok(self.visits.next(listed))
    }

    /// The names of every container the engine has, running or stopped, watched or not: a name
    /// missing here belongs to a removed container.
    pub async fn all_names(&self) -> Result<std::collections::HashSet<ContainerName>, EngineError> {
        let listed = self.client.all().await?;
        Ok(listed
            .into_iter()
            .filter_map(|s| s.names?.into_iter().next())
            .map(|n| ContainerName::from(n.trim_start_matches('/')))
            .collect())
    }

    /// Treats these containers (id, name) as running at the previous tick, so the next tick visits
    /// those that are not running any more once (used at start with the containers of the last run).
    pub fn assume_running_before<I: Into<ContainerId>>(
        &mut self,
        containers: impl IntoIterator<Item = (I, ContainerName)>,
    ) {
        for (id, name) in containers {
            self.visits.assume_running(id.into(), name);
        }
    }

    /// Forgets what is kept of the containers that are not running any more.
    pub fn forget_gone(&self) {
        self.sampler
            .forget_all_but(|id| self.visits.was_running(id));
        self.log_files().retain(|id, _| self.visits.was_running(id));
    }

    /// Where the engine keeps the container's log: inspected once per container, then from memory.
    pub async fn log_file(&self, container: &ContainerRef) -> Result<LogFile, EngineError> {
        if let Some(file) = self.log_files().get(&container.id) {
            return Ok(file.clone());
        }
        let file = LogFile::from_inspect(&self.client.inspect(&container.id).await?);
        self.log_files().insert(container.id.clone(), file.clone());
        Ok(file)
    }

    fn log_files(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<ContainerId, LogFile>> {
        self.log_files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One container's metrics. `Ok(None)` when there is nothing to report this cycle: the container
    /// is gone (404) or not running, or its stats came back empty or partial.
    pub async fn metrics(
        &self,
        container: &ContainerRef,
    ) -> Result<Option<ContainerMetrics>, EngineError> {
        self.sampler.metrics(&self.client, container).await
    }

    /// The container's stdout and stderr entries from `since` (unix seconds, inclusive) on, with the
    /// engine's timestamps; with `tail`, only those among the last `tail` entries of its log (the
    /// engine takes the last entries, then drops those before `since`). The stream holds one of the
    /// request slots until it is dropped.
    pub async fn logs(
        &self,
        container: &ContainerRef,
        since: i64,
        tail: Option<usize>,
    ) -> impl Stream<Item = Result<LogChunk, EngineError>> + Send + Unpin + 'static {
        self.client.logs(&container.id, since, tail).await
    }
}
