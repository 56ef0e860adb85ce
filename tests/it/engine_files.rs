//! Logs read from the engine's own json-file logs (CONTAINER_LOGS_ROOT), on a real Docker Engine:
//! the engine rotates (`--log-opt max-size`, `max-file`, `compress=true`) while the collector is
//! SIGKILLed and restarted (10 KB files, and 1 MB gzipped ones), rotates while the collector is
//! down, keeps one file (`max-size` alone), the collector moves between this path and asking the
//! engine, a line the engine splits into 16 KiB entries, stdout and stderr interleaved, escapes and
//! bytes that are not UTF-8 (byte for byte as on the engine path), and the containers this path does
//! not serve (`--log-driver local`, a root where the files are not). Each test checks every line
//! once, in order, in LOGS_DIR (+ its rotated files). `--nocapture` shows what each run did.
//!
//! The engine under test is `TEST_ENGINE` (see [`crate::real_engine::socket`]); its containers
//! folder is `<DockerRootDir>/containers` (`/var/lib/docker/containers` for 20.10,
//! `/var/lib/docker-26.1/containers` for 26.1 here). These tests read the engine's files themselves
//! too (to see its rotations), so they need root like the engine's files do.
//!
//! Pacing: the engine keeps `max-file` files of `max-size` bytes and deletes the oldest as it
//! rotates, so a line is only there to be read for as long as the engine keeps its file. The loggers
//! here write about 65 short lines (5 KB of json-file) a second: with 10 KB files, a rotation every
//! 2 s or so and each line kept for at least 4 s, which leaves a collector that ticks every second
//! (the smallest LOGS_COLLECTION_INTERVAL) and restarts in well under a second room to keep up (the
//! 1 MB test: ~400 KB/s, the same margins). A
//! line lost here is the collector's, not the engine's: the failure message tells the story (kills,
//! restarts, rotations seen) to check that.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::real_engine::{
    all_files, docker, require_engine, sharing_the_engine, start_collector, Container,
};
use crate::support::{Collector, Scrape, PATIENCE};

/// The engine's containers folder: what CONTAINER_LOGS_ROOT must name for the engine under test,
/// as the engine itself says (and as `real_engine::containers_dir` knows it).
fn engine_containers_dir() -> String {
    let root = docker(&["info", "--format", "{{.DockerRootDir}}"]);
    let dir = format!("{root}/containers");
    assert_eq!(dir, crate::real_engine::containers_dir(), "the data root");
    dir
}

/// `collector_log_reads_total{source=...}`, summed over its other labels.
fn reads(s: &Scrape, source: &str) -> f64 {
    s.sum("collector_log_reads_total", &[("source", source)])
}

/// What happened during a test, with times, for the failure messages.
struct Story {
    start: Instant,
    events: Vec<String>,
}

impl Story {
    fn new() -> Story {
        Story {
            start: Instant::now(),
            events: Vec::new(),
        }
    }

    fn note(&mut self, what: impl Into<String>) {
        let t = self.start.elapsed().as_secs_f64();
        self.events.push(format!("{t:7.2}s {}", what.into()));
    }

    /// A collector's console, kept before it goes.
    fn console(&mut self, run: &str, collector: &Collector) {
        let console = collector.console();
        self.note(format!("console of {run}:\n    {}", console.join("\n    ")));
    }

    fn text(&self) -> String {
        self.events.join("\n")
    }

    /// Shown with `--nocapture`: what a passing run did.
    fn print(&self, test: &str) {
        eprintln!(
            "{test} ({:.1} s):\n{}",
            self.start.elapsed().as_secs_f64(),
            self.text()
        );
    }
}

/// The engine's json-file log of a container, watched from outside: its rotations show as a new
/// inode at LogPath.
struct EngineLog {
    path: PathBuf,
}

impl EngineLog {
    fn of(c: &Container) -> EngineLog {
        let path = PathBuf::from(c.inspect("{{.LogPath}}"));
        assert!(
            path.starts_with(engine_containers_dir()),
            "LogPath {} is under the engine's containers folder {}",
            path.display(),
            engine_containers_dir()
        );
        EngineLog { path }
    }

    fn inode(&self) -> Option<u64> {
        std::fs::metadata(&self.path).ok().map(|m| m.ino())
    }

