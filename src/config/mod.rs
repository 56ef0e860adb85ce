//! Every setting of the collector, read once from flags or environment variables and validated in one
//! place.
//!
//! The environment variable names, defaults and meanings are those of the Python
//! metrics-and-logs-collector, so an existing `docker run --env ...` line keeps working. Each variable is
//! also a flag (a flag beats the variable). Each setting is defined once, in [`SETTINGS`]: its variable,
//! flag, default, help line, how its value is checked, and how the start-up line shows it. The command
//! line (`--help` included), [`Config::from_args`] and [`Config::describe`] are all driven by that table,
//! so they cannot drift apart.
//!
//! Parsing happens in two stages, as in ripgrep: [`Args`] holds the raw values clap found, and
//! [`Config::from_args`] turns them into typed, checked settings, returning a [`ConfigError`] that names
//! the variable and the value so `main` can print one line and exit with 2.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command};

mod markdown;
mod settings;
#[cfg(test)]
mod tests;

pub use markdown::settings_markdown;
pub use settings::{Setting, SETTINGS};

use settings::Kind;

/// The level mapping file used when LOG_LEVELS_MAPPING_PATH is not set (relative to the working
/// directory, which is `/` in the image).
pub const DEFAULT_LOG_LEVELS_MAPPING_PATH: &str = "config/log_levels_mapping.json";

/// The Docker Engine the collector talks to when DOCKER_HOST is not set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Raw command-line and environment input, before validation: one value per entry of [`SETTINGS`],
/// and `--once`.
///
/// Values are kept raw so that a bad one is reported by [`Config::from_args`] in the project's one-line
/// format rather than by clap's multi-line usage error. Build it with [`clap::Parser`]'s methods
/// (`Args::parse()`, `Args::try_parse_from(...)`); the command comes from `command()`.
#[derive(Debug, Clone)]
pub struct Args {
    /// In the order of [`SETTINGS`]; an unset setting without a default is empty.
    values: Vec<OsString>,
    once: bool,
}

/// The command line of the collector: a flag with its environment variable for each entry of
/// [`SETTINGS`], in the table's order, then `--once`, `--help` and `--version`.
pub fn command() -> Command {
    let command = Command::new("container-metrics")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "Exports CPU, memory and log-level metrics of every container on a Docker host to \
             Prometheus, and keeps each container's logs in size-rotated files.",
        );
    SETTINGS
        .iter()
        .fold(command, |command, setting| {
            command.arg(setting_arg(setting))
        })
        .arg(
            Arg::new("once")
                .long("once")
                .action(ArgAction::SetTrue)
                .help(
                    "Collect the metrics once, print the exposition to stdout and exit (no log \
                     files written)",
                ),
        )
}

fn setting_arg(setting: &'static Setting) -> Arg {
    let arg = Arg::new(setting.flag)
        .long(setting.flag)
        .env(setting.env)
        .value_name(setting.env)
        .help(setting.help)
        .action(ArgAction::Set);
    let arg = match setting.kind {
        Kind::Text => arg.value_parser(clap::value_parser!(String)),
        Kind::Path => arg.value_parser(clap::value_parser!(PathBuf)),
    };
    match setting.default {
        Some(default) => arg.default_value(default),
        None => arg,
    }
}

impl clap::CommandFactory for Args {
    fn command() -> Command {
        command()
    }

    fn command_for_update() -> Command {
        command()
    }
}

