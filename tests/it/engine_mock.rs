//! The binary against a fake Docker Engine that serves responses recorded from a real one: what it
//! exports, what it writes (the log files have a module of their own, `log_files`), and how it
//! survives what engines do (404s, empty stats, being down).

use std::time::Duration;

use crate::support::{
    self, base_env, unix_now, Collector, Engine, FakeContainer, LogEntry, Scrape, StatsReply,
    Stream,
};

/// The lines the recorded t1 log holds, as they must appear in the file.
fn recorded_t1_lines() -> Vec<String> {
    recorded_t1_lines_of("docker-20.10")
}

/// The lines of t1's recorded log in the fixture set `set`.
fn recorded_t1_lines_of(set: &str) -> Vec<String> {
    let path = format!(
        "{}/fixtures/{set}/logs_t1_since0_full.raw",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let entries = support::parse_multiplexed_with_timestamps(&raw);
    assert!(entries.len() > 100, "the fixture holds a real log");
    entries
        .iter()
        .map(|e| {
            String::from_utf8_lossy(e.text.strip_suffix(b"\n").unwrap_or(&e.text)).into_owned()
        })
        .collect()
}

fn now_ns() -> i64 {
    support::now_nanos()
}

mod engine_files;
mod log_files;
mod patterns;

/// For every recorded engine (fixtures/docker-20.10, docker-26.1, ...).
#[test]
fn recorded_t1_exports_every_family_and_writes_every_line_once() {
    for set in crate::parity::fixture_sets() {
        recorded_t1_of(&set);
    }
}

fn recorded_t1_of(set: &str) {
    let engine = Engine::start();
    engine.add_container(if set == "docker-20.10" {
        FakeContainer::t1_from_fixtures()
    } else {
        FakeContainer::t1_from_fixture_set(set)
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let before = unix_now();
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let lines = recorded_t1_lines_of(set);
    let s = collector.wait_for_scrape("t1's metrics and log counts", |s| {
        s.container("container_up_timestamp_seconds", "t1")
            .is_some()
            && s.logs("t1", "info").unwrap_or(0.0) + s.logs("t1", "error").unwrap_or(0.0)
                >= lines.len() as f64
    });
    // What the reference rules give for the recorded responses.
    let want = support::expected(set);
    for (family, value) in want.by_family() {
        assert_eq!(s.container(family, "t1"), Some(value), "{set}: {family}");
    }
    let up = s
        .container("container_up_timestamp_seconds", "t1")
        .expect("up");
    assert!(
        up >= before as f64 && up <= unix_now() as f64,
        "up {up} is the collection time"
    );
    let loop_end = s
        .value(
            "collector_up_timestamp_seconds",
            &[("machine", "test-machine")],
        )
        .expect("collector_up");
    assert!(loop_end >= before as f64 && loop_end <= unix_now() as f64);
    assert!(
        s.value("process_resident_memory_bytes", &[]).is_some(),
        "process families"
    );

    let info = lines.iter().filter(|l| l.starts_with("INFO")).count() as f64;
    let error = lines.iter().filter(|l| l.contains("ERROR")).count() as f64;
    assert_eq!(s.logs("t1", "info"), Some(info));
    assert_eq!(s.logs("t1", "error"), Some(error));
    // No warning line: no warning series, as with the Python client (a series at 0 fires rules
    // such as ContainerLogsErrors with no comparison).
    assert_eq!(s.logs("t1", "warning"), None);

    let text = collector.log_text("t1");
    let written: Vec<&str> = text.lines().collect();
    assert_eq!(
        written, lines,
        "every recorded line once, in order, without timestamps"
    );
    assert!(!text.contains("\n\n"), "no blank lines");

    // Later ticks bring nothing new: nothing is repeated.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(collector.log_text("t1"), text);

    for (file, what) in [
        ("last-metrics-collected-at.txt", "LAST_METRICS"),
        ("last-logs-collected-at.txt", "LAST_LOGS"),
    ] {
        let content = std::fs::read_to_string(dir.path().join(file)).expect(what);
        let secs: i64 = content
            .parse()
            .unwrap_or_else(|_| panic!("{what} holds an integer: {content:?}"));
        assert!(secs >= before && secs <= unix_now(), "{what} = {secs}");
    }
}

#[test]
fn every_path_serves_the_exposition() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    collector.wait_for_scrape("t1", |s| {
        s.container("container_max_memory_bytes", "t1").is_some()
    });
    for path in ["/", "/metrics", "/anything/else?x=1"] {
        let (status, headers, body) = collector.get(path);
        assert!(status.contains(" 200 "), "{path}: {status}");
        assert!(
            headers
                .to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{path}: {headers}"
        );
        assert!(body.contains("container_max_memory_bytes{"), "{path}");
    }
}

#[test]
fn unlimited_container_gets_the_hosts_cpus() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::new("free").nano_cpus(0));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let s = collector.wait_for_scrape("free's metrics", |s| {
        s.container("container_cpus_available", "free").is_some()
    });
    // online_cpus of the recorded stats.
    assert_eq!(s.container("container_cpus_available", "free"), Some(2.0));
}

