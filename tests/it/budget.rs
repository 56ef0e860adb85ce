//! LOGS_MAX_TOTAL_BYTES and LOGS_KEEP_REMOVED through the binary: churning containers stay within
//! the budget, removed containers' files go after LOGS_KEEP_REMOVED, and a SIGKILL in the middle of
//! deletions loses no cursor and repeats no line.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{
    self, base_env, http_get, Collector, Engine, FakeContainer, LogEntry, Stream,
};

/// The machine label of every series.
const M: (&str, &str) = ("machine", "test-machine");

/// 100-byte lines, numbered, of `name`: line i at `t0` + i seconds.
fn lines(name: &str, from: u32, to: u32, t0: i64) -> Vec<LogEntry> {
    (from..=to)
        .map(|i| {
            let text = format!("{name} line {i:06} ");
            let text = format!("{text}{}", "x".repeat(99 - text.len()));
            LogEntry::line(t0 + i64::from(i) * 1_000_000_000, Stream::Stdout, &text)
        })
        .collect()
}

/// Bytes of every file under `dir`.
fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            total += du(&entry.path());
        } else {
            total += meta.len();
        }
    }
    total
}

/// The lines of every kept file of `name`, oldest file first.
fn kept_lines(logs: &Path, name: &str) -> Vec<String> {
    let dir = logs.join(name);
    let mut files: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file_name = e.file_name().into_string().ok()?;
            let rest = file_name.strip_prefix(&format!("{name}.log"))?;
            let age = match rest {
                "" => 0,
                r => r.strip_prefix('.')?.parse().ok()?,
            };
            Some((age, e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
        .iter()
        .flat_map(|(_, p)| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            text.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

/// Lines kept of `name` are consecutive (the oldest may be deleted, none repeated or skipped) and
/// end with line `last`.
fn assert_consecutive(logs: &Path, name: &str, last: u32) {
    let kept = kept_lines(logs, name);
    let numbers: Vec<u32> = kept
        .iter()
        .map(|l| {
            l.split(' ')
                .nth(2)
                .and_then(|n| n.parse().ok())
                .expect("a numbered line")
        })
        .collect();
    assert!(!numbers.is_empty(), "{name} keeps lines");
    for pair in numbers.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "{name}: {numbers:?}");
    }
    assert_eq!(numbers.last(), Some(&last), "{name} ends with line {last}");
}

/// Removed containers' directories left in `logs`.
fn dirs_left(logs: &Path) -> usize {
    std::fs::read_dir(logs)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("gone") || n.starts_with("rm"))
        })
        .count()
}

fn budget_env(engine: &Engine, root: &Path, budget: u64) -> Vec<(String, String)> {
    let mut env = base_env(&engine.uri(), root);
    env.push(("LOGS_CONTAINER_MAX_FILE_SIZE".into(), "2000".into()));
    env.push(("LOGS_CONTAINER_MAX_FILES".into(), "5".into()));
    env.push(("LOGS_MAX_TOTAL_BYTES".into(), budget.to_string()));
    env
}

fn cursors(logs: &Path) -> String {
    std::fs::read_to_string(logs.join(".state/cursors.json")).unwrap_or_default()
}

