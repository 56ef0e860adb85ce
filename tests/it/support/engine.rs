//! `FakeEngine`: a wiremock server that answers like a Docker Engine 20.10 (API 1.41) for the
//! endpoints the collector uses, from shared state that the test can change at any time.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{any, method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::container::{FakeContainer, StatsReply};
use super::fixture_json;
use super::logs::{engine_bool, LogEntry, LogQuery};

/// The optional API version prefix bollard may put before every path (`/v1.41`).
const VERSION_PREFIX: &str = r"^(/v[0-9.]+)?";

/// A fake Docker Engine on `127.0.0.1:PORT`, and, when started with [`FakeEngine::behind_socket`],
/// on a unix socket as dockerd listens. Dropping it stops the server.
pub struct FakeEngine {
    server: MockServer,
    state: Arc<Mutex<State>>,
    socket: Option<Socket>,
}

/// How the engine takes connections on its unix socket, where a stingy engine shows: the listen
/// backlog (dockerd gets the kernel's `somaxconn`: 4096 on Linux 5.4 and later, 128 before) and a
/// cap on the connections served at once, as a socket proxy in front of the engine has. Connects
/// beyond both fail at once with EAGAIN, as on a real unix socket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listen {
    /// The listen backlog; `None`: the kernel's `net.core.somaxconn`, as dockerd's.
    pub backlog: Option<i32>,
    /// Connections served at once; `None`: no cap. The others wait in the listen queue.
    pub max_connections: Option<usize>,
}

impl Listen {
    /// The backlog dockerd gets here: the kernel's `net.core.somaxconn`.
    pub fn somaxconn() -> i32 {
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(4096)
    }
}

/// The engine's unix socket: each connection taken is served by the engine's HTTP server.
struct Socket {
    path: std::path::PathBuf,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Socket {
    /// Listens on `path` as `listen` says, handing each connection to the server at `to`.
    fn open(path: &std::path::Path, listen: Listen, to: std::net::SocketAddr) -> Socket {
        use std::os::fd::AsRawFd;
        let _ = std::fs::remove_file(path);
        let listener = std::os::unix::net::UnixListener::bind(path)
            .unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        let backlog = listen.backlog.unwrap_or_else(Listen::somaxconn);
        // SAFETY: a valid, bound socket of ours; listen() only sets its backlog.
        let listened = unsafe { libc::listen(listener.as_raw_fd(), backlog) };
        assert_eq!(listened, 0, "listen: {}", std::io::Error::last_os_error());
        listener.set_nonblocking(true).expect("nonblocking socket");
        let listener = tokio::net::UnixListener::from_std(listener).expect("tokio listener");
        let slots = listen
            .max_connections
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n)));
        let accept = tokio::spawn(async move {
            loop {
                // At the cap, nothing is taken: the connects wait in the listen queue.
                let slot = match &slots {
                    Some(slots) => slots.clone().acquire_owned().await.ok(),
                    None => None,
                };
                let Ok((mut connection, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let _slot = slot;
                    if let Ok(mut server) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut connection, &mut server).await;
                    }
                });
            }
        });
        Socket {
            path: path.to_path_buf(),
            accept,
        }
    }
}

#[derive(Default)]
struct State {
    /// In creation order; the list endpoint shows the newest first, like the engine.
    containers: Vec<FakeContainer>,
    /// Added to every stats answer of a running container (the real engine takes 1-2 s).
    stats_delay: Duration,
    /// Answer stats as the real engine's sampler does instead: it samples every container on each
    /// whole second, a plain request waits for the second sample after it (1-2 s), a one-shot one
    /// for the next (0-1 s).
    sampler: bool,
}

/// How long the real engine's sampler makes a stats request that arrives now wait.
fn sampler_wait(one_shot: bool) -> Duration {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let to_next =
        Duration::from_secs(1) - Duration::from_nanos(u64::from(since_epoch.subsec_nanos()));
    if one_shot {
        to_next
    } else {
        to_next + Duration::from_secs(1)
    }
}

impl State {
    /// Resolves what the engine accepts: a full Id, a name (with or without `/`), or an Id
    /// prefix that matches exactly one container.
    fn find(&self, key: &str) -> Option<&FakeContainer> {
        if let Some(c) = self.containers.iter().find(|c| c.is_named(key)) {
            return Some(c);
        }
        let mut by_prefix = self
            .containers
            .iter()
            .filter(|c| !key.is_empty() && c.id.starts_with(key));
        match (by_prefix.next(), by_prefix.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }
}

impl FakeEngine {
    /// Starts an empty engine on a free port.
    pub async fn start() -> FakeEngine {
        FakeEngine::start_with(0, true).await
    }

