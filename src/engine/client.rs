//! The connection to the engine: DOCKER_HOST resolved to a transport that keeps connections alive,
//! the first connection with its retries, and the requests the collector makes, each holding one of
//! the MAX_CONCURRENT_REQUESTS slots while it runs.

use std::sync::Arc;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::models::{ContainerInspectResponse, ContainerStatsResponse, ContainerSummary};
use bollard::query_parameters::{ListContainersOptions, LogsOptions, StatsOptions};
use bollard::Docker;
use futures_util::{Stream, StreamExt};
use tokio::sync::Semaphore;
use tracing::{error, info};

use super::error::{with_causes, EngineError};
use super::logs::LogChunk;
use super::pushback::{Patient, Pushback, PushbackCount};
use super::stats_http::StatsHost;
use super::CONSOLE_NAME;
use crate::container::ContainerId;
use crate::shutdown::Shutdown;

/// Idle connections to the engine kept open for the next requests. bollard's own clients open a
/// connection per request; a tick of 1000 containers makes thousands of requests, so reusing
/// connections saves the collector (and the engine) a connect and its buffers each time.
const IDLE_CONNECTIONS: usize = 32;

/// The engine client and the bound on its requests in flight.
#[derive(Debug)]
pub(super) struct Client {
    docker: Docker,
    /// Where stats are asked on the lean client; `None`: through bollard (an embedder's client).
    stats_host: Option<StatsHost>,
    requests: Arc<Semaphore>,
    /// Connects the engine pushed back, shared with the transport's connector.
    pushback: Arc<Pushback>,
}

/// How long a connect the engine pushes back is tried, when the caller gave no ENGINE_TIMEOUT (an
/// embedder's client): the setting's default.
const DEFAULT_PATIENCE: Duration = Duration::from_secs(10);

impl Client {
    /// Wraps a connected client; at most `max_concurrent_requests` requests run at once.
    pub(super) fn new(docker: Docker, max_concurrent_requests: usize) -> Client {
        Client {
            docker,
            stats_host: None,
            requests: Arc::new(Semaphore::new(max_concurrent_requests.max(1))),
            pushback: Arc::new(Pushback::new(DEFAULT_PATIENCE)),
        }
    }

    /// Asks stats of the engine at `docker_host` on the lean client of [`super::stats_http`]
    /// (unix:// and tcp:// addresses; any other keeps asking through bollard), counting pushback in
    /// `pushback`, the one the transport of [`connect`] counts in.
    pub(super) fn with_stats_host(mut self, docker_host: &str, pushback: Arc<Pushback>) -> Client {
        self.stats_host = StatsHost::parse(docker_host);
        self.pushback = pushback;
        self
    }

    /// The engine's pushback since the previous call.
    pub(super) fn take_pushback(&self) -> PushbackCount {
        self.pushback.take()
    }

    /// One of the MAX_CONCURRENT_REQUESTS slots, held for as long as a request runs.
    async fn slot(&self) -> Slot {
        Slot {
            _permit: self.requests.clone().acquire_owned().await.ok(),
            pushback: self.pushback.clone(),
        }
    }

    /// The containers running now.
    pub(super) async fn running(&self) -> Result<Vec<ContainerSummary>, EngineError> {
        let _slot = self.slot().await;
        let options = ListContainersOptions {
            all: false,
            ..Default::default()
        };
        Ok(self.docker.list_containers(Some(options)).await?)
    }

    /// Every container the engine has, running or not.
    pub(super) async fn all(&self) -> Result<Vec<ContainerSummary>, EngineError> {
        let _slot = self.slot().await;
        let options = ListContainersOptions {
            all: true,
            ..Default::default()
        };
        Ok(self.docker.list_containers(Some(options)).await?)
    }

    /// What the engine knows of one container.
    pub(super) async fn inspect(
        &self,
        id: &ContainerId,
    ) -> Result<ContainerInspectResponse, EngineError> {
        let _slot = self.slot().await;
        // Boxed, like the stats call: only a container not inspected yet makes it, and 1000
        // containers' futures would otherwise each carry its space.
        Ok(Box::pin(self.docker.inspect_container(id.as_str(), None)).await?)
    }

