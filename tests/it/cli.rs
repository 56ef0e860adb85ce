//! The command line: --help, --version, bad settings, a missing or malformed mapping file. Each bad
//! setting must give one line naming the variable and exit code 2, before anything else happens.

use assert_cmd::Command;

use container_metrics::SETTINGS;

/// A value each setting refuses, for every setting that refuses any; a setting may have several.
const BAD_VALUES: &[(&str, &str)] = &[
    ("METRICS_COLLECTION_INTERVAL", "abc"),
    ("METRICS_COLLECTION_INTERVAL", "0"),
    ("METRICS_COLLECTION_INTERVAL", "-20"),
    ("LOGS_COLLECTION_INTERVAL", "five"),
    ("MAX_COLLECTOR_THREADS", "0"),
    ("MAX_CONCURRENT_REQUESTS", "-1"),
    ("METRICS_EXPORTER_PORT", "65536"),
    ("LOGS_CONTAINER_MAX_FILES", "ten"),
    ("LOGS_CONTAINER_MAX_FILE_SIZE", "10MB"),
    ("DEFAULT_LOGS_SINCE_NOW", "-1"),
    ("DOCKER_HOST", "ssh://somewhere"),
    ("LOG_LEVEL", "verbose"),
    ("ENGINE_TIMEOUT", "0"),
    ("CONTAINER_RETENTION", "1h"),
    ("MAX_LINE_BYTES", "100"),
    ("LOGS_MAX_TOTAL_BYTES", "5GB"),
    ("LOGS_MAX_TOTAL_BYTES", "-1"),
    ("LOGS_KEEP_REMOVED", "a week"),
    ("METRICS_EXPORTER_ADDRESS", "localhost"),
    ("METRIC_GROUPS", "cpu,disk"),
    ("RUN_AS", "nobody"),
    ("WEB_PORT", "eleven"),
    ("WEB_ADDRESS", "localhost"),
    ("MAX_CONNECTIONS", "0"),
];

/// The settings for which any text is a value (a path, a name, patterns, a label). A mapping file that
/// is missing or malformed is refused when it is read, by its own test below.
const ANY_TEXT: &[&str] = &[
    "MACHINE_NAME",
    "LAST_METRICS_COLLECTED_AT_FILE",
    "LAST_LOGS_COLLECTED_AT_FILE",
    "LOGS_DIR",
    "LOG_LEVELS_MAPPING_PATH",
    "CGROUP_ROOT",
    "PROC_ROOT",
    "CONTAINER_LOGS_ROOT",
    "LOG_PATTERNS_PATH",
    "INCLUDE_CONTAINERS",
    "EXCLUDE_CONTAINERS",
    "INCLUDE_LABEL",
    "EXCLUDE_LABEL",
    "WEB_EXTERNAL_URL",
    "WEB_CONFIG_FILE",
];

fn collector() -> Command {
    let mut cmd = Command::cargo_bin("container-metrics").expect("binary built");
    // Nothing from the developer's environment may leak into these runs.
    for setting in SETTINGS {
        cmd.env_remove(setting.env);
    }
    cmd.timeout(std::time::Duration::from_secs(20));
    cmd
}

#[test]
fn every_setting_either_refuses_a_bad_value_here_or_takes_any_text() {
    for setting in SETTINGS {
        let refused = BAD_VALUES.iter().any(|(var, _)| *var == setting.env);
        let any = ANY_TEXT.contains(&setting.env);
        assert!(
            refused != any,
            "{}: give it a bad value in BAD_VALUES or list it in ANY_TEXT (not both)",
            setting.env
        );
    }
    let known = |var: &str| SETTINGS.iter().any(|s| s.env == var);
    for var in BAD_VALUES
        .iter()
        .map(|(var, _)| *var)
        .chain(ANY_TEXT.iter().copied())
    {
        assert!(known(var), "{var} is not a setting");
    }
}

#[test]
fn help_documents_every_variable() {
    let out = collector().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for setting in SETTINGS {
        let var = setting.env;
        assert!(
            text.contains(&format!("[env: {var}")),
            "--help lacks {var}:\n{text}"
        );
        assert!(
            text.contains(&format!("--{} <{var}>", setting.flag)),
            "--help lacks --{}:\n{text}",
            setting.flag
        );
    }
    assert!(text.contains("[default: 10101]"));
}

