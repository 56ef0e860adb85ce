//! A container of the fake engine: its settings (builder), and how the engine shows it in the
//! list, in inspect and in stats, all based on the recorded 20.10 fixtures.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::logs::{
    format_engine_ts, parse_multiplexed_with_timestamps, parse_rfc3339_nanos, LogEntry,
};
use super::{fixture, fixture_json, now_nanos};

/// The Id of the recorded t1, read from the fixtures (so a re-recording changes it everywhere).
pub fn t1_fixture_id() -> String {
    fixture_json("containers_json.json")[0]["Id"]
        .as_str()
        .expect("Id of the recorded t1")
        .to_string()
}
/// `StartedAt` of the recorded t1, read from the fixtures.
pub fn t1_started_at() -> String {
    fixture_json("container_t1_inspect.json")["State"]["StartedAt"]
        .as_str()
        .expect("StartedAt of the recorded t1")
        .to_string()
}
/// Go's zero time, which the engine prints for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// What `GET /containers/{id}/stats` answers for a running container.
#[derive(Clone, Debug, PartialEq)]
pub enum StatsReply {
    /// 200 with this body (its `name` and `id` are set to the container's). With `one-shot`, the
    /// container's explicit one-shot body if it has one, else this body with `precpu_stats` zeroed
    /// and `preread` = 0001-01-01T00:00:00Z.
    Json(Value),
    /// 200 with an empty body.
    Empty,
    /// 200 with exactly this text (e.g. truncated JSON).
    Partial(String),
    /// 404 `{"message":"No such container: X"}`.
    NotFound,
    /// The all-zero body the engine sends for a container that is not running
    /// (`stats_t3_exited_stream_false.json`). A stopped container always gets this.
    Exited,
    /// This status with `{"message": <text>}`, e.g. a 500 from a troubled engine.
    Status(u16, String),
}

impl StatsReply {
    /// `Json` of the recorded `stats_stream_false.json` (cgroup v1, precpu filled).
    pub fn fixture() -> StatsReply {
        StatsReply::Json(fixture_json("stats_stream_false.json"))
    }
}

/// A container as a test describes it. Build with [`FakeContainer::new`] and the setters.
#[derive(Clone, Debug)]
pub struct FakeContainer {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) image: String,
    pub(crate) image_id: String,
    pub(crate) command: String,
    pub(crate) created: i64,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) tty: bool,
    pub(crate) nano_cpus: i64,
    pub(crate) memory: i64,
    pub(crate) started_at: String,
    pub(crate) finished_at: String,
    pub(crate) running: bool,
    pub(crate) exit_code: i64,
    pub(crate) stats: StatsReply,
    pub(crate) stats_one_shot: Option<Value>,
    pub(crate) logs: Vec<LogEntry>,
    /// Extra time this container's stats take, on top of the engine's delay.
    pub(crate) stats_delay: std::time::Duration,
    /// `Config.Env` of the inspect answer; `None` keeps the fixture's.
    pub(crate) env: Option<Vec<String>>,
    /// When not 0: the next logs reply is cut after this many bytes (then reset to 0).
    pub(crate) cut_next_logs: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// `State.Health.Status` of the inspect answer; `None`: no health check.
    pub(crate) health: Option<String>,
    /// `RestartCount` and `State.OOMKilled` of the inspect answer.
    pub(crate) restarts: i64,
    pub(crate) oom_killed: bool,
    /// `HostConfig.LogConfig.Type`.
    pub(crate) log_driver: String,
    /// Where the fake engine keeps this container's json-file log as the real one does
    /// (`<dir>/<id>/<id>-json.log`, rotated to `.1`, `.2.gz`, ...); `None`: only served.
    pub(crate) json_dir: Option<std::path::PathBuf>,
}

impl FakeContainer {
    /// A running non-TTY container called `name` with t1's settings from the fixtures (image
    /// testbox:latest, NanoCpus 0.5 CPU, Memory 64 MiB, StartedAt of t1, stats_stream_false.json),
    /// an Id derived from the name, and no logs.
    pub fn new(name: &str) -> FakeContainer {
        FakeContainer {
            name: name.trim_start_matches('/').to_string(),
            id: id_for_name(name),
            image: "testbox:latest".to_string(),
            image_id: "sha256:598ca7cdf1dd22f5a40cb013fa1fc85b6d05499ac5f2987b46beb1d2f6eff1c2"
                .to_string(),
            command: "sh".to_string(),
            created: 1_795_546_425,
            labels: BTreeMap::new(),
            tty: false,
            nano_cpus: 500_000_000,
            memory: 67_108_864,
            started_at: t1_started_at(),
            finished_at: ZERO_TIME.to_string(),
            running: true,
            exit_code: 0,
            stats: StatsReply::fixture(),
            stats_one_shot: None,
            logs: Vec::new(),
            stats_delay: std::time::Duration::ZERO,
            env: None,
            cut_next_logs: Default::default(),
            health: None,
            restarts: 0,
            oom_killed: false,
            log_driver: "json-file".to_string(),
            json_dir: None,
        }
    }

