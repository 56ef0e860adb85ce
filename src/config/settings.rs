//! The table of settings: one entry per setting, with everything said about it anywhere.
//!
//! `--help`, the flags and their variables, the defaults, how a value is checked and stored in
//! [`Config`], and the `NAME: value` line printed at start all come from the entry, so no list of
//! settings elsewhere can fall out of step with another. The order of the table is the order of the
//! start-up lines (the Python tool's variables first, then the ones this collector added), of
//! `--help`, and of the checks: the first bad setting in it is the one reported.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use super::{Config, LogLevel, MappingSource, RunAs, DEFAULT_DOCKER_HOST};
use crate::engine::filter::{patterns, LabelMatch};
use crate::metrics::MetricGroups;

/// One setting: an environment variable of the Python tool (or a new one) and the flag beside it.
///
/// The fields a user sees are public so that tests and documentation can walk the table; how a
/// value is read and shown stays private to this module.
#[derive(Debug)]
pub struct Setting {
    /// The environment variable, e.g. `MACHINE_NAME`.
    pub env: &'static str,
    /// The flag without its leading dashes, e.g. `machine-name`.
    pub flag: &'static str,
    /// The value used when neither the flag nor the variable is given; `None` when being unset
    /// means something of its own (LOG_LEVELS_MAPPING_PATH).
    pub default: Option<&'static str>,
    /// The line `--help` shows.
    pub help: &'static str,
    pub(super) kind: Kind,
    /// Checks the raw value and stores it in the configuration; `Err` says what a valid value looks
    /// like. An unset setting without a default is read as the empty value.
    pub(super) read: fn(&OsStr, &mut Config) -> Result<(), &'static str>,
    /// The value as the start-up line shows it.
    pub(super) show: fn(&Config) -> String,
}

/// What clap accepts before a value reaches [`Setting::read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// UTF-8 text, possibly empty.
    Text,
    /// A path: any bytes, but not empty.
    Path,
}

const SECONDS: &str = "expected a whole number of seconds, at least 1";
const AT_LEAST_ONE: &str = "expected a whole number, at least 1";
const LINE: &str = "expected a whole number of bytes, at least 1024";