/// Containers come, log 6 KB each (three rotations) and go, while one keeps running: after every
/// pass the bytes kept (the gauge) are within the budget, and once the churn stops LOGS_DIR itself
/// is. The running container's lines since its oldest kept file are all there, once.
#[test]
fn churning_containers_stay_within_a_small_budget() {
    const BUDGET: u64 = 20_000;
    let engine = Engine::start();
    let t0 = support::now_nanos() - 600_000_000_000;
    engine.add_container(FakeContainer::new("stays").logs(lines("stays", 1, 10, t0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = budget_env(&engine, dir.path(), BUDGET);
    env.push(("WEB_PORT".into(), "0".into()));
    let collector = Collector::start(dir.path(), &env);
    let logs = collector.logs_dir();
    let mut stays_last = 10;
    for round in 0..8u32 {
        let name = format!("churn{round}");
        engine.add_container(FakeContainer::new(&name).logs(lines(&name, 1, 60, t0)));
        let from = stays_last + 1;
        stays_last += 15;
        engine.push_logs("stays", lines("stays", from, stays_last, t0));
        let s = collector.wait_for_scrape(&format!("{name} written"), |s| {
            s.logs(&name, "info") == Some(60.0)
        });
        let kept = s
            .value("collector_logs_disk_bytes", &[M])
            .expect("the gauge");
        assert!(kept <= BUDGET as f64, "round {round}: {kept} > {BUDGET}");
        engine.remove(&name);
    }
    let s = collector.wait_for_scrape("stays written", |s| {
        s.logs("stays", "info") == Some(f64::from(stays_last))
    });
    let deleted = s.value(
        "collector_logs_deleted_bytes_total",
        &[M, ("reason", "budget")],
    );
    assert!(
        deleted.is_some_and(|d| d > 0.0),
        "the budget deleted: {deleted:?}"
    );
    // Two more ticks, then LOGS_DIR as a whole, the state files included.
    collector.scrape_after_a_tick();
    collector.scrape_after_a_tick();
    let on_disk = du(&logs);
    assert!(on_disk <= BUDGET, "{on_disk} bytes on disk > {BUDGET}");
    assert_consecutive(&logs, "stays", stays_last);
    assert!(
        cursors(&logs).contains("\"stays\""),
        "the running one's cursor stays"
    );
    let gone = (0..7)
        .filter(|r| !logs.join(format!("churn{r}")).exists())
        .count();
    assert!(gone > 0, "removed containers went whole first");
    let console = collector.console().join("\n");
    assert!(console.contains("Logs kept: deleted"), "said: {console}");
    // The overview's figures.
    let web = collector
        .wait_for_line("the web port", |l| l.contains("Logs are browsed on port "))
        .rsplit(' ')
        .next()
        .and_then(|p| p.trim().parse::<u16>().ok())
        .expect("a port");
    let (status, _, body) = http_get(web, "/api/containers");
    assert!(status.contains("200"), "{status}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["kept"]["budget"], BUDGET);
    assert!(
        v["kept"]["bytes"]
            .as_u64()
            .is_some_and(|b| b > 0 && b <= BUDGET),
        "{body}"
    );
    assert!(v["kept"]["keep_removed_secs"].is_null());
    let stays = v["containers"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "stays"))
        .expect("stays listed");
    assert!(
        stays["kept_bytes"].as_u64().is_some_and(|b| b > 0),
        "{stays}"
    );
}

/// A removed container's files, cursor and time index go once LOGS_KEEP_REMOVED has passed since
/// the collector found it gone; a container the engine still has, stopped, keeps everything.
#[test]
fn removed_containers_go_after_keep_removed() {
    let engine = Engine::start();
    let t0 = support::now_nanos() - 600_000_000_000;
    engine.add_container(FakeContainer::new("old").logs(lines("old", 1, 5, t0)));
    engine.add_container(FakeContainer::new("stopped").logs(lines("stopped", 1, 5, t0)));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(&engine.uri(), dir.path());
    env.push(("LOGS_KEEP_REMOVED".into(), "3s".into()));
    let collector = Collector::start(dir.path(), &env);
    let logs = collector.logs_dir();
    collector.wait_for_scrape("both written", |s| {
        s.logs("old", "info") == Some(5.0) && s.logs("stopped", "info") == Some(5.0)
    });
    engine.stop("stopped");
    engine.remove("old");
    let removed_at = Instant::now();
    let s = collector.wait_for_scrape("old deleted", |s| {
        s.value(
            "collector_logs_deleted_bytes_total",
            &[M, ("reason", "removed")],
        )
        .is_some_and(|b| b > 0.0)
    });
    assert!(
        removed_at.elapsed() >= Duration::from_secs(2),
        "kept a while first"
    );
    assert!(!logs.join("old").exists(), "its directory went");
    assert!(
        !logs.join(".state/times/old").exists(),
        "its time index went"
    );
    assert!(!cursors(&logs).contains("\"old\""), "its cursor went");
    assert!(
        logs.join("stopped/stopped.log").exists(),
        "a stopped one stays"
    );
    assert!(cursors(&logs).contains("\"stopped\""));
    assert_eq!(
        s.value(
            "collector_logs_deleted_bytes_total",
            &[M, ("reason", "budget")]
        ),
        Some(0.0)
    );
}

/// Files of 1000 removed containers (6 files each) are waiting when the collector starts under a
/// small budget, beside ten removed containers with cursors and three running containers that log.
/// The collector is SIGKILLed at varied moments of its first passes, and restarted each time: the
/// running containers' kept lines are never repeated, their cursors stay, a removed container's
/// cursor leaves before its files, and the history search by time still works.
#[test]
fn a_sigkill_during_deletions_loses_no_cursor_and_repeats_no_line() {
    const GONE: usize = 1000;
    const ROUNDS: u32 = 12;
    let engine = Engine::start();
    let t0 = support::now_nanos() - 600_000_000_000;
    let running = ["r0", "r1", "r2"];
    let removed: Vec<String> = (0..10).map(|i| format!("rm{i}")).collect();
    for name in running
        .iter()
        .copied()
        .chain(removed.iter().map(String::as_str))
    {
        engine.add_container(FakeContainer::new(name).logs(lines(name, 1, 30, t0)));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    // A first run without a budget gives every container a cursor.
    let env = budget_env(&engine, dir.path(), 0);
    let mut first = Collector::start(dir.path(), &env);
    first.wait_for_scrape("all written", |s| {
        removed.iter().all(|n| s.logs(n, "info") == Some(30.0))
    });
    first.kill();
    for name in &removed {
        engine.remove(name);
    }
    for i in 0..GONE {
        let name = format!("gone{i:03}");
        std::fs::create_dir_all(logs.join(&name)).expect("mkdir");
        for age in 0..6 {
            let file = match age {
                0 => format!("{name}.log"),
                k => format!("{name}.log.{k}"),
            };
            std::fs::write(logs.join(&name).join(file), vec![b'z'; 1500]).expect("write");
        }
    }
    let mut env = budget_env(&engine, dir.path(), 100_000);
    env.push(("WEB_PORT".into(), "0".into()));
    let mut last = 30;
    let mut mid_pass = 0;
    for round in 0..ROUNDS {
        let before = dirs_left(&logs);
        let mut collector = Collector::spawn(dir.path(), &env);
        // Varied moments: at start, during the first pass, between ticks.
        std::thread::sleep(Duration::from_millis(u64::from(round) * 60 + 20));
        collector.kill();
        let after = dirs_left(&logs);
        mid_pass += usize::from(after < before && after > 30);
        for name in &removed {
            let has_files = logs.join(name).exists();
            assert!(
                has_files || !cursors(&logs).contains(&format!("\"{name}\"")),
                "round {round}: {name}'s files went before its cursor"
            );
        }
        for name in running {
            engine.push_logs(name, lines(name, last + 1, last + 12, t0));
        }
        last += 12;
    }
    eprintln!("{mid_pass} of {ROUNDS} kills left a pass half done");
    let collector = Collector::start(dir.path(), &env);
    collector.wait_for_scrape("every line written", |s| {
        running.iter().all(|n| s.logs(n, "info").is_some())
            && running.iter().all(|n| {
                kept_lines(&logs, n)
                    .last()
                    .is_some_and(|l| l.contains(&format!("line {last:06}")))
            })
    });
    collector.scrape_after_a_tick();
    for name in running {
        assert_consecutive(&logs, name, last);
        assert!(
            cursors(&logs).contains(&format!("\"{name}\"")),
            "{name}'s cursor"
        );
    }
    let left: BTreeSet<String> = std::fs::read_dir(&logs)
        .expect("logs")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("gone"))
        .collect();
    assert!(
        left.len() < GONE,
        "removed containers went: {} left",
        left.len()
    );
    for name in &removed {
        assert!(!logs.join(name).exists(), "{name} went");
        assert!(
            !cursors(&logs).contains(&format!("\"{name}\"")),
            "{name}'s cursor went"
        );
    }
    assert!(du(&logs) <= 100_000, "{} bytes", du(&logs));
    // History search by time, through the time index.
    let web = collector
        .wait_for_line("the web port", |l| l.contains("Logs are browsed on port "))
        .rsplit(' ')
        .next()
        .and_then(|p| p.trim().parse::<u16>().ok())
        .expect("a port");
    // From line `last - 20` on: the index finds where it starts.
    let since = t0 / 1_000_000_000 + i64::from(last - 20) + 1;
    for name in running {
        let (status, _, body) = http_get(
            web,
            &format!("/api/containers/{name}/lines?since={since}&limit=1000"),
        );
        assert!(status.contains("200"), "{name}: {status} {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let texts: Vec<&str> = v["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .filter_map(|l| l["text"].as_str())
            .collect();
        let unique: BTreeSet<&&str> = texts.iter().collect();
        assert_eq!(unique.len(), texts.len(), "{name}: no line twice");
        // The index is as precise as a tick: the lines start where the tick that holds the first
        // line from `since` on starts, or at the next one.
        let first: u32 = texts
            .first()
            .and_then(|t| t.split(' ').nth(2))
            .and_then(|n| n.parse().ok())
            .expect("a numbered line");
        assert!(first > 30 && first <= last - 8, "{name}: from line {first}");
        assert!(
            texts
                .last()
                .is_some_and(|t| t.contains(&format!("line {last:06}"))),
            "{name}: {body}"
        );
    }
}
