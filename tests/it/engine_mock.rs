//! The binary against a fake Docker Engine that serves responses recorded from a real one: what it
//! exports, what it writes, and how it survives what engines do (404s, empty stats, being down).

use std::collections::HashSet;
use std::time::Duration;

use crate::support::{
    self, base_env, unix_now, Collector, Engine, FakeContainer, LogEntry, Scrape, StatsReply,
    Stream,
};

/// The lines the recorded t1 log holds, as they must appear in the file.
fn recorded_t1_lines() -> Vec<String> {
    let entries =
        support::parse_multiplexed_with_timestamps(&support::fixture("logs_t1_since0_full.raw"));
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

#[test]
fn recorded_t1_exports_every_family_and_writes_every_line_once() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    let dir = tempfile::tempdir().expect("tempdir");
    let before = unix_now();
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let lines = recorded_t1_lines();
    let s = collector.wait_for_scrape("t1's metrics and log counts", |s| {
        s.container("container_up_timestamp_seconds", "t1")
            .is_some()
            && s.logs("t1", "info").unwrap_or(0.0) + s.logs("t1", "error").unwrap_or(0.0)
                >= lines.len() as f64
    });
    // What the reference rules give for the recorded responses.
    let want = support::expected("docker-20.10");
    for (family, value) in want.by_family() {
        assert_eq!(s.container(family, "t1"), Some(value), "{family}");
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

/// The Python tool repeated lines after a short restart and lost them after a long one. Lines keep
/// coming while the collector is down, both after SIGTERM and after SIGKILL.
#[test]
fn restarts_neither_lose_nor_repeat_lines() {
    let engine = Engine::start();
    let mut n = 0u32;
    let mut push = |count: u32| {
        let entries: Vec<LogEntry> = (0..count)
            .map(|_| {
                n += 1;
                let stream = if n % 3 == 0 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                };
                LogEntry::line(now_ns(), stream, &format!("line {n:05}"))
            })
            .collect();
        engine.push_logs("busy", entries);
        n
    };
    engine.add_container(FakeContainer::new("busy"));
    push(50);
    let dir = tempfile::tempdir().expect("tempdir");
    let env = base_env(&engine.uri(), dir.path());
    let expect_all =
        |upto: u32| -> Vec<String> { (1..=upto).map(|i| format!("line {i:05}")).collect() };

    let mut collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("50 lines", |s| {
        s.logs("busy", "info").unwrap_or(0.0) + s.logs("busy", "error").unwrap_or(0.0) == 50.0
    });
    let total = push(30);
    let (status, _) = collector.terminate();
    assert_eq!(status.code(), Some(0));
    let total = total.max(push(40));

    let mut collector = Collector::start(dir.path(), &env);
    let want = expect_all(total);
    collector_wait_lines(&collector, "busy", &want);
    // SIGKILL in the middle of busy ticks, many times.
    let mut last = total;
    for round in 0..5 {
        for _ in 0..5 {
            push(20);
            std::thread::sleep(Duration::from_millis(150 + 70 * round));
        }
        collector.kill();
        last = push(10);
        collector = Collector::start(dir.path(), &env);
    }
    let want = expect_all(last);
    collector_wait_lines(&collector, "busy", &want);
    let s = collector.wait_for_scrape("counts of this run", |s| s.logs("busy", "info").is_some());
    assert!(s.logs("busy", "info").is_some());
}

/// Waits until the file holds `want` (or fails showing the difference).
fn collector_wait_lines(collector: &Collector, container: &str, want: &[String]) {
    let deadline = std::time::Instant::now() + support::PATIENCE;
    loop {
        let text = collector.log_text(container);
        let got: Vec<&str> = text.lines().collect();
        if got == want {
            return;
        }
        if std::time::Instant::now() > deadline {
            let seen: HashSet<&str> = got.iter().copied().collect();
            let dups = got.len() - seen.len();
            let missing: Vec<&String> = want
                .iter()
                .filter(|w| !seen.contains(w.as_str()))
                .take(5)
                .collect();
            panic!(
                "{container}: {} lines, want {}; {dups} repeated; missing (first 5): {missing:?}",
                got.len(),
                want.len()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tty_lines_and_a_40_kib_line_are_written_whole() {
    let engine = Engine::start();
    let t = now_ns() - 10_000_000_000;
    engine.add_container(FakeContainer::new("tty").tty(true).logs(vec![
        LogEntry::raw(t, Stream::Stdout, "tty out\r\n"),
        LogEntry::raw(t + 1, Stream::Stdout, "tty err\r\n"),
    ]));
    let long = "0123456789".repeat(4 * 1024); // 40 KiB
    let mut entries = vec![LogEntry::line(t, Stream::Stdout, "before")];
    entries.extend(LogEntry::long_line(t + 1, Stream::Stdout, &long));
    entries.push(LogEntry::line(t + 2, Stream::Stderr, "after ERROR"));
    engine.add_container(FakeContainer::new("long").logs(entries));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let s = collector.wait_for_scrape("both logs", |s| {
        s.logs("tty", "info") == Some(2.0) && s.logs("long", "error") == Some(1.0)
    });
    assert_eq!(collector.log_text("tty"), "tty out\ntty err\n");
    let text = collector.log_text("long");
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got.len(), 3, "three lines");
    assert_eq!(got[0], "before");
    assert!(
        got[1] == long,
        "the 40 KiB line is whole ({} bytes)",
        got[1].len()
    );
    assert_eq!(got[2], "after ERROR");
    assert_eq!(s.logs("long", "info"), Some(2.0));
}

/// A container with a long log is read with `tail` requests once caught up (the engine then reads its
/// log file from the end instead of from its first line), and still every line lands once: through
/// stdout and stderr entries out of timestamp order across second borders, many entries in one
/// second, and bursts larger than the tail asked for (read with a full request instead). A TTY
/// container, whose raw answer cannot be counted in entries, is read with full requests.
#[test]
fn long_logs_are_read_from_their_end_and_every_line_once() {
    let engine = Engine::start();
    let big_id = "b".repeat(64);
    let tty_id = "c".repeat(64);
    let start = (now_ns() / 1_000_000_000 - 200) * 1_000_000_000;
    let mut want: Vec<String> = Vec::new();
    // The next numbered line, which the file must end up holding in this order.
    fn entry(want: &mut Vec<String>, ts: i64, stream: Stream) -> LogEntry {
        let text = format!("line {:06}", want.len() + 1);
        want.push(text.clone());
        LogEntry::line(ts, stream, &text)
    }
    // 5000 old entries, 25 a second.
    let history: Vec<LogEntry> = (0..5000)
        .map(|i| entry(&mut want, start + i * 40_000_000, Stream::Stdout))
        .collect();
    engine.add_container(FakeContainer::new("big").id(&big_id).logs(history));
    engine.add_container(
        FakeContainer::new("tty")
            .id(&tty_id)
            .tty(true)
            .logs(vec![LogEntry::raw(start, Stream::Stdout, "tty 0\r\n")]),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    collector_wait_lines(&collector, "big", &want);

    // Rounds of new entries, a tick apart: (entries, stderr stamped 0.3 s before the stdout
    // entry it follows, all in one second).
    let rounds: [(i64, bool, bool); 8] = [
        (3, false, false),
        (0, false, false),
        (200, false, false),
        (1, false, false),
        (6, true, false),
        (40, false, true),
        (500, true, false),
        (2, true, false),
    ];
    let mut tty_lines = vec!["tty 0".to_string()];
    for (round, (count, out_of_order, same_second)) in rounds.into_iter().enumerate() {
        let base = now_ns();
        let mut entries = Vec::new();
        for i in 0..count {
            let ts = if same_second {
                base
            } else {
                base + i * 1_000_000
            };
            entries.push(entry(&mut want, ts, Stream::Stdout));
            if out_of_order {
                entries.push(entry(&mut want, ts - 300_000_000, Stream::Stderr));
            }
        }
        engine.push_logs("big", entries);
        let line = format!("tty {}", round + 1);
        engine.push_logs(
            "tty",
            vec![LogEntry::raw(base, Stream::Stdout, format!("{line}\r\n"))],
        );
        tty_lines.push(line);
        std::thread::sleep(Duration::from_millis(1300));
    }
    collector_wait_lines(&collector, "big", &want);
    collector_wait_lines(&collector, "tty", &tty_lines);

    let requests = engine.requests();
    let logs_of = |id: &str| -> Vec<String> {
        requests
            .iter()
            .filter(|(_, target)| target.starts_with(&format!("/containers/{id}/logs")))
            .filter_map(|(_, target)| {
                let tail = target
                    .split(['?', '&'])
                    .find_map(|p| p.strip_prefix("tail="))?;
                Some(tail.to_string())
            })
            .collect()
    };
    let big = logs_of(&big_id);
    let by_tail = big.iter().filter(|t| t.as_str() != "all").count();
    let full = big.len() - by_tail;
    assert!(
        by_tail >= 6 && full >= 2,
        "big: most reads by tail, the first read and the large bursts in full: {big:?}"
    );
    assert!(
        big.iter()
            .filter(|t| t.as_str() != "all")
            .all(|t| t.parse::<usize>().is_ok_and(|k| (256..=4096).contains(&k))),
        "{big:?}"
    );
    let tty = logs_of(&tty_id);
    assert_eq!(
        tty.iter().filter(|t| t.as_str() != "all").count(),
        1,
        "tty: one tail request, then full ones: {tty:?}"
    );
}

#[test]
fn rotation_keeps_every_line_within_the_file_count() {
    let engine = Engine::start();
    let t = now_ns() - 5_000_000_000;
    let lines: Vec<String> = (0..400)
        .map(|i| format!("rotating line {i:04} {}", "x".repeat(40)))
        .collect();
    engine.add_container(
        FakeContainer::new("rot").logs(
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| LogEntry::line(t + i as i64, Stream::Stdout, l))
                .collect(),
        ),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("LOGS_CONTAINER_MAX_FILE_SIZE".into(), "2000".into()));
    env.push(("LOGS_CONTAINER_MAX_FILES".into(), "3".into()));
    let collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("400 lines", |s| s.logs("rot", "info") == Some(400.0));
    let folder = collector.logs_dir().join("rot");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["rot.log", "rot.log.1", "rot.log.2", "rot.log.3"]);
    let mut kept = String::new();
    for name in ["rot.log.3", "rot.log.2", "rot.log.1", "rot.log"] {
        let content = std::fs::read_to_string(folder.join(name)).expect("file");
        assert!(content.len() < 2000, "{name} is {} bytes", content.len());
        kept.push_str(&content);
    }
    let kept: Vec<&str> = kept.lines().collect();
    // The newest lines, in order, ending with the last one.
    let tail = &lines[lines.len() - kept.len()..];
    assert_eq!(kept, tail);
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

/// What SIGKILL leaves behind between writing lines and persisting the cursor, made on purpose:
/// bytes after the committed end of the file (a torn last line included), and a rotation the
/// committed state does not know of. The restart must undo them and fetch those lines again.
#[test]
fn writes_after_the_last_commit_are_undone_at_start() {
    let engine = Engine::start();
    let t = now_ns() - 30_000_000_000;
    let line = |i: i64| LogEntry::line(t + i * 1_000_000, Stream::Stdout, &format!("line {i:03}"));
    engine.add_container(FakeContainer::new("crash").logs((1..=20).map(line).collect()));
    engine.add_container(FakeContainer::new("rotated").logs((1..=20).map(line).collect()));
    let dir = tempfile::tempdir().expect("tempdir");
    let env = base_env(&engine.uri(), dir.path());
    let mut collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("20 + 20 lines", |s| {
        s.logs("crash", "info") == Some(20.0) && s.logs("rotated", "info") == Some(20.0)
    });
    let (status, _) = collector.terminate();
    assert_eq!(status.code(), Some(0));
    let logs = dir.path().join("logs");
    let crash = logs.join("crash/crash.log");
    let rotated = logs.join("rotated/rotated.log");
    // A run that died after writing lines 21-22 and half of 23, before committing.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&crash)
        .expect("crash.log");
    std::io::Write::write_all(&mut f, b"line 021\nline 022\nline 0").expect("append");
    // A run that died after rotating and writing into the fresh file, before committing.
    std::fs::rename(&rotated, logs.join("rotated/rotated.log.1")).expect("rotate");
    std::fs::write(&rotated, "line 021\n").expect("fresh file");
    engine.push_logs("crash", (21..=30).map(line).collect());
    engine.push_logs("rotated", (21..=30).map(line).collect());

    let collector = Collector::start(dir.path(), &env);
    let want: Vec<String> = (1..=30).map(|i| format!("line {i:03}")).collect();
    collector_wait_lines(&collector, "crash", &want);
    collector_wait_lines(&collector, "rotated", &want);
    assert!(
        !logs.join("rotated/rotated.log.1").exists(),
        "the uncommitted rotation was undone"
    );
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
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
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
