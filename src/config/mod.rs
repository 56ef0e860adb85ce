//! Every setting of the collector, read once from flags or environment variables and validated in one
//! place.
//!
//! The environment variable names, defaults and meanings are those of the Python
//! metrics-and-logs-collector, so an existing `docker run --env ...` line keeps working. Each variable is
//! also a flag (a flag beats the variable). Parsing happens in two stages, as in ripgrep: [`Args`] holds
//! the raw text clap found, and [`Config::from_args`] turns it into typed, checked settings, returning a
//! [`ConfigError`] that names the variable and the value so `main` can print one line and exit with 2.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The level mapping file used when LOG_LEVELS_MAPPING_PATH is not set (relative to the working
/// directory, which is `/` in the image).
pub const DEFAULT_LOG_LEVELS_MAPPING_PATH: &str = "config/log_levels_mapping.json";

/// The Docker Engine the collector talks to when DOCKER_HOST is not set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Raw command-line and environment input, before validation.
///
/// Every value is kept as text so that a bad value is reported by [`Config::from_args`] in the
/// project's one-line format rather than by clap's multi-line usage error.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "container-metrics",
    version,
    about = "Exports CPU, memory and log-level metrics of every container on a Docker host to Prometheus, \
             and keeps each container's logs in size-rotated files.",
    long_about = None
)]
pub struct Args {
    /// Value of the `machine` label on every series.
    #[arg(long, env = "MACHINE_NAME", default_value = "local-machine")]
    pub machine_name: String,

    /// Seconds between metrics collections.
    #[arg(long, env = "METRICS_COLLECTION_INTERVAL", default_value = "20")]
    pub metrics_collection_interval: String,

    /// Seconds between logs collections: the main loop's tick. Must not exceed the metrics interval.
    #[arg(long, env = "LOGS_COLLECTION_INTERVAL", default_value = "5")]
    pub logs_collection_interval: String,

    /// Worker threads of the async runtime (the Python tool's thread pool size).
    #[arg(long, env = "MAX_COLLECTOR_THREADS", default_value = "5")]
    pub max_collector_threads: String,

    /// Engine requests in flight at once; bounds the load on the Docker Engine.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value = "256")]
    pub max_concurrent_requests: String,

    /// Port of the Prometheus endpoint (0 picks a free port and logs it).
    #[arg(long, env = "METRICS_EXPORTER_PORT", default_value = "10101")]
    pub metrics_exporter_port: String,