#[test]
fn empty_partial_and_missing_stats_skip_only_that_container() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    engine.add_container(FakeContainer::new("empty").stats(StatsReply::Empty));
    engine.add_container(
        FakeContainer::new("partial").stats(StatsReply::Partial("{\"read\":\"2026-".into())),
    );
    engine.add_container(FakeContainer::new("gone").stats(StatsReply::NotFound));
    engine.add_container(FakeContainer::new("exited").stats(StatsReply::Exited));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let s = collector.wait_for_scrape("t1 after two loops", |s| {
        s.container("container_up_timestamp_seconds", "t1")
            .is_some()
            && collector
                .console()
                .iter()
                .filter(|l| l.contains("Sleeping"))
                .count()
                >= 2
    });
    for skipped in ["empty", "partial", "gone", "exited"] {
        assert_eq!(
            s.container("container_used_memory_bytes", skipped),
            None,
            "{skipped}"
        );
    }
    let errors: Vec<String> = collector
        .console()
        .into_iter()
        .filter(|l| l.contains("[ERROR]"))
        .collect();
    assert!(errors.is_empty(), "skipping is quiet: {errors:?}");
}

#[test]
fn a_removed_container_is_skipped_and_its_last_lines_kept() {
    let engine = Engine::start();
    let t = now_ns();
    engine.add_container(FakeContainer::new("stays").logs(vec![LogEntry::line(
        t,
        Stream::Stdout,
        "still here",
    )]));
    engine.add_container(FakeContainer::new("leaves").logs(vec![LogEntry::line(
        t,
        Stream::Stdout,
        "first",
    )]));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    collector.wait_for_scrape("both", |s| {
        s.logs("leaves", "info") == Some(1.0) && s.logs("stays", "info") == Some(1.0)
    });
    // It logs once more and stops: the next tick no longer lists it, but visits it once more.
    engine.push_logs(
        "leaves",
        vec![LogEntry::line(now_ns(), Stream::Stderr, "last words")],
    );
    engine.stop("leaves");
    collector.wait_for_scrape("the last line", |s| s.logs("leaves", "info") == Some(2.0));
    assert_eq!(collector.log_text("leaves"), "first\nlast words\n");
    // Removed altogether: 404 everywhere; the collector carries on.
    engine.remove("leaves");
    let before = unix_now();
    std::thread::sleep(Duration::from_millis(1500));
    let s = collector.wait_for_scrape("another loop", |s| {
        s.value(
            "collector_up_timestamp_seconds",
            &[("machine", "test-machine")],
        )
        .is_some_and(|v| v > before as f64)
    });
    assert_eq!(s.logs("stays", "info"), Some(1.0));
}

#[test]
fn engine_down_at_start_is_retried_until_it_comes_up() {
    let port = support::free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::spawn(
        dir.path(),
        &base_env(&format!("tcp://127.0.0.1:{port}"), dir.path()),
    );
    collector.wait_for_line("about the failed connection", |l| {
        l.contains("[ERROR] containers: Cannot connect to the Docker Engine")
    });
    let engine = Engine::start_on(port);
    engine.add_container(FakeContainer::t1_from_fixtures());
    let mut collector = collector;
    collector.port = collector.wait_for_port();
    collector.wait_for_scrape("t1 once the engine is up", |s| {
        s.container("container_max_memory_bytes", "t1").is_some()
    });
    let console = collector.console();
    let connected = console
        .iter()
        .position(|l| l.contains("Client connected, docker version: {"));
    let failed = console
        .iter()
        .position(|l| l.contains("Cannot connect to the Docker Engine"));
    assert!(
        failed < connected,
        "failure logged, then connected:\n{}",
        console.join("\n")
    );
}

