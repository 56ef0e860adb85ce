//! What the binary writes into the log files from a fake engine's logs: every line once, across
//! restarts and crashes, whatever the log's size, shape or rotation.

use std::collections::HashSet;
use std::time::Duration;

use super::now_ns;
use crate::support::{self, base_env, Collector, Engine, FakeContainer, LogEntry, Stream};

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
pub(super) fn collector_wait_lines(collector: &Collector, container: &str, want: &[String]) {
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