    /// File that receives the unix time (whole seconds) of the last metrics collection.
    #[arg(
        long,
        env = "LAST_METRICS_COLLECTED_AT_FILE",
        default_value = "/tmp/last-metrics-collected-at.txt"
    )]
    pub last_metrics_collected_at_file: PathBuf,

    /// File that receives the unix time (whole seconds) of the last logs collection.
    #[arg(
        long,
        env = "LAST_LOGS_COLLECTED_AT_FILE",
        default_value = "/tmp/last-logs-collected-at.txt"
    )]
    pub last_logs_collected_at_file: PathBuf,

    /// Root directory of the container log files; created if missing.
    #[arg(long, env = "LOGS_DIR", default_value = "/tmp/logs")]
    pub logs_dir: PathBuf,

    /// Rotated files kept per container (0: never rotate).
    #[arg(long, env = "LOGS_CONTAINER_MAX_FILES", default_value = "10")]
    pub logs_container_max_files: String,

    /// Size in bytes at which a container's log file is rotated (0: never rotate).
    #[arg(long, env = "LOGS_CONTAINER_MAX_FILE_SIZE", default_value = "10485760")]
    pub logs_container_max_file_size: String,

    /// JSON file mapping log keywords to levels [default: config/log_levels_mapping.json, or the built-in
    /// mapping when that file does not exist].
    #[arg(long, env = "LOG_LEVELS_MAPPING_PATH")]
    pub log_levels_mapping_path: Option<PathBuf>,

    /// For a container with no history yet: how many seconds of past logs to take.
    #[arg(long, env = "DEFAULT_LOGS_SINCE_NOW", default_value = "60")]
    pub default_logs_since_now: String,

    /// Docker Engine address: unix:///path or tcp://host:port.
    #[arg(long, env = "DOCKER_HOST", default_value = DEFAULT_DOCKER_HOST)]
    pub docker_host: String,

    /// Console verbosity: debug, info, warning or error.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Seconds one engine request (and one container's share of a tick) may take before it is
    /// abandoned for this tick.
    #[arg(long, env = "ENGINE_TIMEOUT", default_value = "10")]
    pub engine_timeout: String,

    /// Seconds a container's series and cursor are kept after it stopped running (keep it above 60,
    /// so the reference ContainerDown alert can fire first).
    #[arg(long, env = "CONTAINER_RETENTION", default_value = "3600")]
    pub container_retention: String,

    /// Longest log line written, in bytes; longer lines are cut and marked.
    #[arg(long, env = "MAX_LINE_BYTES", default_value = "1048576")]
    pub max_line_bytes: String,

    /// Address the Prometheus endpoint listens on.
    #[arg(long, env = "METRICS_EXPORTER_ADDRESS", default_value = "0.0.0.0")]
    pub metrics_exporter_address: String,

    /// When started as root: the `uid[:gid]` to continue as once LOGS_DIR and the LAST_* files are
    /// owned by it, with the Docker socket's group added. Empty or `root` keeps running as root. The
    /// image sets 65534:65534.
    #[arg(long, env = "RUN_AS", default_value = "")]
    pub run_as: String,

    /// The host's cgroup tree: containers found in it have their CPU and memory read from its files
    /// instead of the engine's stats. Empty: always ask the engine.
    #[arg(long, env = "CGROUP_ROOT", default_value = "/sys/fs/cgroup")]
    pub cgroup_root: String,

    /// Watch only containers whose name matches one of these comma-separated patterns (`*` is any
    /// run of characters). Empty: every container.
    #[arg(long, env = "INCLUDE_CONTAINERS", default_value = "")]
    pub include_containers: String,

    /// Leave out containers whose name matches one of these comma-separated patterns.
    #[arg(long, env = "EXCLUDE_CONTAINERS", default_value = "")]
    pub exclude_containers: String,

    /// Watch only containers with this label: `key` or `key=value`.
    #[arg(long, env = "INCLUDE_LABEL", default_value = "")]
    pub include_label: String,

    /// Leave out containers with this label: `key` or `key=value`. Any container can also opt out
    /// with the label `container-metrics.ignore=true`.
    #[arg(long, env = "EXCLUDE_LABEL", default_value = "")]
    pub exclude_label: String,

    /// Families beyond the reference ones to export: `all`, `none`, or a comma-separated list of
    /// cpu, memory, network, io, state, info.
    #[arg(long, env = "METRIC_GROUPS", default_value = "all")]
    pub metric_groups: String,

    /// Collect the metrics once, print the exposition to stdout and exit (no log files written).
    #[arg(long)]
    pub once: bool,
}

/// A setting that could not be used, named the way the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The value does not parse or is out of range.
    #[error("invalid {name} {value:?}: {expected}")]
    Invalid {
        /// The environment variable's name.
        name: &'static str,
        /// The value as given.
        value: String,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// The logs tick would be slower than the metrics tick it drives.
    #[error(
        "LOGS_COLLECTION_INTERVAL ({logs}) must not be greater than METRICS_COLLECTION_INTERVAL ({metrics})"
    )]
    LogsSlowerThanMetrics {
        /// LOGS_COLLECTION_INTERVAL in seconds.
        logs: u64,
        /// METRICS_COLLECTION_INTERVAL in seconds.
        metrics: u64,
    },
}

/// Console verbosity, spelled as the Python logging module does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Everything, including per-container details.
    Debug,
    /// Start-up, each cycle, and problems.
    Info,
    /// Problems only.
    Warning,
    /// Failures only.
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        })
    }
}

/// Where the level mapping comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingSource {
    /// LOG_LEVELS_MAPPING_PATH was given: the file must exist and parse.
    File(PathBuf),
    /// Not given: use the default path if that file exists, else the built-in mapping.
    DefaultPath(PathBuf),
}

impl MappingSource {
    /// The path that will be (or would have been) read.
    pub fn path(&self) -> &std::path::Path {
        match self {
            MappingSource::File(p) | MappingSource::DefaultPath(p) => p,
        }
    }
}

