//! Parity with the Python tool: for each recorded fixture set, every value the binary exports equals
//! what the reference rules give for those responses, worked out here from the JSON itself (not with
//! the crate's code); and the console start-up lines follow the reference format line by line.

use serde_json::Value;

use crate::support::{base_env, expected, set_json as json, Collector, Engine, FakeContainer};

/// Every recorded fixture set (`fixtures/docker-<version>/`).
pub(crate) fn fixture_sets() -> Vec<String> {
    let dir = format!("{}/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut sets: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("stats_stream_false.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    sets.sort();
    assert!(!sets.is_empty(), "at least one recorded fixture set");
    sets
}

#[test]
fn exported_values_follow_the_reference_rules() {
    for set in fixture_sets() {
        let want = expected(&set);
        if json(&set, "stats_stream_false.json")["read"] == "2026-11-24T18:54:52.527702384Z" {
            // The figures the reference document quotes for the original recording.
            assert_eq!(want.cpu_usage_percent, 0.005);
            assert_eq!(want.cpus_available, 0.5);
        }
        let engine = Engine::start();
        engine.add_container(FakeContainer::t1_from_fixture_set(&set));
        let dir = tempfile::tempdir().expect("tempdir");
        let collector = Collector::start(dir.path(), &base_env(&engine.uri(), dir.path()));
        let s = collector.wait_for_scrape("t1", |s| {
            s.container("container_up_timestamp_seconds", "t1")
                .is_some()
        });
        for (family, value) in want.by_family() {
            assert_eq!(s.container(family, "t1"), Some(value), "{set}: {family}");
        }
        // Label sets are exactly the reference's.
        for family in [
            "container_started_at_timestamp_seconds",
            "container_up_timestamp_seconds",
            "container_used_memory_bytes",
            "container_max_memory_bytes",
            "container_cpu_usage_percent",
            "container_cpus_available",
        ] {
            for labels in s.label_sets(family) {
                assert_eq!(
                    labels.keys().collect::<Vec<_>>(),
                    ["container", "machine"],
                    "{family}"
                );
            }
        }
        for labels in s.label_sets("container_logs_total") {
            assert_eq!(
                labels.keys().collect::<Vec<_>>(),
                ["container", "level", "machine"]
            );
            assert!(["info", "warning", "error"].contains(&labels["level"].as_str()));
        }
        for labels in s.label_sets("collector_up_timestamp_seconds") {
            assert_eq!(labels.keys().collect::<Vec<_>>(), ["machine"]);
        }
        for (family, kind) in [
            ("collector_up_timestamp_seconds", "gauge"),
            ("container_started_at_timestamp_seconds", "gauge"),
            ("container_up_timestamp_seconds", "gauge"),
            ("container_used_memory_bytes", "gauge"),
            ("container_max_memory_bytes", "gauge"),
            ("container_cpu_usage_percent", "gauge"),
            ("container_cpus_available", "gauge"),
            ("container_logs_total", "counter"),
        ] {
            assert!(
                s.text.contains(&format!("# TYPE {family} {kind}\n")),
                "{family} is a {kind}"
            );
            assert!(
                s.text.contains(&format!("# HELP {family} ")),
                "{family} has help"
            );
        }
    }
}

/// `2024-02-11 19:15:47.998 [INFO] collector: message`
fn split_console_line(line: &str) -> Option<(&str, &str, &str)> {
    let (stamp, rest) = line.split_at_checked(23)?;
    let ok_stamp = stamp.char_indices().all(|(i, c)| match i {
        4 | 7 => c == '-',
        10 => c == ' ',
        13 | 16 => c == ':',
        19 => c == '.',
        _ => c.is_ascii_digit(),
    });
    if !ok_stamp {
        return None;
    }
    let rest = rest.strip_prefix(" [")?;
    let (level, rest) = rest.split_once("] ")?;
    let (module, message) = rest.split_once(": ")?;
    Some((level, module, message))
}

#[test]
fn console_start_up_lines_match_the_reference_format() {
    let engine = Engine::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let env = base_env(&engine.uri(), dir.path());
    let collector = Collector::start(dir.path(), &env);
    let console = collector.console();
    let value_of = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut want: Vec<(&str, &str, String)> = vec![(
        "INFO",
        "collector",
        "Starting collector for test-machine machine!".into(),
    )];
    let variables = [
        ("MACHINE_NAME", None),
        ("METRICS_COLLECTION_INTERVAL", None),
        ("LOGS_COLLECTION_INTERVAL", None),
        ("MAX_COLLECTOR_THREADS", Some("5")),
        ("METRICS_EXPORTER_PORT", None),
        ("LAST_METRICS_COLLECTED_AT_FILE", None),
        ("LAST_LOGS_COLLECTED_AT_FILE", None),
        ("LOGS_DIR", None),
        ("LOGS_CONTAINER_MAX_FILES", Some("10")),
        ("LOGS_CONTAINER_MAX_FILE_SIZE", Some("10485760")),
        (
            "LOG_LEVELS_MAPPING_PATH",
            Some("config/log_levels_mapping.json"),
        ),
        ("DEFAULT_LOGS_SINCE_NOW", None),
    ];
    for (name, default) in variables {
        let value = value_of(name).unwrap_or_else(|| default.expect("a default").to_string());
        want.push(("INFO", "collector", format!("{name}: {value}")));
    }
    let mut lines = console.iter();
    for (level, module, message) in &want {
        let line = lines.next().expect("enough lines");
        assert_eq!(
            split_console_line(line),
            Some((*level, *module, message.as_str())),
            "line {line:?}"
        );
    }
    // Then our added settings, then the connection, in the reference order.
    let rest: Vec<&String> = lines.collect();
    let position = |needle: &str| {
        rest.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{}", console.join("\n")))
    };
    let trying = position("Trying to get client...");
    let connected = position("Client connected, docker version: {");
    let exported = position("Metrics are exported on port ");
    assert!(trying < connected && connected < exported);
    assert_eq!(
        split_console_line(rest[trying]),
        Some(("INFO", "containers", "Trying to get client..."))
    );
    let (_, module, _) = split_console_line(rest[exported]).expect("format");
    assert_eq!(module, "metrics_exporter");
    // The version is pretty JSON of GET /version.
    let version_text: String = std::iter::once(
        rest[connected]
            .split_once("docker version: ")
            .expect("prefix")
            .1
            .to_string(),
    )
    .chain(rest[connected + 1..exported].iter().map(|s| s.to_string()))
    .collect::<Vec<_>>()
    .join("\n");
    let version: Value = serde_json::from_str(&version_text).expect("pretty JSON");
    let recorded = json("docker-20.10", "version.json");
    assert_eq!(version["ApiVersion"], recorded["ApiVersion"]);
    assert_eq!(version["Version"], recorded["Version"]);
    for line in rest.iter().take(trying) {
        assert!(split_console_line(line).is_some(), "format of {line:?}");
    }
}
