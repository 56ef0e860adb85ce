//! Console output in the Python tool's format:
//! `2024-02-11 19:15:47.998 [INFO] collector: Starting collector for local-machine machine!`
//!
//! Local time with milliseconds, the level as Python's logging spells it, and the module that speaks
//! (`collector`, `containers`, `logs_exporter`, `metrics_exporter`): the last segment of the tracing
//! target, which is the Rust module path.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogLevel;

/// Formats events like Python's `%(asctime)s.%(msecs)03d [%(levelname)s] %(module)s: %(message)s`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PythonFormat;

/// The module name shown for a tracing target such as `container_metrics::logs_exporter`.
pub fn module_name(target: &str) -> &str {
    match target.rsplit("::").next() {
        // The crate root and the binary speak as the collector, like collector.py's main.
        Some("container_metrics") | Some("container-metrics") | None => "collector",
        Some(module) => module,
    }
}

/// Python's name for a level.
pub fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

impl<S, N> FormatEvent<S, N> for PythonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write!(
            writer,
            "{} [{}] {}: ",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f"),
            level_name(meta.level()),
            module_name(meta.target()),
        )?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Sends this crate's events at `level` and above to standard error in the Python format. Other
/// crates' events (the HTTP stack's) are left out. Does nothing if a subscriber is already set.
pub fn init(level: LogLevel) {
    let level = match level {
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Info => Level::INFO,
        LogLevel::Warning => Level::WARN,
        LogLevel::Error => Level::ERROR,
    };
    let filter = Targets::new().with_target("container_metrics", level);
    let layer = tracing_subscriber::fmt::layer()
        .event_format(PythonFormat)
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_shown_is_the_last_part_of_the_target() {
        assert_eq!(module_name("container_metrics::collector"), "collector");
        assert_eq!(
            module_name("container_metrics::logs_exporter"),
            "logs_exporter"
        );
        assert_eq!(module_name("container_metrics"), "collector");
    }

    #[test]
    fn levels_are_named_as_pythons_logging_names_them() {
        assert_eq!(level_name(&Level::WARN), "WARNING");
        assert_eq!(level_name(&Level::INFO), "INFO");
        assert_eq!(level_name(&Level::ERROR), "ERROR");
    }
}
