//! The command line: --help, --version, bad settings, a missing or malformed mapping file. Each bad
//! setting must give one line naming the variable and exit code 2, before anything else happens.

use assert_cmd::Command;

/// Every setting's environment variable.
const VARIABLES: [&str; 19] = [
    "MACHINE_NAME",
    "METRICS_COLLECTION_INTERVAL",
    "LOGS_COLLECTION_INTERVAL",
    "MAX_COLLECTOR_THREADS",
    "MAX_CONCURRENT_REQUESTS",
    "METRICS_EXPORTER_PORT",
    "LAST_METRICS_COLLECTED_AT_FILE",
    "LAST_LOGS_COLLECTED_AT_FILE",
    "LOGS_DIR",
    "LOGS_CONTAINER_MAX_FILES",
    "LOGS_CONTAINER_MAX_FILE_SIZE",
    "LOG_LEVELS_MAPPING_PATH",
    "DEFAULT_LOGS_SINCE_NOW",
    "DOCKER_HOST",
    "LOG_LEVEL",
    "ENGINE_TIMEOUT",
    "CONTAINER_RETENTION",
    "MAX_LINE_BYTES",
    "METRICS_EXPORTER_ADDRESS",
];

fn collector() -> Command {
    let mut cmd = Command::cargo_bin("container-metrics").expect("binary built");
    // Nothing from the developer's environment may leak into these runs.
    for var in VARIABLES {
        cmd.env_remove(var);
    }
    cmd.timeout(std::time::Duration::from_secs(20));
    cmd
}

#[test]
fn help_documents_every_variable() {
    let out = collector().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for var in VARIABLES {
        assert!(
            text.contains(&format!("[env: {var}")),
            "--help lacks {var}:\n{text}"
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
    let cases = [
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
    ];
    for (var, value) in cases {
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