    /// The recorded t1: its Id, command, inspect values, `stats_stream_false.json`, the explicit
    /// one-shot body `stats_one_shot.json`, and the entries of `logs_t1_since0_full.raw`.
    pub fn t1_from_fixtures() -> FakeContainer {
        let listed = &fixture_json("containers_json.json")[0];
        FakeContainer::new("t1")
            .id(&t1_fixture_id())
            .command(listed["Command"].as_str().expect("Command"))
            .stats_one_shot(fixture_json("stats_one_shot.json"))
            .logs(t1_fixture_logs())
    }

    /// The recorded t1 of another fixture set (`fixtures/<set>/`), for parity across engine versions:
    /// its Id, limits, start time, stats, one-shot stats and log.
    pub fn t1_from_fixture_set(set: &str) -> FakeContainer {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(set);
        let read = |name: &str| -> Vec<u8> {
            std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("fixture {set}/{name}: {e}"))
        };
        let json = |name: &str| -> Value {
            serde_json::from_slice(&read(name))
                .unwrap_or_else(|e| panic!("fixture {set}/{name}: {e}"))
        };
        let inspect = json("container_t1_inspect.json");
        let listed = &json("containers_json.json")[0];
        FakeContainer::new("t1")
            .id(listed["Id"].as_str().expect("Id"))
            .command(listed["Command"].as_str().expect("Command"))
            .nano_cpus(
                inspect["HostConfig"]["NanoCpus"]
                    .as_i64()
                    .expect("NanoCpus"),
            )
            .memory(inspect["HostConfig"]["Memory"].as_i64().expect("Memory"))
            .started_at(inspect["State"]["StartedAt"].as_str().expect("StartedAt"))
            .stats(StatsReply::Json(json("stats_stream_false.json")))
            .stats_one_shot(json("stats_one_shot.json"))
            .logs(parse_multiplexed_with_timestamps(&read(
                "logs_t1_since0_full.raw",
            )))
    }

    /// This container's stats answer `delay` later than the others (a stuck container).
    pub fn stats_delay(mut self, delay: std::time::Duration) -> Self {
        self.stats_delay = delay;
        self
    }
    /// `Config.Env` as inspect shows it, e.g. `["DB_PASSWORD=hunter2"]`.
    /// Cuts the first logs reply after `bytes` bytes, in the middle of a frame if it falls there (a
    /// body that ends early); later replies are whole.
    pub fn cut_first_logs_reply(self, bytes: usize) -> Self {
        self.cut_next_logs
            .store(bytes, std::sync::atomic::Ordering::SeqCst);
        self
    }

    /// A health check in this state (`starting`, `healthy`, `unhealthy`).
    pub fn health(mut self, status: &str) -> Self {
        self.health = Some(status.to_string());
        self
    }

    /// Restarted `count` times by its restart policy, the last exit an OOM kill or not.
    pub fn restarted(mut self, count: i64, oom_killed: bool) -> Self {
        self.restarts = count;
        self.oom_killed = oom_killed;
        self
    }

    pub fn env(mut self, env: &[&str]) -> Self {
        self.env = Some(env.iter().map(|e| e.to_string()).collect());
        self
    }

    pub fn id(mut self, id: &str) -> Self {
        self.id = id.to_string();
        self
    }
    /// The engine keeps the log as json-file files under `dir` (its containers directory), as well
    /// as serving it.
    pub fn json_file_under(mut self, dir: &std::path::Path) -> Self {
        self.json_dir = Some(dir.to_path_buf());
        self
    }
    pub fn log_driver(mut self, driver: &str) -> Self {
        self.log_driver = driver.to_string();
        self
    }
    /// The json-file log, if the engine keeps one: `<dir>/<id>/<id>-json.log`.
    pub fn json_log_path(&self) -> Option<std::path::PathBuf> {
        let dir = self.json_dir.as_ref()?;
        Some(dir.join(&self.id).join(format!("{}-json.log", self.id)))
    }
    pub fn tty(mut self, tty: bool) -> Self {
        self.tty = tty;
        self
    }
    pub fn nano_cpus(mut self, nano_cpus: i64) -> Self {
        self.nano_cpus = nano_cpus;
        self
    }
    pub fn memory(mut self, bytes: i64) -> Self {
        self.memory = bytes;
        self
    }
    /// RFC3339 as the engine prints it, e.g. "2026-11-24T18:53:45.928599818Z".
    pub fn started_at(mut self, rfc3339: &str) -> Self {
        self.started_at = rfc3339.to_string();
        self
    }
    pub fn stats(mut self, reply: StatsReply) -> Self {
        self.stats = reply;
        self
    }
    /// The exact body for `one-shot=1` requests (instead of the derived one).
    pub fn stats_one_shot(mut self, body: Value) -> Self {
        self.stats_one_shot = Some(body);
        self
    }
    pub fn logs(mut self, entries: Vec<LogEntry>) -> Self {
        self.logs = entries;
        self
    }
    /// `false` = created and exited (listed only with `all=1`, stats give the Exited reply).
    pub fn running(mut self, running: bool) -> Self {
        self.running = running;
        self
    }
    pub fn exit_code(mut self, code: i64) -> Self {
        self.exit_code = code;
        self
    }
    pub fn command(mut self, command: &str) -> Self {
        self.command = command.to_string();
        self
    }
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }

    /// The container's Id.
    pub fn get_id(&self) -> &str {
        &self.id
    }
    /// The stored log entries.
    pub fn get_logs(&self) -> &[LogEntry] {
        &self.logs
    }

    /// Whether `key` (a full Id, a name with or without `/`) names this container. Id prefixes
    /// are resolved by the engine state, which knows whether a prefix is unique.
    pub(crate) fn is_named(&self, key: &str) -> bool {
        self.id == key || self.name == key.trim_start_matches('/')
    }

    /// Stops the container now (the engine's view after `docker stop`).
    pub(crate) fn set_running(&mut self, running: bool) {
        if running && !self.running {
            self.started_at = format_engine_ts(now_nanos());
            self.finished_at = ZERO_TIME.to_string();
        } else if !running && self.running {
            self.finished_at = format_engine_ts(now_nanos());
        }
        self.running = running;
    }

    /// The entry of `GET /containers/json`.
    pub(crate) fn summary_json(&self) -> Value {
        let mut v = fixture_json("containers_json.json")[0].clone();
        v["Id"] = json!(self.id);
        v["Names"] = json!([format!("/{}", self.name)]);
        v["Image"] = json!(self.image);
        v["ImageID"] = json!(self.image_id);
        v["Command"] = json!(self.command);
        v["Created"] = json!(self.created);
        v["Labels"] = json!(self.labels);
        let now = now_nanos();
        if self.running {
            v["State"] = json!("running");
            let since = parse_rfc3339_nanos(&self.started_at).unwrap_or(now);
            v["Status"] = json!(format!("Up {}", human_duration(now - since)));
        } else {
            v["State"] = json!("exited");
            let since = parse_rfc3339_nanos(&self.finished_at).unwrap_or(now);
            v["Status"] = json!(format!(
                "Exited ({}) {} ago",
                self.exit_code,
                human_duration(now - since)
            ));
        }
        v
    }

    /// The body of `GET /containers/{id}/json`.
    pub(crate) fn inspect_json(&self) -> Value {
        let text = String::from_utf8(fixture("container_t1_inspect.json")).expect("UTF-8 fixture");
        let mut v: Value = serde_json::from_str(&text.replace(&t1_fixture_id(), &self.id))
            .expect("inspect fixture");
        v["Name"] = json!(format!("/{}", self.name));
        v["Image"] = json!(self.image_id);
        let state = &mut v["State"];
        state["Status"] = json!(if self.running { "running" } else { "exited" });
        state["Running"] = json!(self.running);
        state["Pid"] = json!(if self.running { 7911 } else { 0 });
        state["ExitCode"] = json!(if self.running { 0 } else { self.exit_code });
        state["StartedAt"] = json!(self.started_at);
        state["FinishedAt"] = json!(self.finished_at);
        state["OOMKilled"] = json!(self.oom_killed);
        if let Some(h) = &self.health {
            state["Health"] = json!({"Status": h, "FailingStreak": 0, "Log": []});
        }
        v["RestartCount"] = json!(self.restarts);
        let host = &mut v["HostConfig"];
        host["LogConfig"]["Type"] = json!(self.log_driver);
        host["NanoCpus"] = json!(self.nano_cpus);
        host["Memory"] = json!(self.memory);
        host["MemorySwap"] = json!(if self.memory > 0 { 2 * self.memory } else { 0 });
        let config = &mut v["Config"];
        config["Tty"] = json!(self.tty);
        if let Some(env) = &self.env {
            config["Env"] = json!(env);
        }
        config["Image"] = json!(self.image);
        config["Labels"] = json!(self.labels);
        config["Hostname"] = json!(self.id.chars().take(12).collect::<String>());
        v
    }

    /// What the stats endpoint answers now: a stopped container always gets `Exited`.
    pub(crate) fn effective_stats(&self) -> StatsReply {
        if self.running {
            self.stats.clone()
        } else {
            StatsReply::Exited
        }
    }

    /// A stats body with this container's `name` and `id`.
    pub(crate) fn stats_body(&self, reply_json: &Value, one_shot: bool) -> Value {
        let mut v = match (&self.stats_one_shot, one_shot) {
            (Some(explicit), true) => explicit.clone(),
            (None, true) => one_shot_of(reply_json),
            (_, false) => reply_json.clone(),
        };
        self.patch_name_id(&mut v);
        v
    }

    /// The all-zero body of a container that is not running.
    pub(crate) fn exited_stats_body(&self) -> Value {
        let mut v = fixture_json("stats_t3_exited_stream_false.json");
        self.patch_name_id(&mut v);
        v
    }

    fn patch_name_id(&self, v: &mut Value) {
        if let Some(obj) = v.as_object_mut() {
            obj.insert("name".into(), json!(format!("/{}", self.name)));
            obj.insert("id".into(), json!(self.id));
        }
    }
}

