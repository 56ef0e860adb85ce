//! Failure modes, each a tested behaviour: the engine going away, a stuck container, an unusable or
//! full LOGS_DIR, containers that are gone for good, absurd input, and what the endpoint refuses.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{
    self, base_env, http_get, unix_now, Collector, Engine, FakeContainer, LogEntry, Stream,
    PATIENCE,
};

fn lines(from: u32, to: u32, t0: i64) -> Vec<LogEntry> {
    (from..=to)
        .map(|i| {
            LogEntry::line(
                t0 + i as i64 * 1_000_000,
                Stream::Stdout,
                &format!("line {i:04}"),
            )
        })
        .collect()
}

fn want_lines(to: u32) -> String {
    (1..=to).map(|i| format!("line {i:04}\n")).collect()
}

fn wait_for_file(collector: &Collector, container: &str, want: &str) {
    let deadline = Instant::now() + PATIENCE;
    while collector.log_text(container) != want {
        assert!(
            Instant::now() < deadline,
            "{container}'s file never became the expected {} lines; it has {} lines\nconsole:\n{}",
            want.lines().count(),
            collector.log_text(container).lines().count(),
            collector.console().join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(console: &[String], needle: &str) -> usize {
    console.iter().filter(|l| l.contains(needle)).count()
}

#[test]
fn engine_outage_keeps_the_last_values_says_so_once_and_loses_no_line() {
    let engine = Engine::start();
    let t0 = support::now_nanos() - 60_000_000_000;
    let app = || FakeContainer::new("app").id("feedc0de");
    engine.add_container(app().logs(lines(1, 20, t0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    wait_for_file(&collector, "app", &want_lines(20));
    let before = collector.wait_for_scrape("app's memory", |s| {
        s.container("container_used_memory_bytes", "app").is_some()
    });

    let port = engine.shut_down();
    collector.wait_for_line("the outage", |l| l.contains("Cannot list the containers"));
    std::thread::sleep(Duration::from_millis(3500));
    let during = collector.scrape();
    assert_eq!(
        during.container("container_used_memory_bytes", "app"),
        before.container("container_used_memory_bytes", "app"),
        "the endpoint keeps the last values"
    );
    assert_eq!(
        count(&collector.console(), "Cannot list the containers"),
        1,
        "said once"
    );

    // The engine comes back with more lines in the same container's log.
    let engine = Engine::start_on(port);
    engine.add_container(app().logs(lines(1, 35, t0)));
    collector.wait_for_line("the recovery", |l| {
        l.contains("The Docker Engine answers again")
    });
    wait_for_file(&collector, "app", &want_lines(35));
}

#[test]
fn a_stuck_container_holds_up_neither_the_others_nor_the_loop() {
    let engine = Engine::start();
    let t0 = support::now_nanos() - 10_000_000_000;
    engine.add_container(FakeContainer::new("stuck").stats_delay(Duration::from_secs(60)));
    engine.add_container(FakeContainer::new("fine").logs(lines(1, 5, t0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("ENGINE_TIMEOUT".into(), "2".into()));
    let collector = Collector::start(dir.path(), &env);
    let first = collector.wait_for_scrape("fine's metrics", |s| {
        s.container("container_up_timestamp_seconds", "fine")
            .is_some()
    });
    let first_up = first
        .container("container_up_timestamp_seconds", "fine")
        .expect("up");
    // Lines logged now still arrive within a tick or two, whatever the stuck container does.
    engine.push_logs("fine", lines(6, 9, support::now_nanos() - 1_000_000_000));
    wait_for_file(&collector, "fine", &want_lines(9));
    let later = collector.wait_for_scrape("fine collected again", |s| {
        s.container("container_up_timestamp_seconds", "fine")
            .is_some_and(|up| up >= first_up + 2.0)
    });
    assert_eq!(
        later.container("container_used_memory_bytes", "stuck"),
        None
    );
    let console = collector.console();
    assert_eq!(
        count(&console, "no answer within ENGINE_TIMEOUT"),
        1,
        "the timeout is said once:\n{}",
        console.join("\n")
    );
}

#[test]
fn an_unusable_logs_dir_keeps_metrics_flowing() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a directory").expect("file");
    let mut env = base_env(&engine.uri(), dir.path());
    env.retain(|(k, _)| k != "LOGS_DIR");
    env.push((
        "LOGS_DIR".into(),
        blocker.join("logs").display().to_string(),
    ));
    let collector = Collector::start(dir.path(), &env);
    let before = unix_now();
    collector.wait_for_scrape("t1's metrics, twice", |s| {
        s.container("container_up_timestamp_seconds", "t1")
            .is_some_and(|up| up > before as f64)
    });
    let console = collector.console();
    assert!(
        console
            .iter()
            .any(|l| l.contains("[ERROR]") && l.contains("LOGS_DIR")),
        "a clear error:\n{}",
        console.join("\n")
    );
    assert!(
        count(&console, "t1: cannot write") <= 1,
        "said once:\n{}",
        console.join("\n")
    );
}

/// A 48 KiB tmpfs as LOGS_DIR fills up; metrics keep flowing, the cursor stays behind the unwritten
/// lines, and once there is room again every line is written once. Needs root (mount).
#[test]
#[ignore = "needs root (mount)"]
fn a_full_disk_loses_nothing_once_space_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("dir");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=48k", "tmpfs"])
        .arg(&logs)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(mounted, "cannot mount a tmpfs on LOGS_DIR (not root?)");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _unmount = Unmount(logs.clone());

    let engine = Engine::start();
    let t0 = support::now_nanos() - 30_000_000_000;
    // 3000 lines of 20 bytes: 60 KB, more than the 48 KiB disk.
    let entries: Vec<LogEntry> = (1..=3000u32)
        .map(|i| {
            LogEntry::line(
                t0 + i as i64 * 1_000,
                Stream::Stdout,
                &format!("full disk line {i:04}"),
            )
        })
        .collect();
    engine.add_container(FakeContainer::new("big").logs(entries));
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    collector.wait_for_line("the write error", |l| l.contains("big: cannot write"));
    let before = unix_now();
    collector.wait_for_scrape("metrics while the disk is full", |s| {
        s.container("container_up_timestamp_seconds", "big")
            .is_some_and(|up| up > before as f64)
    });
    assert_eq!(
        count(&collector.console(), "big: cannot write"),
        1,
        "said once"
    );
    let grown = std::process::Command::new("mount")
        .args(["-o", "remount,size=1m"])
        .arg(&logs)
        .status()
        .expect("mount");
    assert!(grown.success(), "remount with more room");
    let want: String = (1..=3000u32)
        .map(|i| format!("full disk line {i:04}\n"))
        .collect();
    wait_for_file(&collector, "big", &want);
    collector.wait_for_line("the recovery", |l| {
        l.contains("big: writing") && l.contains("works again")
    });
    let s = collector.wait_for_scrape("the count", |s| s.logs("big", "info") == Some(3000.0));
    assert_eq!(
        s.logs("big", "info"),
        Some(3000.0),
        "counted once, after the lines were written"
    );
}

#[test]
fn containers_gone_longer_than_the_retention_are_dropped() {
    let engine = Engine::start();
    let t0 = support::now_nanos() - 10_000_000_000;
    engine.add_container(FakeContainer::new("brief").logs(lines(1, 3, t0)));
    engine.add_container(FakeContainer::new("stays"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("CONTAINER_RETENTION".into(), "3".into()));
    let collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("brief's series", |s| s.logs("brief", "info") == Some(3.0));
    engine.remove("brief");
    let gone_at = Instant::now();
    collector.wait_for_scrape("brief dropped", |s| {
        s.container("container_up_timestamp_seconds", "brief")
            .is_none()
            && s.logs("brief", "info").is_none()
    });
    assert!(
        gone_at.elapsed() >= Duration::from_secs(2),
        "kept for the retention first"
    );
    let s = collector.scrape();
    assert!(
        s.container("container_up_timestamp_seconds", "stays")
            .is_some(),
        "others stay"
    );
    let state =
        std::fs::read_to_string(dir.path().join("logs/.state/cursors.json")).expect("state");
    assert!(!state.contains("\"brief\""), "its cursor went too: {state}");
    assert!(state.contains("\"stays\""));
}

#[test]
fn lines_longer_than_the_cap_are_cut_with_a_marker() {
    let engine = Engine::start();
    let t0 = support::now_nanos() - 10_000_000_000;
    let long = "z".repeat(40 * 1024);
    let mut entries = vec![LogEntry::line(t0, Stream::Stdout, "short")];
    entries.extend(LogEntry::long_line(t0 + 1, Stream::Stdout, &long));
    entries.push(LogEntry::line(t0 + 2, Stream::Stdout, "after"));
    engine.add_container(FakeContainer::new("chatty").logs(entries));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("MAX_LINE_BYTES".into(), "2048".into()));
    let collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("three lines", |s| s.logs("chatty", "info") == Some(3.0));
    let text = collector.log_text("chatty");
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], "short");
    assert_eq!(
        got[1],
        format!(
            "{} [line cut: {} more bytes]",
            &long[..2048],
            40 * 1024 - 2048
        )
    );
    assert_eq!(got[2], "after");
}

#[test]
fn names_with_path_tricks_never_write_outside_logs_dir() {
    let engine = Engine::start();
    let t0 = support::now_nanos() - 10_000_000_000;
    for name in ["../escape", "a/../../b", ".hidden"] {
        engine.add_container(FakeContainer::new(name).logs(lines(1, 2, t0)));
    }
    engine.add_container(FakeContainer::new("ok").logs(lines(1, 2, t0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let collector = Collector::start(&root, &base_env(&engine.uri(), &root));
    collector.wait_for_scrape("ok's lines", |s| s.logs("ok", "info") == Some(2.0));
    std::thread::sleep(Duration::from_millis(1500));
    let mut found = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p);
            }
        }
    }
    let logs = root.join("logs");
    for f in &found {
        assert!(
            f.starts_with(&logs) || f.parent() == Some(root.as_path()),
            "{} is outside LOGS_DIR",
            f.display()
        );
    }
    let console = collector.console();
    assert_eq!(
        count(&console, "is not a valid Docker name"),
        3,
        "{}",
        console.join("\n")
    );
    assert!(!logs.join(".hidden").exists());
}

#[test]
fn container_environment_never_reaches_the_console_or_the_scrape() {
    let engine = Engine::start();
    engine.add_container(
        FakeContainer::new("secretive")
            .env(&["DB_PASSWORD=hunter2-very-secret", "API_TOKEN=tok-123456"]),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("LOG_LEVEL".into(), "debug".into()));
    let collector = Collector::start(dir.path(), &env);
    let s = collector.wait_for_scrape("its metrics", |s| {
        s.container("container_up_timestamp_seconds", "secretive")
            .is_some()
    });
    for secret in ["hunter2-very-secret", "tok-123456"] {
        assert!(!s.text.contains(secret), "scrape shows {secret}");
        assert!(
            !collector.console().iter().any(|l| l.contains(secret)),
            "console shows {secret}"
        );
    }
}

/// The image's way of not running as root: started as root with RUN_AS, the collector gives LOGS_DIR
/// (including files an older run left as root) and the LAST_* files to that user, switches to it with
/// no capability left, and goes on collecting. Needs root.
#[test]
#[ignore = "needs root"]
fn started_as_root_with_run_as_it_drops_root_and_keeps_writing() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    assert!(
        as_root,
        "started as root is what this test is about: run it as root"
    );
    let engine = Engine::start();
    let t0 = support::now_nanos() - 30_000_000_000;
    engine.add_container(FakeContainer::new("app").logs(lines(1, 50, t0)));
    let dir = tempfile::tempdir().expect("tempdir");
    // tempdir is 0700: let the new user through to LOGS_DIR.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = dir.path().join("volume"); // stands for the host directory mounted on /tmp
    std::fs::create_dir_all(root.join("logs/old")).expect("dir");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(root.join("logs/old/old.log"), "written by root\n").expect("old file");
    std::fs::write(root.join("last-logs-collected-at.txt"), "1\n").expect("old last file");
    let mut env = base_env(&engine.uri(), &root);
    env.push(("RUN_AS".into(), "65534:65534".into()));
    let mut collector = Collector::start(&root, &env);
    collector.wait_for_line("the switch", |l| {
        l.contains("started as root: now running as 65534:65534")
    });
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", collector.pid())).expect("/proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    assert_eq!(field("Uid:"), "65534 65534 65534 65534", "{status}");
    assert_eq!(field("Gid:"), "65534 65534 65534 65534", "{status}");
    assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
    wait_for_file(&collector, "app", &want_lines(50));
    let before = unix_now();
    collector.wait_for_scrape("a later collection", |s| {
        s.container("container_up_timestamp_seconds", "app")
            .is_some_and(|up| up > before as f64)
    });
    let (exit, _) = collector.terminate();
    assert!(exit.success(), "exit {exit:?}");
    for path in [
        root.join("logs"),
        root.join("logs/app/app.log"),
        root.join("logs/old/old.log"),
        root.join("logs/.state/cursors.json"),
        root.join("last-logs-collected-at.txt"),
        root.join("last-metrics-collected-at.txt"),
        root.clone(),
    ] {
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            (meta.uid(), meta.gid()),
            (65534, 65534),
            "owner of {}",
            path.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(root.join("logs/old/old.log")).expect("old file"),
        "written by root\n",
        "contents untouched"
    );
}

#[test]
fn the_endpoint_outlasts_a_slow_client_and_refuses_big_or_odd_requests() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::t1_from_fixtures());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("METRICS_EXPORTER_ADDRESS".into(), "127.0.0.1".into()));
    let collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("t1", |s| {
        s.container("container_max_memory_bytes", "t1").is_some()
    });

    // A client that opens a connection and sends half a request line, then nothing.
    let mut slow = TcpStream::connect(("127.0.0.1", collector.port)).expect("connect");
    slow.write_all(b"GET /metr").expect("send");
    let started = Instant::now();
    for _ in 0..3 {
        let (status, _, _) = http_get(collector.port, "/metrics");
        assert!(status.contains(" 200 "), "scrapes go on: {status}");
    }
    // The slow one is dropped once its headers have not come within 10 s.
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(8) && waited < Duration::from_secs(19),
        "closed after {waited:?}"
    );

    // 20 KiB of headers: refused, not buffered.
    let mut big = TcpStream::connect(("127.0.0.1", collector.port)).expect("connect");
    big.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let _ = big.write_all(header.as_bytes());
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.contains(" 200 "),
        "a 20 KiB request is refused: {answer:.80}"
    );

    // Only GET and HEAD.
    let mut post = TcpStream::connect(("127.0.0.1", collector.port)).expect("connect");
    post.write_all(
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .expect("send");
    let mut answer = String::new();
    let _ = post.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer:.80}");
}

