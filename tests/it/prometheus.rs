//! Prometheus's own tools against what the collector serves: `promtool check metrics` on a real
//! scrape, and a real Prometheus server scraping the collector with the reference config
//! (`metrics_path: ""`). Debian's `prometheus` package provides both (`.ci/run` installs it).
//!
//! These tests need the tools: `cargo test` reports them as ignored, `cargo test -- --include-ignored`
//! runs them and fails where a tool is missing.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, base_env, http_get, Collector, Engine, FakeContainer, PATIENCE};

/// Fails the test when `tool` does not run.
pub(crate) fn require(tool: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is missing (apt-get install prometheus)");
}

/// A collector against a fake engine, with what must live as long as it.
struct Running {
    collector: Collector,
    _engine: Engine,
    _dir: tempfile::TempDir,
}

/// A collector with three containers from the recorded fixtures, after its first collection.
fn collector_with_containers() -> Running {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    engine.add_container(FakeContainer::new("web-1").nano_cpus(0));
    engine.add_container(FakeContainer::new("db_primary.2").memory(0));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    collector.wait_for_scrape("all three", |s| {
        ["t1", "web-1", "db_primary.2"]
            .iter()
            .all(|c| s.container("container_up_timestamp_seconds", c).is_some())
    });
    Running {
        collector,
        _engine: engine,
        _dir: dir,
    }
}

#[test]
#[ignore = "needs promtool (apt-get install prometheus)"]
fn promtool_check_metrics_finds_nothing_to_say() {
    require("promtool");
    let running = collector_with_containers();
    let (_, _, body) = running.collector.get("/metrics");
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("feed the scrape");
    let out = child.wait_with_output().expect("promtool ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{said}"
    );
    assert!(said.trim().is_empty(), "promtool has remarks:\n{said}");
}

#[test]
#[ignore = "needs the Prometheus server (apt-get install prometheus)"]
fn a_prometheus_server_with_the_reference_config_sees_the_series() {
    require("prometheus");
    let running = collector_with_containers();
    let server = Prometheus::start(running.collector.port, None);
    let port = server.port;
    let deadline = Instant::now() + PATIENCE;
    let query = "/api/v1/query?query=container_max_memory_bytes%7Bcontainer%3D%22t1%22%7D";
    let mut last = String::new();
    let found = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let (_, _, body) = http_get(port, query);
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                let result = &v["data"]["result"];
                if result.as_array().is_some_and(|r| !r.is_empty()) {
                    break result.clone();
                }
            }
            last = body;
        }
        if Instant::now() > deadline {
            panic!("Prometheus never had the series; last answer: {last}");
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    drop(server);
    let series = &found[0];
    assert_eq!(series["metric"]["machine"], "test-machine");
    assert_eq!(series["metric"]["job"], "metrics-and-logs-collector");
    assert_eq!(series["value"][1], "67108864");
}

/// The monitoring kit (`monitoring/`): the scrape config and alert rules pass `promtool check`, every
/// alert's unit tests pass `promtool test rules`, every dashboard query parses, and every family they
/// use is one the collector exports (`monitoring/families.txt`, checked against a scrape in
/// `every_family_of_the_kit_is_exported`).
#[test]
#[ignore = "needs promtool (apt-get install prometheus)"]
fn the_monitoring_kit_passes_promtool() {
    require("promtool");
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/check-monitoring.sh"))
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "scripts/check-monitoring.sh failed:\n{text}"
    );
    for step in [
        "config",
        "rules",
        "tests",
        "reference",
        "dashboard",
        "families",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("ok") && l.contains(step)),
            "step {step} not reported ok:\n{text}"
        );
    }
}

/// A Prometheus server (Debian's package) of this test, killed when dropped.
pub(crate) struct Prometheus {
    child: Child,
    /// Its HTTP port on 127.0.0.1.
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes 127.0.0.1:`target` every second with the reference config (`metrics_path: ""`), and
    /// evaluates `rules`, if given, every second.
    pub(crate) fn start(target: u16, rules: Option<&Path>) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 {}\
                 scrape_configs:\n  - job_name: metrics-and-logs-collector\n    metrics_path: \"\"\n\
                 \x20   static_configs:\n      - targets: [\"127.0.0.1:{target}\"]\n",
                rules.map_or(String::new(), |r| format!("rule_files:\n  - {}\n", r.display()))
            ),
        )
        .expect("config");
        let port = support::free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        Prometheus {
            child,
            port,
            _dir: dir,
        }
    }

    /// The alerts firing now: (alert name, container).
    pub(crate) fn firing(&self) -> BTreeSet<(String, String)> {
        if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            return BTreeSet::new();
        }
        let (_, _, body) = http_get(self.port, "/api/v1/alerts");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
            return BTreeSet::new();
        };
        v["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["state"] == "firing")
            .map(|a| {
                let label = |k: &str| a["labels"][k].as_str().unwrap_or("").to_string();
                (label("alertname"), label("container"))
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