#[test]
fn sigterm_exits_promptly_with_0_and_keeps_every_line() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let lines = recorded_t1_lines();
    collector.wait_for_scrape("all lines counted", |s| {
        s.logs("t1", "info").unwrap_or(0.0) + s.logs("t1", "error").unwrap_or(0.0)
            == lines.len() as f64
    });
    let (status, took) = collector.terminate();
    assert_eq!(status.code(), Some(0));
    // The contract is "within a second"; the bound leaves room for a loaded CI machine.
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
    let written: Vec<String> = collector
        .log_text("t1")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(written, lines);
    let state = std::fs::read_to_string(dir.path().join("logs/.state/cursors.json"))
        .expect("cursors persisted");
    assert!(state.contains("\"t1\""), "{state}");
}

#[test]
fn the_collector_only_reads() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    collector.wait_for_scrape("t1", |s| {
        s.container("container_max_memory_bytes", "t1").is_some()
    });
    collector.terminate();
    let requests = engine.requests();
    assert!(!requests.is_empty());
    for (method, path) in requests {
        assert_eq!(method, "GET", "{path}");
        let path = path.split('?').next().unwrap_or_default();
        let path = path.strip_prefix("/v1.41").unwrap_or(path);
        let known = path == "/version"
            || path == "/containers/json"
            || (path.starts_with("/containers/")
                && (path.ends_with("/json")
                    || path.ends_with("/stats")
                    || path.ends_with("/logs")));
        assert!(known, "unexpected request {path}");
    }
}

/// The first collection asks for a plain sample (CPU from the engine's `precpu_stats`); later ones ask
/// for a one-shot sample and compare it with the sample kept from the collection before.
#[test]
fn cpu_comes_from_precpu_first_then_from_the_kept_sample() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::new("cpu"));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let first = support::expected("docker-20.10").cpu_usage_percent;
    collector.wait_for_scrape("the first CPU value", |s| {
        s.container("container_cpu_usage_percent", "cpu") == Some(first)
    });
    // 3 s of CPU time over 2 s on a 2-CPU host: 1.5 cores.
    let next = support::stats_advanced(
        &support::fixture_json("stats_stream_false.json"),
        3_000_000_000,
        2_000_000_000,
    );
    engine.set_stats("cpu", StatsReply::Json(next));
    collector.wait_for_scrape("CPU against the kept sample", |s| {
        s.container("container_cpu_usage_percent", "cpu") == Some(1.5)
    });
    let stats: Vec<String> = engine
        .requests()
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| p.contains("/stats"))
        .collect();
    assert!(stats.len() >= 2, "{stats:?}");
    assert!(
        !stats[0].contains("one-shot=true"),
        "first sample is a plain one: {}",
        stats[0]
    );
    assert!(
        stats[1..]
            .iter()
            .all(|p| p.contains("one-shot=true") && p.contains("stream=false")),
        "{stats:?}"
    );
}

