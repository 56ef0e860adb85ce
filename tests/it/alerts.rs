//! The Python tool's own alert rules (`monitoring/reference-rules.yml`), as its users run them, over
//! what container-metrics exports: they must fire exactly when they fired with the Python tool. Issue
//! 11: level series started at 0 made `ContainerLogsErrors` (no comparison) fire for every container.
//!
//! Two views: promtool's rule unit tests over the collector's own scrapes (fake engine), and a real
//! Prometheus server evaluating the rules against the binary on a real Docker Engine.
//!
//! These need promtool, the Prometheus server and (the second) a real engine: `cargo test` reports
//! them as ignored, `cargo test -- --include-ignored` runs them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::prometheus::{require, Prometheus};
use crate::real_engine::{docker, require_engine, sharing_the_engine, Container};
use crate::support::{
    base_env, now_nanos, Collector, Engine, FakeContainer, LogEntry, Scrape, Stream, PATIENCE,
};

fn reference_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/reference-rules.yml")
}

/// The families the reference rules read.
const RULE_FAMILIES: [&str; 6] = [
    "container_up_timestamp_seconds",
    "container_used_memory_bytes",
    "container_max_memory_bytes",
    "container_cpu_usage_percent",
    "container_cpus_available",
    "container_logs_total",
];

/// promtool's `input_series` for the series of `later` (one sample a minute): the value `earlier` had
/// at 0m (none when the series did not exist yet), then `later`'s value from 1m to 10m.
fn input_series(earlier: &Scrape, later: &Scrape) -> String {
    let mut yaml = String::new();
    for line in later.text.lines() {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        if line.starts_with('#') || !RULE_FAMILIES.iter().any(|f| key.starts_with(f)) {
            continue;
        }
        let first = earlier
            .text
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .unwrap_or("_");
        yaml.push_str(&format!(
            "      - series: '{key}'\n        values: '{first} {value}x9'\n"
        ));
    }
    yaml
}

/// The containers for which `alert` should be firing at 6m, by the rule's own arithmetic on `s`.
fn ratio_over(s: &Scrape, containers: &[&str], num: &str, den: &str) -> Vec<String> {
    containers
        .iter()
        .filter(|c| {
            let n = s.container(num, c).expect(num);
            let d = s.container(den, c).expect(den);
            d > 0.0 && n / d > 0.8
        })
        .map(|c| c.to_string())
        .collect()
}

fn exp_alerts(containers: &[String]) -> String {
    if containers.is_empty() {
        return "        exp_alerts: []\n".to_string();
    }
    let mut yaml = "        exp_alerts:\n".to_string();
    for c in containers {
        yaml.push_str(&format!(
            "          - exp_labels: {{machine: test-machine, container: {c}}}\n"
        ));
    }
    yaml
}

/// promtool evaluates the Python tool's rules over two scrapes of the collector: a container that
/// logs only INFO lines gets no ContainerLogsErrors alert, one that logs ERROR lines does; the memory
/// and CPU alerts follow the rules' arithmetic on the exported values.
#[test]
#[ignore = "needs promtool (apt-get install prometheus)"]
fn the_python_tools_rules_fire_over_our_scrapes_as_over_the_python_tools() {
    require("promtool");
    let engine = Engine::start();
    let line =
        |n: i64, text: &str| LogEntry::line(now_nanos() - 10_000_000_000 + n, Stream::Stdout, text);
    engine.add_container(FakeContainer::new("quiet").logs(vec![line(0, "INFO all good 1")]));
    engine.add_container(FakeContainer::new("broken").logs(vec![line(0, "ERROR it broke 1")]));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let earlier = collector.wait_for_scrape("one line of each", |s| {
        s.logs("quiet", "info") == Some(1.0) && s.logs("broken", "error") == Some(1.0)
    });
    engine.push_logs(
        "quiet",
        vec![LogEntry::line(
            now_nanos(),
            Stream::Stdout,
            "INFO all good 2",
        )],
    );
    engine.push_logs(
        "broken",
        vec![LogEntry::line(
            now_nanos(),
            Stream::Stderr,
            "ERROR it broke 2",
        )],
    );
    let later = collector.wait_for_scrape("the second lines", |s| {
        s.logs("quiet", "info") == Some(2.0) && s.logs("broken", "error") == Some(2.0)
    });

    let both = ["quiet", "broken"];
    let memory = ratio_over(
        &later,
        &both,
        "container_used_memory_bytes",
        "container_max_memory_bytes",
    );
    let cpu = ratio_over(
        &later,
        &both,
        "container_cpu_usage_percent",
        "container_cpus_available",
    );
    let test = format!(
        "rule_files:\n  - {rules}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{series}\
         \x20   alert_rule_test:\n\
         \x20     - eval_time: 2m\n        alertname: ContainerLogsErrors\n{logs}\
         \x20     - eval_time: 6m\n        alertname: ContainerHighMemoryUsage\n{memory}\
         \x20     - eval_time: 6m\n        alertname: ContainerHighCpuUsage\n{cpu}",
        rules = reference_rules().display(),
        series = input_series(&earlier, &later),
        logs = exp_alerts(&["broken".to_string()]),
        memory = exp_alerts(&memory),
        cpu = exp_alerts(&cpu),
    );
    let file = dir.path().join("reference_rules_test.yml");
    std::fs::write(&file, &test).expect("write the rule test");
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&file)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool test rules failed:\n{}{}\nthe test:\n{test}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        earlier.logs("quiet", "error"),
        None,
        "a container that logged no error has no error series, as with the Python client:\n{}",
        earlier.text
    );
}

