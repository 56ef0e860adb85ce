//! Test support: a fake Docker Engine (API 1.41, as Debian's docker.io 20.10) built on wiremock
//! and the fixtures recorded from the real one. Use it from an integration test with `mod support;`.
//!
//! ```ignore
//! let engine = FakeEngine::start().await;
//! engine.add_container(FakeContainer::t1_from_fixtures());
//! // point the collector at engine.uri() ("tcp://127.0.0.1:PORT"), then change the state:
//! engine.push_logs("t1", vec![LogEntry::line(now_nanos(), Stream::Stdout, "INFO more")]);
//! engine.stop("t1");
//! ```
#![allow(dead_code, unused_imports)]

mod container;
mod engine;
mod logs;

use std::path::PathBuf;

pub use container::{
    one_shot_of, stats_advanced, t1_fixture_logs, FakeContainer, StatsReply, T1_FIXTURE_ID,
    T1_STARTED_AT, ZERO_TIME,
};
pub use engine::FakeEngine;
pub use logs::{
    format_engine_ts, parse_multiplexed_with_timestamps, parse_rfc3339_nanos,
    parse_tty_with_timestamps, LogEntry, Stream, ENGINE_LINE_SPLIT,
};

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
