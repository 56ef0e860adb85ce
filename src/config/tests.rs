use clap::Parser;

use super::*;

fn parse(argv: &[&str]) -> Result<Config, ConfigError> {
    let mut full = vec!["container-metrics"];
    full.extend_from_slice(argv);
    Config::from_args(Args::try_parse_from(full).expect("clap accepts the flags"))
}

#[test]
fn defaults_are_the_python_tools() {
    let c = parse(&[]).expect("defaults validate");
    assert_eq!(c.machine_name, "local-machine");
    assert_eq!(c.metrics_collection_interval, Duration::from_secs(20));
    assert_eq!(c.logs_collection_interval, Duration::from_secs(5));
    assert_eq!(c.max_collector_threads, 5);
    assert_eq!(c.max_concurrent_requests, 1100);
    assert_eq!(c.metrics_exporter_port, 10101);
    assert_eq!(
        c.last_metrics_collected_at_file,
        PathBuf::from("/tmp/last-metrics-collected-at.txt")
    );
    assert_eq!(
        c.last_logs_collected_at_file,
        PathBuf::from("/tmp/last-logs-collected-at.txt")
    );
    assert_eq!(c.logs_dir, PathBuf::from("/tmp/logs"));
    assert_eq!(c.logs_container_max_files, 10);
    assert_eq!(c.logs_container_max_file_size, 10_485_760);
    assert_eq!(
        c.log_levels_mapping,
        MappingSource::DefaultPath(PathBuf::from("config/log_levels_mapping.json"))
    );
    assert_eq!(c.default_logs_since_now, 60);
    assert_eq!(c.docker_host, "unix:///var/run/docker.sock");
    assert_eq!(c.log_level, LogLevel::Info);
    assert_eq!(c.engine_timeout, Duration::from_secs(10));
    assert_eq!(c.container_retention, Duration::from_secs(3600));
    assert_eq!(c.max_line_bytes, 1_048_576);
    assert_eq!(c.metrics_exporter_address.to_string(), "0.0.0.0");
    // Every field, so that a field no entry of the table writes would show its placeholder here.
    assert_eq!(
        c,
        Config {
            machine_name: "local-machine".to_string(),
            metrics_collection_interval: Duration::from_secs(20),
            logs_collection_interval: Duration::from_secs(5),
            max_collector_threads: 5,
            max_concurrent_requests: 1100,
            metrics_exporter_port: 10101,
            last_metrics_collected_at_file: PathBuf::from("/tmp/last-metrics-collected-at.txt"),
            last_logs_collected_at_file: PathBuf::from("/tmp/last-logs-collected-at.txt"),
            logs_dir: PathBuf::from("/tmp/logs"),
            logs_container_max_files: 10,
            logs_container_max_file_size: 10_485_760,
            log_levels_mapping: MappingSource::DefaultPath(PathBuf::from(
                "config/log_levels_mapping.json"
            )),
            default_logs_since_now: 60,
            docker_host: "unix:///var/run/docker.sock".to_string(),
            log_level: LogLevel::Info,
            engine_timeout: Duration::from_secs(10),
            container_retention: Duration::from_secs(3600),
            max_line_bytes: 1_048_576,
            logs_max_total_bytes: 0,
            logs_keep_removed: None,
            metrics_exporter_address: "0.0.0.0".parse().expect("an address"),
            run_as: None,
            cgroup_root: Some(PathBuf::from("/sys/fs/cgroup")),
            proc_root: Some(PathBuf::from("/proc")),
            container_logs_root: Some(PathBuf::from("/var/lib/docker/containers")),
            filter: crate::engine::filter::Filter::default(),
            metric_groups: crate::metrics::MetricGroups::ALL,
            web_port: None,
            web_address: "0.0.0.0".parse().expect("an address"),
            web_external_url: String::new(),
            web_config_file: None,
            log_patterns_path: None,
            max_connections: 256,
            once: false,
        }
    );
}