    /// Starts an empty engine on `port` (see [`super::free_port`]). Panics if the port is taken.
    pub async fn start_on_port(port: u16) -> FakeEngine {
        FakeEngine::start_with(port, true).await
    }

    /// Starts an empty engine on `port` that keeps no record of the requests it answers, for long
    /// runs (the soak and the benchmarks), where the record would grow without bound.
    pub async fn start_unrecorded(port: u16) -> FakeEngine {
        FakeEngine::start_with(port, false).await
    }

    async fn start_with(port: u16, record: bool) -> FakeEngine {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        // std listens with a backlog of 128: 1000 stats requests opened at once overflow it and the
        // kernel drops SYNs, retried a second later. dockerd (Go) listens with the kernel's
        // somaxconn (4096 here); listening again on the socket sets that backlog.
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a valid, bound socket of ours; listen() only changes its backlog.
            let listened = unsafe { libc::listen(listener.as_raw_fd(), 4096) };
            assert_eq!(listened, 0, "listen: {}", std::io::Error::last_os_error());
        }
        // The builder gives a server of its own (not one from wiremock's pool), so dropping the
        // engine really closes the port.
        let mut builder = MockServer::builder().listener(listener);
        if !record {
            builder = builder.disable_request_recording();
        }
        FakeEngine::serve(builder.start().await).await
    }

    /// Starts an empty engine that also listens on the unix socket `path`, as `listen` says; its
    /// [`FakeEngine::uri`] is then `unix://path`. Keeps no record of the requests when `!record`.
    pub async fn behind_socket(path: &std::path::Path, listen: Listen, record: bool) -> FakeEngine {
        FakeEngine::start_with(0, record)
            .await
            .with_socket(path, listen)
    }

    /// The engine also listens on the unix socket `path`, as `listen` says; its
    /// [`FakeEngine::uri`] is then `unix://path`. Call on a tokio runtime.
    pub fn with_socket(mut self, path: &std::path::Path, listen: Listen) -> FakeEngine {
        self.socket = Some(Socket::open(path, listen, *self.server.address()));
        self
    }

    async fn serve(server: MockServer) -> FakeEngine {
        let state = Arc::new(Mutex::new(State::default()));
        let get = |path: &str| {
            Mock::given(method("GET")).and(path_regex(format!("{VERSION_PREFIX}{path}$")))
        };
        get("/version")
            .respond_with(VersionEndpoint)
            .mount(&server)
            .await;
        get("/_ping")
            .respond_with(PingEndpoint)
            .mount(&server)
            .await;
        get("/info")
            .respond_with(InfoEndpoint(state.clone()))
            .mount(&server)
            .await;
        get("/containers/json")
            .respond_with(ListEndpoint(state.clone()))
            .mount(&server)
            .await;
        get("/containers/[^/]+/json")
            .respond_with(InspectEndpoint(state.clone()))
            .mount(&server)
            .await;
        get("/containers/[^/]+/stats")
            .respond_with(StatsEndpoint(state.clone()))
            .mount(&server)
            .await;
        get("/containers/[^/]+/logs")
            .respond_with(LogsEndpoint(state.clone()))
            .mount(&server)
            .await;
        Mock::given(any())
            .respond_with(json_reply(404, &json!({"message": "page not found"})))
            .with_priority(u8::MAX)
            .mount(&server)
            .await;
        FakeEngine {
            server,
            state,
            socket: None,
        }
    }