/// Every setting, in the order of the start-up lines.
pub static SETTINGS: &[Setting] = &[
    Setting {
        env: "MACHINE_NAME",
        flag: "machine-name",
        default: Some("local-machine"),
        help: "Value of the `machine` label on every series",
        kind: Kind::Text,
        read: |v, c| {
            c.machine_name = text(v)?.to_string();
            Ok(())
        },
        show: |c| c.machine_name.clone(),
    },
    Setting {
        env: "METRICS_COLLECTION_INTERVAL",
        flag: "metrics-collection-interval",
        default: Some("20"),
        help: "Seconds between metrics collections",
        kind: Kind::Text,
        read: |v, c| {
            c.metrics_collection_interval = Duration::from_secs(positive(v, SECONDS)?);
            Ok(())
        },
        show: |c| c.metrics_collection_interval.as_secs().to_string(),
    },
    Setting {
        env: "LOGS_COLLECTION_INTERVAL",
        flag: "logs-collection-interval",
        default: Some("5"),
        help:
            "Seconds between logs collections: the main loop's tick. Must not exceed the metrics \
               interval",
        kind: Kind::Text,
        read: |v, c| {
            c.logs_collection_interval = Duration::from_secs(positive(v, SECONDS)?);
            Ok(())
        },
        show: |c| c.logs_collection_interval.as_secs().to_string(),
    },
    Setting {
        env: "MAX_COLLECTOR_THREADS",
        flag: "max-collector-threads",
        default: Some("5"),
        help: "Worker threads of the async runtime (the Python tool's thread pool size)",
        kind: Kind::Text,
        read: |v, c| {
            c.max_collector_threads = positive(v, AT_LEAST_ONE)?;
            Ok(())
        },
        show: |c| c.max_collector_threads.to_string(),
    },
    Setting {
        env: "METRICS_EXPORTER_PORT",
        flag: "metrics-exporter-port",
        default: Some("10101"),
        help: "Port of the Prometheus endpoint (0 picks a free port and logs it)",
        kind: Kind::Text,
        read: |v, c| {
            c.metrics_exporter_port = number(v, "expected a TCP port number, 0 to 65535")?;
            Ok(())
        },
        show: |c| c.metrics_exporter_port.to_string(),
    },
    Setting {
        env: "LAST_METRICS_COLLECTED_AT_FILE",
        flag: "last-metrics-collected-at-file",
        default: Some("/tmp/last-metrics-collected-at.txt"),
        help: "File that receives the unix time (whole seconds) of the last metrics collection",
        kind: Kind::Path,
        read: |v, c| {
            c.last_metrics_collected_at_file = path(v, "expected a file path")?;
            Ok(())
        },
        show: |c| c.last_metrics_collected_at_file.display().to_string(),
    },
    Setting {
        env: "LAST_LOGS_COLLECTED_AT_FILE",
        flag: "last-logs-collected-at-file",
        default: Some("/tmp/last-logs-collected-at.txt"),
        help: "File that receives the unix time (whole seconds) of the last logs collection",
        kind: Kind::Path,
        read: |v, c| {
            c.last_logs_collected_at_file = path(v, "expected a file path")?;
            Ok(())
        },
        show: |c| c.last_logs_collected_at_file.display().to_string(),
    },
    Setting {
        env: "LOGS_DIR",
        flag: "logs-dir",
        default: Some("/tmp/logs"),
        help: "Root directory of the container log files; created if missing",
        kind: Kind::Path,
        read: |v, c| {
            c.logs_dir = path(v, "expected a directory path")?;
            Ok(())
        },
        show: |c| c.logs_dir.display().to_string(),
    },
    Setting {
        env: "LOGS_CONTAINER_MAX_FILES",
        flag: "logs-container-max-files",
        default: Some("10"),
        help: "Rotated files kept per container (0: never rotate)",
        kind: Kind::Text,
        read: |v, c| {
            c.logs_container_max_files = number(v, "expected a whole number of files, 0 or more")?;
            Ok(())
        },
        show: |c| c.logs_container_max_files.to_string(),
    },
    Setting {
        env: "LOGS_CONTAINER_MAX_FILE_SIZE",
        flag: "logs-container-max-file-size",
        default: Some("10485760"),
        help: "Size in bytes at which a container's log file is rotated (0: never rotate)",
        kind: Kind::Text,
        read: |v, c| {
            c.logs_container_max_file_size =
                number(v, "expected a whole number of bytes, 0 or more")?;
            Ok(())
        },
        show: |c| c.logs_container_max_file_size.to_string(),
    },
    Setting {
        env: "LOG_LEVELS_MAPPING_PATH",
        flag: "log-levels-mapping-path",
        default: None,
        help:
            "JSON file mapping log keywords to levels [default: config/log_levels_mapping.json, or \
               the built-in mapping when that file does not exist]",
        kind: Kind::Path,
        read: |v, c| {
            c.log_levels_mapping = if v.is_empty() {
                MappingSource::DefaultPath(PathBuf::from(super::DEFAULT_LOG_LEVELS_MAPPING_PATH))
            } else {
                MappingSource::File(PathBuf::from(v))
            };
            Ok(())
        },
        show: |c| c.log_levels_mapping.path().display().to_string(),
    },
    Setting {
        env: "DEFAULT_LOGS_SINCE_NOW",
        flag: "default-logs-since-now",
        default: Some("60"),
        help: "For a container with no history yet: how many seconds of past logs to take",
        kind: Kind::Text,
        read: |v, c| {
            c.default_logs_since_now = number(v, "expected a whole number of seconds, 0 or more")?;
            Ok(())
        },
        show: |c| c.default_logs_since_now.to_string(),
    },
    Setting {
        env: "MAX_CONCURRENT_REQUESTS",
        flag: "max-concurrent-requests",
        default: Some("1100"),
        help: "Engine requests in flight at once; bounds the load on the Docker Engine",
        kind: Kind::Text,
        read: |v, c| {
            c.max_concurrent_requests = positive(v, AT_LEAST_ONE)?;
            Ok(())
        },
        show: |c| c.max_concurrent_requests.to_string(),
    },
    Setting {
        env: "DOCKER_HOST",
        flag: "docker-host",
        default: Some(DEFAULT_DOCKER_HOST),
        help: "Docker Engine address: unix:///path or tcp://host:port",
        kind: Kind::Text,
        read: |v, c| {
            let host = text(v)?.trim();
            if !valid_docker_host(host) {
                return Err("expected unix:///path/to/docker.sock or tcp://host:port");
            }
            c.docker_host = host.to_string();
            Ok(())
        },
        show: |c| c.docker_host.clone(),
    },
    Setting {
        env: "LOG_LEVEL",
        flag: "log-level",
        default: Some("info"),
        help: "Console verbosity: debug, info, warning or error",
        kind: Kind::Text,
        read: |v, c| {
            c.log_level = match text(v)?.trim().to_ascii_lowercase().as_str() {
                "debug" | "trace" => LogLevel::Debug,
                "info" => LogLevel::Info,
                "warn" | "warning" => LogLevel::Warning,
                "error" => LogLevel::Error,
                _ => return Err("expected debug, info, warning or error"),
            };
            Ok(())
        },
        show: |c| c.log_level.to_string(),
    },
    Setting {
        env: "ENGINE_TIMEOUT",
        flag: "engine-timeout",
        default: Some("10"),
        help:
            "Seconds one engine request (and one container's share of a tick) may take before it \
               is abandoned for this tick",
        kind: Kind::Text,
        read: |v, c| {
            c.engine_timeout = Duration::from_secs(positive(v, SECONDS)?);
            Ok(())
        },
        show: |c| c.engine_timeout.as_secs().to_string(),
    },
    Setting {
        env: "CONTAINER_RETENTION",
        flag: "container-retention",
        default: Some("3600"),
        help: "Seconds a container's series and cursor are kept after it stopped running (keep it \
               above 60, so the reference ContainerDown alert can fire first)",
        kind: Kind::Text,
        read: |v, c| {
            c.container_retention = Duration::from_secs(positive(v, SECONDS)?);
            Ok(())
        },
        show: |c| c.container_retention.as_secs().to_string(),
    },
    Setting {
        env: "MAX_LINE_BYTES",
        flag: "max-line-bytes",
        default: Some("1048576"),
        help: "Longest log line written, in bytes; longer lines are cut and marked",
        kind: Kind::Text,
        read: |v, c| match number::<usize>(v, LINE)? {
            n if n >= 1024 => {
                c.max_line_bytes = n;
                Ok(())
            }
            _ => Err(LINE),
        },
        show: |c| c.max_line_bytes.to_string(),
    },
    Setting {
        env: "LOGS_MAX_TOTAL_BYTES",
        flag: "logs-max-total-bytes",
        default: Some("0"),
        help: "Most bytes LOGS_DIR may hold (a number of bytes, or with KiB, MiB, GiB, TiB); the \
               oldest rotated files go first, removed containers' before the others'. 0: no budget",
        kind: Kind::Text,
        read: |v, c| {
            c.logs_max_total_bytes = bytes(text(v)?).ok_or(
                "expected a whole number of bytes, optionally with KiB, MiB, GiB or TiB (such as \
                 500MiB)",
            )?;
            Ok(())
        },
        show: |c| c.logs_max_total_bytes.to_string(),
    },
    Setting {
        env: "LOGS_KEEP_REMOVED",
        flag: "logs-keep-removed",
        default: Some(""),
        help: "How long the files of a removed container are kept after the collector first finds \
               it gone (such as 7d or 12h). Empty: for ever",
        kind: Kind::Text,
        read: |v, c| {
            const EXPECTED: &str = "expected a duration such as 7d, 12h or 30m, or empty";
            let v = text(v)?.trim();
            c.logs_keep_removed = match v {
                "" => None,
                d => Some(humantime::parse_duration(d).map_err(|_| EXPECTED)?),
            };
            Ok(())
        },
        show: |c| {
            c.logs_keep_removed
                .map_or_else(String::new, |d| humantime::format_duration(d).to_string())
        },
    },
    Setting {
        env: "METRICS_EXPORTER_ADDRESS",
        flag: "metrics-exporter-address",
        default: Some("0.0.0.0"),
        help: "Address the Prometheus endpoint listens on",
        kind: Kind::Text,
        read: |v, c| {
            c.metrics_exporter_address =
                number(v, "expected an IP address such as 0.0.0.0, 127.0.0.1 or ::")?;
            Ok(())
        },
        show: |c| c.metrics_exporter_address.to_string(),
    },
    Setting {
        env: "CGROUP_ROOT",
        flag: "cgroup-root",
        default: Some("/sys/fs/cgroup"),
        help: "The host's cgroup tree: containers found in it have their CPU and memory read from \
               its files instead of the engine's stats. Empty: always ask the engine",
        kind: Kind::Text,
        read: |v, c| {
            c.cgroup_root = optional_path(v)?;
            Ok(())
        },
        show: |c| shown_path(c.cgroup_root.as_deref()),
    },
    Setting {
        env: "PROC_ROOT",
        flag: "proc-root",
        default: Some("/proc"),
        help: "The host's /proc: on the cgroup path, a container's network counters are read from \
               its process's net/dev there. Empty: no network families on the cgroup path",
        kind: Kind::Text,
        read: |v, c| {
            c.proc_root = optional_path(v)?;
            Ok(())
        },
        show: |c| shown_path(c.proc_root.as_deref()),
    },
    Setting {
        env: "CONTAINER_LOGS_ROOT",
        flag: "container-logs-root",
        default: Some("/var/lib/docker/containers"),
        help: "The engine's containers directory (as mounted here): the logs of containers with the \
               json-file driver are read from their files there instead of asking the engine. Empty: \
               always ask the engine",
        kind: Kind::Text,
        read: |v, c| {
            c.container_logs_root = optional_path(v)?;
            Ok(())
        },
        show: |c| shown_path(c.container_logs_root.as_deref()),
    },
    Setting {
        env: "LOG_PATTERNS_PATH",
        flag: "log-patterns-path",
        default: Some(""),
        help: "JSON file of named regexes (at most 32) whose matching log lines are counted in \
               container_log_pattern_matches_total, for alerts. Empty: none",
        kind: Kind::Text,
        read: |v, c| {
            c.log_patterns_path = optional_path(v)?;
            Ok(())
        },
        show: |c| shown_path(c.log_patterns_path.as_deref()),
    },
    Setting {
        env: "INCLUDE_CONTAINERS",
        flag: "include-containers",
        default: Some(""),
        help:
            "Watch only containers whose name matches one of these comma-separated patterns (`*` \
               is any run of characters). Empty: every container",
        kind: Kind::Text,
        read: |v, c| {
            c.filter.include = patterns(text(v)?);
            Ok(())
        },
        show: |c| c.filter.include.join(","),
    },
    Setting {
        env: "EXCLUDE_CONTAINERS",
        flag: "exclude-containers",
        default: Some(""),
        help: "Leave out containers whose name matches one of these comma-separated patterns",
        kind: Kind::Text,
        read: |v, c| {
            c.filter.exclude = patterns(text(v)?);
            Ok(())
        },
        show: |c| c.filter.exclude.join(","),
    },
    Setting {
        env: "INCLUDE_LABEL",
        flag: "include-label",
        default: Some(""),
        help: "Watch only containers with this label: `key` or `key=value`",
        kind: Kind::Text,
        read: |v, c| {
            c.filter.include_label = LabelMatch::parse(text(v)?);
            Ok(())
        },
        show: |c| label_text(c.filter.include_label.as_ref()),
    },
    Setting {
        env: "EXCLUDE_LABEL",
        flag: "exclude-label",
        default: Some(""),
        help: "Leave out containers with this label: `key` or `key=value`. Any container can also \
               opt out with the label `container-metrics.ignore=true`",
        kind: Kind::Text,
        read: |v, c| {
            c.filter.exclude_label = LabelMatch::parse(text(v)?);
            Ok(())
        },
        show: |c| label_text(c.filter.exclude_label.as_ref()),
    },
    Setting {
        env: "METRIC_GROUPS",
        flag: "metric-groups",
        default: Some("all"),
        help: "Families beyond the reference ones to export: `all`, `none`, or a comma-separated \
               list of cpu, memory, network, io, state, info",
        kind: Kind::Text,
        read: |v, c| {
            c.metric_groups = MetricGroups::parse(text(v)?).ok_or(
                "expected all, none, or a comma-separated list of cpu, memory, network, io, state, \
                 info",
            )?;
            Ok(())
        },
        show: |c| c.metric_groups.to_string(),
    },
    Setting {
        env: "RUN_AS",
        flag: "run-as",
        default: Some(""),
        help: "When started as root: the `uid[:gid]` to continue as once LOGS_DIR and the LAST_* \
               files are owned by it, with the Docker socket's group added. Empty or `root` keeps \
               running as root. The image sets 65534:65534",
        kind: Kind::Text,
        read: |v, c| {
            c.run_as = run_as(text(v)?)?;
            Ok(())
        },
        show: |c| {
            c.run_as
                .map_or_else(|| "(unchanged)".to_string(), |r| r.to_string())
        },
    },
    Setting {
        env: "WEB_PORT",
        flag: "web-port",
        default: Some(""),
        help:
            "Port of the logs browser (pages and JSON API). Empty: no logs browser, nothing else \
               listens",
        kind: Kind::Text,
        read: |v, c| {
            let v = text(v)?.trim();
            c.web_port = match v {
                "" => None,
                port => Some(
                    port.parse()
                        .map_err(|_| "expected a TCP port number, 0 to 65535, or empty")?,
                ),
            };
            Ok(())
        },
        show: |c| {
            c.web_port
                .map_or_else(|| "(off)".to_string(), |p| p.to_string())
        },
    },
    Setting {
        env: "WEB_ADDRESS",
        flag: "web-address",
        default: Some("0.0.0.0"),
        help: "Address the logs browser listens on",
        kind: Kind::Text,
        read: |v, c| {
            c.web_address = number(v, "expected an IP address such as 0.0.0.0, 127.0.0.1 or ::")?;
            Ok(())
        },
        show: |c| c.web_address.to_string(),
    },
    Setting {
        env: "WEB_EXTERNAL_URL",
        flag: "web-external-url",
        default: Some(""),
        help: "The logs browser's address as users reach it (e.g. http://host:11111), for links \
               such as the ContainerLogsErrors alert's",
        kind: Kind::Text,
        read: |v, c| {
            c.web_external_url = text(v)?.trim().trim_end_matches('/').to_string();
            Ok(())
        },
        show: |c| c.web_external_url.clone(),
    },
    Setting {
        env: "WEB_CONFIG_FILE",
        flag: "web-config-file",
        default: Some(""),
        help: "Prometheus web configuration file with `basic_auth_users` (bcrypt hashes): basic \
               auth on the metrics port and the logs browser. Empty: no auth",
        kind: Kind::Text,
        read: |v, c| {
            c.web_config_file = Some(text(v)?.trim())
                .filter(|p| !p.is_empty())
                .map(PathBuf::from);
            Ok(())
        },
        show: |c| {
            c.web_config_file
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string())
        },
    },
    Setting {
        env: "MAX_CONNECTIONS",
        flag: "max-connections",
        default: Some("256"),
        help:
            "Connections each port holds at once (metrics, logs browser); more are closed at once",
        kind: Kind::Text,
        read: |v, c| {
            c.max_connections = positive(v, AT_LEAST_ONE)?;
            Ok(())
        },
        show: |c| c.max_connections.to_string(),
    },
];

