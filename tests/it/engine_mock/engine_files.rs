//! Logs read from the engine's json-file files (CONTAINER_LOGS_ROOT) instead of asking the engine,
//! with the fake engine keeping them as the real one does: the engine's rotation and gzip, moving
//! between the two paths, and what the engine deleted while the collector was down.

use super::log_files::collector_wait_lines;
use super::now_ns;
use crate::support::{base_env, Collector, Engine, FakeContainer, LogEntry, Scrape, Stream};

/// A counter `collector_log_reads_total` by where the reads came from.
fn reads(s: &Scrape, source: &str) -> f64 {
    s.value(
        "collector_log_reads_total",
        &[("machine", "test-machine"), ("source", source)],
    )
    .unwrap_or(0.0)
}

/// Numbered lines, every third on stderr, pushed to the fake engine's log of `name`.
struct Lines<'a> {
    engine: &'a Engine,
    name: &'a str,
    n: u32,
}

impl Lines<'_> {
    fn push(&mut self, count: u32) {
        let entries: Vec<LogEntry> = (0..count)
            .map(|_| {
                self.n += 1;
                let stream = if self.n % 3 == 0 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                };
                LogEntry::line(now_ns(), stream, &format!("line {:05}", self.n))
            })
            .collect();
        self.engine.push_logs(self.name, entries);
    }

    fn numbered(&self, range: std::ops::RangeInclusive<u32>) -> Vec<String> {
        range.map(|i| format!("line {i:05}")).collect()
    }

    fn all(&self) -> Vec<String> {
        self.numbered(1..=self.n)
    }
}

fn env(engine: &Engine, dir: &std::path::Path, logs_root: &str) -> Vec<(String, String)> {
    let mut env = base_env(&engine.uri(), dir);
    env.push(("CONTAINER_LOGS_ROOT".into(), logs_root.into()));
    env
}

/// The engine path, then the files path, then the engine path again, each run SIGKILLed while lines
/// keep coming and the engine rotates and gzips its files: every line once, in order.
#[test]
fn moving_between_the_engine_and_its_files_repeats_and_loses_nothing() {
    let engine = Engine::start();
    let engine_dir = tempfile::tempdir().expect("tempdir");
    let root = engine_dir.path().display().to_string();
    engine.add_container(FakeContainer::new("mover").json_file_under(engine_dir.path()));
    let mut lines = Lines {
        engine: &engine,
        name: "mover",
        n: 0,
    };
    let dir = tempfile::tempdir().expect("tempdir");

    lines.push(40);
    let mut collector = Collector::start(dir.path(), &env(&engine, dir.path(), ""));
    collector_wait_lines(&collector, "mover", &lines.all());
    let s = collector.scrape_after_a_tick();
    assert!(reads(&s, "engine") > 0.0 && reads(&s, "files") == 0.0);
    assert!(collector.console().iter().any(
        |l| l.contains("Logs are asked from the Docker Engine (CONTAINER_LOGS_ROOT is empty)")
    ));
    lines.push(20);
    collector.kill();
    lines.push(20);

    let mut collector = Collector::start(dir.path(), &env(&engine, dir.path(), &root));
    collector_wait_lines(&collector, "mover", &lines.all());
    let s = collector.scrape_after_a_tick();
    assert!(reads(&s, "files") > 0.0 && reads(&s, "engine") == 0.0);
    assert!(collector.console().iter().any(|l| l.contains(&format!(
        "Logs are read from the engine's json-file logs under {root}"
    ))));
    for _ in 0..3 {
        lines.push(15);
        engine.rotate_json_log("mover", 4, true);
        lines.push(5);
        std::thread::sleep(std::time::Duration::from_millis(700));
    }
    collector.kill();
    lines.push(10);
    engine.rotate_json_log("mover", 4, true);
    lines.push(10);

    let collector = Collector::start(dir.path(), &env(&engine, dir.path(), &root));
    collector_wait_lines(&collector, "mover", &lines.all());
    drop(collector);
    lines.push(25);
    let collector = Collector::start(dir.path(), &env(&engine, dir.path(), ""));
    collector_wait_lines(&collector, "mover", &lines.all());
    let s = collector.scrape_after_a_tick();
    assert!(reads(&s, "engine") > 0.0 && reads(&s, "files") == 0.0);
}

