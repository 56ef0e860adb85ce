//! What ticks write and what commits report.

use super::*;

use std::time::Duration;

use crate::logs::levels::Level;

fn exporter(dir: &Path) -> LogsExporter {
    LogsExporter::new(
        LogFiles {
            dir: LogsDir::new(dir),
            max_bytes: 1 << 20,
            backup_count: 2,
            default_since: 60,
            max_line: 16 * 1024,
            read_timeout: Duration::from_secs(5),
            engine_logs: None,
        },
        LevelMapping::builtin(),
    )
    .expect("exporter")
}

fn container(name: &str) -> ContainerRef {
    ContainerRef {
        id: format!("{name}-id").into(),
        name: name.into(),
        running: true,
    }
}

/// Hands `lines` to `name`'s file as a read does: written, classified, the cursor moved on.
fn read(logs: &mut LogsExporter, name: &str, lines: &[&str]) {
    let rules = logs.mapping.rules_for(name);
    let patterns = logs.patterns.for_container(name);
    let log = logs
        .containers
        .get_mut(name)
        .and_then(|log| log.followed.as_mut())
        .expect("followed");
    for line in lines {
        let text = format!("{line}\n");
        log.file.write_line(text.as_bytes()).expect("write");
        log.pending
            .line(rules.classify(line.as_bytes()), text.len());
        log.pending.match_line(patterns, line.as_bytes());
        log.cursor.skip += 1;
    }
    log.mark = Some(log.file.mark().expect("mark"));
}

fn followed<'a>(logs: &'a mut LogsExporter, name: &str) -> &'a mut Followed {
    logs.containers
        .get_mut(name)
        .and_then(|log| log.followed.as_mut())
        .expect("followed")
}

#[test]
fn lines_count_by_level_at_the_commit_that_makes_them_durable_and_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut logs = exporter(dir.path());
    logs.follow(&container("web"), 1_700_000_000);
    read(
        &mut logs,
        "web",
        &["hello", "ERROR boom", "WARN careful", "ERROR again"],
    );
    let report = logs.commit();
    assert_eq!(report.written.len(), 1, "{report:?}");
    let web = &report.written[0];
    assert_eq!(web.container.as_str(), "web");
    assert_eq!(web.lines(Level::Info), 1);
    assert_eq!(web.lines(Level::Warning), 1);
    assert_eq!(web.lines(Level::Error), 2);
    assert_eq!(web.total_lines(), 4);
    assert_eq!(
        web.bytes,
        "hello\nERROR boom\nWARN careful\nERROR again\n".len() as u64
    );
    assert!(report.engine_errors.is_empty());
    assert_eq!(report.failed, 0);
    assert_eq!(logs.commit(), LogsReport::default(), "counted once");

    let again = exporter(dir.path());
    assert_eq!(
        again.known_containers(),
        vec![("web-id".to_string(), "web".into())]
    );
    let committed = &again.containers["web"].committed;
    assert_eq!(
        committed.cursor.skip, 4,
        "the commit reached the state file"
    );
}

#[test]
fn a_rolled_back_write_counts_nothing_and_its_lines_are_written_again_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut logs = exporter(dir.path());
    logs.follow(&container("web"), 1_700_000_000);
    read(&mut logs, "web", &["one"]);
    assert_eq!(logs.commit().written.len(), 1);
    let committed = logs.containers["web"].committed.cursor;

    read(&mut logs, "web", &["two", "ERROR three"]);
    followed(&mut logs, "web").failed = true;
    let report = logs.commit();
    assert!(report.written.is_empty(), "nothing counted: {report:?}");
    assert_eq!(
        followed(&mut logs, "web").cursor,
        committed,
        "fetched again"
    );
    let path = LogsDir::new(dir.path()).log_file(&"web".into());
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "one\n");

    read(&mut logs, "web", &["two", "ERROR three"]);
    let report = logs.commit();
    assert_eq!(report.written.len(), 1);
    assert_eq!(report.written[0].lines(Level::Info), 1);
    assert_eq!(report.written[0].lines(Level::Error), 1);
    assert_eq!(report.written[0].bytes, "two\nERROR three\n".len() as u64);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "one\ntwo\nERROR three\n"
    );
}

/// Pattern matches move with the commit as the lines do: none for a write rolled back, once when
/// the lines are written again.
#[test]
fn pattern_matches_count_at_the_commit_and_not_for_a_rolled_back_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let patterns = crate::logs::patterns::LogPatterns::from_json(
        r#"{"patterns": [{"name": "oom", "regex": "OutOfMemory"}, {"name": "boom", "regex": "boom"}]}"#,
    )
    .expect("valid");
    let mut logs = exporter(dir.path()).with_patterns(patterns);
    let matches = |w: &Written| -> Vec<(String, u64)> {
        w.pattern_matches()
            .map(|(p, n)| (p.to_string(), n))
            .collect()
    };
    logs.follow(&container("web"), 1_700_000_000);
    read(&mut logs, "web", &["fine"]);
    let report = logs.commit();
    let want = [("oom".to_string(), 0), ("boom".to_string(), 0)];
    assert_eq!(matches(&report.written[0]), want, "every pattern, at 0");

    read(&mut logs, "web", &["OutOfMemory boom", "boom boom"]);
    followed(&mut logs, "web").failed = true;
    assert!(logs.commit().written.is_empty(), "nothing counted");

    read(&mut logs, "web", &["OutOfMemory boom", "boom boom"]);
    let report = logs.commit();
    let want = [("oom".to_string(), 1), ("boom".to_string(), 2)];
    assert_eq!(matches(&report.written[0]), want, "once");
    assert_eq!(logs.commit(), LogsReport::default(), "counted once");
}