    /// One stats answer, not streamed; `Ok(None)` when the engine sent none. Without `one_shot` the
    /// engine waits for a second sample of its own and fills `precpu_stats`, so CPU is known at
    /// once; with it, it answers at once and the caller measures against its own previous sample.
    /// Boxed: the answer is large (about 900 bytes) and a collection holds a future per container.
    pub(super) async fn stats(
        &self,
        id: &ContainerId,
        one_shot: bool,
    ) -> Result<Option<Box<ContainerStatsResponse>>, EngineError> {
        let _slot = self.slot().await;
        if let Some(host) = &self.stats_host {
            // The API version bollard negotiated, as on its own requests.
            let v = self.docker.client_version();
            let version = format!("v{}.{}", v.major_version, v.minor_version);
            return Ok(host
                .stats(&self.pushback, &version, id.as_str(), one_shot)
                .await?);
        }
        let options = StatsOptions {
            stream: false,
            one_shot,
        };
        let answer = Box::pin(self.docker.stats(id.as_str(), Some(options)))
            .next()
            .await;
        Ok(answer.transpose()?.map(Box::new))
    }

    /// The container's stdout and stderr entries from `since` (unix seconds, inclusive) on, with the
    /// engine's timestamps; with `tail`, only those among the last `tail` entries. The stream holds
    /// one of the request slots until it is dropped.
    pub(super) async fn logs(
        &self,
        id: &ContainerId,
        since: i64,
        tail: Option<usize>,
    ) -> impl Stream<Item = Result<LogChunk, EngineError>> + Send + Unpin + 'static {
        let slot = self.slot().await;
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            timestamps: true,
            since: i32::try_from(since.max(0)).unwrap_or(i32::MAX),
            tail: tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
            ..Default::default()
        };
        self.docker
            .logs(id.as_str(), Some(options))
            .filter_map(move |item| {
                let _slot = &slot;
                std::future::ready(LogChunk::from_engine(item))
            })
    }
}

/// A request's slot: when it is given back, the request ended, and one that waits to try a connect
/// the engine pushed back may try now (see [`Pushback::ended`]).
struct Slot {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    pushback: Arc<Pushback>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pushback.ended();
    }
}

/// Connects to the engine at `docker_host` (unix:// or tcp://), negotiating the API version, and
/// retries forever with a random 1-5 s pause until it answers. Returns `None` if `shutdown` turns
/// true first. Connects the engine pushes back are tried again and counted in `pushback`.
pub(super) async fn connect(
    docker_host: &str,
    timeout: Duration,
    pushback: &Arc<Pushback>,
    shutdown: &mut Shutdown,
) -> Result<Option<Docker>, EngineError> {
    let client = transport(docker_host, timeout, pushback)?;
    info!(target: CONSOLE_NAME, "Trying to get client...");
    loop {
        let attempt = async {
            let docker = client.clone().negotiate_version().await?;
            let version = docker.version().await?;
            Ok::<_, BollardError>((docker, version))
        };
        let result = tokio::select! {
            r = attempt => r,
            () = shutdown.recv() => return Ok(None),
        };
        match result {
            Ok((docker, version)) => {
                let pretty =
                    serde_json::to_string_pretty(&version).unwrap_or_else(|e| e.to_string());
                info!(target: CONSOLE_NAME, "Client connected, docker version: {pretty}");
                return Ok(Some(docker));
            }
            Err(e) => {
                let pause = retry_pause();
                error!(
                    target: CONSOLE_NAME,
                    "Cannot connect to the Docker Engine at {docker_host}: {}; trying again in {} s",
                    with_causes(&e),
                    pause.as_secs()
                );
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    () = shutdown.recv() => return Ok(None),
                }
            }
        }
    }
}

/// Connects once (for `--once`): an engine that does not answer is an error, not a retry.
pub(super) async fn connect_once(
    docker_host: &str,
    timeout: Duration,
    pushback: &Arc<Pushback>,
) -> Result<Docker, EngineError> {
    Ok(transport(docker_host, timeout, pushback)?
        .negotiate_version()
        .await?)
}

/// A client for DOCKER_HOST (`unix://` or `tcp://`, see [`crate::config`]) whose every request gives
/// up after `timeout` (not connected yet). Connections are kept alive between requests; a connect
/// the engine pushes back is tried again (see [`Pushback`]).
fn transport(
    docker_host: &str,
    timeout: Duration,
    pushback: &Arc<Pushback>,
) -> Result<Docker, EngineError> {
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
        let connector = Patient {
            connector: hyperlocal::UnixConnector,
            pushback: pushback.clone(),
        };
        keep_alive(&builder, connector, format!("unix://{hex}"), seconds)
    } else if let Some(address) = docker_host
        .strip_prefix("tcp://")
        .or_else(|| docker_host.strip_prefix("http://"))
    {
        let connector = Patient {
            connector: hyper_util::client::legacy::connect::HttpConnector::new(),
            pushback: pushback.clone(),
        };
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
    Duration::from_secs(1 + super::pushback::random_below(5))
}