/// Validated settings of one collector.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Value of the `machine` label.
    pub machine_name: String,
    /// Time between metrics collections.
    pub metrics_collection_interval: Duration,
    /// Time between logs collections (the loop's tick).
    pub logs_collection_interval: Duration,
    /// Worker threads of the runtime.
    pub max_collector_threads: usize,
    /// Engine requests in flight at once.
    pub max_concurrent_requests: usize,
    /// Port of the Prometheus endpoint.
    pub metrics_exporter_port: u16,
    /// Receives the time of the last metrics collection.
    pub last_metrics_collected_at_file: PathBuf,
    /// Receives the time of the last logs collection.
    pub last_logs_collected_at_file: PathBuf,
    /// Root of the log files.
    pub logs_dir: PathBuf,
    /// Rotated files kept per container.
    pub logs_container_max_files: u32,
    /// Rotation size in bytes.
    pub logs_container_max_file_size: u64,
    /// Where the level mapping comes from.
    pub log_levels_mapping: MappingSource,
    /// Seconds of past logs taken for a container seen for the first time.
    pub default_logs_since_now: u64,
    /// Docker Engine address.
    pub docker_host: String,
    /// Console verbosity.
    pub log_level: LogLevel,
    /// Time one engine request, and one container's share of a tick, may take.
    pub engine_timeout: Duration,
    /// How long a container that stopped running keeps its series and cursor.
    pub container_retention: Duration,
    /// Longest log line written, in bytes.
    pub max_line_bytes: usize,
    /// Address of the Prometheus endpoint.
    pub metrics_exporter_address: std::net::IpAddr,
    /// User and group to drop to when started as root; `None` keeps the user the process started as.
    pub run_as: Option<RunAs>,
    /// The host's cgroup tree to read stats from; `None`: ask the engine.
    pub cgroup_root: Option<PathBuf>,
    /// Which containers are watched.
    pub filter: crate::filter::Filter,
    /// Which families beyond the reference ones are exported.
    pub metric_groups: crate::metrics_exporter::MetricGroups,
    /// Collect once, print, exit.
    pub once: bool,
}

/// A numeric user and group the collector continues as after start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

impl fmt::Display for RunAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.uid, self.gid)
    }
}

fn label_text(l: &crate::filter::LabelMatch) -> String {
    match &l.value {
        Some(v) => format!("{}={v}", l.key),
        None => l.key.clone(),
    }
}

/// `uid[:gid]` (numbers: the image has no user database); empty, `root` or `0` mean no change.
fn parse_run_as(value: &str) -> Result<Option<RunAs>, ConfigError> {
    let invalid = || ConfigError::Invalid {
        name: "RUN_AS",
        value: value.to_string(),
        expected: "expected uid[:gid] as numbers (such as 65534:65534), or root",
    };
    let text = value.trim();
    if text.is_empty() || text == "root" {
        return Ok(None);
    }
    let (uid, gid) = match text.split_once(':') {
        Some((u, g)) => (u, g),
        None => (text, text),
    };
    let uid: u32 = uid.parse().map_err(|_| invalid())?;
    let gid: u32 = gid.parse().map_err(|_| invalid())?;
    if uid == 0 {
        if gid != 0 {
            return Err(invalid());
        }
        return Ok(None);
    }
    Ok(Some(RunAs { uid, gid }))
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

fn parse_number<T: std::str::FromStr>(
    name: &'static str,
    value: &str,
    expected: &'static str,
) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        name,
        value: value.to_string(),
        expected,
    })
}

fn parse_positive(
    name: &'static str,
    value: &str,
    expected: &'static str,
) -> Result<u64, ConfigError> {
    match parse_number::<u64>(name, value, expected)? {
        0 => Err(ConfigError::Invalid {
            name,
            value: value.to_string(),
            expected,
        }),
        n => Ok(n),
    }
}

fn to_usize(
    name: &'static str,
    value: &str,
    n: u64,
    expected: &'static str,
) -> Result<usize, ConfigError> {
    usize::try_from(n).map_err(|_| ConfigError::Invalid {
        name,
        value: value.to_string(),
        expected,
    })
}