#[test]
fn engine_errors_are_reported_by_the_next_commit_whatever_it_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut logs = exporter(dir.path());
    logs.follow(&container("web"), 1_700_000_000);
    logs.follow(&container("db"), 1_700_000_000);
    followed(&mut logs, "web")
        .engine_errors
        .push(EngineError::Timeout.kind());
    read(&mut logs, "db", &["x"]);
    let db = followed(&mut logs, "db");
    db.engine_errors.push("status");
    db.failed = true;
    let mut report = logs.commit();
    report.engine_errors.sort_unstable();
    assert_eq!(report.engine_errors, vec!["status", "timeout"]);
    assert!(report.written.is_empty());
    assert_eq!(logs.commit(), LogsReport::default(), "reported once");
}

#[test]
fn forget_drops_the_whole_record_and_its_cursor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut logs = exporter(dir.path());
    logs.follow(&container("web"), 1_700_000_000);
    read(&mut logs, "web", &["one"]);
    logs.commit();
    assert_eq!(logs.followed().collect::<Vec<_>>(), vec!["web"]);
    logs.forget(&"web".into());
    assert_eq!(logs.followed().count(), 0);
    assert!(logs.known_containers().is_empty());
    assert!(
        exporter(dir.path()).known_containers().is_empty(),
        "and from the state file"
    );
}

/// One multiplexed frame of the engine's logs answer, with its timestamp.
fn frame(stream: u8, ts: &str, text: &str) -> Vec<u8> {
    let payload = format!("{ts} {text}\n");
    let mut frame = vec![stream, 0, 0, 0];
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload.as_bytes());
    frame
}

#[tokio::test]
async fn a_tick_reports_lines_written_engine_errors_and_failed_containers() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let mut body = frame(1, &ts, "hello");
    body.extend(frame(2, &ts, "ERROR boom"));
    Mock::given(method("GET"))
        .and(path_regex(r"/containers/web-id/logs$"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/containers/broken-id/logs$"))
        .respond_with(ResponseTemplate::new(500).set_body_string(r#"{"message":"no"}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/containers/gone-id/logs$"))
        .respond_with(ResponseTemplate::new(404).set_body_string(r#"{"message":"gone"}"#))
        .mount(&server)
        .await;
    let docker = bollard::Docker::connect_with_http(&server.uri(), 5, bollard::API_DEFAULT_VERSION)
        .expect("client");
    let engine = Containers::new(docker, 4);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut logs = exporter(dir.path());
    let visit = [container("web"), container("broken"), container("gone")];
    let report = logs.collect(&engine, &visit).await;
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(report.engine_errors, vec!["status"], "a 404 is no error");
    assert_eq!(report.written.len(), 1, "{report:?}");
    let web = &report.written[0];
    assert_eq!(web.container.as_str(), "web");
    assert_eq!(web.lines(Level::Info), 1);
    assert_eq!(web.lines(Level::Error), 1);
    assert_eq!(web.bytes, "hello\nERROR boom\n".len() as u64);
    assert_eq!(
        std::fs::read_to_string(LogsDir::new(dir.path()).log_file(&"web".into())).expect("read"),
        "hello\nERROR boom\n"
    );
}

/// The budget pass with the cursors: a running container (followed) and a stopped one the engine
/// still has keep their current files and cursors, whatever the budget; a removed one goes whole,
/// its cursor out of the state file.
#[test]
fn the_budget_pass_never_takes_a_current_file_or_cursor_of_a_container_the_engine_has() {
    use crate::logs::budget::{Budget, Keeper};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut logs = exporter(dir.path());
    for name in ["run", "stopped", "gone"] {
        logs.follow(&container(name), 1_700_000_000);
        read(&mut logs, name, &["one", "two"]);
        // Two rotated files of each, older than its current file.
        let current = logs.files.dir.log_file(&name.into());
        for age in 1..=2 {
            std::fs::write(LogsDir::rotated(&current, age), [b'x'; 500]).expect("write");
        }
    }
    logs.commit();
    let stopped = [container("stopped"), container("gone")].map(|c| ContainerRef {
        running: false,
        ..c
    });
    logs.let_go_of_stopped(&stopped);
    let budget = Budget {
        max_total: 1,
        keep_removed: None,
    };
    let mut keeper = Keeper::new(budget, &logs.files.dir);
    // The engine has `stopped` only: `run` is followed, `gone` was removed.
    let present: HashSet<ContainerName> = [ContainerName::from("stopped")].into();
    let report = logs.budget_pass(&mut keeper, Some(present));
    let root = dir.path();
    assert!(!root.join("gone").exists(), "removed: whole");
    for name in ["run", "stopped"] {
        assert!(
            root.join(format!("{name}/{name}.log")).exists(),
            "{name}'s current file"
        );
        assert!(
            !root.join(format!("{name}/{name}.log.1")).exists(),
            "{name}'s rotated files"
        );
    }
    let state = std::fs::read_to_string(root.join(".state/cursors.json")).expect("state");
    assert!(
        state.contains("\"run\"") && state.contains("\"stopped\""),
        "{state}"
    );
    assert!(!state.contains("\"gone\""), "{state}");
    assert_eq!(report.gone, [ContainerName::from("gone")]);
    // Six rotated files and `gone`'s current file ("one\ntwo\n"; this test writes no time index).
    assert_eq!(report.deleted, [("budget", 6 * 500 + 8)]);
    assert!(report.kept_bytes > 1, "current files are never deleted");
    assert!(
        keeper.unmet.said(),
        "said once that the budget cannot be met"
    );
}