/// While the collector is down the engine rotates its files (without compress here; the test above
/// gzips): what it still keeps is read once; what it deleted is said to be lost.
#[test]
fn what_the_engine_rotated_while_the_collector_was_down_is_read_as_far_as_it_keeps_it() {
    let engine = Engine::start();
    let engine_dir = tempfile::tempdir().expect("tempdir");
    let root = engine_dir.path().display().to_string();
    engine.add_container(FakeContainer::new("rotor").json_file_under(engine_dir.path()));
    let mut lines = Lines {
        engine: &engine,
        name: "rotor",
        n: 0,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env(&engine, dir.path(), &root);
    lines.push(30);
    let mut collector = Collector::start(dir.path(), &env);
    collector_wait_lines(&collector, "rotor", &lines.all());
    collector.kill();
    // Two rotations with max-file=3: every file since the last read is still kept.
    for _ in 0..2 {
        lines.push(10);
        engine.rotate_json_log("rotor", 3, false);
    }
    lines.push(10);
    let mut collector = Collector::start(dir.path(), &env);
    collector_wait_lines(&collector, "rotor", &lines.all());
    collector.kill();
    // Four more: the file the cursor was in (and the one after it) were deleted by the engine.
    let read_up_to = lines.n;
    for _ in 0..4 {
        lines.push(10);
        engine.rotate_json_log("rotor", 3, false);
    }
    lines.push(10);
    let collector = Collector::start(dir.path(), &env);
    let mut want = lines.numbered(1..=read_up_to);
    // Kept: the last two rotated files (.2 and .1) and the current one.
    want.extend(lines.numbered(lines.n - 29..=lines.n));
    collector_wait_lines(&collector, "rotor", &want);
    assert!(
        collector
            .console()
            .iter()
            .any(|l| l
                .contains("rotor: the engine deleted log files before all their lines were read")),
        "the loss is said"
    );
}

/// A container with another log driver is asked of the engine, beside one read from its files.
#[test]
fn other_log_drivers_and_unreadable_files_are_asked_of_the_engine() {
    let engine = Engine::start();
    let engine_dir = tempfile::tempdir().expect("tempdir");
    let root = engine_dir.path().display().to_string();
    engine.add_container(FakeContainer::new("filed").json_file_under(engine_dir.path()));
    engine.add_container(FakeContainer::new("local").log_driver("local"));
    // json-file, but the engine's file is not where CONTAINER_LOGS_ROOT shows its directory.
    engine.add_container(FakeContainer::new("elsewhere"));
    let mut filed = Lines {
        engine: &engine,
        name: "filed",
        n: 0,
    };
    filed.push(12);
    let mut local = Lines {
        engine: &engine,
        name: "local",
        n: 0,
    };
    local.push(7);
    let mut elsewhere = Lines {
        engine: &engine,
        name: "elsewhere",
        n: 0,
    };
    elsewhere.push(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let collector = Collector::start(dir.path(), &env(&engine, dir.path(), &root));
    collector_wait_lines(&collector, "filed", &filed.all());
    collector_wait_lines(&collector, "local", &local.all());
    collector_wait_lines(&collector, "elsewhere", &elsewhere.all());
    let s = collector.wait_for_scrape("a tick's reads counted", |s| reads(s, "files") > 0.0);
    assert_eq!(
        reads(&s, "engine"),
        2.0 * reads(&s, "files"),
        "each tick, two of the three from the engine"
    );
    let said: Vec<String> = collector
        .console()
        .into_iter()
        .filter(|l| l.contains("cannot read the engine's log file"))
        .collect();
    assert_eq!(said.len(), 1, "said once: {said:?}");
    assert!(said[0].contains("elsewhere"), "{said:?}");
}

/// A container that stops right after printing without a line end (a prompt, a progress bar):
/// that last line is written at its last visit, on both paths, instead of waiting forever for the
/// rest of it.
#[test]
fn the_last_line_of_a_stopped_container_is_written_without_its_line_end() {
    for logs_root in ["", "files"] {
        let engine = Engine::start();
        let engine_dir = tempfile::tempdir().expect("tempdir");
        let root = if logs_root.is_empty() {
            String::new()
        } else {
            engine_dir.path().display().to_string()
        };
        engine.add_container(FakeContainer::new("prompt").json_file_under(engine_dir.path()));
        let dir = tempfile::tempdir().expect("tempdir");
        let collector = Collector::start(dir.path(), &env(&engine, dir.path(), &root));
        engine.push_logs(
            "prompt",
            vec![LogEntry::line(now_ns(), Stream::Stdout, "first")],
        );
        collector_wait_lines(&collector, "prompt", &["first".to_string()]);
        engine.push_logs(
            "prompt",
            vec![LogEntry::raw(now_ns(), Stream::Stdout, "Continue? [y/N] ")],
        );
        engine.stop("prompt");
        let want = ["first".to_string(), "Continue? [y/N] ".to_string()];
        collector_wait_lines(&collector, "prompt", &want);
        let s = collector.scrape_after_a_tick();
        let source = if root.is_empty() { "engine" } else { "files" };
        assert!(reads(&s, source) > 0.0, "read from the {source}");
    }
}

/// The engine's own json-file files as recorded (`fixtures/docker-*/json_file_*`), read by the files
/// path: t4's log, rotated twice and gzipped by the engine, gives every line once and in order; t1's
/// log starts with exactly the entries the engine's logs answer held (26.1, where both were recorded
/// in one run).
#[test]
fn the_recorded_json_file_logs_read_as_the_engine_serves_them() {
    use container_metrics::engine_files::{read_after, FilesCursor};
    let read = |base: &std::path::Path| -> Vec<String> {
        let mut texts = Vec::new();
        read_after(base, &FilesCursor::default(), &mut |_, entry| {
            let entry = entry.expect("every recorded line is an entry");
            texts.push(entry.text.trim_end_matches('\n').to_string());
            true
        })
        .expect("the recorded files read");
        texts
    };
    for set in ["docker-20.10", "docker-26.1"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(set);
        let t4 = read(&dir.join("json_file_t4_rotating/ID-json.log"));
        let first: u32 = t4[0][5..10].parse().expect("a numbered line");
        let want: Vec<String> = (first..400)
            .map(|i| format!("line {i:05} {:090}", 0))
            .collect();
        assert_eq!(
            t4, want,
            "{set}: t4 across .2.gz, .1.gz and the current file"
        );
        assert!(
            first > 0,
            "{set}: the engine deleted the oldest lines (max-file=3)"
        );
        let t1 = read(&dir.join("json_file_t1.log"));
        assert!(t1.len() > 100, "{set}: t1's recorded log");
        if set == "docker-26.1" {
            let served = super::recorded_t1_lines_of(set);
            assert_eq!(
                t1[..served.len()],
                served[..],
                "{set}: the files hold what was served"
            );
        }
    }
}

/// A rotated file whose gzip turns out broken at its end (its checksum): its lines are handed out
/// before the decoder finds out, and the engine is asked from there on, so none of them comes twice.
#[test]
fn a_read_that_breaks_off_keeps_what_it_wrote_and_the_engine_goes_on_from_there() {
    let engine = Engine::start();
    let engine_dir = tempfile::tempdir().expect("tempdir");
    let root = engine_dir.path().display().to_string();
    engine.add_container(FakeContainer::new("broken").json_file_under(engine_dir.path()));
    let mut lines = Lines {
        engine: &engine,
        name: "broken",
        n: 0,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env(&engine, dir.path(), &root);
    lines.push(20);
    let mut collector = Collector::start(dir.path(), &env);
    collector_wait_lines(&collector, "broken", &lines.all());
    collector.kill();
    lines.push(30);
    engine.rotate_json_log("broken", 3, true);
    let path = engine
        .container("broken")
        .and_then(|c| c.json_log_path())
        .expect("a json-file log");
    let gz_path = format!("{}.1.gz", path.display());
    let mut gz = std::fs::read(&gz_path).expect("the rotated file");
    let crc = gz.len() - 8;
    gz[crc] ^= 0xff;
    std::fs::write(&gz_path, gz).expect("write");
    lines.push(10);
    let collector = Collector::start(dir.path(), &env);
    collector_wait_lines(&collector, "broken", &lines.all());
    let s = collector.scrape_after_a_tick();
    assert!(
        reads(&s, "engine") > 0.0,
        "the engine was asked after the broken file"
    );
}