    fn size(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// Waits until the engine has rotated `n` times after the file with inode `from`; returns the
    /// inode now current.
    fn wait_rotations(&self, from: Option<u64>, n: usize) -> Option<u64> {
        let deadline = Instant::now() + PATIENCE;
        let (mut seen, mut last) = (0, from);
        while seen < n {
            let now = self.inode();
            if now.is_some() && now != last {
                seen += 1;
                last = now;
                continue;
            }
            assert!(
                Instant::now() < deadline,
                "the engine did not rotate {} within {PATIENCE:?} ({seen} of {n} seen)",
                self.path.display()
            );
            std::thread::sleep(Duration::from_millis(3));
        }
        last
    }

    /// Waits until the current file is about to be rotated (within ~`margin` bytes of `max`).
    fn wait_nearly_full(&self, max: u64, margin: u64) {
        let start = self.inode();
        let deadline = Instant::now() + PATIENCE;
        while self.size() + margin < max && self.inode() == start {
            assert!(
                Instant::now() < deadline,
                "{} did not grow",
                self.path.display()
            );
            std::thread::sleep(Duration::from_millis(3));
        }
    }

    /// The `log` of the current file's first entry that ends a line (the oldest line the file holds).
    fn first_line(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        text.lines().find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let log = v["log"].as_str()?;
            log.strip_suffix('\n').map(str::to_string)
        })
    }

    /// Every line the engine keeps in its plain (not gzipped) files, oldest first.
    fn all_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for n in (1..=20).rev() {
            let rotated = PathBuf::from(format!("{}.{n}", self.path.display()));
            if rotated.exists() {
                lines.extend(json_file_lines(&rotated));
            }
        }
        lines.extend(json_file_lines(&self.path));
        lines
    }

    /// The files the engine keeps for the container now, with their sizes.
    fn listing(&self) -> String {
        let dir = self.path.parent().expect("a folder");
        let base = self
            .path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .to_string();
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.starts_with(&base))
                    .map(|n| {
                        let len = std::fs::metadata(dir.join(&n)).map_or(0, |m| m.len());
                        format!("{} ({len} B)", n.replacen(&base, "LOG", 1))
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names.join(", ")
    }
}

/// A folder the container sees at /t: the test creates /t/go to let it start logging.
struct Trigger {
    dir: tempfile::TempDir,
}

