//! The exporter's text against the crate's own encoder, byte for byte, and the value rules of the
//! families, through the facade.

use prometheus::{Encoder, Registry, TextEncoder};

use super::*;
use crate::container::{ContainerInfo, Extras, Interface, Throttling};
use crate::metrics::exposition::CHUNK_BYTES;
use crate::metrics::families::FAMILIES;
use crate::metrics::{Collection, Group};

/// The direct text of the per-container families is the registry's text with the table as
/// a crate `Collector` (the `process_*` values aside, which change between two reads).
#[test]
fn the_direct_text_matches_the_registrys_gather() {
    let m = MetricsExporter::new("m1").expect("registry");
    for name in ["b", "a", "c"] {
        m.on_container_metrics(
            name,
            &ContainerMetrics {
                started_at: Some(1),
                memory_used: 5,
                cpu_seconds: Some(1.5),
                info: ContainerInfo {
                    id: format!("id-{name}"),
                    image: "img".into(),
                    ..Default::default()
                },
                extras: Extras {
                    interfaces: vec![Interface {
                        name: "eth0".into(),
                        rx: [1, 2, 3, 4],
                        tx: [5, 6, 7, 8],
                    }],
                    ..Default::default()
                },
                ..Default::default()
            },
        );
    }
    m.on_loop_end(7);
    let ours = String::from_utf8(m.encode().expect("encode")).expect("utf8");
    let mut theirs = Vec::new();
    TextEncoder::new()
        .encode(&m.registry().gather(), &mut theirs)
        .expect("encode");
    let theirs = String::from_utf8(theirs).expect("utf8");
    let without_process = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.contains("process_") && !l.contains("collector_series"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(without_process(&ours), without_process(&theirs));
    assert!(ours.contains("process_cpu_seconds_total"));
    assert!(ours.contains("container_network_receive_bytes_total{container=\"a\",interface=\"eth0\",machine=\"m1\"} 1"));
    assert!(ours.contains("container_info{compose_project=\"\",compose_service=\"\",container=\"b\",id=\"id-b\",image=\"img\",machine=\"m1\"} 1"));
}

/// Checks the text against the crate's encoder over the registry's `gather`, byte for byte.
///
/// Encodes twice first: `collector_series` has a series from the first encoding on, which the
/// second counts, so the third says what it writes itself.
fn assert_same_as_registry(m: &MetricsExporter) -> String {
    m.encode().expect("encode");
    m.encode().expect("encode");
    let ours = String::from_utf8(m.encode().expect("encode")).expect("utf8");
    let mut theirs = Vec::new();
    TextEncoder::new()
        .encode(&m.registry().gather(), &mut theirs)
        .expect("encode");
    let theirs = String::from_utf8(theirs).expect("utf8");
    assert_eq!(ours, theirs);
    let samples = ours.lines().filter(|l| !l.starts_with('#')).count();
    let line = format!("collector_series{{machine={:?}}} {samples}", m.machine);
    assert!(ours.lines().any(|l| l == line), "{line} in\n{ours}");
    ours
}

fn running(at: i64, interfaces: &[&str], info: ContainerInfo) -> ContainerMetrics {
    ContainerMetrics {
        started_at: Some(1_795_546_425),
        collected_at: at,
        memory_used: 12_345_678,
        memory_limit: 67_108_864,
        cpu_cores: Some(0.0123),
        cpus_available: 0.5,
        cpu_seconds: Some(12.25),
        extras: Extras {
            inactive_file: Some(1000),
            pids: Some(7),
            throttling: Some(Throttling {
                periods: 10,
                throttled_periods: 2,
                throttled_ns: 1_500_000_000,
            }),
            interfaces: interfaces
                .iter()
                .map(|n| Interface {
                    name: n.to_string(),
                    rx: [1, 2, 3, 4],
                    tx: [5, 6, 7, u64::MAX],
                })
                .collect(),
            io_bytes: Some((4096, 8192)),
        },
        info,
        exited: None,
    }
}

fn inspected(id: &str, image: &str, project: &str, health: Option<&str>) -> ContainerInfo {
    ContainerInfo {
        id: id.into(),
        image: image.into(),
        compose_project: project.into(),
        compose_service: "web".into(),
        restart_count: Some(2),
        oom_killed: Some(false),
        health: health.map(str::to_string),
    }
}

/// Several containers: names and label values needing escapes, interfaces, exited and
/// forgotten containers, every health state, replaced info values.
fn fill(m: &MetricsExporter) {
    let names = ["web-1", "db\"1\\x", "line\nbreak", "a", "zz", "gone"];
    for (i, name) in names.iter().enumerate() {
        let health = [Some("healthy"), Some("starting"), None, Some("unhealthy")][i % 4];
        let info = inspected(&format!("id{i}"), "img:\"q\"\\", ["b", "a"][i % 2], health);
        m.on_container_metrics(name, &running(100 + i as i64, &["eth1", "eth0"], info));
        m.on_log_lines(name, Level::Warning, i as u64);
    }
    // Only the level series of lines counted.
    m.on_log_lines("one-level", Level::Error, 4);
    // Pattern series by name, one at 0, added to across commits.
    m.on_pattern_matches("a", "oom", 2);
    m.on_pattern_matches("a", "deadlock", 0);
    m.on_pattern_matches("web-1", "oom", 1);
    m.on_pattern_matches("a", "oom", 1);
    // A state none of the four: all its series at 0.
    let odd = inspected("id-odd", "img", "", Some("weird"));
    m.on_container_metrics("odd", &running(5, &[], odd));
    // Exited: its exit code, and its inspect values replace the old ones.
    m.on_container_metrics(
        "zz",
        &ContainerMetrics {
            exited: Some(137),
            info: inspected("id-new", "img2", "p\nq", Some("unhealthy")),
            ..Default::default()
        },
    );
    // An interface that comes later sorts among the others.
    m.on_container_metrics(
        "a",
        &running(300, &["eth00"], inspected("id3", "i", "b", None)),
    );
    m.forget("gone");
    m.on_collection(Collection::Metrics, 0.25, true, 1000);
    m.on_collection(Collection::Logs, 0.5, false, 1000);
    m.on_engine_error("timeout");
    m.on_log_written(10, 1000);
    m.on_loop_end(1001);
}

#[test]
fn direct_text_is_byte_identical_to_the_crate_encoder() {
    let m = MetricsExporter::own("m\"1\\\n", false).expect("registry");
    fill(&m);
    let text = assert_same_as_registry(&m);
    assert!(text.contains(r#"container="db\"1\\x""#), "{text}");
    assert!(text.contains(r#"container="line\nbreak""#), "{text}");
    assert!(text.contains(r#"image="img:\"q\"\\""#), "{text}");
    assert!(!text.contains("gone"), "forgotten: {text}");
    assert!(text.contains(
        "container_network_transmit_packets_dropped_total{container=\"a\",interface=\"eth00\""
    ));
    assert!(
        text.contains("18446744073709552000"),
        "u64::MAX as f64: {text}"
    );
}

#[test]
fn direct_text_with_groups_off_is_byte_identical_to_the_crate_encoder() {
    for groups in ["none", "cpu", "memory,io", "network", "state", "info"] {
        let groups = MetricGroups::parse(groups).expect("groups");
        let m = MetricsExporter::own("m1", false)
            .expect("registry")
            .with_groups(groups);
        fill(&m);
        let text = assert_same_as_registry(&m);
        let has = |family: &str| text.contains(&format!("# TYPE {family} "));
        let on = |g| groups.contains(g);
        assert_eq!(has("container_cpu_usage_seconds_total"), on(Group::Cpu));
        assert_eq!(has("container_memory_working_set_bytes"), on(Group::Memory));
        assert_eq!(
            has("container_network_receive_bytes_total"),
            on(Group::Network)
        );
        assert_eq!(has("container_fs_reads_bytes_total"), on(Group::Io));
        assert_eq!(has("container_health_status"), on(Group::State));
        assert_eq!(has("container_exit_code"), on(Group::State));
        assert_eq!(has("container_info"), on(Group::Info));
        assert!(has("container_used_memory_bytes"));
    }
}

#[test]
fn an_empty_table_writes_only_the_collectors_families() {
    let m = MetricsExporter::own("m1", false).expect("registry");
    let text = assert_same_as_registry(&m);
    assert!(!text.contains("container_"), "{text}");
    m.on_log_lines("x", Level::Info, 1);
    m.forget("x");
    assert!(!assert_same_as_registry(&m).contains("container_"));
}

#[test]
fn container_families_follow_a_restart_and_a_stop() {
    let m = MetricsExporter::own("m1", false).expect("registry");
    let info = inspected("id1", "img", "p", Some("healthy"));
    m.on_container_metrics("c", &running(100, &["eth0"], info.clone()));
    // A restart: the engine's counters began again, and so do ours.
    let mut again = running(200, &[], info.clone());
    again.cpu_seconds = Some(0.5);
    m.on_container_metrics("c", &again);
    // Stopped: exit code and inspect values only.
    m.on_container_metrics(
        "c",
        &ContainerMetrics {
            exited: Some(3),
            info: inspected("id2", "img", "p", None),
            ..Default::default()
        },
    );
    let text = assert_same_as_registry(&m);
    let l = r#"{container="c",machine="m1"}"#;
    for (series, want) in [
        (format!("container_cpu_usage_seconds_total{l}"), 0.5),
        (format!("container_up_timestamp_seconds{l}"), 200.0),
        (format!("container_exit_code{l}"), 3.0),
        (format!("container_cpu_cfs_throttled_seconds_total{l}"), 1.5),
        (
            r#"container_network_receive_bytes_total{container="c",interface="eth0",machine="m1"}"#
                .to_string(),
            1.0,
        ),
        (
            r#"container_health_status{container="c",machine="m1",status="none"}"#.to_string(),
            1.0,
        ),
        (
            r#"container_health_status{container="c",machine="m1",status="healthy"}"#.to_string(),
            0.0,
        ),
    ] {
        assert_eq!(value(&text, &series), Some(want), "{series} in\n{text}");
    }
    assert_eq!(text.matches("container_info{").count(), 1, "{text}");
    assert!(text.contains("id=\"id2\""), "{text}");
    m.forget("c");
    assert!(!assert_same_as_registry(&m).contains("container_"));
}

/// A program that embeds the collector still finds every family in its own registry.
#[test]
fn a_callers_registry_gathers_the_container_families() {
    let registry = Registry::new();
    let m = MetricsExporter::with_registry(registry.clone(), "m1").expect("families");
    fill(&m);
    let names: Vec<String> = registry
        .gather()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    for family in &FAMILIES {
        assert!(names.iter().any(|n| n == family.name), "{}", family.name);
    }
    let text = String::from_utf8(m.encode().expect("encode")).expect("utf8");
    assert!(
        text.contains("container_logs_total{container=\"a\",level=\"warning\",machine=\"m1\"} 3")
    );
    for series in [
        "container_log_pattern_matches_total{container=\"a\",machine=\"m1\",pattern=\"deadlock\"} 0\n",
        "container_log_pattern_matches_total{container=\"a\",machine=\"m1\",pattern=\"oom\"} 3\n",
        "container_log_pattern_matches_total{container=\"web-1\",machine=\"m1\",pattern=\"oom\"} 1\n",
    ] {
        assert!(text.contains(series), "{series} in {text}");
    }
    // The same names again in that registry clash.
    assert!(MetricsExporter::with_registry(registry, "m1").is_err());
}

mod random {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Event {
        Metrics(usize, Box<ContainerMetrics>),
        Lines(usize, usize, u64),
        Forget(usize),
    }

    const NAMES: [&str; 6] = ["a", "b", "a\"", "b\\\n", "ä-1", ""];

    fn text() -> impl Strategy<Value = String> {
        "[ab\"\\\\\n]{0,3}"
    }

    fn metrics() -> impl Strategy<Value = ContainerMetrics> {
        let info = (
            text(),
            text(),
            text(),
            text(),
            proptest::option::of(0i64..5),
            proptest::option::of(any::<bool>()),
            proptest::option::of(proptest::sample::select(vec![
                "starting",
                "healthy",
                "unhealthy",
                "other",
            ])),
        )
            .prop_map(|(id, image, project, service, restarts, oom, health)| {
                ContainerInfo {
                    id,
                    image,
                    compose_project: project,
                    compose_service: service,
                    restart_count: restarts,
                    oom_killed: oom,
                    health: health.map(str::to_string),
                }
            });
        let interface = (
            proptest::sample::select(vec!["eth0", "eth1", "lo"]),
            any::<[u64; 8]>(),
        )
            .prop_map(|(name, v)| Interface {
                name: name.to_string(),
                rx: [v[0], v[1], v[2], v[3]],
                tx: [v[4], v[5], v[6], v[7]],
            });
        let extras = (
            proptest::option::of(any::<u64>()),
            proptest::option::of(0u64..100),
            proptest::option::of((0u64..3, any::<u64>(), any::<u64>())),
            proptest::collection::vec(interface, 0..3),
            proptest::option::of(any::<(u64, u64)>()),
        )
            .prop_map(
                |(inactive_file, pids, throttling, mut interfaces, io_bytes)| {
                    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
                    interfaces.dedup_by(|a, b| a.name == b.name);
                    Extras {
                        inactive_file,
                        pids,
                        throttling: throttling.map(|(periods, throttled_periods, throttled_ns)| {
                            Throttling {
                                periods,
                                throttled_periods,
                                throttled_ns,
                            }
                        }),
                        interfaces,
                        io_bytes,
                    }
                },
            );
        (
            (
                proptest::option::of(any::<i64>()),
                any::<i64>(),
                any::<u64>(),
                any::<u64>(),
            ),
            (
                proptest::option::of(any::<f64>()),
                any::<f64>(),
                proptest::option::of(0.0f64..1e6),
            ),
            extras,
            info,
            proptest::option::of(-1i64..256),
        )
            .prop_map(
                |(
                    (started_at, collected_at, memory_used, memory_limit),
                    (cpu_cores, cpus_available, cpu_seconds),
                    extras,
                    info,
                    exited,
                )| ContainerMetrics {
                    started_at,
                    collected_at,
                    memory_used,
                    memory_limit,
                    cpu_cores,
                    cpus_available,
                    cpu_seconds,
                    extras,
                    info,
                    exited,
                },
            )
    }

    fn event() -> impl Strategy<Value = Event> {
        let c = 0..NAMES.len();
        prop_oneof![
            3 => (c.clone(), metrics()).prop_map(|(c, m)| Event::Metrics(c, Box::new(m))),
            1 => (c.clone(), 0..3usize, 0u64..1000).prop_map(|(c, l, n)| Event::Lines(c, l, n)),
            1 => c.prop_map(Event::Forget),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn direct_text_matches_the_crate_encoder_for_any_containers(
            events in proptest::collection::vec(event(), 0..24),
            groups in any::<[bool; 6]>(),
        ) {
            let groups: MetricGroups = Group::ALL
                .into_iter()
                .zip(groups)
                .filter_map(|(g, on)| on.then_some(g))
                .collect();
            let m = MetricsExporter::own("m\\1", false)
                .expect("registry")
                .with_groups(groups);
            for e in events {
                match e {
                    Event::Metrics(c, x) => m.on_container_metrics(NAMES[c], &x),
                    Event::Lines(c, l, n) => m.on_log_lines(NAMES[c], Level::ALL[l], n),
                    Event::Forget(c) => m.forget(NAMES[c]),
                }
            }
            assert_same_as_registry(&m);
        }
    }
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A large exposition comes in chunks of whole families, at least CHUNK_BYTES each but the
/// last, which together are the whole text; `collector_series` counts it once it is all out.
#[test]
fn a_large_exposition_comes_in_chunks_of_whole_families() {
    let m = MetricsExporter::new("m1").expect("registry");
    for i in 0..1000 {
        let name = format!("c{i:04}");
        m.on_container_metrics(
            &name,
            &ContainerMetrics {
                started_at: Some(1),
                memory_used: 5,
                cpu_seconds: Some(1.5),
                info: ContainerInfo {
                    id: format!("id-{name}"),
                    image: "img".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        m.on_log_lines(&name, Level::Info, 1);
    }
    let chunks: Vec<Vec<u8>> = m.exposition().collect::<Result<_, _>>().expect("chunks");
    assert!(chunks.len() > 5, "{} chunks", chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        if i + 1 < chunks.len() {
            assert!(
                chunk.len() >= CHUNK_BYTES,
                "chunk {i}: {} bytes",
                chunk.len()
            );
        }
        assert!(chunk.starts_with(b"# HELP "), "chunk {i} starts a family");
        assert!(chunk.ends_with(b"\n"), "chunk {i} ends a line");
    }
    let joined: Vec<u8> = chunks.concat();
    let text = String::from_utf8(joined).expect("utf8");
    let samples = text.lines().filter(|l| !l.starts_with('#')).count();
    let whole = String::from_utf8(m.encode().expect("encode")).expect("utf8");
    let without_process = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.contains("process_") && !l.contains("collector_series"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(without_process(&text), without_process(&whole));
    assert_eq!(
        value(&whole, "collector_series{machine=\"m1\"}"),
        Some(samples as f64),
        "the series of the previous exposition"
    );
    let mut partial = m.exposition();
    partial.next();
    drop(partial);
    assert_eq!(
        value(
            &String::from_utf8(m.encode().expect("encode")).expect("utf8"),
            "collector_series{machine=\"m1\"}"
        ),
        Some(samples as f64 + 1.0),
        "a scrape broken off does not count; the last whole one (with its own series) does"
    );
}

#[test]
fn the_reference_families_have_their_names_labels_and_values() {
    let m = MetricsExporter::new("m1").expect("registry");
    m.on_container_metrics(
        "t1",
        &ContainerMetrics {
            started_at: Some(1_795_546_425),
            collected_at: 1_795_546_500,
            memory_used: 831_488,
            memory_limit: 67_108_864,
            cpu_cores: Some(0.005),
            cpus_available: 0.5,
            ..Default::default()
        },
    );
    m.on_log_lines("t1", Level::Error, 3);
    m.on_loop_end(1_795_546_501);
    let text = String::from_utf8(m.encode().expect("encode")).expect("utf8");
    let l = r#"{container="t1",machine="m1"}"#;
    let cases = [
        (
            "collector_up_timestamp_seconds{machine=\"m1\"}".to_string(),
            1_795_546_501.0,
        ),
        (
            format!("container_started_at_timestamp_seconds{l}"),
            1_795_546_425.0,
        ),
        (
            format!("container_up_timestamp_seconds{l}"),
            1_795_546_500.0,
        ),
        (format!("container_used_memory_bytes{l}"), 831_488.0),
        (format!("container_max_memory_bytes{l}"), 67_108_864.0),
        (format!("container_cpu_usage_percent{l}"), 0.005),
        (format!("container_cpus_available{l}"), 0.5),
        (
            r#"container_logs_total{container="t1",level="error",machine="m1"}"#.to_string(),
            3.0,
        ),
    ];
    for (series, want) in cases {
        assert_eq!(value(&text, &series), Some(want), "{series} in\n{text}");
    }
    // No line of these levels was counted: no series, as with the Python client.
    for level in ["info", "warning"] {
        assert!(
            !text.contains(&format!("level=\"{level}\"")),
            "a {level} series without a {level} line:\n{text}"
        );
    }
    assert!(text.contains("# TYPE container_logs_total counter"));
    assert!(text.contains("# TYPE container_cpu_usage_percent gauge"));
    assert!(
        text.contains("process_resident_memory_bytes"),
        "process families present"
    );
}

/// A container's pattern series go with its other series when it is forgotten (after
/// CONTAINER_RETENTION), as its `container_logs_total` series do.
#[test]
fn pattern_series_are_forgotten_with_the_container() {
    let m = MetricsExporter::own("m1", false).expect("families");
    m.on_log_lines("gone", Level::Error, 1);
    m.on_pattern_matches("gone", "oom", 1);
    m.on_pattern_matches("kept", "oom", 0);
    let text = assert_same_as_registry(&m);
    assert!(text.contains(
        r#"container_log_pattern_matches_total{container="gone",machine="m1",pattern="oom"} 1"#
    ));
    m.forget("gone");
    let text = assert_same_as_registry(&m);
    assert!(!text.contains(r#"container="gone""#), "{text}");
    assert!(text.contains(
        r#"container_log_pattern_matches_total{container="kept",machine="m1",pattern="oom"} 0"#
    ));
}
