//! `examples/embed.rs`: a Rust program running the collector in its own runtime, with its own
//! registry and its own shutdown, built by `cargo test` and run here against the fake engine.

use std::process::Command;

use crate::support::{Engine, FakeContainer, Scrape};

/// The example's binary, built beside this test binary (`target/<profile>/examples/embed`).
fn example() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    profile_dir.join("examples").join("embed")
}

#[test]
fn a_program_embedding_the_collector_gathers_its_series_in_its_own_registry_and_stops_it() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let mut cmd = Command::new(example());
    for setting in container_metrics::SETTINGS {
        cmd.env_remove(setting.env);
    }
    let out = cmd
        .args(["--seconds", "4", "--docker-host", &engine.uri()])
        .args(["--logs-dir", &path("logs"), "--metrics-exporter-port", "0"])
        .args(["--metrics-exporter-address", "127.0.0.1"])
        .args(["--last-metrics-collected-at-file", &path("last-metrics")])
        .args(["--last-logs-collected-at-file", &path("last-logs")])
        .args([
            "--metrics-collection-interval",
            "1",
            "--logs-collection-interval",
            "1",
        ])
        .args(["--machine-name", "embedded"])
        // The recorded logs are older than a minute: take everything the engine holds.
        .args(["--default-logs-since-now", "1000000000"])
        .output()
        .expect("the example runs (cargo test builds it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the example failed: {stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    let s = Scrape::parse(&text);
    let labels = [("container", "t1"), ("machine", "embedded")];
    assert_eq!(
        s.value("container_max_memory_bytes", &labels),
        Some(67_108_864.0),
        "the program's own registry holds the container series:\n{text}"
    );
    assert!(s
        .value("collector_up_timestamp_seconds", &[("machine", "embedded")])
        .is_some());
    // The collector it stopped flushed its files: t1's recorded log lines are there.
    let log = std::fs::read_to_string(dir.path().join("logs/t1/t1.log")).unwrap_or_default();
    assert!(log.lines().count() > 0, "t1's log was written and flushed");
}