impl Config {
    /// Checks every raw setting and builds the configuration. The first bad setting, in the order of the
    /// reference table, is reported.
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        const SECONDS: &str = "expected a whole number of seconds, at least 1";
        let metrics = parse_positive(
            "METRICS_COLLECTION_INTERVAL",
            &args.metrics_collection_interval,
            SECONDS,
        )?;
        let logs = parse_positive(
            "LOGS_COLLECTION_INTERVAL",
            &args.logs_collection_interval,
            SECONDS,
        )?;
        if logs > metrics {
            return Err(ConfigError::LogsSlowerThanMetrics { logs, metrics });
        }
        const THREADS: &str = "expected a whole number, at least 1";
        let threads = parse_positive(
            "MAX_COLLECTOR_THREADS",
            &args.max_collector_threads,
            THREADS,
        )?;
        let threads = to_usize(
            "MAX_COLLECTOR_THREADS",
            &args.max_collector_threads,
            threads,
            THREADS,
        )?;
        let requests = parse_positive(
            "MAX_CONCURRENT_REQUESTS",
            &args.max_concurrent_requests,
            THREADS,
        )?;
        let requests = to_usize(
            "MAX_CONCURRENT_REQUESTS",
            &args.max_concurrent_requests,
            requests,
            THREADS,
        )?;
        let port = parse_number::<u16>(
            "METRICS_EXPORTER_PORT",
            &args.metrics_exporter_port,
            "expected a TCP port number, 0 to 65535",
        )?;
        let max_files = parse_number::<u32>(
            "LOGS_CONTAINER_MAX_FILES",
            &args.logs_container_max_files,
            "expected a whole number of files, 0 or more",
        )?;
        let max_size = parse_number::<u64>(
            "LOGS_CONTAINER_MAX_FILE_SIZE",
            &args.logs_container_max_file_size,
            "expected a whole number of bytes, 0 or more",
        )?;
        let since = parse_number::<u64>(
            "DEFAULT_LOGS_SINCE_NOW",
            &args.default_logs_since_now,
            "expected a whole number of seconds, 0 or more",
        )?;
        let log_level = match args.log_level.trim().to_ascii_lowercase().as_str() {
            "debug" | "trace" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" | "warning" => LogLevel::Warning,
            "error" => LogLevel::Error,
            _ => {
                return Err(ConfigError::Invalid {
                    name: "LOG_LEVEL",
                    value: args.log_level,
                    expected: "expected debug, info, warning or error",
                })
            }
        };
        let docker_host = args.docker_host.trim().to_string();
        if !valid_docker_host(&docker_host) {
            return Err(ConfigError::Invalid {
                name: "DOCKER_HOST",
                value: args.docker_host,
                expected: "expected unix:///path/to/docker.sock or tcp://host:port",
            });
        }
        if args.logs_dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                name: "LOGS_DIR",
                value: String::new(),
                expected: "expected a directory path",
            });
        }
        let timeout = parse_positive("ENGINE_TIMEOUT", &args.engine_timeout, SECONDS)?;
        let retention = parse_positive("CONTAINER_RETENTION", &args.container_retention, SECONDS)?;
        const LINE: &str = "expected a whole number of bytes, at least 1024";
        let max_line = parse_number::<u64>("MAX_LINE_BYTES", &args.max_line_bytes, LINE)?;
        let max_line = match usize::try_from(max_line) {
            Ok(n) if n >= 1024 => n,
            _ => {
                return Err(ConfigError::Invalid {
                    name: "MAX_LINE_BYTES",
                    value: args.max_line_bytes,
                    expected: LINE,
                })
            }
        };
        let address = parse_number::<std::net::IpAddr>(
            "METRICS_EXPORTER_ADDRESS",
            &args.metrics_exporter_address,
            "expected an IP address such as 0.0.0.0, 127.0.0.1 or ::",
        )?;
        let run_as = parse_run_as(&args.run_as)?;
        let metric_groups = crate::metrics_exporter::MetricGroups::parse(&args.metric_groups)
            .ok_or_else(|| ConfigError::Invalid {
                name: "METRIC_GROUPS",
                value: args.metric_groups.clone(),
                expected: "expected all, none, or a comma-separated list of cpu, memory, network, io, state, info",
            })?;
        let log_levels_mapping = match args.log_levels_mapping_path {
            Some(p) if !p.as_os_str().is_empty() => MappingSource::File(p),
            _ => MappingSource::DefaultPath(PathBuf::from(DEFAULT_LOG_LEVELS_MAPPING_PATH)),
        };
        Ok(Config {
            machine_name: args.machine_name,
            metrics_collection_interval: Duration::from_secs(metrics),
            logs_collection_interval: Duration::from_secs(logs),
            max_collector_threads: threads,
            max_concurrent_requests: requests,
            metrics_exporter_port: port,
            last_metrics_collected_at_file: args.last_metrics_collected_at_file,
            last_logs_collected_at_file: args.last_logs_collected_at_file,
            logs_dir: args.logs_dir,
            logs_container_max_files: max_files,
            logs_container_max_file_size: max_size,
            log_levels_mapping,
            default_logs_since_now: since,
            docker_host,
            log_level,
            engine_timeout: Duration::from_secs(timeout),
            container_retention: Duration::from_secs(retention),
            max_line_bytes: max_line,
            metrics_exporter_address: address,
            run_as,
            cgroup_root: Some(args.cgroup_root.trim())
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            filter: crate::filter::Filter {
                include: crate::filter::patterns(&args.include_containers),
                exclude: crate::filter::patterns(&args.exclude_containers),
                include_label: crate::filter::LabelMatch::parse(&args.include_label),
                exclude_label: crate::filter::LabelMatch::parse(&args.exclude_label),
            },
            metric_groups,
            once: args.once,
        })
    }

    /// The `NAME: value` lines printed at start, in the order of the Python tool (its variables first,
    /// then the ones this collector added).
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MACHINE_NAME", self.machine_name.clone()),
            (
                "METRICS_COLLECTION_INTERVAL",
                self.metrics_collection_interval.as_secs().to_string(),
            ),
            (
                "LOGS_COLLECTION_INTERVAL",
                self.logs_collection_interval.as_secs().to_string(),
            ),
            (
                "MAX_COLLECTOR_THREADS",
                self.max_collector_threads.to_string(),
            ),
            (
                "METRICS_EXPORTER_PORT",
                self.metrics_exporter_port.to_string(),
            ),
            (
                "LAST_METRICS_COLLECTED_AT_FILE",
                self.last_metrics_collected_at_file.display().to_string(),
            ),
            (
                "LAST_LOGS_COLLECTED_AT_FILE",
                self.last_logs_collected_at_file.display().to_string(),
            ),
            ("LOGS_DIR", self.logs_dir.display().to_string()),
            (
                "LOGS_CONTAINER_MAX_FILES",
                self.logs_container_max_files.to_string(),
            ),
            (
                "LOGS_CONTAINER_MAX_FILE_SIZE",
                self.logs_container_max_file_size.to_string(),
            ),
            (
                "LOG_LEVELS_MAPPING_PATH",
                self.log_levels_mapping.path().display().to_string(),
            ),
            (
                "DEFAULT_LOGS_SINCE_NOW",
                self.default_logs_since_now.to_string(),
            ),
            (
                "MAX_CONCURRENT_REQUESTS",
                self.max_concurrent_requests.to_string(),
            ),
            ("DOCKER_HOST", self.docker_host.clone()),
            ("LOG_LEVEL", self.log_level.to_string()),
            ("ENGINE_TIMEOUT", self.engine_timeout.as_secs().to_string()),
            (
                "CONTAINER_RETENTION",
                self.container_retention.as_secs().to_string(),
            ),
            ("MAX_LINE_BYTES", self.max_line_bytes.to_string()),
            (
                "METRICS_EXPORTER_ADDRESS",
                self.metrics_exporter_address.to_string(),
            ),
            (
                "CGROUP_ROOT",
                self.cgroup_root
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string()),
            ),
            ("INCLUDE_CONTAINERS", self.filter.include.join(",")),
            ("EXCLUDE_CONTAINERS", self.filter.exclude.join(",")),
            (
                "INCLUDE_LABEL",
                self.filter
                    .include_label
                    .as_ref()
                    .map_or_else(String::new, label_text),
            ),
            (
                "EXCLUDE_LABEL",
                self.filter
                    .exclude_label
                    .as_ref()
                    .map_or_else(String::new, label_text),
            ),
            ("METRIC_GROUPS", self.metric_groups.to_string()),
            (
                "RUN_AS",
                self.run_as
                    .map_or_else(|| "(unchanged)".to_string(), |r| r.to_string()),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(c.max_concurrent_requests, 256);
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
    fn edge_values_accepted() {
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
        assert_eq!(parse_run_as("").unwrap(), None);
        assert_eq!(parse_run_as("root").unwrap(), None);
        assert_eq!(parse_run_as("0").unwrap(), None);
        assert_eq!(parse_run_as("0:0").unwrap(), None);
        assert_eq!(
            parse_run_as("65534").unwrap(),
            Some(RunAs {
                uid: 65534,
                gid: 65534
            })
        );
        assert_eq!(
            parse_run_as(" 1000:999 ").unwrap(),
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
            let e = parse_run_as(bad).unwrap_err().to_string();
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
}