impl clap::FromArgMatches for Args {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let values = SETTINGS
            .iter()
            .map(|setting| match setting.kind {
                Kind::Text => matches.get_one::<String>(setting.flag).map(OsString::from),
                Kind::Path => matches
                    .get_one::<PathBuf>(setting.flag)
                    .map(|p| p.clone().into_os_string()),
            })
            .map(Option::unwrap_or_default)
            .collect();
        Ok(Args {
            values,
            once: matches.get_flag("once"),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Args::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Parser for Args {}

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
    /// A budget for LOGS_DIR that the files are not rotated to fit in.
    #[error(
        "LOGS_MAX_TOTAL_BYTES ({budget}) needs rotation: set LOGS_CONTAINER_MAX_FILE_SIZE and LOGS_CONTAINER_MAX_FILES above 0"
    )]
    BudgetWithoutRotation {
        /// LOGS_MAX_TOTAL_BYTES.
        budget: u64,
    },
    /// A budget smaller than one container's current file may grow.
    #[error(
        "LOGS_MAX_TOTAL_BYTES ({budget}) is smaller than LOGS_CONTAINER_MAX_FILE_SIZE ({max_file}), what one container's current file may grow to"
    )]
    BudgetBelowFileSize {
        /// LOGS_MAX_TOTAL_BYTES.
        budget: u64,
        /// LOGS_CONTAINER_MAX_FILE_SIZE.
        max_file: u64,
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
    /// LOGS_MAX_TOTAL_BYTES: the most LOGS_DIR may hold, in bytes; 0: no budget.
    pub logs_max_total_bytes: u64,
    /// LOGS_KEEP_REMOVED: how long a removed container's files are kept; `None`: for ever.
    pub logs_keep_removed: Option<Duration>,
    /// Address of the Prometheus endpoint.
    pub metrics_exporter_address: std::net::IpAddr,
    /// User and group to drop to when started as root; `None` keeps the user the process started as.
    pub run_as: Option<RunAs>,
    /// The host's cgroup tree to read stats from; `None`: ask the engine.
    pub cgroup_root: Option<PathBuf>,
    /// The host's /proc, for network counters on the cgroup path; `None`: none there.
    pub proc_root: Option<PathBuf>,
    /// The engine's containers directory, for reading json-file logs; `None`: ask the engine.
    pub container_logs_root: Option<PathBuf>,
    /// Which containers are watched.
    pub filter: crate::engine::filter::Filter,
    /// Which families beyond the reference ones are exported.
    pub metric_groups: crate::metrics::MetricGroups,
    /// Port of the logs browser; `None`: off.
    pub web_port: Option<u16>,
    /// Address of the logs browser.
    pub web_address: std::net::IpAddr,
    /// Base of links to the logs browser (no trailing `/`); empty: none given.
    pub web_external_url: String,
    /// Basic auth users for both ports.
    pub web_config_file: Option<PathBuf>,
    /// LOG_PATTERNS_PATH: the patterns whose matching lines are counted; `None`: none.
    pub log_patterns_path: Option<PathBuf>,
    /// Connections each port holds at once.
    pub max_connections: usize,
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

impl Config {
    /// Checks every raw setting and builds the configuration. The first bad setting, in the order of
    /// [`SETTINGS`], is reported; then whether the settings fit together.
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let mut config = Config::unset();
        for (setting, value) in SETTINGS.iter().zip(&args.values) {
            (setting.read)(value, &mut config).map_err(|expected| ConfigError::Invalid {
                name: setting.env,
                value: value.to_string_lossy().into_owned(),
                expected,
            })?;
        }
        config.once = args.once;
        let logs = config.logs_collection_interval.as_secs();
        let metrics = config.metrics_collection_interval.as_secs();
        if logs > metrics {
            return Err(ConfigError::LogsSlowerThanMetrics { logs, metrics });
        }
        config.check_budget()?;
        Ok(config)
    }

    /// Whether LOGS_MAX_TOTAL_BYTES fits the rotation: with no rotation nothing old can be
    /// deleted, and a budget below one current file can never be met.
    fn check_budget(&self) -> Result<(), ConfigError> {
        let budget = self.logs_max_total_bytes;
        let max_file = self.logs_container_max_file_size;
        if budget == 0 {
            return Ok(());
        }
        if max_file == 0 || self.logs_container_max_files == 0 {
            return Err(ConfigError::BudgetWithoutRotation { budget });
        }
        if budget < max_file {
            return Err(ConfigError::BudgetBelowFileSize { budget, max_file });
        }
        Ok(())
    }

    /// The `NAME: value` lines printed at start, in the order of [`SETTINGS`] (the Python tool's
    /// variables first, then the ones this collector added).
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        SETTINGS
            .iter()
            .map(|setting| (setting.env, (setting.show)(self)))
            .collect()
    }

    /// The start of [`Config::from_args`]: each field is then written by its entry of [`SETTINGS`]
    /// (`--once` aside), so none of these placeholders survives. The defaults test compares every
    /// field, which catches a field that no entry writes.
    fn unset() -> Config {
        Config {
            machine_name: String::new(),
            metrics_collection_interval: Duration::ZERO,
            logs_collection_interval: Duration::ZERO,
            max_collector_threads: 0,
            max_concurrent_requests: 0,
            metrics_exporter_port: 0,
            last_metrics_collected_at_file: PathBuf::new(),
            last_logs_collected_at_file: PathBuf::new(),
            logs_dir: PathBuf::new(),
            logs_container_max_files: 0,
            logs_container_max_file_size: 0,
            log_levels_mapping: MappingSource::DefaultPath(PathBuf::new()),
            default_logs_since_now: 0,
            docker_host: String::new(),
            log_level: LogLevel::Info,
            engine_timeout: Duration::ZERO,
            container_retention: Duration::ZERO,
            max_line_bytes: 0,
            logs_max_total_bytes: 0,
            logs_keep_removed: None,
            metrics_exporter_address: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            run_as: None,
            cgroup_root: None,
            proc_root: None,
            container_logs_root: None,
            filter: crate::engine::filter::Filter::default(),
            metric_groups: crate::metrics::MetricGroups::default(),
            web_port: None,
            web_address: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            web_external_url: String::new(),
            web_config_file: None,
            log_patterns_path: None,
            max_connections: 0,
            once: false,
        }
    }
}
