//! What the integration tests share: a fake Docker Engine (API 1.41, as Debian's docker.io 20.10)
//! built on wiremock and the fixtures recorded from the real one ([`FakeEngine`], and [`Engine`] to
//! run it beside a blocking test), and the collector binary run the way a user runs it ([`Collector`],
//! with what it exposes read back: [`Scrape`], [`http_get`]).
//!
//! ```ignore
//! let engine = Engine::start();
//! engine.add_container(FakeContainer::t1_from_fixtures());
//! let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
//! // then change the engine's state and watch the collector follow:
//! engine.push_logs("t1", vec![LogEntry::line(now_nanos(), Stream::Stdout, "INFO more")]);
//! engine.stop("t1");
//! ```
//!
//! `examples/fake_engine.rs` includes this module too, for soak runs against the same fake engine.

mod background;
mod collector;
mod container;
mod engine;
mod logs;
mod machine;

use std::path::PathBuf;

use serde_json::Value;

pub use background::Engine;
pub use collector::{base_env, http_get, unix_now, Collector, Scrape, PATIENCE};
pub use container::{
    stats_advanced, t1_fixture_id, t1_fixture_logs, t1_started_at, FakeContainer, StatsReply,
    ZERO_TIME,
};
pub use engine::{FakeEngine, Listen};
pub use logs::{
    format_engine_ts, parse_multiplexed_with_timestamps, parse_tty_with_timestamps, LogEntry,
    Stream,
};
pub use machine::alone_on_the_machine;

/// `fixtures/docker-20.10/` of this crate.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("docker-20.10")
}

/// The bytes of a recorded fixture, e.g. `fixture("logs_t1_since0_full.raw")`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()))
}

/// A recorded JSON fixture, e.g. `fixture_json("stats_stream_false.json")`.
pub fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name))
        .unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"))
}

/// Now, in unix nanoseconds.
pub fn now_nanos() -> i64 {
    chrono::Utc::now()
        .timestamp_nanos_opt()
        .expect("now fits in i64 nanoseconds")
}

/// A port on 127.0.0.1 that nothing listens on right now (bound, read, released): point the
/// collector at it to see "connection refused", then `FakeEngine::start_on_port(port)`.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A JSON fixture of the set `fixtures/<set>/`.
pub fn set_json(set: &str, name: &str) -> Value {
    let path = format!("{}/fixtures/{set}/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .expect("JSON")
}

fn u(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} missing"))
}

/// The reference rules, applied to one stats answer and one inspect answer.
pub struct Expected {
    pub started_at: f64,
    pub used_memory: f64,
    pub max_memory: f64,
    pub cpu_usage_percent: f64,
    pub cpus_available: f64,
}

impl Expected {
    /// (family, value) for each container family whose value comes from the engine's answers.
    pub fn by_family(&self) -> [(&'static str, f64); 5] {
        [
            ("container_started_at_timestamp_seconds", self.started_at),
            ("container_used_memory_bytes", self.used_memory),
            ("container_max_memory_bytes", self.max_memory),
            ("container_cpu_usage_percent", self.cpu_usage_percent),
            ("container_cpus_available", self.cpus_available),
        ]
    }
}

/// What the reference rules give for t1 of the set: values worked out from the JSON itself, not
/// with the crate's code.
pub fn expected(set: &str) -> Expected {
    let stats = set_json(set, "stats_stream_false.json");
    let inspect = set_json(set, "container_t1_inspect.json");
    let cpu_delta = u(&stats, "/cpu_stats/cpu_usage/total_usage")
        - u(&stats, "/precpu_stats/cpu_usage/total_usage");
    let system_delta =
        u(&stats, "/cpu_stats/system_cpu_usage") - u(&stats, "/precpu_stats/system_cpu_usage");
    let online = u(&stats, "/cpu_stats/online_cpus");
    let cpu = if cpu_delta > 0.0 && system_delta > 0.0 {
        (cpu_delta / system_delta * online * 10_000.0).round() / 10_000.0
    } else {
        0.0
    };
    let nano = u(&inspect, "/HostConfig/NanoCpus");
    let started = inspect["State"]["StartedAt"].as_str().expect("StartedAt");
    let started = chrono::DateTime::parse_from_rfc3339(started)
        .expect("RFC 3339")
        .timestamp() as f64;
    Expected {
        started_at: started,
        used_memory: u(&stats, "/memory_stats/usage"),
        max_memory: u(&stats, "/memory_stats/limit"),
        cpu_usage_percent: cpu,
        cpus_available: if nano > 0.0 { nano / 1e9 } else { online },
    }
}