#[test]
fn bad_values_name_the_variable_and_the_value() {
    let cases: &[(&[&str], &str)] = &[
        (&["--metrics-collection-interval", "abc"], "invalid METRICS_COLLECTION_INTERVAL \"abc\""),
        (&["--metrics-collection-interval", "0"], "invalid METRICS_COLLECTION_INTERVAL \"0\""),
        (&["--metrics-collection-interval=-5"], "invalid METRICS_COLLECTION_INTERVAL \"-5\""),
        (&["--logs-collection-interval", "1.5"], "invalid LOGS_COLLECTION_INTERVAL \"1.5\""),
        (&["--max-collector-threads", "0"], "invalid MAX_COLLECTOR_THREADS \"0\""),
        (&["--max-concurrent-requests", "x"], "invalid MAX_CONCURRENT_REQUESTS \"x\""),
        (&["--metrics-exporter-port", "70000"], "invalid METRICS_EXPORTER_PORT \"70000\""),
        (&["--logs-container-max-files=-1"], "invalid LOGS_CONTAINER_MAX_FILES \"-1\""),
        (&["--logs-container-max-file-size", "10M"], "invalid LOGS_CONTAINER_MAX_FILE_SIZE \"10M\""),
        (&["--default-logs-since-now", "soon"], "invalid DEFAULT_LOGS_SINCE_NOW \"soon\""),
        (&["--docker-host", "ssh://x"], "invalid DOCKER_HOST \"ssh://x\""),
        (&["--docker-host", "tcp://127.0.0.1:"], "invalid DOCKER_HOST \"tcp://127.0.0.1:\""),
        (&["--docker-host", "tcp://docker"], "invalid DOCKER_HOST \"tcp://docker\""),
        (&["--docker-host", "unix://"], "invalid DOCKER_HOST \"unix://\""),
        (&["--log-level", "loud"], "invalid LOG_LEVEL \"loud\""),
        (&["--engine-timeout", "0"], "invalid ENGINE_TIMEOUT \"0\""),
        (&["--container-retention", "0"], "invalid CONTAINER_RETENTION \"0\""),
        (&["--max-line-bytes", "100"], "invalid MAX_LINE_BYTES \"100\""),
        (&["--metrics-exporter-address", "localhost"], "invalid METRICS_EXPORTER_ADDRESS \"localhost\""),
        (&["--logs-max-total-bytes", "10MB"], "invalid LOGS_MAX_TOTAL_BYTES \"10MB\""),
        (&["--logs-max-total-bytes=-1"], "invalid LOGS_MAX_TOTAL_BYTES \"-1\""),
        (&["--logs-max-total-bytes", "99999999999TiB"], "invalid LOGS_MAX_TOTAL_BYTES"),
        (&["--logs-keep-removed", "soon"], "invalid LOGS_KEEP_REMOVED \"soon\""),
        (&["--logs-keep-removed", "7"], "invalid LOGS_KEEP_REMOVED \"7\""),
        (
            &["--logs-max-total-bytes", "1MiB"],
            "LOGS_MAX_TOTAL_BYTES (1048576) is smaller than LOGS_CONTAINER_MAX_FILE_SIZE (10485760)",
        ),
        (
            &["--logs-max-total-bytes", "1GiB", "--logs-container-max-file-size", "0"],
            "LOGS_MAX_TOTAL_BYTES (1073741824) needs rotation",
        ),
        (
            &["--logs-max-total-bytes", "1GiB", "--logs-container-max-files", "0"],
            "LOGS_MAX_TOTAL_BYTES (1073741824) needs rotation",
        ),
        (
            &["--logs-collection-interval", "30"],
            "LOGS_COLLECTION_INTERVAL (30) must not be greater than METRICS_COLLECTION_INTERVAL (20)",
        ),
    ];
    for (argv, want) in cases {
        let err = parse(argv).expect_err(&format!("{argv:?} must be refused"));
        let text = err.to_string();
        assert!(
            text.starts_with(want),
            "{argv:?}: got {text:?}, want prefix {want:?}"
        );
        assert!(!text.contains('\n'), "one line: {text:?}");
    }
}

#[test]
fn edge_values_are_accepted() {
    let c = parse(&[
        "--logs-collection-interval",
        "20",
        "--metrics-exporter-port",
        "0",
        "--logs-container-max-files",
        "0",
        "--logs-container-max-file-size",
        "0",
        "--default-logs-since-now",
        "0",
        "--docker-host",
        "tcp://127.0.0.1:2375",
        "--log-level",
        "WARN",
        "--log-levels-mapping-path",
        "/config/m.json",
    ])
    .expect("valid");
    assert_eq!(c.logs_collection_interval, Duration::from_secs(20));
    assert_eq!(c.metrics_exporter_port, 0);
    assert_eq!(c.logs_container_max_files, 0);
    assert_eq!(c.log_level, LogLevel::Warning);
    assert_eq!(
        c.log_levels_mapping,
        MappingSource::File(PathBuf::from("/config/m.json"))
    );
}