#[test]
fn version_prints_the_crate_version() {
    let out = collector().arg("--version").output().expect("runs");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("container-metrics {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_environment_values_exit_2_with_one_line() {
    for &(var, value) in BAD_VALUES {
        let out = collector().env(var, value).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{var}={value}: one line, got {stderr:?}"
        );
        assert!(
            stderr.contains(var) && stderr.contains(value),
            "{var}={value}: {stderr:?}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn settings_that_take_any_text_accept_odd_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mapping = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/log_levels_mapping.json"
    );
    for &var in ANY_TEXT {
        let value = match var {
            "LOG_LEVELS_MAPPING_PATH" => mapping.to_string(),
            "LOGS_DIR" | "LAST_METRICS_COLLECTED_AT_FILE" | "LAST_LOGS_COLLECTED_AT_FILE" => {
                dir.path().join("odd name, *=x").display().to_string()
            }
            _ => " odd text, *=x ".to_string(),
        };
        // --once against an address that refuses connections: 1 (no engine), never 2 (a bad setting).
        let out = collector()
            .env(var, &value)
            .env("DOCKER_HOST", "tcp://127.0.0.1:9")
            .arg("--once")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{var}={value:?}: {stderr}");
        assert!(!stderr.contains("invalid"), "{var}={value:?}: {stderr}");
    }
}

#[test]
fn a_flag_beats_the_environment() {
    let out = collector()
        .env("METRICS_COLLECTION_INTERVAL", "abc")
        .args(["--metrics-collection-interval", "oops"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"oops\""));
}

#[test]
fn a_logs_budget_below_the_max_file_size_is_refused_with_one_line() {
    for (budget, max_file, max_files, what) in [
        (
            "1000",
            "2000",
            "5",
            "smaller than LOGS_CONTAINER_MAX_FILE_SIZE (2000)",
        ),
        ("1MiB", "0", "5", "needs rotation"),
        ("1MiB", "2000", "0", "needs rotation"),
        ("lots", "2000", "5", "invalid LOGS_MAX_TOTAL_BYTES \"lots\""),
    ] {
        let out = collector()
            .env("LOGS_MAX_TOTAL_BYTES", budget)
            .env("LOGS_CONTAINER_MAX_FILE_SIZE", max_file)
            .env("LOGS_CONTAINER_MAX_FILES", max_files)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{budget} {max_file} {max_files}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains("LOGS_MAX_TOTAL_BYTES") && stderr.contains(what),
            "{stderr}"
        );
    }
}

#[test]
fn logs_interval_above_metrics_interval_is_refused() {
    let out = collector()
        .env("METRICS_COLLECTION_INTERVAL", "10")
        .env("LOGS_COLLECTION_INTERVAL", "11")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LOGS_COLLECTION_INTERVAL")
            && stderr.contains("METRICS_COLLECTION_INTERVAL")
    );
}

#[test]
fn a_missing_or_malformed_mapping_file_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.json");
    let malformed = dir.path().join("mapping.json");
    std::fs::write(&malformed, "{\"default_mapping\": [").expect("write");
    for file in [missing, malformed] {
        let out = collector()
            .env("LOG_LEVELS_MAPPING_PATH", &file)
            .env("LOGS_DIR", dir.path().join("logs"))
            .env("DOCKER_HOST", "tcp://127.0.0.1:9")
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{}", file.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.contains("[ERROR]") && last.contains(&*file.to_string_lossy()),
            "{stderr}"
        );
        assert!(
            !stderr.contains("Trying to get client"),
            "stops before connecting: {stderr}"
        );
    }
}

/// A patterns file that cannot be used stops the collector before it connects, with one line
/// naming the file (and the pattern at fault) and exit status 2.
#[test]
fn a_bad_patterns_file_exits_2_with_one_line_naming_the_file_and_the_pattern() {
    let dir = tempfile::tempdir().expect("tempdir");
    let many: Vec<String> = (0..33)
        .map(|i| format!(r#"{{"name": "p{i}", "regex": "x{i}"}}"#))
        .collect();
    let cases = [
        (
            "regex.json",
            r#"{"patterns": [{"name": "oom", "regex": "Killed (process"}]}"#.to_string(),
            "pattern \"oom\"",
        ),
        (
            "key.json",
            r#"{"patterns": [{"name": "oom", "regex": "x", "severity": "page"}]}"#.to_string(),
            "unknown field `severity`",
        ),
        (
            "many.json",
            format!(r#"{{"patterns": [{}]}}"#, many.join(",")),
            "at most 32",
        ),
        (
            "name.json",
            r#"{"patterns": [{"name": "out-of-memory", "regex": "x"}]}"#.to_string(),
            "pattern \"out-of-memory\"",
        ),
        (
            "twice.json",
            r#"{"patterns": [{"name": "a", "regex": "x"}, {"name": "a", "regex": "y"}]}"#
                .to_string(),
            "used twice",
        ),
        ("missing.json", String::new(), "cannot be read"),
    ];
    for (name, text, want) in cases {
        let file = dir.path().join(name);
        if !text.is_empty() {
            std::fs::write(&file, text).expect("write");
        }
        let out = collector()
            .env("LOG_PATTERNS_PATH", &file)
            .env("LOGS_DIR", dir.path().join("logs"))
            .env("DOCKER_HOST", "tcp://127.0.0.1:9")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("[ERROR]")).collect();
        assert_eq!(errors.len(), 1, "{name}: one line: {stderr}");
        let line = errors[0];
        assert!(
            line.contains("LOG_PATTERNS_PATH")
                && line.contains(&*file.to_string_lossy())
                && line.contains(want),
            "{name}: {want} in {line}"
        );
        assert_eq!(stderr.lines().last(), Some(line), "{name}: the last line");
        assert!(
            !stderr.contains("Trying to get client"),
            "stops before connecting: {stderr}"
        );
    }
}

#[test]
fn default_mapping_path_missing_uses_the_builtin_mapping_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The engine address refuses connections; SIGTERM ends the retries.
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("container-metrics"))
        .current_dir(dir.path())
        .env_remove("LOG_LEVELS_MAPPING_PATH")
        .env("LOGS_DIR", dir.path().join("logs"))
        .env("DOCKER_HOST", "tcp://127.0.0.1:9")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("exits");
    assert_eq!(
        out.status.code(),
        Some(0),
        "SIGTERM during the connection retries exits 0"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("using the built-in mapping"), "{stderr}");
    assert!(
        stderr.contains("Cannot connect to the Docker Engine at tcp://127.0.0.1:9"),
        "{stderr}"
    );
}