/// A real Prometheus evaluates the Python tool's rules every second against the binary on a real
/// engine: ContainerLogsErrors fires for the container that logs ERROR lines and never for the one
/// that logs INFO lines; ContainerDown fires for a container stopped a minute ago and for no running
/// one.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and the Prometheus server (apt-get install prometheus)"]
fn the_python_tools_rules_fire_on_a_real_engine_as_with_the_python_tool() {
    require_engine();
    require("prometheus");
    let _engine = sharing_the_engine();
    let quiet_c = Container::run(
        "alerts-quiet",
        &[],
        "i=0; while true; do i=$((i+1)); echo \"INFO all good $i\"; sleep 1; done",
    );
    let broken_c = Container::run(
        "alerts-broken",
        &[],
        "i=0; while true; do i=$((i+1)); echo \"ERROR it broke $i\"; sleep 1; done",
    );
    let stopped_c = Container::run("alerts-stopped", &[], "sleep 600");
    let (quiet, broken, stopped) = (
        quiet_c.name.clone(),
        broken_c.name.clone(),
        stopped_c.name.clone(),
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&crate::real_engine::socket(), dir.path());
    // Only this test's containers: other tests' containers would bring alerts of their own.
    env.push((
        "INCLUDE_CONTAINERS".into(),
        format!("{quiet},{broken},{stopped}"),
    ));
    env.retain(|(k, _)| k != "DEFAULT_LOGS_SINCE_NOW");
    env.push(("DEFAULT_LOGS_SINCE_NOW".into(), "60".into()));
    let collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("all three containers", |s| {
        [&quiet, &broken, &stopped]
            .iter()
            .all(|c| s.container("container_up_timestamp_seconds", c).is_some())
    });
    docker(&["stop", "-t", "0", &stopped]);
    let stopped_at = Instant::now();
    let prometheus = Prometheus::start(collector.port, Some(&reference_rules()));

    let errors = ("ContainerLogsErrors".to_string(), broken.clone());
    let down = ("ContainerDown".to_string(), stopped.clone());
    let wrong = |firing: &BTreeSet<(String, String)>| -> Vec<(String, String)> {
        firing
            .iter()
            .filter(|(alert, c)| match alert.as_str() {
                "ContainerLogsErrors" => c != &broken,
                "ContainerDown" => c != &stopped,
                _ => true,
            })
            .cloned()
            .collect()
    };
    let mut seen_errors: Option<Instant> = None;
    // ContainerDown needs 60 s after the last collection; Prometheus needs a few scrapes first.
    let deadline = Instant::now() + Duration::from_secs(90) + PATIENCE;
    loop {
        let firing = prometheus.firing();
        let bad = wrong(&firing);
        assert!(
            bad.is_empty(),
            "alerts the Python tool would not fire: {bad:?} (firing: {firing:?})\nscrape:\n{}",
            collector.scrape().text
        );
        if firing.contains(&errors) && seen_errors.is_none() {
            seen_errors = Some(Instant::now());
        }
        if firing.contains(&down) {
            // The rule counts from the last collection that saw the container up, which may be up
            // to a collection before the stop returned: it must not fire before 60 s from there.
            let seen_up = collector
                .scrape()
                .container("container_up_timestamp_seconds", &stopped)
                .expect("the stopped container's last up time");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs_f64();
            assert!(
                now - seen_up > 60.0,
                "ContainerDown fired {:.1} s after the container was last seen up ({:?} after the stop)",
                now - seen_up,
                stopped_at.elapsed()
            );
            // Quiet's counter had time to be seen by several evaluations meanwhile.
            if seen_errors.is_some_and(|t| t.elapsed() >= Duration::from_secs(10)) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "not all expected alerts fired: ContainerLogsErrors for {broken}: {}, ContainerDown \
             for {stopped}: {}; firing now: {firing:?}",
            seen_errors.is_some(),
            firing.contains(&down)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let s = collector.scrape();
    assert_eq!(s.logs(&quiet, "error"), None, "{}", s.text);
    assert!(
        s.logs(&quiet, "info").is_some_and(|n| n >= 1.0),
        "{}",
        s.text
    );
    assert!(
        s.logs(&broken, "error").is_some_and(|n| n >= 1.0),
        "{}",
        s.text
    );
}