/// The families beyond the reference ones, from the recorded stats and inspect answers: CPU seconds,
/// memory usage and working set, pids, CFS throttling, network per interface, block I/O, restarts,
/// OOM kill, health, info (with compose labels), and the exit code of a container that stopped. And
/// every family the monitoring kit uses (`monitoring/families.txt`) is in the exposition.
#[test]
fn families_beyond_the_reference_come_from_the_recorded_answers() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    engine.add_container(
        FakeContainer::new("web-1")
            .label("com.docker.compose.project", "shop")
            .label("com.docker.compose.service", "web")
            .health("unhealthy")
            .restarted(4, true),
    );
    engine.add_container(FakeContainer::new("quitter").exit_code(3));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    // With a logs browser and its address, for the alert's link (collector_logs_browser_info).
    env.push(("WEB_PORT".into(), "0".into()));
    env.push(("WEB_EXTERNAL_URL".into(), "http://host-1:11111/".into()));
    // With a log pattern, for container_log_pattern_matches_total.
    let patterns = dir.path().join("patterns.json");
    let oops = r#"{"patterns": [{"name": "oops", "regex": "^ERROR oops [0-9]+$"}]}"#;
    std::fs::write(&patterns, oops).expect("write");
    env.push(("LOG_PATTERNS_PATH".into(), patterns.display().to_string()));
    let collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("quitter collected", |s| {
        s.container("container_up_timestamp_seconds", "quitter")
            .is_some()
    });
    engine.stop("quitter");
    let s = collector.wait_for_scrape("quitter's exit code", |s| {
        s.container("container_exit_code", "quitter") == Some(3.0)
            && s.container("container_cpu_usage_seconds_total", "t1")
                .is_some()
    });
    let stats = support::fixture_json("stats_stream_false.json");
    let n = |v: &serde_json::Value| v.as_f64().expect("number");
    let c = |name: &str| s.container(name, "t1");
    // From the plain answer of the first collection or the one-shot answer of a later one.
    let one_shot = support::fixture_json("stats_one_shot.json");
    let cpu = c("container_cpu_usage_seconds_total").expect("cpu seconds");
    let stats = [&stats, &one_shot]
        .into_iter()
        .find(|v| cpu == n(&v["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9)
        .unwrap_or_else(|| panic!("cpu seconds {cpu} from neither answer"))
        .clone();
    let usage = n(&stats["memory_stats"]["usage"]);
    assert_eq!(c("container_memory_usage_bytes"), Some(usage));
    assert_eq!(
        c("container_memory_working_set_bytes"),
        Some(usage - n(&stats["memory_stats"]["stats"]["total_inactive_file"]))
    );
    assert_eq!(
        c("container_pids"),
        Some(n(&stats["pids_stats"]["current"]))
    );
    let throttling = &stats["cpu_stats"]["throttling_data"];
    assert_eq!(
        c("container_cpu_cfs_periods_total"),
        Some(n(&throttling["periods"]))
    );
    assert_eq!(
        c("container_cpu_cfs_throttled_periods_total"),
        Some(n(&throttling["throttled_periods"]))
    );
    for (family, field) in [
        ("container_network_receive_bytes_total", "rx_bytes"),
        ("container_network_receive_packets_total", "rx_packets"),
        ("container_network_transmit_bytes_total", "tx_bytes"),
        (
            "container_network_receive_packets_dropped_total",
            "rx_dropped",
        ),
    ] {
        assert_eq!(
            s.value(
                family,
                &[
                    ("machine", "test-machine"),
                    ("container", "t1"),
                    ("interface", "eth0")
                ]
            ),
            Some(n(&stats["networks"]["eth0"][field])),
            "{family}"
        );
    }
    assert_eq!(c("container_fs_reads_bytes_total"), Some(0.0));
    assert_eq!(c("container_restarts"), Some(0.0));
    assert_eq!(c("container_oom_killed"), Some(0.0));
    let health = |container: &str, status: &str| {
        s.value(
            "container_health_status",
            &[
                ("machine", "test-machine"),
                ("container", container),
                ("status", status),
            ],
        )
    };
    assert_eq!(health("t1", "none"), Some(1.0));
    assert_eq!(health("t1", "healthy"), Some(0.0));
    assert_eq!(health("web-1", "unhealthy"), Some(1.0));
    assert_eq!(health("web-1", "none"), Some(0.0));
    assert_eq!(s.container("container_restarts", "web-1"), Some(4.0));
    assert_eq!(s.container("container_oom_killed", "web-1"), Some(1.0));
    let info = s.label_sets("container_info");
    let web = info
        .iter()
        .find(|l| l.get("container").map(String::as_str) == Some("web-1"))
        .expect("web-1's info");
    assert_eq!(web["compose_project"], "shop");
    assert_eq!(web["compose_service"], "web");
    assert_eq!(web["image"], "testbox:latest");
    assert_eq!(web["id"].len(), 64);
    // No container label other than the two compose ones reaches a series.
    assert_eq!(web.len(), 6, "{web:?}");

    // The collector's own counts of what it wrote: t1's recorded lines, once.
    let want = recorded_t1_lines();
    let s = collector.wait_for_scrape("t1's lines written", |s| {
        s.logs("t1", "info").unwrap_or(0.0)
            + s.logs("t1", "warning").unwrap_or(0.0)
            + s.logs("t1", "error").unwrap_or(0.0)
            == want.len() as f64
    });
    let oops = want.iter().filter(|l| l.starts_with("ERROR oops ")).count();
    assert!(oops > 0, "the recorded log has errors");
    assert_eq!(
        s.value(
            "container_log_pattern_matches_total",
            &[
                ("machine", "test-machine"),
                ("container", "t1"),
                ("pattern", "oops")
            ]
        ),
        Some(oops as f64)
    );
    let machine = [("machine", "test-machine")];
    let bytes: usize = want.iter().map(|l| l.len() + 1).sum();
    assert_eq!(
        s.value("collector_log_lines_written_total", &machine),
        Some(want.len() as f64)
    );
    assert_eq!(
        s.value("collector_log_bytes_written_total", &machine),
        Some(bytes as f64)
    );
    assert_eq!(
        s.value(
            "collector_engine_errors_total",
            &[("machine", "test-machine"), ("kind", "status")]
        ),
        Some(0.0)
    );
    let last = s
        .value(
            "collector_last_success_timestamp_seconds",
            &[("machine", "test-machine"), ("kind", "metrics")],
        )
        .expect("a clean metrics collection");
    assert!(last >= unix_now() as f64 - 60.0);
    assert!(s
        .value("collector_series", &machine)
        .is_some_and(|n| n > 50.0));
    assert_eq!(
        s.value(
            "collector_logs_browser_info",
            &[("machine", "test-machine"), ("url", "http://host-1:11111")]
        ),
        Some(1.0),
        "the address without its trailing slash"
    );

    let kit = std::fs::read_to_string(format!(
        "{}/monitoring/families.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("monitoring/families.txt");
    for family in kit
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(
            s.text.contains(&format!("# TYPE {family} ")),
            "{family} (monitoring/families.txt) is not exported"
        );
    }
}

/// `container-metrics --once` with the test settings and `extra`: (exit code, stdout, stderr).
fn run_once(engine: &str, root: &std::path::Path, extra: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("container-metrics"));
    cmd.arg("--once").current_dir(root);
    for (k, v) in base_env(engine, root) {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--once` prints one collection's exposition and exits 0, writing no file; with the engine away it
/// fails with one line and exit code 1.
#[test]
fn once_prints_the_exposition_and_exits() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    engine.add_container(FakeContainer::new("web-1"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = run_once(&engine.uri(), dir.path(), &[]);
    assert_eq!(code, 0, "stderr: {err}");
    let s = Scrape::parse(&out);
    for c in ["t1", "web-1"] {
        assert!(
            s.container("container_max_memory_bytes", c).is_some(),
            "{c} in\n{out}"
        );
    }
    assert!(s
        .value(
            "collector_up_timestamp_seconds",
            &[("machine", "test-machine")]
        )
        .is_some());
    assert!(
        !dir.path().join("logs").exists(),
        "--once writes no log file"
    );
    assert!(!dir.path().join("last-metrics-collected-at.txt").exists());

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let (code, out, err) = run_once(&format!("tcp://127.0.0.1:{port}"), dir.path(), &[]);
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(out.is_empty());
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("[ERROR]")).collect();
    assert_eq!(errors.len(), 1, "{err}");
}

/// Include and exclude by name pattern and by label, the opt-out label, and METRIC_GROUPS.
#[test]
fn filters_choose_the_containers_and_metric_groups_the_families() {
    let engine = Engine::start();
    for name in ["web-1", "web-2", "web-canary", "db"] {
        engine.add_container(FakeContainer::new(name));
    }
    engine.add_container(FakeContainer::new("web-3").label("container-metrics.ignore", "true"));
    engine.add_container(FakeContainer::new("web-4").label("env", "test"));
    let dir = tempfile::tempdir().expect("tempdir");
    let watched = |extra: &[(&str, &str)]| -> Vec<String> {
        let (code, out, err) = run_once(&engine.uri(), dir.path(), extra);
        assert_eq!(code, 0, "{err}");
        let mut names: Vec<String> = Scrape::parse(&out)
            .label_sets("container_max_memory_bytes")
            .into_iter()
            .filter_map(|l| l.get("container").cloned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        watched(&[]),
        ["db", "web-1", "web-2", "web-4", "web-canary"],
        "all but the one opting out"
    );
    assert_eq!(
        watched(&[
            ("INCLUDE_CONTAINERS", "web-*"),
            ("EXCLUDE_CONTAINERS", "*-canary"),
            ("EXCLUDE_LABEL", "env=test"),
        ]),
        ["web-1", "web-2"]
    );
    assert_eq!(watched(&[("INCLUDE_LABEL", "env")]), ["web-4"]);

    let (_, out, _) = run_once(&engine.uri(), dir.path(), &[("METRIC_GROUPS", "cpu,info")]);
    assert!(out.contains("# TYPE container_cpu_usage_seconds_total counter"));
    assert!(out.contains("container_info{"));
    for off in [
        "container_network_receive_bytes_total",
        "container_memory_working_set_bytes",
        "container_pids",
    ] {
        assert!(!out.contains(&format!("\n{off}{{")), "{off} is off");
    }
    let (_, out, _) = run_once(&engine.uri(), dir.path(), &[("METRIC_GROUPS", "none")]);
    assert!(
        out.contains("container_cpu_usage_percent{"),
        "the reference families stay"
    );
    assert!(!out.contains("container_info{"));
    let (code, _, err) = run_once(&engine.uri(), dir.path(), &[("METRIC_GROUPS", "cpu,disk")]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("METRIC_GROUPS"), "{err}");
}