/// A body as the engine sends it for `one-shot=1`: `precpu_stats` zeroed, `preread` = zero time.
pub fn one_shot_of(body: &Value) -> Value {
    let mut v = body.clone();
    v["preread"] = json!(ZERO_TIME);
    v["precpu_stats"] = json!({
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
    });
    v
}

/// The next sample after `prev`, `elapsed_ns` later: `precpu_stats` = `prev.cpu_stats`, the CPU
/// counters advanced (`total_usage` by `cpu_ns`, `system_cpu_usage` by `elapsed_ns` x online
/// CPUs, spread over `percpu_usage` on the first CPU), `read`/`preread` moved on, memory kept.
pub fn stats_advanced(prev: &Value, cpu_ns: u64, elapsed_ns: u64) -> Value {
    let mut v = prev.clone();
    let cpu = prev["cpu_stats"].clone();
    let online = cpu["online_cpus"].as_u64().unwrap_or(1);
    v["precpu_stats"] = cpu;
    let total = &mut v["cpu_stats"]["cpu_usage"]["total_usage"];
    *total = json!(total.as_u64().unwrap_or(0) + cpu_ns);
    if let Some(first) = v["cpu_stats"]["cpu_usage"]["percpu_usage"].get_mut(0) {
        *first = json!(first.as_u64().unwrap_or(0) + cpu_ns);
    }
    let system = &mut v["cpu_stats"]["system_cpu_usage"];
    *system = json!(system.as_u64().unwrap_or(0) + elapsed_ns * online);
    let read = prev["read"].as_str().and_then(parse_rfc3339_nanos);
    if let Some(read) = read {
        v["preread"] = json!(format_engine_ts(read));
        v["read"] = json!(format_engine_ts(read + elapsed_ns as i64));
    }
    v
}

/// The entries of `logs_t1_since0_full.raw`.
pub fn t1_fixture_logs() -> Vec<LogEntry> {
    parse_multiplexed_with_timestamps(&fixture("logs_t1_since0_full.raw"))
}

/// A stable 64-hex-digit Id for a name (FNV-1a, four rounds).
fn id_for_name(name: &str) -> String {
    (0u64..4)
        .map(|round| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ round;
            for b in name.bytes().chain(round.to_le_bytes()) {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            format!("{h:016x}")
        })
        .collect()
}

/// The engine's `units.HumanDuration`, as far as tests need it.
fn human_duration(nanos: i64) -> String {
    let secs = nanos / 1_000_000_000;
    let mins = secs / 60;
    let hours = (secs as f64 / 3600.0).round() as i64;
    match () {
        _ if secs < 1 => "Less than a second".to_string(),
        _ if secs == 1 => "1 second".to_string(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if mins == 1 => "About a minute".to_string(),
        _ if mins < 60 => format!("{mins} minutes"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ => format!("{} days", hours / 24),
    }
}
