//! LOG_PATTERNS_PATH against the fake engine: lines that match a pattern are counted in
//! `container_log_pattern_matches_total`, a container's own list replaces the top-level one, and
//! the counts go with the commits, so that SIGKILL and a restart neither repeat nor lose a count.

use std::time::Duration;

use super::log_files::collector_wait_lines;
use super::now_ns;
use crate::support::{base_env, Collector, Engine, FakeContainer, LogEntry, Scrape, Stream};

const PATTERNS: &str = r#"{
    "patterns": [
        {"name": "oom", "regex": "OutOfMemoryError|Killed process"},
        {"name": "panic", "regex": "panic"}
    ],
    "mappings": [
        {"container_keywords": ["pg"], "patterns": [{"name": "deadlock", "regex": "deadlock detected"}]}
    ]
}"#;

/// The patterns each container gets, with the text that matches each.
const APP: [(&str, &str); 2] = [("oom", "OutOfMemoryError"), ("panic", "panic")];
const PG: [(&str, &str); 1] = [("deadlock", "deadlock detected")];

/// Line `n`: some match one pattern, some two, some none (and every container gets the same).
fn text(n: u32) -> String {
    let mut t = format!("line {n:05}");
    if n % 3 == 0 {
        t.push_str(" java.lang.OutOfMemoryError");
    }
    if n % 5 == 0 {
        t.push_str(" panic: deadlock detected");
    }
    t
}

/// The collector's count of `pattern` for `container`.
fn count(s: &Scrape, container: &str, pattern: &str) -> Option<f64> {
    s.value(
        "container_log_pattern_matches_total",
        &[
            ("machine", "test-machine"),
            ("container", container),
            ("pattern", pattern),
        ],
    )
}

/// Where `container`'s file ended at the last commit, from the cursor file (0 before any).
fn committed_len(logs_dir: &std::path::Path, container: &str) -> usize {
    let Ok(bytes) = std::fs::read(logs_dir.join(".state/cursors.json")) else {
        return 0;
    };
    let state: serde_json::Value = serde_json::from_slice(&bytes).expect("cursor file is JSON");
    let c = &state["containers"][container];
    assert_eq!(c["generation"].as_u64().unwrap_or(0), 0, "no rotation here");
    c["file"]["len"].as_u64().unwrap_or(0) as usize
}

/// Lines of `file_text` after byte `from` that match each pattern's text.
fn matches_after(file_text: &str, from: usize, patterns: &[(&str, &str)]) -> Vec<f64> {
    let tail = &file_text[from..];
    patterns
        .iter()
        .map(|(_, needle)| tail.lines().filter(|l| l.contains(needle)).count() as f64)
        .collect()
}