#[test]
fn run_as_takes_numbers_or_root() {
    let run_as = |value: &str| parse(&[&format!("--run-as={value}")]).map(|c| c.run_as);
    assert_eq!(run_as("").unwrap(), None);
    assert_eq!(run_as("root").unwrap(), None);
    assert_eq!(run_as("0").unwrap(), None);
    assert_eq!(run_as("0:0").unwrap(), None);
    assert_eq!(
        run_as("65534").unwrap(),
        Some(RunAs {
            uid: 65534,
            gid: 65534
        })
    );
    assert_eq!(
        run_as(" 1000:999 ").unwrap(),
        Some(RunAs {
            uid: 1000,
            gid: 999
        })
    );
    for bad in [
        "nobody",
        "1000:",
        ":1000",
        "-1",
        "0:5",
        "1:2:3",
        "4294967296",
    ] {
        let e = run_as(bad).unwrap_err().to_string();
        assert!(e.starts_with("invalid RUN_AS"), "{bad}: {e}");
    }
}

#[test]
fn describe_lists_the_reference_variables_in_order() {
    let names: Vec<_> = parse(&[])
        .expect("defaults validate")
        .describe()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        &names[..12],
        &[
            "MACHINE_NAME",
            "METRICS_COLLECTION_INTERVAL",
            "LOGS_COLLECTION_INTERVAL",
            "MAX_COLLECTOR_THREADS",
            "METRICS_EXPORTER_PORT",
            "LAST_METRICS_COLLECTED_AT_FILE",
            "LAST_LOGS_COLLECTED_AT_FILE",
            "LOGS_DIR",
            "LOGS_CONTAINER_MAX_FILES",
            "LOGS_CONTAINER_MAX_FILE_SIZE",
            "LOG_LEVELS_MAPPING_PATH",
            "DEFAULT_LOGS_SINCE_NOW",
        ]
    );
}

#[test]
fn describe_gives_every_setting_its_start_up_line_as_before() {
    let lines = parse(&[]).expect("defaults validate").describe();
    let lines: Vec<(&str, &str)> = lines.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(
        lines,
        [
            ("MACHINE_NAME", "local-machine"),
            ("METRICS_COLLECTION_INTERVAL", "20"),
            ("LOGS_COLLECTION_INTERVAL", "5"),
            ("MAX_COLLECTOR_THREADS", "5"),
            ("METRICS_EXPORTER_PORT", "10101"),
            (
                "LAST_METRICS_COLLECTED_AT_FILE",
                "/tmp/last-metrics-collected-at.txt"
            ),
            (
                "LAST_LOGS_COLLECTED_AT_FILE",
                "/tmp/last-logs-collected-at.txt"
            ),
            ("LOGS_DIR", "/tmp/logs"),
            ("LOGS_CONTAINER_MAX_FILES", "10"),
            ("LOGS_CONTAINER_MAX_FILE_SIZE", "10485760"),
            ("LOG_LEVELS_MAPPING_PATH", "config/log_levels_mapping.json"),
            ("DEFAULT_LOGS_SINCE_NOW", "60"),
            ("MAX_CONCURRENT_REQUESTS", "1100"),
            ("DOCKER_HOST", "unix:///var/run/docker.sock"),
            ("LOG_LEVEL", "INFO"),
            ("ENGINE_TIMEOUT", "10"),
            ("CONTAINER_RETENTION", "3600"),
            ("MAX_LINE_BYTES", "1048576"),
            ("LOGS_MAX_TOTAL_BYTES", "0"),
            ("LOGS_KEEP_REMOVED", ""),
            ("METRICS_EXPORTER_ADDRESS", "0.0.0.0"),
            ("CGROUP_ROOT", "/sys/fs/cgroup"),
            ("PROC_ROOT", "/proc"),
            ("CONTAINER_LOGS_ROOT", "/var/lib/docker/containers"),
            ("LOG_PATTERNS_PATH", ""),
            ("INCLUDE_CONTAINERS", ""),
            ("EXCLUDE_CONTAINERS", ""),
            ("INCLUDE_LABEL", ""),
            ("EXCLUDE_LABEL", ""),
            ("METRIC_GROUPS", "all"),
            ("RUN_AS", "(unchanged)"),
            ("WEB_PORT", "(off)"),
            ("WEB_ADDRESS", "0.0.0.0"),
            ("WEB_EXTERNAL_URL", ""),
            ("WEB_CONFIG_FILE", ""),
            ("MAX_CONNECTIONS", "256"),
        ]
    );
}