#[test]
fn an_engine_error_for_one_container_is_said_once_and_skips_only_it() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::new("healthy"));
    engine.add_container(
        FakeContainer::new("troubled").stats(support::StatsReply::Status(
            500,
            "cgroup read failed".into(),
        )),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let first = collector.wait_for_scrape("healthy's metrics", |s| {
        s.container("container_up_timestamp_seconds", "healthy")
            .is_some()
    });
    let up = first
        .container("container_up_timestamp_seconds", "healthy")
        .expect("up");
    let later = collector.wait_for_scrape("two more collections", |s| {
        s.container("container_up_timestamp_seconds", "healthy")
            .is_some_and(|u| u >= up + 2.0)
    });
    assert_eq!(
        later.container("container_used_memory_bytes", "troubled"),
        None
    );
    let console = collector.console();
    let said: Vec<&String> = console
        .iter()
        .filter(|l| l.contains("cgroup read failed"))
        .collect();
    assert_eq!(said.len(), 1, "said once: {said:?}");
    assert!(
        said[0].contains("[WARNING]") && said[0].contains("troubled"),
        "{}",
        said[0]
    );
}

/// A logs reply that ends early, inside a frame's header or inside its text: what came whole is
/// written, the cut frame is not (no header bytes, no half line), and the next tick fetches the rest
/// from the cursor: every line exactly once.
#[test]
fn a_logs_reply_cut_inside_a_frame_writes_every_line_once() {
    let engine = Engine::start();
    let t0 = support::now_nanos() - 30_000_000_000;
    // Each frame: 8 header bytes + 30-byte timestamp + space + "line 00NN\n" = 49 bytes.
    let frame = 49;
    engine.add_container(
        FakeContainer::new("cut-in-header")
            .logs(lines(1, 80, t0))
            .cut_first_logs_reply(39 * frame + 5),
    );
    engine.add_container(
        FakeContainer::new("cut-in-text")
            .logs(lines(1, 80, t0))
            .cut_first_logs_reply(39 * frame + 8 + 35),
    );
    engine.add_container(
        FakeContainer::new("cut-first-header")
            .logs(lines(1, 80, t0))
            .cut_first_logs_reply(5),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    for name in ["cut-in-header", "cut-in-text", "cut-first-header"] {
        wait_for_file(&collector, name, &want_lines(80));
    }
    // A few more ticks: nothing is added.
    let ticks = count(&collector.console(), "Sleeping");
    while count(&collector.console(), "Sleeping") < ticks + 3 {
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in ["cut-in-header", "cut-in-text", "cut-first-header"] {
        assert_eq!(collector.log_text(name), want_lines(80), "{name}");
    }
    let s = collector.scrape();
    for name in ["cut-in-header", "cut-in-text", "cut-first-header"] {
        assert_eq!(s.logs(name, "info"), Some(80.0), "{name} counted once");
    }
}

/// Entries whose timestamp the engine sends garbled: the text is kept (with what stood in the
/// timestamp's place, as it came), nothing is repeated on later ticks, and the lines around them are
/// untouched, even when the garbled entry is the last one.
#[test]
fn unparseable_timestamps_lose_and_repeat_nothing() {
    let engine = Engine::start();
    let t0 = support::now_nanos() - 30_000_000_000;
    let ms = 1_000_000;
    engine.add_container(FakeContainer::new("stamps").logs(vec![
        LogEntry::line(t0 + ms, Stream::Stdout, "line 0001"),
        LogEntry::with_bad_timestamp(
            t0 + 2 * ms,
            Stream::Stdout,
            "2026-13-45T99:99:99Z",
            "line 0002",
        ),
        LogEntry::line(t0 + 3 * ms, Stream::Stderr, "line 0003"),
        LogEntry::with_bad_timestamp(t0 + 4 * ms, Stream::Stdout, "yesterday", "line 0004"),
        LogEntry::with_bad_timestamp(t0 + 5 * ms, Stream::Stdout, "\u{fffd}\u{fffd}", "line 0005"),
    ]));
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
    let want = "line 0001\n2026-13-45T99:99:99Z line 0002\nline 0003\nyesterday line 0004\n\u{fffd}\u{fffd} line 0005\n";
    wait_for_file(&collector, "stamps", want);
    let ticks = count(&collector.console(), "Sleeping");
    while count(&collector.console(), "Sleeping") < ticks + 3 {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        collector.log_text("stamps"),
        want,
        "nothing repeated on later ticks"
    );
    // Lines after them still arrive, once.
    engine.push_logs(
        "stamps",
        vec![LogEntry::line(
            support::now_nanos(),
            Stream::Stdout,
            "line 0006",
        )],
    );
    let want = format!("{want}line 0006\n");
    wait_for_file(&collector, "stamps", &want);
    let ticks = count(&collector.console(), "Sleeping");
    while count(&collector.console(), "Sleeping") < ticks + 2 {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(collector.log_text("stamps"), want);
}

/// Stats and inspect answers with numbers no engine should send: too big for their type, negative,
/// fractional, a start time that is not a time, CPU counters that run backwards or leap. No panic;
/// what cannot be read skips that container this cycle with a line naming it; the others are
/// collected and the exposition stays valid.
#[test]
fn absurd_numbers_skip_the_container_never_panic() {
    let engine = Engine::start();
    let body = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = support::fixture_json("stats_stream_false.json");
        f(&mut v);
        support::StatsReply::Json(v)
    };
    engine.add_container(FakeContainer::new("fine"));
    engine.add_container(FakeContainer::new("huge-memory").stats(body(&|v| {
        v["memory_stats"]["usage"] = serde_json::json!(1e30);
    })));
    engine.add_container(FakeContainer::new("negative-limit").stats(body(&|v| {
        v["memory_stats"]["limit"] = serde_json::json!(-1);
    })));
    engine.add_container(FakeContainer::new("cpu-leap").stats(body(&|v| {
        v["cpu_stats"]["cpu_usage"]["total_usage"] = serde_json::json!(u64::MAX);
        v["precpu_stats"]["cpu_usage"]["total_usage"] = serde_json::json!(0);
        v["cpu_stats"]["online_cpus"] = serde_json::json!(u32::MAX);
    })));
    engine.add_container(FakeContainer::new("cpu-backwards").stats(body(&|v| {
        v["cpu_stats"]["cpu_usage"]["total_usage"] = serde_json::json!(1);
        v["cpu_stats"]["system_cpu_usage"] = serde_json::json!(1);
    })));
    engine.add_container(
        FakeContainer::new("odd-start")
            .started_at("yesterday")
            .nano_cpus(i64::MAX),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("LOG_LEVEL".into(), "debug".into()));
    let collector = Collector::start(dir.path(), &env);
    let s = collector.wait_for_scrape("two collections", |s| {
        s.container("container_up_timestamp_seconds", "fine")
            .is_some()
            && count(&collector.console(), "Sleeping") >= 2
    });
    for unreadable in ["huge-memory", "negative-limit"] {
        assert_eq!(
            s.container("container_used_memory_bytes", unreadable),
            None,
            "{unreadable}"
        );
        collector.wait_for_line(&format!("a line naming {unreadable}"), |l| {
            l.contains(unreadable) && l.contains("unreadable stats")
        });
    }
    // Readable, if odd: exported as finite numbers.
    let leap = s.container("container_cpu_usage_percent", "cpu-leap");
    assert!(leap.is_some_and(f64::is_finite), "cpu-leap: {leap:?}");
    assert_eq!(
        s.container("container_cpu_usage_percent", "cpu-backwards"),
        Some(0.0)
    );
    assert_eq!(
        s.container("container_started_at_timestamp_seconds", "odd-start"),
        None
    );
    let cpus = s.container("container_cpus_available", "odd-start");
    assert!(
        cpus.is_some_and(|c| c.is_finite() && c > 0.0),
        "odd-start: {cpus:?}"
    );
    assert!(
        !collector.console().iter().any(|l| l.contains("panicked")),
        "no panic"
    );
    let (exit, _) = {
        let mut collector = collector;
        collector.terminate()
    };
    assert!(exit.success(), "clean exit after absurd input: {exit:?}");
}