/// Each run counts exactly the matching lines written after the commit it started from: the
/// lines a SIGKILL left uncommitted are undone and counted once, by the next run. A container's
/// own list replaces the top-level one: "pg" counts deadlocks only, "app" never counts them.
#[test]
fn matches_are_counted_once_per_container_across_sigkill() {
    let engine = Engine::start();
    engine.add_container(FakeContainer::new("app"));
    engine.add_container(FakeContainer::new("pg"));
    let mut n = 0u32;
    let mut push = |count: u32| {
        let entries: Vec<LogEntry> = (0..count)
            .map(|_| {
                n += 1;
                LogEntry::line(now_ns(), Stream::Stdout, &text(n))
            })
            .collect();
        engine.push_logs("app", entries.clone());
        engine.push_logs("pg", entries);
        n
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("patterns.json");
    std::fs::write(&file, PATTERNS).expect("write");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("LOG_PATTERNS_PATH".into(), file.display().to_string()));
    let mut last = push(40);
    let logs_dir = dir.path().join("logs");
    for round in 0..4u64 {
        let from = ["app", "pg"].map(|c| committed_len(&logs_dir, c));
        let mut collector = Collector::start(dir.path(), &env);
        let want: Vec<String> = (1..=last).map(text).collect();
        collector_wait_lines(&collector, "app", &want);
        collector_wait_lines(&collector, "pg", &want);
        let expect = |c: usize, patterns: &[(&str, &str)]| {
            let file_text = collector.log_text(["app", "pg"][c]);
            matches_after(&file_text, from[c], patterns)
        };
        let (app, pg) = (expect(0, &APP), expect(1, &PG));
        let s = collector.wait_for_scrape("this run's counts", |s| {
            count(s, "app", "oom") == Some(app[0]) && count(s, "pg", "deadlock") == Some(pg[0])
        });
        assert_eq!(count(&s, "app", "panic"), Some(app[1]), "round {round}");
        assert!(app[0] > 0.0 && pg[0] > 0.0, "round {round}: lines matched");
        assert_eq!(count(&s, "app", "deadlock"), None, "not app's pattern");
        assert_eq!(
            count(&s, "pg", "oom"),
            None,
            "pg's own list replaces the top level"
        );
        assert_eq!(count(&s, "pg", "panic"), None);
        // Lines keep coming; SIGKILL in the middle of busy ticks; more while it is down.
        for _ in 0..4 {
            push(15);
            std::thread::sleep(Duration::from_millis(130 + 90 * round));
        }
        collector.kill();
        last = push(10);
    }
    // The last run is ended by SIGTERM, after it counted everything.
    let from = ["app", "pg"].map(|c| committed_len(&logs_dir, c));
    let mut collector = Collector::start(dir.path(), &env);
    let want: Vec<String> = (1..=last).map(text).collect();
    collector_wait_lines(&collector, "app", &want);
    let app = matches_after(&collector.log_text("app"), from[0], &APP);
    collector.wait_for_scrape("the last run's counts", |s| {
        count(s, "app", "oom") == Some(app[0]) && count(s, "app", "panic") == Some(app[1])
    });
    let (status, _) = collector.terminate();
    assert_eq!(status.code(), Some(0));
}

/// What SIGKILL leaves behind between writing matching lines and committing them, made on
/// purpose: the restart undoes those bytes, writes the lines again from the engine, and counts
/// each match once. A pattern no line matched has its series at 0.
#[test]
fn uncommitted_matches_are_undone_and_counted_once_at_restart() {
    let engine = Engine::start();
    let t = now_ns() - 30_000_000_000;
    let line = |i: u32| LogEntry::line(t + i64::from(i) * 1_000_000, Stream::Stdout, &text(i));
    engine.add_container(FakeContainer::new("app").logs((1..=20).map(line).collect()));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("patterns.json");
    let patterns = r#"{"patterns": [{"name": "oom", "regex": "OutOfMemoryError"},
                       {"name": "never", "regex": "no line says this"}]}"#;
    std::fs::write(&file, patterns).expect("write");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("LOG_PATTERNS_PATH".into(), file.display().to_string()));
    let oom = |from: u32, to: u32| (from..=to).filter(|i| i % 3 == 0).count() as f64;
    let mut collector = Collector::start(dir.path(), &env);
    let s = collector.wait_for_scrape("20 lines", |s| s.logs("app", "info") == Some(20.0));
    assert_eq!(count(&s, "app", "oom"), Some(oom(1, 20)));
    assert_eq!(
        count(&s, "app", "never"),
        Some(0.0),
        "at 0 from the first lines"
    );
    let (status, _) = collector.terminate();
    assert_eq!(status.code(), Some(0));
    // A run that died after writing lines 21-24 (two of them matching) and half of 25.
    let log = dir.path().join("logs/app/app.log");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("app.log");
    let torn = format!(
        "{}\n{}\n{}\n{}\nline 0",
        text(21),
        text(22),
        text(23),
        text(24)
    );
    std::io::Write::write_all(&mut f, torn.as_bytes()).expect("append");
    engine.push_logs("app", (21..=30).map(line).collect());

    let collector = Collector::start(dir.path(), &env);
    let want: Vec<String> = (1..=30).map(text).collect();
    collector_wait_lines(&collector, "app", &want);
    let s = collector.wait_for_scrape("this run's lines", |s| s.logs("app", "info") == Some(10.0));
    assert_eq!(
        count(&s, "app", "oom"),
        Some(oom(21, 30)),
        "lines 21-30, once"
    );
    assert_eq!(count(&s, "app", "never"), Some(0.0));
}