    /// The value for DOCKER_HOST: `unix://PATH` behind a socket, else `tcp://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        match &self.socket {
            Some(socket) => format!("unix://{}", socket.path.display()),
            None => format!("tcp://127.0.0.1:{}", self.port()),
        }
    }

    /// `http://127.0.0.1:PORT`: for `Docker::connect_with_http`.
    pub fn http_uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    pub fn port(&self) -> u16 {
        self.server.address().port()
    }

    /// A bollard client for this engine, version negotiated (API 1.41).
    pub async fn client(&self) -> bollard::Docker {
        bollard::Docker::connect_with_http(&self.http_uri(), 10, bollard::API_DEFAULT_VERSION)
            .expect("bollard client")
            .negotiate_version()
            .await
            .expect("negotiate_version with the fake engine")
    }

    /// Every request received so far, in order: (method, path and query), e.g.
    /// `("GET", "/containers/7bfe.../logs?stdout=true&stderr=true&since=0&...")`.
    pub async fn requests(&self) -> Vec<(String, String)> {
        let received = self.server.received_requests().await.unwrap_or_default();
        received
            .iter()
            .map(|r| {
                let mut target = r.url.path().to_string();
                if let Some(q) = r.url.query() {
                    target.push('?');
                    target.push_str(q);
                }
                (r.method.to_string(), target)
            })
            .collect()
    }

    /// Adds a container. Panics if one with the same name exists.
    pub fn add_container(&self, container: FakeContainer) {
        let mut state = self.lock();
        assert!(
            !state.containers.iter().any(|c| c.name == container.name),
            "container {:?} already exists in the fake engine",
            container.name
        );
        state.containers.push(container);
    }

    /// Appends entries to a container's log (and to its json-file log, if it has one).
    pub fn push_logs(&self, name: &str, entries: Vec<LogEntry>) {
        self.with(name, |c| {
            if let Some(path) = c.json_log_path() {
                use std::io::Write;
                std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
                let text: String = entries.iter().map(LogEntry::json_line).collect();
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .and_then(|mut f| f.write_all(text.as_bytes()))
                    .expect("the json-file log is written");
            }
            c.logs.extend(entries)
        });
    }

    /// Rotates a container's json-file log as the engine does with `max-file` and `compress`: the
    /// oldest kept file is deleted, the others move up a number, the current one becomes `.1`
    /// (gzipped into `.1.gz` with `compress`), and a new empty one starts. The served log keeps
    /// every entry (a real engine serves only what its files hold; the tests here read the files).
    pub fn rotate_json_log(&self, name: &str, max_files: u32, compress: bool) {
        let path = self
            .container(name)
            .and_then(|c| c.json_log_path())
            .expect("a container with a json-file log");
        let ext = if compress { ".gz" } else { "" };
        let numbered = |n: u32| format!("{}.{n}{ext}", path.display());
        let _ = std::fs::remove_file(numbered(max_files - 1));
        for n in (1..max_files - 1).rev() {
            let _ = std::fs::rename(numbered(n), numbered(n + 1));
        }
        let first = format!("{}.1", path.display());
        std::fs::rename(&path, &first).expect("rotate");
        std::fs::write(&path, b"").expect("a new file");
        if compress {
            use std::io::Write;
            let bytes = std::fs::read(&first).expect("read");
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&bytes).expect("gzip");
            std::fs::write(format!("{first}.gz"), gz.finish().expect("gzip")).expect("write");
            std::fs::remove_file(&first).expect("rm");
        }
    }

    /// What the container's stats answer from now on (while it runs).
    pub fn set_stats(&self, name: &str, reply: StatsReply) {
        self.with(name, |c| c.stats = reply);
    }

    /// Delay of every stats answer for a running container (default zero).
    pub fn set_stats_delay(&self, delay: Duration) {
        self.lock().stats_delay = delay;
    }

    /// Stats answered on the real sampler's schedule (see `State::sampler`), on top of any delay.
    pub fn set_sampler(&self, on: bool) {
        self.lock().sampler = on;
    }

    /// `docker stop`: off the running list, inspect says exited (FinishedAt = now), stats give the
    /// Exited reply, logs still served.
    pub fn stop(&self, name: &str) {
        self.set_running(name, false);
    }

    /// Running again (StartedAt = now) or stopped, like [`FakeEngine::stop`].
    pub fn set_running(&self, name: &str, running: bool) {
        self.with(name, |c| c.set_running(running));
    }

    /// `docker rm`: 404 from every endpoint, gone from the lists.
    pub fn remove(&self, name: &str) {
        let mut state = self.lock();
        let before = state.containers.len();
        state.containers.retain(|c| !c.is_named(name));
        assert!(
            state.containers.len() < before,
            "no container {name:?} in the fake engine"
        );
    }

    /// A copy of a container as the engine holds it now (`None` once removed).
    pub fn container(&self, name: &str) -> Option<FakeContainer> {
        self.lock().find(name).cloned()
    }

    fn with<R>(&self, name: &str, f: impl FnOnce(&mut FakeContainer) -> R) -> R {
        let mut state = self.lock();
        let container = state
            .containers
            .iter_mut()
            .find(|c| c.is_named(name))
            .unwrap_or_else(|| panic!("no container {name:?} in the fake engine"));
        f(container)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- responses ----

/// A response with the headers every 20.10 answer carries.
fn engine_reply(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("Api-Version", "1.41")
        .insert_header("Docker-Experimental", "false")
        .insert_header("Ostype", "linux")
        .insert_header("Server", "Docker/20.10.24+dfsg1 (linux)")
}

/// JSON the way the engine writes it (Go's encoder: one line ending with `\n`).
fn json_reply(status: u16, body: &Value) -> ResponseTemplate {
    let mut bytes = serde_json::to_vec(body).expect("serialisable JSON");
    bytes.push(b'\n');
    engine_reply(status).set_body_raw(bytes, "application/json")
}

fn no_such_container(key: &str) -> ResponseTemplate {
    json_reply(
        404,
        &json!({ "message": format!("No such container: {key}") }),
    )
}

fn bad_parameter(message: &str) -> ResponseTemplate {
    json_reply(400, &json!({ "message": message }))
}

/// `{key}` of `[/v1.41]/containers/{key}/...`.
fn container_key(request: &Request) -> String {
    let segments: Vec<&str> = request.url.path().split('/').collect();
    let at = segments
        .iter()
        .position(|s| *s == "containers")
        .expect("a /containers/ path");
    segments[at + 1].to_string()
}

fn query(request: &Request) -> HashMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

// ---- endpoints: one Respond per endpoint, each reading the shared state ----

/// GET /version: the recorded 20.10 answer (ApiVersion 1.41).
struct VersionEndpoint;

impl Respond for VersionEndpoint {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        json_reply(200, &fixture_json("version.json"))
    }
}