/// The value as text. clap has already refused text that is not UTF-8; this is the same refusal
/// for a value that reached the table another way.
fn text(value: &OsStr) -> Result<&str, &'static str> {
    value.to_str().ok_or("expected UTF-8 text")
}

/// A path; clap refuses an empty one already, which this repeats for the same reason as [`text`].
/// A path, or `None` for an empty value (a setting that is off when empty).
fn optional_path(value: &OsStr) -> Result<Option<PathBuf>, &'static str> {
    Ok(Some(text(value)?.trim())
        .filter(|p| !p.is_empty())
        .map(PathBuf::from))
}

/// How an optional path shows at start: empty when off.
fn shown_path(path: Option<&std::path::Path>) -> String {
    path.map_or_else(String::new, |p| p.display().to_string())
}

fn path(value: &OsStr, expected: &'static str) -> Result<PathBuf, &'static str> {
    if value.is_empty() {
        return Err(expected);
    }
    Ok(PathBuf::from(value))
}

/// A number (or address) with blanks around it allowed, as the Python tool's `int()` allows them.
fn number<T: std::str::FromStr>(value: &OsStr, expected: &'static str) -> Result<T, &'static str> {
    text(value)?.trim().parse().map_err(|_| expected)
}

/// A whole number of at least 1.
fn positive<T: std::str::FromStr + PartialEq + From<u8>>(
    value: &OsStr,
    expected: &'static str,
) -> Result<T, &'static str> {
    match number::<T>(value, expected)? {
        n if n == T::from(0) => Err(expected),
        n => Ok(n),
    }
}

/// A number of bytes: digits, optionally followed by `B`, `KiB`, `MiB`, `GiB` or `TiB` (blanks
/// allowed around and between). `None` when it is not one, or too large.
pub(super) fn bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

/// `unix:///path` or `tcp://host:port` (also `http://host:port`), as the docker CLI takes them.
fn valid_docker_host(host: &str) -> bool {
    if let Some(path) = host.strip_prefix("unix://") {
        return path.starts_with('/') && path.len() > 1;
    }
    let Some(address) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    else {
        return false;
    };
    let address = address.trim_end_matches('/');
    match address.rsplit_once(':') {
        Some((name, port)) => !name.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

/// `uid[:gid]` (numbers: the image has no user database); empty, `root` or `0` mean no change.
fn run_as(value: &str) -> Result<Option<RunAs>, &'static str> {
    const EXPECTED: &str = "expected uid[:gid] as numbers (such as 65534:65534), or root";
    let text = value.trim();
    if text.is_empty() || text == "root" {
        return Ok(None);
    }
    let (uid, gid) = text.split_once(':').unwrap_or((text, text));
    let uid: u32 = uid.parse().map_err(|_| EXPECTED)?;
    let gid: u32 = gid.parse().map_err(|_| EXPECTED)?;
    match (uid, gid) {
        (0, 0) => Ok(None),
        (0, _) => Err(EXPECTED),
        _ => Ok(Some(RunAs { uid, gid })),
    }
}

/// A label condition as the user writes it: `key` or `key=value`; empty for none.
fn label_text(label: Option<&LabelMatch>) -> String {
    match label {
        Some(LabelMatch {
            key,
            value: Some(v),
        }) => format!("{key}={v}"),
        Some(LabelMatch { key, value: None }) => key.clone(),
        None => String::new(),
    }
}
