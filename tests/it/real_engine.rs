//! The binary against a real Docker Engine (`scripts/engine.sh` installs and starts one). Each test
//! runs its own containers, named uniquely, and removes them afterwards.
//!
//! These tests need the engine and its test image: `cargo test` reports them as ignored,
//! `cargo test -- --include-ignored` runs them and fails where no engine answers.

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{alone_on_the_machine, base_env, Collector, Scrape, PATIENCE};

/// The engine under test: `TEST_ENGINE` names one of `scripts/engine.sh` (20.10, the default, or
/// 26.1); CI runs these tests against each.
pub(crate) fn engine_version() -> String {
    std::env::var("TEST_ENGINE").unwrap_or_else(|_| "20.10".to_string())
}

/// The DOCKER_HOST of the engine under test.
pub(crate) fn socket() -> String {
    match engine_version().as_str() {
        "26.1" => "unix:///run/docker-26.1.sock".to_string(),
        _ => "unix:///var/run/docker.sock".to_string(),
    }
}

/// The engine's containers directory on this host, whose json-file logs the collector reads.
pub(crate) fn containers_dir() -> &'static str {
    match engine_version().as_str() {
        "26.1" => "/var/lib/docker-26.1/containers",
        _ => "/var/lib/docker/containers",
    }
}

/// CONTAINER_LOGS_ROOT for asking the engine for logs (`containers_dir()` reads its files).
fn from_engine() -> &'static str {
    ""
}

/// `scripts/engine.sh` with `args`, for the engine under test.
fn engine_sh(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/engine.sh"))
        .args(args)
        .output()
        .expect("engine.sh runs")
}

fn docker_bin() -> &'static str {
    // Debian's client matches the 20.10 engine; any client will do otherwise.
    if std::path::Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker"
    } else {
        "docker"
    }
}