/// GET /_ping: "OK".
struct PingEndpoint;

impl Respond for PingEndpoint {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        engine_reply(200).set_body_raw("OK", "text/plain; charset=utf-8")
    }
}

/// GET /info: the recorded answer with the container counts of the state.
struct InfoEndpoint(Arc<Mutex<State>>);

impl Respond for InfoEndpoint {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let state = lock(&self.0);
        let running = state.containers.iter().filter(|c| c.running).count();
        let mut info = fixture_json("info.json");
        info["Containers"] = json!(state.containers.len());
        info["ContainersRunning"] = json!(running);
        info["ContainersPaused"] = json!(0);
        info["ContainersStopped"] = json!(state.containers.len() - running);
        json_reply(200, &info)
    }
}

/// GET /containers/json[?all=1]: running containers (all with `all`), newest first. `filters`,
/// `limit` and `size` are ignored.
struct ListEndpoint(Arc<Mutex<State>>);

impl Respond for ListEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let all = query(request).get("all").is_some_and(|v| engine_bool(v));
        let state = lock(&self.0);
        let list: Vec<Value> = state
            .containers
            .iter()
            .rev()
            .filter(|c| all || c.running)
            .map(FakeContainer::summary_json)
            .collect();
        json_reply(200, &Value::Array(list))
    }
}

/// GET /containers/{id}/json: inspect, or 404.
struct InspectEndpoint(Arc<Mutex<State>>);

impl Respond for InspectEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = container_key(request);
        match lock(&self.0).find(&key) {
            Some(c) => json_reply(200, &c.inspect_json()),
            None => no_such_container(&key),
        }
    }
}

/// GET /containers/{id}/stats: the container's [`StatsReply`]. `stream` defaults to true as on
/// the engine, but a streamed answer here is one sample and then the end of the body.
struct StatsEndpoint(Arc<Mutex<State>>);

impl Respond for StatsEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = container_key(request);
        let q = query(request);
        let stream = q.get("stream").is_none_or(|v| engine_bool(v));
        let one_shot = q.get("one-shot").is_some_and(|v| engine_bool(v));
        if stream && one_shot {
            return bad_parameter("cannot have stream=true and one-shot=true");
        }
        let state = lock(&self.0);
        let Some(c) = state.find(&key) else {
            return no_such_container(&key);
        };
        let delay = state.stats_delay
            + c.stats_delay
            + if state.sampler && !stream {
                sampler_wait(one_shot)
            } else {
                Duration::ZERO
            };
        match c.effective_stats() {
            StatsReply::Json(body) => {
                json_reply(200, &c.stats_body(&body, one_shot)).set_delay(delay)
            }
            StatsReply::Empty => engine_reply(200)
                .set_body_raw(Vec::new(), "application/json")
                .set_delay(delay),
            StatsReply::Partial(text) => engine_reply(200)
                .set_body_raw(text, "application/json")
                .set_delay(delay),
            StatsReply::NotFound => no_such_container(&key),
            StatsReply::Status(status, message) => {
                json_reply(status, &serde_json::json!({ "message": message })).set_delay(delay)
            }
            StatsReply::Exited => json_reply(200, &c.exited_stats_body()),
        }
    }
}

/// GET /containers/{id}/logs: the stored entries selected by the query, multiplexed (non-TTY) or
/// raw (TTY), with no Content-Type, like API 1.41. `follow` is ignored: the body always ends.
struct LogsEndpoint(Arc<Mutex<State>>);

impl Respond for LogsEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = container_key(request);
        let state = lock(&self.0);
        let Some(c) = state.find(&key) else {
            return no_such_container(&key);
        };
        match LogQuery::from_pairs(request.url.query_pairs().into_owned()) {
            Ok(q) => {
                let mut body = q.render(&c.logs, c.tty);
                let cut = c.cut_next_logs.swap(0, std::sync::atomic::Ordering::SeqCst);
                if cut > 0 {
                    body.truncate(cut);
                }
                engine_reply(200).set_body_bytes(body)
            }
            Err(message) => bad_parameter(&message),
        }
    }
}