#[test]
fn describe_shows_values_as_the_user_would_write_them() {
    let c = parse(&[
        "--docker-host",
        " tcp://127.0.0.1:2375 ",
        "--log-level",
        "warn",
        "--cgroup-root",
        "",
        "--include-containers",
        "web-*, api",
        "--include-label",
        "com.example.team = web",
        "--exclude-label",
        "skip",
        "--metric-groups",
        "memory,cpu",
        "--run-as",
        "1000",
        "--log-levels-mapping-path",
        "/config/m.json",
    ])
    .expect("valid");
    let lines = c.describe();
    let shown = |name: &str| {
        lines
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no line for {name}"))
    };
    assert_eq!(shown("DOCKER_HOST"), "tcp://127.0.0.1:2375");
    assert_eq!(shown("LOG_LEVEL"), "WARNING");
    assert_eq!(shown("CGROUP_ROOT"), "");
    assert_eq!(shown("INCLUDE_LABEL"), "com.example.team=web");
    assert_eq!(shown("EXCLUDE_LABEL"), "skip");
    assert_eq!(shown("METRIC_GROUPS"), "cpu,memory");
    assert_eq!(shown("RUN_AS"), "1000:1000");
    assert_eq!(shown("LOG_LEVELS_MAPPING_PATH"), "/config/m.json");
    assert_eq!(shown("INCLUDE_CONTAINERS"), c.filter.include.join(","));
}

#[test]
fn each_setting_has_a_variable_and_a_flag_of_its_own() {
    let mut envs: Vec<_> = SETTINGS.iter().map(|s| s.env).collect();
    envs.sort_unstable();
    envs.dedup();
    assert_eq!(envs.len(), SETTINGS.len(), "a variable is defined twice");
    for s in SETTINGS {
        assert_eq!(
            s.flag,
            s.env.to_ascii_lowercase().replace('_', "-"),
            "the flag of {} is its variable's name",
            s.env
        );
        assert!(!s.help.is_empty() && !s.help.ends_with('.'), "{}", s.env);
    }
}

#[test]
fn the_command_line_is_built_from_the_table() {
    command().debug_assert();
    let help = command().render_help().to_string();
    for s in SETTINGS {
        let default = match s.default {
            Some("") => " [default: \"\"]".to_string(),
            Some(d) => format!(" [default: {d}]"),
            None => String::new(),
        };
        let entry = format!(
            "--{} <{}>\n          {} [env: {}=]{default}\n",
            s.flag, s.env, s.help, s.env
        );
        assert!(help.contains(&entry), "--help lacks {entry:?}:\n{help}");
    }
    assert!(help.contains("--once"));
}

#[test]
fn the_logs_budget_takes_bytes_with_binary_units_and_a_duration() {
    let c = parse(&[
        "--logs-max-total-bytes",
        "500MiB",
        "--logs-keep-removed",
        "7d",
    ])
    .expect("valid");
    assert_eq!(c.logs_max_total_bytes, 500 << 20);
    assert_eq!(c.logs_keep_removed, Some(Duration::from_secs(7 * 86_400)));
    for (text, want) in [
        ("0", Some(0)),
        ("1048576", Some(1_048_576)),
        (" 2 GiB ", Some(2 << 30)),
        ("10KiB", Some(10_240)),
        ("7B", Some(7)),
        ("1TiB", Some(1 << 40)),
        ("1.5GiB", None),
        ("GiB", None),
        ("5 gb", None),
        ("", None),
    ] {
        assert_eq!(settings::bytes(text), want, "{text:?}");
    }
    // Exactly one current file fits: allowed.
    let c = parse(&["--logs-max-total-bytes", "10MiB"]).expect("10 MiB is the max file size");
    assert_eq!(c.logs_max_total_bytes, 10_485_760);
    let c = parse(&["--logs-keep-removed", "12h"]).expect("a keep without a budget");
    assert_eq!(c.logs_keep_removed, Some(Duration::from_secs(12 * 3600)));
    assert_eq!(c.logs_max_total_bytes, 0);
}