/// Runs the docker CLI, returns its trimmed stdout, panics with its stderr on failure.
pub(crate) fn docker(args: &[&str]) -> String {
    let out = Command::new(docker_bin())
        .env("DOCKER_HOST", socket())
        .args(args)
        .output()
        .expect("the docker client runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every test holds this shared while it uses the engine; the test that stops the engine holds it
/// alone.
static ENGINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

pub(crate) fn sharing_the_engine() -> std::sync::RwLockReadGuard<'static, ()> {
    ENGINE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Fails the test, saying what is missing, unless an engine answers and has the test image.
pub(crate) fn require_engine() {
    let answered = Command::new(docker_bin())
        .env("DOCKER_HOST", socket())
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(answered, "no Docker Engine answers (run scripts/engine.sh)");
    let image = Command::new(docker_bin())
        .env("DOCKER_HOST", socket())
        .args(["image", "inspect", "testbox:latest"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        image,
        "the image testbox:latest is missing (run scripts/engine.sh)"
    );
}

/// A container of this test process, removed when dropped.
pub(crate) struct Container {
    pub(crate) name: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Container {
    /// `docker run -d --name <unique> <options> testbox:latest sh -c <script>`
    pub(crate) fn run(label: &str, options: &[&str], script: &str) -> Container {
        let name = format!(
            "cm-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut args = vec!["run", "-d", "--name", &name];
        args.extend_from_slice(options);
        args.extend_from_slice(&["testbox:latest", "sh", "-c", script]);
        docker(&args);
        Container { name }
    }

    pub(crate) fn inspect(&self, format: &str) -> String {
        docker(&["inspect", "-f", format, &self.name])
    }

    /// What `docker logs` shows: (stdout lines, stderr lines).
    fn engine_logs(&self) -> (Vec<String>, Vec<String>) {
        let out = Command::new(docker_bin())
            .env("DOCKER_HOST", socket())
            .args(["logs", &self.name])
            .output()
            .expect("docker logs");
        let lines = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .lines()
                .map(str::to_string)
                .collect()
        };
        (lines(&out.stdout), lines(&out.stderr))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(docker_bin())
            .env("DOCKER_HOST", socket())
            .args(["rm", "-f", &self.name])
            .output();
    }
}

pub(crate) fn start_collector(root: &std::path::Path, extra: &[(&str, &str)]) -> Collector {
    let mut env = base_env(&socket(), root);
    env.retain(|(k, _)| k != "DEFAULT_LOGS_SINCE_NOW");
    env.push(("DEFAULT_LOGS_SINCE_NOW".into(), "3600".into()));
    // The engine's json-file logs are read, as on a host where the collector runs beside the engine.
    env.push(("CONTAINER_LOGS_ROOT".into(), containers_dir().into()));
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
    Collector::start(root, &env)
}

/// Every file of a container's log, oldest first, concatenated.
pub(crate) fn all_files(collector: &Collector, container: &str) -> String {
    let base = collector
        .logs_dir()
        .join(container)
        .join(format!("{container}.log"));
    let mut text = String::new();
    for n in (1..=100).rev() {
        let rotated = format!("{}.{n}", base.display());
        if let Ok(t) = std::fs::read_to_string(rotated) {
            text.push_str(&t);
        }
    }
    text.push_str(&std::fs::read_to_string(&base).unwrap_or_default());
    text
}

fn logged(s: &Scrape, c: &str) -> f64 {
    ["info", "warning", "error"]
        .iter()
        .map(|l| s.logs(c, l).unwrap_or(0.0))
        .sum()
}

pub(crate) fn wait_until(what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !pred() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn limits_and_start_times_are_the_engines_and_no_limit_means_the_host() {
    require_engine();
    let _engine = sharing_the_engine();
    let limited = Container::run(
        "limited",
        &["--cpus", "0.5", "--memory", "64m"],
        "sleep 600",
    );
    let free = Container::run("free", &[], "sleep 600");
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = start_collector(dir.path(), &[]);
    let s = collector.wait_for_scrape("both containers' metrics", |s| {
        s.container("container_max_memory_bytes", &limited.name)
            .is_some()
            && s.container("container_max_memory_bytes", &free.name)
                .is_some()
    });
    assert_eq!(
        s.container("container_cpus_available", &limited.name),
        Some(0.5)
    );
    assert_eq!(
        s.container("container_max_memory_bytes", &limited.name),
        Some(67_108_864.0)
    );
    let ncpu: f64 = docker(&["info", "--format", "{{.NCPU}}"])
        .parse()
        .expect("NCPU");
    let mem_total: f64 = docker(&["info", "--format", "{{.MemTotal}}"])
        .parse()
        .expect("MemTotal");
    assert_eq!(
        s.container("container_cpus_available", &free.name),
        Some(ncpu)
    );
    let free_limit = s
        .container("container_max_memory_bytes", &free.name)
        .expect("limit");
    // cgroup v1 reports the host's memory (sometimes rounded to a page multiple) as the limit.
    assert!(
        (free_limit - mem_total).abs() / mem_total < 0.01,
        "unlimited container's limit {free_limit} vs host memory {mem_total}"
    );
    let used = s
        .container("container_used_memory_bytes", &limited.name)
        .expect("used");
    assert!(used > 0.0 && used < 67_108_864.0, "used memory {used}");
    let started = limited.inspect("{{.State.StartedAt}}");
    let started = chrono::DateTime::parse_from_rfc3339(&started)
        .expect("StartedAt")
        .timestamp() as f64;
    assert_eq!(
        s.container("container_started_at_timestamp_seconds", &limited.name),
        Some(started)
    );
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn a_container_capped_at_half_a_core_shows_about_half_a_core() {
    require_engine();
    let _engine = sharing_the_engine();
    let _alone = alone_on_the_machine();
    let burner = Container::run("burn", &["--cpus", "0.5"], "while :; do :; done");
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = start_collector(
        dir.path(),
        &[
            ("METRICS_COLLECTION_INTERVAL", "2"),
            ("LOGS_COLLECTION_INTERVAL", "1"),
        ],
    );
    // Several collections, so the value is measured between the collector's own samples too.
    let mut values = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while values.len() < 4 && Instant::now() < deadline {
        let s = collector.scrape();
        if let Some(up) = s.container("container_up_timestamp_seconds", &burner.name) {
            let v = s
                .container("container_cpu_usage_percent", &burner.name)
                .expect("cpu");
            if values.last().map(|(u, _)| *u != up).unwrap_or(true) {
                values.push((up, v));
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(values.len() >= 4, "four collections: {values:?}");
    // The first value may cover the container's start; the later ones must sit near 0.5 cores.
    for (_, v) in &values[1..] {
        assert!(
            // Capped at 0.5 by the kernel; a little less when the machine is busy.
            (0.3..=0.6).contains(v),
            "cpu {v} for a container capped at 0.5: {values:?}"
        );
    }
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn every_line_is_written_once_in_order_and_counted_by_level_from_the_engine() {
    every_line_is_written_once_in_order_and_counted_by_level(from_engine());
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn every_line_is_written_once_in_order_and_counted_by_level_from_the_files() {
    every_line_is_written_once_in_order_and_counted_by_level(containers_dir());
}

/// Where the lines are read from shows in `collector_log_reads_total`.
fn reads_from(s: &Scrape, source: &str) -> f64 {
    s.value(
        "collector_log_reads_total",
        &[("machine", "test-machine"), ("source", source)],
    )
    .unwrap_or(0.0)
}

/// Checks that the reads came from where `logs_root` says (the files when it is given).
fn assert_read_from(s: &Scrape, logs_root: &str) {
    let (files, engine) = (reads_from(s, "files"), reads_from(s, "engine"));
    if logs_root.is_empty() {
        assert!(
            files == 0.0 && engine > 0.0,
            "read from the engine: files {files}, engine {engine}"
        );
    } else {
        assert!(
            engine == 0.0 && files > 0.0,
            "read from the files: files {files}, engine {engine}"
        );
    }
}

fn every_line_is_written_once_in_order_and_counted_by_level(logs_root: &str) {
    require_engine();
    let _engine = sharing_the_engine();
    let script = "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo \"line $i\"; \
                  if [ $((i%10)) -eq 0 ]; then echo \"ERROR at $i\" >&2; fi; \
                  if [ $((i%7)) -eq 0 ]; then echo \"WARN at $i\" >&2; fi; done; sleep 600";
    let c = Container::run("lines", &[], script);
    let dir = tempfile::tempdir().expect("tempdir");
    // Only this test's container, so that where the reads came from is about it alone.
    let only = [
        ("CONTAINER_LOGS_ROOT", logs_root),
        ("INCLUDE_CONTAINERS", &c.name),
    ];
    let collector = start_collector(dir.path(), &only);
    let total = 300.0 + 30.0 + 42.0;
    let s = collector.wait_for_scrape("all 372 lines", |s| logged(s, &c.name) >= total);
    assert_read_from(&collector.scrape_after_a_tick(), logs_root);
    assert_eq!(s.logs(&c.name, "info"), Some(300.0));
    assert_eq!(s.logs(&c.name, "error"), Some(30.0));
    assert_eq!(s.logs(&c.name, "warning"), Some(42.0));
    let text = collector.log_text(&c.name);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 372);
    let stdout: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("line "))
        .map(|l| l.to_string())
        .collect();
    let want: Vec<String> = (1..=300).map(|i| format!("line {i}")).collect();
    assert_eq!(stdout, want, "stdout lines once each, in order");
    let (engine_out, engine_err) = c.engine_logs();
    assert_eq!(engine_out, want);
    let stderr: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with("line "))
        .collect();
    assert_eq!(stderr, engine_err, "stderr lines once each, in order");
}

/// Lines keep coming while the collector is stopped with SIGTERM, killed with SIGKILL, and started
/// again: in the end the file holds exactly what the engine holds.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn restarts_of_the_collector_lose_and_repeat_nothing_from_the_engine() {
    restarts_of_the_collector_lose_and_repeat_nothing(from_engine());
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn restarts_of_the_collector_lose_and_repeat_nothing_from_the_files() {
    restarts_of_the_collector_lose_and_repeat_nothing(containers_dir());
}

fn restarts_of_the_collector_lose_and_repeat_nothing(logs_root: &str) {
    require_engine();
    let _engine = sharing_the_engine();
    let _alone = alone_on_the_machine();
    let c = Container::run(
        "steady",
        &[],
        "i=0; while [ $i -lt 2500 ]; do i=$((i+1)); echo \"n $i\"; if [ $((i%5)) -eq 0 ]; then echo \"e $i\" >&2; fi; usleep 4000; done; sleep 600",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    // Small files, so kills land around rotations too; enough of them that none is dropped.
    let rotation = [
        ("LOGS_CONTAINER_MAX_FILE_SIZE", "2048"),
        ("LOGS_CONTAINER_MAX_FILES", "40"),
        ("CONTAINER_LOGS_ROOT", logs_root),
        // Only this test's container, so that where the reads came from is about it alone.
        ("INCLUDE_CONTAINERS", &c.name),
    ];
    let mut collector = start_collector(dir.path(), &rotation);
    collector.wait_for_scrape("some lines", |s| logged(s, &c.name) > 50.0);
    let (status, _) = collector.terminate();
    assert_eq!(status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(1500));
    for pause in [700u64, 1300, 400, 1900] {
        let mut collector = start_collector(dir.path(), &rotation);
        std::thread::sleep(Duration::from_millis(pause));
        collector.kill();
        std::thread::sleep(Duration::from_millis(500));
    }
    let collector = start_collector(dir.path(), &rotation);
    collector.wait_for_scrape("a read", |s| logged(s, &c.name) > 0.0);
    assert_read_from(&collector.scrape_after_a_tick(), logs_root);
    // Wait for the container to finish its 2500 lines, then for the files to hold them all.
    wait_until("the container's last line", || {
        c.engine_logs().0.last().map(String::as_str) == Some("n 2500")
    });
    let (out, err) = c.engine_logs();
    let want_total = out.len() + err.len();
    wait_until("the files to hold every line", || {
        all_files(&collector, &c.name).lines().count() >= want_total
    });
    std::thread::sleep(Duration::from_millis(1500));
    let folder = collector.logs_dir().join(&c.name);
    let files = std::fs::read_dir(&folder).expect("folder").count();
    assert!(
        (2..=41).contains(&files),
        "{files} files: rotated, within LOGS_CONTAINER_MAX_FILES + 1"
    );
    let text = all_files(&collector, &c.name);
    let lines: Vec<&str> = text.lines().collect();
    let unique: HashSet<&str> = lines.iter().copied().collect();
    assert_eq!(unique.len(), lines.len(), "no line repeated");
    let file_out: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("n "))
        .collect();
    let file_err: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("e "))
        .collect();
    assert_eq!(file_out, out, "every stdout line once, in order");
    assert_eq!(file_err, err, "every stderr line once, in order");
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn containers_that_stop_are_removed_or_restart() {
    require_engine();
    let _engine = sharing_the_engine();
    // It exits when the test says so (by creating /t/go), once the collector has seen it running.
    let trigger = tempfile::tempdir().expect("tempdir");
    let volume = format!("{}:/t", trigger.path().display());
    let stops = Container::run(
        "stops",
        &["-v", &volume],
        "echo first; while [ ! -e /t/go ]; do usleep 100000; done; echo 'last ERROR before exit'; exit 3",
    );
    let removed = Container::run("removed", &[], "echo hello; sleep 600");
    let restarts = Container::run("restarts", &[], "echo \"run $(date +%s%N)\"; sleep 600");
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = start_collector(dir.path(), &[]);
    collector.wait_for_scrape("the three containers", |s| {
        [&stops, &removed, &restarts].iter().all(|c| {
            s.container("container_up_timestamp_seconds", &c.name)
                .is_some()
        }) && s.logs(&stops.name, "info") == Some(1.0)
    });
    std::fs::write(trigger.path().join("go"), "").expect("trigger");
    // The stopping container's last line, logged just before it exits, is collected by the extra visit.
    wait_until("the exit line", || {
        collector
            .log_text(&stops.name)
            .contains("last ERROR before exit")
    });
    assert_eq!(
        collector.log_text(&stops.name),
        "first\nlast ERROR before exit\n"
    );
    let s = collector.wait_for_scrape("counts", |s| s.logs(&stops.name, "error") == Some(1.0));
    assert_eq!(s.logs(&stops.name, "info"), Some(1.0));

    docker(&["rm", "-f", &removed.name]);
    let before_restart = restarts.inspect("{{.State.StartedAt}}");
    docker(&["restart", "-t", "0", &restarts.name]);
    let after_restart = restarts.inspect("{{.State.StartedAt}}");
    assert_ne!(before_restart, after_restart);
    let started = chrono::DateTime::parse_from_rfc3339(&after_restart)
        .expect("time")
        .timestamp() as f64;
    collector.wait_for_scrape("the restart's start time", |s| {
        s.container("container_started_at_timestamp_seconds", &restarts.name) == Some(started)
    });
    wait_until("both runs' lines", || {
        collector.log_text(&restarts.name).lines().count() == 2
    });
    let text = collector.log_text(&restarts.name);
    let runs: Vec<&str> = text.lines().collect();
    assert!(
        runs.iter().all(|l| l.starts_with("run ")) && runs[0] != runs[1],
        "{runs:?}"
    );
    // The collector is still serving after the removal.
    let s = collector.scrape();
    assert_eq!(s.logs(&removed.name, "info"), Some(1.0));
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn a_tty_containers_lines_and_a_40_kib_line_are_written_whole() {
    require_engine();
    let _engine = sharing_the_engine();
    let tty = Container::run(
        "tty",
        &["-t"],
        "echo 'tty out'; echo 'tty ERROR' >&2; sleep 600",
    );
    let long = Container::run(
        "long",
        &[],
        "echo before; head -c 40960 /dev/zero | tr '\\0' x; echo; echo after; sleep 600",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = start_collector(dir.path(), &[]);
    let s = collector.wait_for_scrape("both logs", |s| {
        logged(s, &tty.name) >= 2.0 && logged(s, &long.name) >= 3.0
    });
    assert_eq!(
        collector.log_text(&tty.name),
        "tty out\ntty ERROR\n",
        "no \\r from the TTY"
    );
    assert_eq!(s.logs(&tty.name, "error"), Some(1.0));
    let text = collector.log_text(&long.name);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "the long line is one line");
    assert_eq!(lines[0], "before");
    assert!(
        lines[1].len() == 40960 && lines[1].bytes().all(|b| b == b'x'),
        "40 KiB of x, joined"
    );
    assert_eq!(lines[2], "after");
}

/// The engine itself goes away (dockerd stopped) and comes back: the endpoint keeps serving the last
/// values, the outage is said once, and the container's log, which goes on after the engine restarts
/// it, ends up in the file exactly once.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn an_engine_that_stops_and_comes_back_costs_no_line() {
    require_engine();
    let _alone = ENGINE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Whatever happens below, the engine is up again for the tests that follow.
    struct EngineBack;
    impl Drop for EngineBack {
        fn drop(&mut self) {
            let _ = engine_sh(&[&engine_version()]);
        }
    }
    let _back = EngineBack;
    let c = Container::run(
        "survivor",
        &["--restart", "always"],
        "trap 'exit 0' TERM; r=$(date +%s%N); i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo \"run $r line $i\"; usleep 20000; done",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = start_collector(dir.path(), &[]);
    let before =
        collector.wait_for_scrape("lines before the outage", |s| logged(s, &c.name) > 20.0);
    let memory = before.container("container_max_memory_bytes", &c.name);
    assert!(memory.is_some());

    // Only the engine under test stops (by its pid file): another one may run beside it.
    let stopped = engine_sh(&["stop", &engine_version()]);
    assert!(
        stopped.status.success()
            && String::from_utf8_lossy(&stopped.stdout).contains("dockerd stopped"),
        "dockerd was running and stopped: {}{}",
        String::from_utf8_lossy(&stopped.stdout),
        String::from_utf8_lossy(&stopped.stderr)
    );
    collector.wait_for_line("the outage", |l| l.contains("Cannot list the containers"));
    std::thread::sleep(Duration::from_secs(3));
    let during = collector.scrape();
    assert_eq!(
        during.container("container_max_memory_bytes", &c.name),
        memory,
        "the last values stay"
    );

    let started = engine_sh(&[&engine_version()]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    collector.wait_for_line("the recovery", |l| {
        l.contains("The Docker Engine answers again")
    });
    // The restart policy brings the container back; its new run logs into the same log.
    wait_until("the second run's lines", || {
        let (out, _) = c.engine_logs();
        let runs: HashSet<&str> = out.iter().filter_map(|l| l.split(' ').nth(1)).collect();
        runs.len() >= 2 && out.len() > 60
    });
    docker(&["stop", "-t", "1", &c.name]);
    let (out, _) = c.engine_logs();
    wait_until("the file to hold every line", || {
        collector.log_text(&c.name).lines().count() >= out.len()
    });
    std::thread::sleep(Duration::from_millis(1500));
    let text = collector.log_text(&c.name);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, out, "every line of both runs, once, in order");
    let console = collector.console();
    let said = console
        .iter()
        .filter(|l| l.contains("Cannot list the containers"))
        .count();
    assert_eq!(said, 1, "the outage is said once:\n{}", console.join("\n"));
}

/// The engine-free path (the host's cgroup files) and the engine's stats give the same numbers: the
/// memory limit exactly, the memory in use to the page (the container does not allocate), and CPU of
/// a container capped at half a core within a few percent. Each collector says at start which path it
/// uses.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn cgroup_files_and_engine_stats_agree() {
    require_engine();
    assert!(
        crate_cgroups().is_some(),
        "no cgroup tree at /sys/fs/cgroup"
    );
    let _engine = sharing_the_engine();
    let _alone = alone_on_the_machine();
    let burner = Container::run(
        "agree",
        &["--cpus", "0.5", "--memory", "96m"],
        "while :; do :; done",
    );
    let dirs = [
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    ];
    let fast = [
        ("METRICS_COLLECTION_INTERVAL", "2"),
        ("LOGS_COLLECTION_INTERVAL", "1"),
    ];
    let from_files = start_collector(dirs[0].path(), &fast);
    let mut engine_only = fast.to_vec();
    engine_only.push(("CGROUP_ROOT", ""));
    let from_engine = start_collector(dirs[1].path(), &engine_only);
    from_files.wait_for_line("the cgroup path", |l| {
        l.contains("Stats come from the cgroup v") && l.contains("/sys/fs/cgroup")
    });
    from_engine.wait_for_line("the engine path", |l| {
        l.contains("Stats come from the Docker Engine (CGROUP_ROOT is empty)")
    });
    // Three collections each after the first; the first CPU figure may cover the container's start.
    let series = |c: &Collector| {
        let mut seen: Vec<(f64, f64, f64, f64)> = Vec::new();
        let deadline = Instant::now() + PATIENCE;
        while seen.len() < 4 && Instant::now() < deadline {
            let s = c.scrape();
            if let (Some(up), Some(cpu), Some(used), Some(max)) = (
                s.container("container_up_timestamp_seconds", &burner.name),
                s.container("container_cpu_usage_percent", &burner.name),
                s.container("container_used_memory_bytes", &burner.name),
                s.container("container_max_memory_bytes", &burner.name),
            ) {
                if seen.last().is_none_or(|l| l.0 != up) {
                    seen.push((up, cpu, used, max));
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(seen.len() >= 4, "four collections: {seen:?}");
        seen
    };
    let files = series(&from_files);
    let engine = series(&from_engine);
    let last = |v: &[(f64, f64, f64, f64)]| *v.last().expect("values");
    let (f, e) = (last(&files), last(&engine));
    assert_eq!(f.3, 96.0 * 1024.0 * 1024.0, "limit from the files");
    assert_eq!(f.3, e.3, "the same limit");
    assert!(
        (f.2 - e.2).abs() <= 4096.0,
        "memory in use: files {} vs engine {}",
        f.2,
        e.2
    );
    let mean =
        |v: &[(f64, f64, f64, f64)]| v[1..].iter().map(|x| x.1).sum::<f64>() / (v.len() - 1) as f64;
    let (fc, ec) = (mean(&files), mean(&engine));
    assert!(
        (fc - ec).abs() <= 0.05 * ec.max(0.1),
        "CPU: files {fc:.4} vs engine {ec:.4} ({files:?} / {engine:?})"
    );
    assert!((0.3..=0.6).contains(&fc), "about half a core: {fc}");
    // The families beyond the reference ones that the cgroup files give.
    let s = from_files.scrape();
    for family in [
        "container_cpu_usage_seconds_total",
        "container_cpu_cfs_periods_total",
        "container_memory_working_set_bytes",
        "container_pids",
        "container_fs_reads_bytes_total",
    ] {
        assert!(
            s.container(family, &burner.name).is_some(),
            "{family} from the cgroup files:\n{}",
            s.text
        );
    }
    // Network counters on the cgroup path come from the container's net/dev under PROC_ROOT
    // (/proc here, the host's): the engine's figures, for a container that sends nothing meanwhile.
    let e = from_engine.scrape();
    for family in [
        "container_network_receive_bytes_total",
        "container_network_receive_packets_total",
        "container_network_transmit_bytes_total",
        "container_network_transmit_packets_total",
    ] {
        let labels = [
            ("container", burner.name.as_str()),
            ("interface", "eth0"),
            ("machine", "test-machine"),
        ];
        let (files, engine) = (s.value(family, &labels), e.value(family, &labels));
        assert!(files.is_some(), "{family} on the cgroup path:\n{}", s.text);
        assert_eq!(files, engine, "{family}: files vs engine");
    }
}

/// The host's cgroup tree as the collector would open it.
fn crate_cgroups() -> Option<container_metrics::cgroup::Cgroups> {
    container_metrics::cgroup::Cgroups::open(std::path::Path::new("/sys/fs/cgroup"))
}

/// The families beyond the reference ones on a real engine: limits, CPU time and throttling, working
/// set, pids, network traffic, health checks, and a container killed for memory again and again by
/// its restart policy until it stays down (restarts, OOM kill, exit code). Stats from the engine
/// (CGROUP_ROOT empty), which fills network and throttling too.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn families_beyond_the_reference_are_exported_on_a_real_engine() {
    require_engine();
    let _engine = sharing_the_engine();
    let limited = Container::run(
        "limited",
        &["--cpus", "0.5", "--memory", "64m"],
        "ping -c 5 -i 0.2 172.17.0.1 >/dev/null 2>&1; while :; do :; done",
    );
    let healthy = Container::run(
        "healthy",
        &["--health-cmd", "true", "--health-interval", "1s"],
        "sleep 1000",
    );
    let unhealthy = Container::run(
        "unhealthy",
        &[
            "--health-cmd",
            "false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ],
        "sleep 1000",
    );
    let oom = Container::run(
        "oom",
        &[
            "--memory",
            "16m",
            "--memory-swap",
            "16m",
            "--restart",
            "on-failure:2",
        ],
        "sleep 2; a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = start_collector(
        dir.path(),
        &[
            ("METRICS_COLLECTION_INTERVAL", "1"),
            ("LOGS_COLLECTION_INTERVAL", "1"),
            ("CGROUP_ROOT", ""),
        ],
    );
    let health = |s: &Scrape, c: &Container, status: &str| {
        s.value(
            "container_health_status",
            &[
                ("machine", "test-machine"),
                ("container", &c.name),
                ("status", status),
            ],
        )
    };
    let rx = |s: &Scrape| {
        s.value(
            "container_network_transmit_packets_total",
            &[
                ("machine", "test-machine"),
                ("container", &limited.name),
                ("interface", "eth0"),
            ],
        )
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let s = loop {
        let s = collector.scrape();
        let done = health(&s, &healthy, "healthy") == Some(1.0)
            && health(&s, &unhealthy, "unhealthy") == Some(1.0)
            && rx(&s).is_some_and(|p| p >= 5.0)
            && s.container("container_cpu_cfs_throttled_periods_total", &limited.name)
                .is_some_and(|t| t > 0.0)
            && s.container("container_exit_code", &oom.name).is_some();
        if done {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "not every family showed within 90 s; scrape:\n{}",
            s.text
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let c = |name: &str, who: &Container| s.container(name, &who.name);
    assert_eq!(
        c("container_max_memory_bytes", &limited),
        Some(64.0 * 1024.0 * 1024.0)
    );
    let usage = c("container_memory_usage_bytes", &limited).expect("usage");
    let working = c("container_memory_working_set_bytes", &limited).expect("working set");
    assert!(working > 0.0 && working <= usage, "{working} of {usage}");
    assert!(c("container_pids", &limited).is_some_and(|p| p >= 1.0));
    assert!(c("container_cpu_usage_seconds_total", &limited).is_some_and(|v| v > 0.0));
    assert!(c("container_cpu_cfs_periods_total", &limited).is_some_and(|v| v > 0.0));
    assert!(c("container_cpu_cfs_throttled_seconds_total", &limited).is_some_and(|v| v > 0.0));
    for family in [
        "container_fs_reads_bytes_total",
        "container_fs_writes_bytes_total",
    ] {
        assert!(c(family, &limited).is_some(), "{family}");
    }
    let eth0 = |family: &str| {
        s.value(
            family,
            &[
                ("machine", "test-machine"),
                ("container", &limited.name),
                ("interface", "eth0"),
            ],
        )
    };
    // Five pings out, five answers in.
    assert!(eth0("container_network_transmit_bytes_total").is_some_and(|b| b >= 5.0 * 84.0));
    assert!(eth0("container_network_receive_packets_total").is_some_and(|p| p >= 5.0));
    assert_eq!(eth0("container_network_transmit_errors_total"), Some(0.0));
    assert_eq!(health(&s, &limited, "none"), Some(1.0), "no health check");
    assert_eq!(health(&s, &healthy, "unhealthy"), Some(0.0));
    // The OOM container: killed (137), restarted twice by its policy, then left down.
    let deadline = Instant::now() + Duration::from_secs(60);
    let s = loop {
        let s = collector.scrape();
        if s.container("container_restarts", &oom.name) == Some(2.0)
            && oom.inspect("{{.State.Running}}") == "false"
            && s.container("container_exit_code", &oom.name) == Some(137.0)
        {
            break s;
        }
        assert!(Instant::now() < deadline, "the OOM container:\n{}", s.text);
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(s.container("container_oom_killed", &oom.name), Some(1.0));
    assert_eq!(oom.inspect("{{.State.OOMKilled}}"), "true");
    let info = s.label_sets("container_info");
    let mine = info
        .iter()
        .find(|l| l.get("container") == Some(&limited.name))
        .expect("info of the limited container");
    assert_eq!(mine["image"], "testbox:latest");
    assert_eq!(mine["id"], limited.inspect("{{.Id}}"));
}

/// `docker stats --no-stream`'s size text ("1.5MiB", "64MiB", "1.2kB", "0B") in bytes: binary units
/// for memory, decimal ones for network, as the docker CLI writes them.
fn docker_size(text: &str) -> f64 {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("a size: {text:?}"));
    let factor = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => panic!("a unit of docker stats: {text:?}"),
    };
    n * factor
}

/// What a user compares with: `docker stats --no-stream` shows the same memory in use (the working
/// set), the same limit, about the same CPU and the same network traffic as the collector exports,
/// on the engine under test (TEST_ENGINE) and the collector's default path (cgroup files, network
/// from PROC_ROOT).
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn the_figures_equal_docker_stats() {
    require_engine();
    let _engine = sharing_the_engine();
    let _alone = alone_on_the_machine();
    // Half a core busy, a little memory held, and some packets sent and received on eth0.
    let c = Container::run(
        "dstats",
        &["--cpus", "0.5", "--memory", "80m"],
        "head -c 8000000 /dev/zero | tail -c 8000000 >/dev/null & gw=$(ip route | awk '/default/ {print $3}'); ping -c 5 -i 0.2 -s 1000 $gw >/dev/null 2>&1; while :; do :; done",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = start_collector(
        dir.path(),
        &[
            ("METRICS_COLLECTION_INTERVAL", "2"),
            ("LOGS_COLLECTION_INTERVAL", "1"),
        ],
    );
    // Past the pings and the first CPU figure.
    std::thread::sleep(Duration::from_secs(5));
    collector.wait_for_scrape("the container's network series", |s| {
        s.value(
            "container_network_transmit_bytes_total",
            &[
                ("container", &c.name),
                ("interface", "eth0"),
                ("machine", "test-machine"),
            ],
        )
        .is_some()
    });
    let stats: serde_json::Value = serde_json::from_str(&docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{json .}}",
        &c.name,
    ]))
    .expect("docker stats as JSON");
    let s = collector.scrape();
    let ours = |family: &str| s.container(family, &c.name).expect(family);
    let net = |family: &str| {
        s.value(
            family,
            &[
                ("container", &c.name),
                ("interface", "eth0"),
                ("machine", "test-machine"),
            ],
        )
        .expect(family)
    };
    let field = |k: &str| {
        stats[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {stats}"))
            .to_string()
    };
    let mem = field("MemUsage");
    let (used, limit) = mem.split_once(" / ").expect("MemUsage is used / limit");
    let (used, limit) = (docker_size(used), docker_size(limit));
    assert_eq!(
        limit,
        ours("container_max_memory_bytes"),
        "the limit: {mem}"
    );
    let working_set = ours("container_memory_working_set_bytes");
    // docker stats rounds to 3 or 4 digits and samples a moment apart.
    assert!(
        (working_set - used).abs() <= (0.05 * used).max(512.0 * 1024.0),
        "MEM USAGE {used} (docker stats: {mem}) against the working set {working_set}"
    );
    let cpu: f64 = field("CPUPerc")
        .trim_end_matches('%')
        .parse()
        .expect("CPU %");
    let cores = ours("container_cpu_usage_percent");
    assert!(
        (cores - cpu / 100.0).abs() <= 0.1,
        "CPU: docker stats {cpu}% against {cores} cores"
    );
    let netio = field("NetIO");
    let (rx, tx) = netio.split_once(" / ").expect("NetIO is in / out");
    let (rx, tx) = (docker_size(rx), docker_size(tx));
    for (what, docker_says, ours) in [
        ("received", rx, net("container_network_receive_bytes_total")),
        ("sent", tx, net("container_network_transmit_bytes_total")),
    ] {
        assert!(
            ours > 5000.0 && (ours - docker_says).abs() <= 0.01 * docker_says + 100.0,
            "network {what}: docker stats {docker_says} ({netio}) against {ours}"
        );
    }
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh)"]
fn a_removed_containers_files_go_after_keep_removed_and_a_stopped_ones_stay() {
    require_engine();
    let _engine = sharing_the_engine();
    let removed = Container::run("keep-removed", &[], "echo hello; sleep 600");
    let stopped = Container::run("keep-stopped", &[], "echo hello; sleep 600");
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = start_collector(dir.path(), &[("LOGS_KEEP_REMOVED", "3s")]);
    collector.wait_for_scrape("both logged", |s| {
        s.logs(&removed.name, "info") == Some(1.0) && s.logs(&stopped.name, "info") == Some(1.0)
    });
    docker(&["stop", "-t", "0", &stopped.name]);
    docker(&["rm", "-f", &removed.name]);
    let logs = collector.logs_dir();
    wait_until("the removed one's files gone", || {
        !logs.join(&removed.name).exists()
    });
    let state = std::fs::read_to_string(logs.join(".state/cursors.json")).expect("state");
    assert!(
        !state.contains(&format!("\"{}\"", removed.name)),
        "its cursor went"
    );
    assert!(
        state.contains(&format!("\"{}\"", stopped.name)),
        "the stopped one's stays"
    );
    assert_eq!(collector.log_text(&stopped.name), "hello\n");
    let s = collector.scrape();
    let deleted = s.value(
        "collector_logs_deleted_bytes_total",
        &[("machine", "test-machine"), ("reason", "removed")],
    );
    assert!(deleted.is_some_and(|b| b > 0.0), "{deleted:?}");
}