impl Trigger {
    fn new() -> Trigger {
        Trigger {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn volume(&self) -> String {
        format!("{}:/t", self.dir.path().display())
    }

    fn go(&self) {
        std::fs::write(self.dir.path().join("go"), "").expect("trigger");
    }
}

/// A shell script: waits for /t/go, writes `n 1` .. `n <count>` to stdout with `usleep <pause>`
/// between lines, then sleeps (the container stays up, its log stays).
fn numbered(count: usize, pause_us: u32) -> String {
    format!(
        "while [ ! -e /t/go ]; do usleep 20000; done; i=0; while [ $i -lt {count} ]; do \
         i=$((i+1)); echo \"n $i\"; usleep {pause_us}; done; sleep 600"
    )
}

fn want_numbered(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("n {i}")).collect()
}

/// How many lines the collector has written for `name`, over all its files.
fn lines_written(collector: &Collector, name: &str) -> usize {
    all_files(collector, name).lines().count()
}

/// Waits until the collector has written more than `than` lines for `name`.
fn wait_progress(collector: &Collector, name: &str, than: usize, story: &Story) -> usize {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let n = lines_written(collector, name);
        if n > than {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "the collector wrote no line past {than} within {PATIENCE:?}\n{}\nconsole:\n{}",
            story.text(),
            collector.console().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the collector's files for `name` end with `last` (or hold `count` lines), up to
/// `patience`, then a little more so that a line written twice would show too.
fn wait_for_last(
    collector: &Collector,
    name: &str,
    last: &str,
    count: usize,
    patience: Duration,
    story: &Story,
) {
    let deadline = Instant::now() + patience;
    loop {
        let text = all_files(collector, name);
        if text.lines().last() == Some(last) || text.lines().count() >= count {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the collector's files never reached {last:?} within {patience:?}: {} lines, the last {:?}\n{}\nconsole:\n{}",
            text.lines().count(),
            text.lines().last(),
            story.text(),
            collector.console().join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(2500));
}

/// Every line of `want` exactly once, in order, and nothing else: the failure says which lines are
/// missing, repeated or foreign, and where the first difference is.
fn assert_exactly_once(text: &str, want: &[String], story: &Story) {
    let got: Vec<&str> = text.lines().collect();
    if got.iter().copied().eq(want.iter().map(String::as_str)) {
        return;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for l in &got {
        *seen.entry(l).or_default() += 1;
    }
    let missing: Vec<&str> = want
        .iter()
        .map(String::as_str)
        .filter(|w| !seen.contains_key(w))
        .collect();
    let repeated: Vec<(&str, usize)> = want
        .iter()
        .map(String::as_str)
        .filter_map(|w| seen.get(w).filter(|n| **n > 1).map(|n| (w, *n)))
        .collect();
    let wanted: std::collections::HashSet<&str> = want.iter().map(String::as_str).collect();
    let foreign: Vec<&str> = got
        .iter()
        .copied()
        .filter(|l| !wanted.contains(l))
        .collect();
    let first_diff = got
        .iter()
        .zip(want)
        .position(|(g, w)| *g != w)
        .unwrap_or(got.len().min(want.len()));
    let around = |v: &[&str]| -> Vec<String> {
        v.iter()
            .skip(first_diff.saturating_sub(3))
            .take(8)
            .map(|l| l.chars().take(60).collect())
            .collect()
    };
    let want_refs: Vec<&str> = want.iter().map(String::as_str).collect();
    let mut msg = String::new();
    let _ = writeln!(
        msg,
        "not every line exactly once in order: {} lines written, {} wanted",
        got.len(),
        want.len()
    );
    let short = |v: &[&str]| -> Vec<String> {
        v.iter()
            .take(30)
            .map(|l| l.chars().take(60).collect())
            .collect()
    };
    let _ = writeln!(msg, "missing ({}): {:?}", missing.len(), short(&missing));
    let _ = writeln!(
        msg,
        "repeated ({}): {:?}",
        repeated.len(),
        repeated.iter().take(30).collect::<Vec<_>>()
    );
    let _ = writeln!(msg, "foreign ({}): {:?}", foreign.len(), short(&foreign));
    let _ = writeln!(
        msg,
        "first difference at line {first_diff}: written {:?}, wanted {:?}",
        around(&got),
        around(&want_refs)
    );
    if story.text().contains("Cannot list the containers") {
        let _ = writeln!(
            msg,
            "NOTE: the engine went away during this test (stopped by another test process?): see the consoles"
        );
    }
    let _ = writeln!(msg, "story:\n{}", story.text());
    panic!("{msg}");
}

/// The settings of a run: CONTAINER_LOGS_ROOT (`None`: empty, ask the engine) and only this
/// test's containers watched, so the read counters are theirs.
fn run_env<'a>(root: Option<&'a str>, include: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CONTAINER_LOGS_ROOT", root.unwrap_or("")),
        ("INCLUDE_CONTAINERS", include),
    ]
}

/// Starts a collector and checks that its start line names the path its logs come from.
fn start(dir: &Path, root: Option<&str>, include: &str) -> Collector {
    let collector = start_collector(dir, &run_env(root, include));
    match root {
        Some(root) => {
            // The brief said "(other log drivers: asked from the engine)"; the code says "the
            // Docker Engine": either will do.
            let said = format!(
                "Logs are read from the engine's json-file logs under {root} (other log drivers: asked from the "
            );
            collector.wait_for_line("the json-file path", |l| l.contains(&said));
        }
        None => {
            collector.wait_for_line("the engine path", |l| {
                l.contains("Logs are asked from the ")
                    && l.contains("(CONTAINER_LOGS_ROOT is empty)")
            });
        }
    }
    collector
}

/// Waits until the collector lists the container (so it will see the first lines it logs).
fn wait_listed(collector: &Collector, name: &str) {
    collector.wait_for_scrape("the container listed", |s| {
        s.container("container_up_timestamp_seconds", name)
            .is_some()
    });
}

/// When a kill comes.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// Just after the engine renamed its file (and, with compress, while it gzips it).
    JustRotated,
    /// Within a few entries of max-size.
    NearlyFull,
    /// Just after the collector's first write since a rotation: it read across the rotation, and
    /// its cursor may not be committed yet.
    ReadAcrossRotation,
}

/// The size of the collector's current file for `name`.
fn own_size(collector: &Collector, name: &str) -> u64 {
    let path = collector.logs_dir().join(name).join(format!("{name}.log"));
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Waits until the collector's current file for `name` is no longer `size` bytes long.
fn wait_own_write(collector: &Collector, name: &str, size: u64) {
    let deadline = Instant::now() + PATIENCE;
    while own_size(collector, name) == size {
        assert!(
            Instant::now() < deadline,
            "the collector wrote nothing within {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Lines too many for the engine's three 10 KB files, read while the engine rotates and the
/// collector is SIGKILLed at rotations (just after the engine renamed the file, just before it
/// does, just after the collector's read across one: see [`Moment`]) and started again.
fn kills_during_rotations(label: &str, compress: bool) {
    let count = 2000;
    kills_during_rotations_of(
        label,
        compress,
        10 * 1024,
        &numbered(count, 15000),
        &want_numbered(count),
    );
}

/// [`kills_during_rotations`] for a logger `script` that waits for /t/go and then writes `want`,
/// with `max-size` `max_size` bytes.
fn kills_during_rotations_of(
    label: &str,
    compress: bool,
    max_size: u64,
    script: &str,
    want: &[String],
) {
    require_engine();
    let _engine = sharing_the_engine();
    let root = engine_containers_dir();
    let trigger = Trigger::new();
    let volume = trigger.volume();
    let max_size_opt = format!("max-size={max_size}");
    let mut options = vec![
        "-v",
        &volume,
        "--log-opt",
        &max_size_opt,
        "--log-opt",
        "max-file=3",
    ];
    if compress {
        options.extend(["--log-opt", "compress=true"]);
    }
    let c = Container::run(label, &options, script);
    let log = EngineLog::of(&c);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut story = Story::new();
    let mut collector = start(dir.path(), Some(&root), &c.name);
    wait_listed(&collector, &c.name);
    trigger.go();
    story.note("logging");
    let mut files_reads = 0.0;
    // Kill just after a rotation, just before one, just after the first write that follows a
    // rotation (the read that crossed it, its cursor maybe not committed yet), with and without a
    // pause before the restart: eight kills, each after the previous run wrote something.
    let plan = [
        (Moment::JustRotated, 0),
        (Moment::NearlyFull, 0),
        (Moment::ReadAcrossRotation, 0),
        (Moment::JustRotated, 700),
        (Moment::ReadAcrossRotation, 0),
        (Moment::NearlyFull, 300),
        (Moment::JustRotated, 0),
        (Moment::ReadAcrossRotation, 1200),
    ];
    let mut written = 0;
    for (k, (moment, pause)) in plan.into_iter().enumerate() {
        written = wait_progress(&collector, &c.name, written, &story);
        // Scraped before the moment, so that the kill follows it within milliseconds.
        let s = collector.scrape_after_a_tick();
        files_reads += reads(&s, "files");
        assert_eq!(
            reads(&s, "engine"),
            0.0,
            "a json-file container under CONTAINER_LOGS_ROOT is read from its files, not asked from the engine:\n{}",
            s.text
        );
        match moment {
            Moment::JustRotated => {
                log.wait_rotations(log.inode(), 1);
            }
            Moment::NearlyFull => log.wait_nearly_full(max_size, (max_size / 50).max(300)),
            Moment::ReadAcrossRotation => {
                log.wait_rotations(log.inode(), 1);
                let size = own_size(&collector, &c.name);
                wait_own_write(&collector, &c.name, size);
            }
        }
        collector.kill();
        story.note(format!(
            "kill {k} ({moment:?}), {written} lines written; the engine keeps {}",
            log.listing()
        ));
        story.console(&format!("run {k}"), &collector);
        std::thread::sleep(Duration::from_millis(pause));
        collector = start(dir.path(), Some(&root), &c.name);
        story.note("started again");
    }
    wait_for_last(
        &collector,
        &c.name,
        want.last().expect("lines"),
        want.len(),
        Duration::from_secs(60),
        &story,
    );
    story.note(format!("the engine keeps {}", log.listing()));
    story.console("the last run", &collector);
    let s = collector.scrape_after_a_tick();
    files_reads += reads(&s, "files");
    assert!(files_reads > 0.0, "read from the files:\n{}", s.text);
    assert_eq!(reads(&s, "engine"), 0.0, "never asked:\n{}", s.text);
    assert_exactly_once(&all_files(&collector, &c.name), want, &story);
    story.print(label);
    if compress {
        // The engine did gzip what it rotated: the path read .gz files.
        let listing = log.listing();
        assert!(listing.contains(".1.gz"), "gzipped files: {listing}");
    }
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn json_file_rotations_with_sigkills_lose_and_repeat_nothing() {
    kills_during_rotations("ef-rot", false);
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn gzipped_rotations_with_sigkills_lose_and_repeat_nothing() {
    kills_during_rotations("ef-gz", true);
}

/// The same with 1 MB files, which take the engine a while to gzip, and 100-byte lines at about
/// 2000 a second (400 KB/s of json-file, a rotation every 2-3 s): the kills land while the engine
/// gzips and while the collector writes a tick's 400 KB.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn big_gzipped_rotations_with_sigkills_lose_and_repeat_nothing() {
    let count = 50_000;
    let script = format!(
        "while [ ! -e /t/go ]; do usleep 20000; done; awk -v n={count} 'BEGIN {{ \
         pad = sprintf(\"%090d\", 0); for (i = 1; i <= n; i++) {{ printf \"n %d %s\\n\", i, pad; \
         if (i % 100 == 0) {{ fflush(); system(\"usleep 40000\") }} }} }}'; sleep 600"
    );
    let want: Vec<String> = (1..=count).map(|i| format!("n {i} {:090}", 0)).collect();
    kills_during_rotations_of("ef-biggz", true, 1024 * 1024, &script, &want);
}

/// The collector is down while the engine rotates once (stopped with SIGTERM), then twice
/// (SIGKILL): the file it was reading is then `.1`, then `.2` (gzipped with `compress`), still kept
/// by the engine (max-file=3), and nothing is lost or repeated.
fn rotations_while_down(label: &str, compress: bool) {
    require_engine();
    let _engine = sharing_the_engine();
    let root = engine_containers_dir();
    let count = 1500;
    let trigger = Trigger::new();
    let volume = trigger.volume();
    let mut options = vec![
        "-v",
        &volume,
        "--log-opt",
        "max-size=10k",
        "--log-opt",
        "max-file=3",
    ];
    if compress {
        options.extend(["--log-opt", "compress=true"]);
    }
    // A little slower than the others (a rotation every ~3 s): after two rotations while down, the
    // file the collector was reading is the oldest kept and goes at the next rotation.
    let c = Container::run(label, &options, &numbered(count, 22000));
    let log = EngineLog::of(&c);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut story = Story::new();
    let mut collector = start(dir.path(), Some(&root), &c.name);
    wait_listed(&collector, &c.name);
    trigger.go();
    story.note("logging");
    let mut files_reads = 0.0;
    for (k, rotations) in [1usize, 2].into_iter().enumerate() {
        // Stop right after the collector caught up with a fresh file, so the file it reads is the
        // current one: after `rotations` rotations it is still kept.
        let fresh = log.wait_rotations(log.inode(), 1);
        let first = loop {
            if let Some(l) = log.first_line() {
                break l;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        crate::real_engine::wait_until("the collector in the fresh file", || {
            all_files(&collector, &c.name).lines().any(|l| l == first)
        });
        assert_eq!(log.inode(), fresh, "no rotation before the stop (too slow)");
        let s = collector.scrape_after_a_tick();
        files_reads += reads(&s, "files");
        assert_eq!(reads(&s, "engine"), 0.0, "never asked:\n{}", s.text);
        if k == 0 {
            let (status, _) = collector.terminate();
            assert_eq!(status.code(), Some(0), "a clean stop");
        } else {
            collector.kill();
        }
        story.note(format!(
            "stopped ({}) in the file starting with {first:?}; waiting for {rotations} rotation(s)",
            if k == 0 { "SIGTERM" } else { "SIGKILL" }
        ));
        story.console(&format!("run {k}"), &collector);
        log.wait_rotations(fresh, rotations);
        story.note(format!("rotated; the engine keeps {}", log.listing()));
        collector = start(dir.path(), Some(&root), &c.name);
        story.note("started again");
        wait_progress(&collector, &c.name, 0, &story);
    }
    wait_for_last(
        &collector,
        &c.name,
        &format!("n {count}"),
        count,
        Duration::from_secs(60),
        &story,
    );
    story.console("the last run", &collector);
    let s = collector.scrape_after_a_tick();
    files_reads += reads(&s, "files");
    assert!(files_reads > 0.0, "read from the files:\n{}", s.text);
    assert_eq!(reads(&s, "engine"), 0.0, "never asked:\n{}", s.text);
    assert_exactly_once(
        &all_files(&collector, &c.name),
        &want_numbered(count),
        &story,
    );
    story.print(label);
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn rotations_while_the_collector_is_down_lose_and_repeat_nothing() {
    rotations_while_down("ef-down", false);
}

#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn gzipped_rotations_while_the_collector_is_down_lose_and_repeat_nothing() {
    rotations_while_down("ef-downgz", true);
}

/// One container's log, collected by a run that asks the engine (CONTAINER_LOGS_ROOT empty), then
/// one that reads the files, then one that asks the engine again, each ended by SIGKILL while the
/// container logs (and the engine rotates): every line once across the three. The engine keeps
/// every file here (max-file=10), so the engine path can always find its place, and the test can
/// tell a line the engine lost (an engine restarted meanwhile) from one the collector lost.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn moving_between_the_engine_and_the_files_keeps_every_line_once() {
    require_engine();
    let _engine = sharing_the_engine();
    let root = engine_containers_dir();
    let count = 900;
    let trigger = Trigger::new();
    let volume = trigger.volume();
    let c = Container::run(
        "ef-move",
        &[
            "-v",
            &volume,
            "--log-opt",
            "max-size=10k",
            "--log-opt",
            "max-file=10",
        ],
        &numbered(count, 25000),
    );
    let log = EngineLog::of(&c);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut story = Story::new();
    let mut collector = start(dir.path(), None, &c.name);
    wait_listed(&collector, &c.name);
    trigger.go();
    story.note("logging");
    let mut written = 0;
    for (k, path) in [None, Some(root.as_str()), None].into_iter().enumerate() {
        if k > 0 {
            collector = start(dir.path(), path, &c.name);
            story.note(format!(
                "started with CONTAINER_LOGS_ROOT={:?}",
                path.unwrap_or("")
            ));
        }
        // Two steps of progress: a read after the move, and one more from where it left off.
        written = wait_progress(&collector, &c.name, written, &story);
        written = wait_progress(&collector, &c.name, written, &story);
        let s = collector.scrape_after_a_tick();
        let (files, engine) = (reads(&s, "files"), reads(&s, "engine"));
        story.note(format!(
            "run {k}: {written} lines written, reads files {files} engine {engine}"
        ));
        match path {
            Some(_) => assert!(
                files > 0.0 && engine == 0.0,
                "the files path read the files: files {files}, engine {engine}\n{}",
                story.text()
            ),
            None => assert!(
                engine > 0.0 && files == 0.0,
                "the engine path asked the engine: files {files}, engine {engine}\n{}",
                story.text()
            ),
        }
        if k < 2 {
            // Each run sees a rotation: the engine path is killed just after one, the files path
            // reads on across one and is killed a little later.
            log.wait_rotations(log.inode(), 1);
            if k == 1 {
                written = wait_progress(&collector, &c.name, written, &story);
            }
            collector.kill();
            story.note(format!("kill {k}; the engine keeps {}", log.listing()));
            story.console(&format!("run {k}"), &collector);
        }
    }
    wait_for_last(
        &collector,
        &c.name,
        &format!("n {count}"),
        count,
        Duration::from_secs(60),
        &story,
    );
    story.console("the last run", &collector);
    story.note(format!("the engine keeps {}", log.listing()));
    let engine_holds = log.all_lines();
    assert!(
        engine_holds == want_numbered(count),
        "the engine itself holds {} lines, not 1..{count} (it lost some: not the collector's doing)\n{}",
        engine_holds.len(),
        story.text()
    );
    assert_exactly_once(
        &all_files(&collector, &c.name),
        &want_numbered(count),
        &story,
    );
    story.print("ef-move");
}

/// The lines a json-file log holds, in its order: entries without a newline (the engine's 16 KiB
/// pieces of a longer line) joined with the rest of their line on the same stream, the whole line
/// placed where its last piece is.
fn json_file_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("the engine's json-file log");
    let mut open: HashMap<String, String> = HashMap::new();
    let mut lines = Vec::new();
    for entry in text.lines() {
        let v: serde_json::Value = serde_json::from_str(entry).expect("a json-file entry");
        let stream = v["stream"].as_str().expect("stream").to_string();
        let log = v["log"].as_str().expect("log");
        let piece = open.entry(stream.clone()).or_default();
        piece.push_str(log);
        if piece.ends_with('\n') {
            let mut line = open.remove(&stream).expect("the piece");
            line.pop();
            lines.push(line);
        }
    }
    lines
}

/// A 40 KiB line on stdout and another on stderr (the engine writes each as 16 KiB entries) come
/// out whole, and stdout and stderr lines written as fast as the shell can keep the json-file's
/// order (which need not be their timestamps' order).
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn long_lines_are_joined_and_stdout_and_stderr_keep_the_files_order() {
    require_engine();
    let _engine = sharing_the_engine();
    let root = engine_containers_dir();
    let trigger = Trigger::new();
    let volume = trigger.volume();
    let c = Container::run(
        "ef-long",
        &["-v", &volume],
        "while [ ! -e /t/go ]; do usleep 20000; done; echo before; sleep 1; \
         head -c 40960 /dev/zero | tr '\\0' x; echo; sleep 1; \
         head -c 40960 /dev/zero | tr '\\0' y >&2; echo >&2; sleep 1; \
         i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo \"out $i\"; echo \"err $i\" >&2; done; \
         echo after; sleep 600",
    );
    let log = EngineLog::of(&c);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut story = Story::new();
    let collector = start(dir.path(), Some(&root), &c.name);
    wait_listed(&collector, &c.name);
    trigger.go();
    story.note("logging");
    let total = 1 + 2 + 800 + 1;
    wait_for_last(
        &collector,
        &c.name,
        "after",
        total,
        Duration::from_secs(30),
        &story,
    );
    let engine_lines = json_file_lines(&log.path);
    assert_eq!(engine_lines.len(), total, "the engine's json-file lines");
    let raw = std::fs::read_to_string(&log.path).expect("json-file");
    let pieces = raw.lines().filter(|l| !l.contains("\\n\"")).count();
    assert!(
        pieces >= 4,
        "the engine split the long lines into 16 KiB entries ({pieces} entries without a newline)"
    );
    let text = all_files(&collector, &c.name);
    let s = collector.scrape_after_a_tick();
    story.console("the run", &collector);
    assert!(reads(&s, "files") > 0.0, "read from the files:\n{}", s.text);
    assert_eq!(reads(&s, "engine"), 0.0, "never asked:\n{}", s.text);
    let x = "x".repeat(40960);
    let y = "y".repeat(40960);
    assert!(
        text.lines().any(|l| l == x) && text.lines().any(|l| l == y),
        "each 40 KiB line whole on one line; the lines written have lengths {:?}",
        text.lines()
            .map(str::len)
            .filter(|n| *n > 100)
            .collect::<Vec<_>>()
    );
    assert_exactly_once(&text, &engine_lines, &story);
    // How far the file's order is from the program's (out 1, err 1, out 2, ...), for the record.
    let place = |l: &str| engine_lines.iter().position(|e| e == l);
    let swapped = (1..=400)
        .filter(|i| place(&format!("err {i}")) < place(&format!("out {i}")))
        .count();
    let runs = engine_lines
        .windows(2)
        .filter(|w| w[0].starts_with("out ") && w[1].starts_with("out "))
        .count();
    story.note(format!(
        "in the json-file: {swapped} of 400 \"err i\" before their \"out i\", {runs} stdout lines right after a stdout line"
    ));
    story.print("ef-long");
}

/// A container whose log driver is `local` (no json-file) is collected by asking the engine; so is
/// a json-file container when CONTAINER_LOGS_ROOT holds no files for it (here an empty folder): its
/// lines once each, counted as read from the engine.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn containers_the_files_path_cannot_serve_are_asked_from_the_engine() {
    require_engine();
    let _engine = sharing_the_engine();
    let root = engine_containers_dir();
    let count = 300;
    let trigger = Trigger::new();
    let volume = trigger.volume();
    let local = Container::run(
        "ef-local",
        &["-v", &volume, "--log-driver", "local"],
        &numbered(count, 10000),
    );
    assert_eq!(local.inspect("{{.HostConfig.LogConfig.Type}}"), "local");
    let elsewhere = Container::run("ef-nofiles", &["-v", &volume], &numbered(count, 10000));
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let empty = tempfile::tempdir().expect("tempdir");
    let empty_root = empty.path().display().to_string();
    let mut story = Story::new();
    let a = start(dir_a.path(), Some(&root), &local.name);
    let b = start(dir_b.path(), Some(&empty_root), &elsewhere.name);
    wait_listed(&a, &local.name);
    wait_listed(&b, &elsewhere.name);
    trigger.go();
    story.note("logging");
    for (collector, c) in [(&a, &local), (&b, &elsewhere)] {
        wait_for_last(
            collector,
            &c.name,
            &format!("n {count}"),
            count,
            Duration::from_secs(30),
            &story,
        );
        let s = collector.scrape_after_a_tick();
        assert!(
            reads(&s, "engine") > 0.0 && reads(&s, "files") == 0.0,
            "{} asked from the engine:\n{}\nconsole:\n{}",
            c.name,
            s.text,
            collector.console().join("\n")
        );
        assert_exactly_once(
            &all_files(collector, &c.name),
            &want_numbered(count),
            &story,
        );
    }
    story.print("ef-local, ef-nofiles");
}

/// `--log-opt max-size` alone, the setting users write most, keeps the engine's default of one
/// file: at each rotation 20.10 renames the file to `.1` (deleting the previous `.1`, whose inode
/// the new file often reuses), 26.1 keeps no rotated file at all (the new file may even reuse the
/// old file's inode). The collector follows each new file from its start: no line repeated, the
/// order kept, the last line read; on 20.10 nothing is lost (`.1` is still there to finish), on
/// 26.1 only lines of the last tick before a rotation can be (the engine drops them itself).
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn max_size_alone_one_file_kept_is_followed_across_its_rotations() {
    require_engine();
    let _engine = sharing_the_engine();
    let root = engine_containers_dir();
    let count = 700;
    let trigger = Trigger::new();
    let volume = trigger.volume();
    let c = Container::run(
        "ef-one",
        &["-v", &volume, "--log-opt", "max-size=10k"],
        &numbered(count, 20000),
    );
    let log = EngineLog::of(&c);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut story = Story::new();
    let collector = start(dir.path(), Some(&root), &c.name);
    wait_listed(&collector, &c.name);
    // Rotations counted from outside: a new inode, or the same inode shorter than before.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        let path = log.path.clone();
        std::thread::spawn(move || {
            let (mut rotations, mut last) = (0usize, None::<(u64, u64)>);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(m) = std::fs::metadata(&path) {
                    let now = (m.ino(), m.len());
                    if let Some((ino, len)) = last {
                        if now.0 != ino || now.1 < len {
                            rotations += 1;
                        }
                    }
                    last = Some(now);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            rotations
        })
    };
    trigger.go();
    story.note("logging");
    let last = format!("n {count}");
    wait_for_last(
        &collector,
        &c.name,
        &last,
        count,
        Duration::from_secs(60),
        &story,
    );
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let rotations = watcher.join().expect("the watcher");
    story.note(format!(
        "{rotations} rotations seen; the engine keeps {}",
        log.listing()
    ));
    story.console("the run", &collector);
    assert!(rotations >= 3, "the engine rotated: {}", story.text());
    let s = collector.scrape_after_a_tick();
    assert!(reads(&s, "files") > 0.0, "read from the files:\n{}", s.text);
    assert_eq!(reads(&s, "engine"), 0.0, "never asked:\n{}", s.text);
    let text = all_files(&collector, &c.name);
    let numbers: Vec<usize> = text
        .lines()
        .map(|l| {
            l.strip_prefix("n ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a foreign line {l:?}\n{}", story.text()))
        })
        .collect();
    let in_order = numbers.windows(2).all(|w| w[0] < w[1]);
    assert!(
        in_order && numbers.last() == Some(&count),
        "every line once, in order, up to the last: {} lines, out of order at {:?}\n{}",
        numbers.len(),
        numbers.windows(2).position(|w| w[0] >= w[1]),
        story.text()
    );
    if std::fs::metadata(format!("{}.1", log.path.display())).is_ok() {
        // The engine keeps `.1` (20.10): nothing may be lost.
        assert_exactly_once(&text, &want_numbered(count), &story);
    } else {
        // The gaps: at most one per rotation, each at most a tick's lines (~50 a second here).
        let mut gaps = Vec::new();
        let mut expect = 1;
        for n in &numbers {
            if *n != expect {
                gaps.push((expect, n - 1));
            }
            expect = n + 1;
        }
        let widest = gaps.iter().map(|(a, b)| b - a + 1).max().unwrap_or(0);
        assert!(
            gaps.len() <= rotations && widest <= 80,
            "lines lost beyond what the engine dropped at its {rotations} rotations: gaps {gaps:?}\n{}",
            story.text()
        );
        story.note(format!(
            "gaps (dropped by the engine at rotations): {gaps:?}"
        ));
    }
    story.print("ef-one");
}

/// What the json-file escapes (tabs, quotes, backslashes, control characters, NUL, U+2028, a CR
/// before the LF, bytes that are not UTF-8, which the engine stores as U+FFFD) comes out of the files
/// path byte for byte as out of the engine path: two collectors, one on each, the same file.
#[test]
#[ignore = "needs a Docker Engine (scripts/engine.sh) and root (the engine's json-file logs)"]
fn escapes_and_odd_bytes_come_out_as_from_the_engine() {
    require_engine();
    let _engine = sharing_the_engine();
    let root = engine_containers_dir();
    let trigger = Trigger::new();
    let volume = trigger.volume();
    let c = Container::run(
        "ef-bytes",
        &["-v", &volume],
        r#"while [ ! -e /t/go ]; do usleep 20000; done; printf 'tab\there\n'; printf 'quote " backslash \\ end\n'; printf 'caf\303\251 \360\237\230\200\n'; printf 'ctl \001\002\033[31m end\n'; printf 'bad \377\376 utf8\n'; printf 'u2028 \342\200\250 end\n'; printf 'cr\r\n'; printf 'nul \000 end\n'; printf '   spaces   \n'; printf '\n'; echo after; sleep 600"#,
    );
    let (dir_files, dir_engine) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let files = start(dir_files.path(), Some(&root), &c.name);
    let engine = start(dir_engine.path(), None, &c.name);
    wait_listed(&files, &c.name);
    wait_listed(&engine, &c.name);
    trigger.go();
    let story = Story::new();
    for collector in [&files, &engine] {
        wait_for_last(
            collector,
            &c.name,
            "after",
            11,
            Duration::from_secs(30),
            &story,
        );
    }
    let bytes = |collector: &Collector| {
        std::fs::read(
            collector
                .logs_dir()
                .join(&c.name)
                .join(format!("{}.log", c.name)),
        )
        .expect("the log file")
    };
    let want = "tab\there\nquote \" backslash \\ end\ncaf\u{e9} \u{1f600}\nctl \u{1}\u{2}\u{1b}[31m end\n\
                bad \u{fffd}\u{fffd} utf8\nu2028 \u{2028} end\ncr\r\nnul \0 end\n   spaces   \n\nafter\n";
    assert_eq!(
        String::from_utf8_lossy(&bytes(&engine)),
        want,
        "the engine path, as the engine stored it"
    );
    assert_eq!(
        String::from_utf8_lossy(&bytes(&files)),
        String::from_utf8_lossy(&bytes(&engine)),
        "the files path writes what the engine path writes"
    );
    assert_eq!(bytes(&files), bytes(&engine), "byte for byte");
    let s = files.scrape_after_a_tick();
    assert!(
        reads(&s, "files") > 0.0 && reads(&s, "engine") == 0.0,
        "{}",
        s.text
    );
}
