//! The facade of the metrics side: [`MetricsExporter`], whose methods are named after what
//! happened (`on_container_metrics`, `on_log_lines`, `on_loop_end`). The families themselves stay
//! private, so every value goes through the rules of [`families`](super::families).
//!
//! The collector's own families (a few series) and `process_*` are the `prometheus` crate's; the
//! per-container ones are the [`Table`]'s.

use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::{CounterVec, GaugeVec, IntCounterVec, Opts, Registry};

use super::exposition::Exposition;
use super::table::Table;
use super::MetricGroups;
use crate::container::ContainerMetrics;
use crate::logs::levels::Level;

/// Errors of the metrics side.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A family could not be created or registered (a name clash in an embedding program's registry).
    #[error("cannot register the metric families: {0}")]
    Register(#[from] prometheus::Error),
    /// The exposition could not be encoded.
    #[error("cannot encode the metrics: {0}")]
    Encode(prometheus::Error),
}

/// The registry and the families the collector exports.
#[derive(Clone)]
pub struct MetricsExporter {
    pub(super) registry: Registry,
    pub(super) machine: String,
    collector_up: GaugeVec,
    collection_duration: GaugeVec,
    last_success: GaugeVec,
    engine_errors: IntCounterVec,
    log_lines_written: IntCounterVec,
    log_bytes_written: IntCounterVec,
    log_reads: IntCounterVec,
    refused_connects: IntCounterVec,
    pushback_seconds: CounterVec,
    /// `collector_series`, set by the [`Exposition`] once it is all out.
    pub(super) series: GaugeVec,
    /// `collector_logs_browser_info`: where the logs browser is reached, for alert links.
    logs_browser: GaugeVec,
    /// Every container's series.
    pub(super) table: Table,
    /// The crate's families (the collector's own, and `process_*` with a registry of its own), for
    /// encoding them between the table's.
    pub(super) parts: Arc<Vec<Box<dyn Collector>>>,
    /// The registry holds only `parts` and `table` (made by [`MetricsExporter::new`]).
    pub(super) own_registry: bool,
}

/// What a collection was about: the `kind` label of the collector's own families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// CPU and memory of every container.
    Metrics,
    /// New log lines of every container.
    Logs,
}

impl Collection {
    fn as_str(self) -> &'static str {
        match self {
            Collection::Metrics => "metrics",
            Collection::Logs => "logs",
        }
    }
}

impl std::fmt::Debug for MetricsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExporter")
            .field("machine", &self.machine)
            .finish_non_exhaustive()
    }
}

impl MetricsExporter {
    /// Families in a fresh registry that also carries the `process_*` families of this process.
    pub fn new(machine: &str) -> Result<MetricsExporter, MetricsError> {
        MetricsExporter::own(machine, true)
    }

    /// Families in a fresh registry; with the `process_*` ones when `process` (tests leave them out,
    /// as their values change between two reads).
    fn own(machine: &str, process: bool) -> Result<MetricsExporter, MetricsError> {
        let registry = Registry::new();
        let mut m = MetricsExporter::with_registry(registry.clone(), machine)?;
        if process {
            let process = prometheus::process_collector::ProcessCollector::for_self;
            registry.register(Box::new(process()))?;
            // Every family of this registry is known: encode them without `gather` (see `encode`).
            if let Some(list) = Arc::get_mut(&mut m.parts) {
                list.push(Box::new(process()));
            }
        }
        m.own_registry = true;
        Ok(m)
    }

    /// Families registered in a registry of the caller's (for programs that embed the collector).
    pub fn with_registry(
        registry: Registry,
        machine: &str,
    ) -> Result<MetricsExporter, MetricsError> {
        let mut parts: Vec<Box<dyn Collector>> = Vec::new();
        // Each family goes into the registry, and into `parts` for encoding beside the table.
        let mut gauge = |name: &str, help: &str, labels: &[&str]| {
            let family = GaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(family.clone()))?;
            parts.push(Box::new(family.clone()));
            Ok::<_, MetricsError>(family)
        };
        let collector_up = gauge(
            "collector_up_timestamp_seconds",
            "Unix time at the end of the collector's last loop iteration.",
            &["machine"],
        )?;
        let collection_duration = gauge(
            "collector_collection_duration_seconds",
            "Wall time of the collector's last collection, by kind (metrics or logs).",
            &["machine", "kind"],
        )?;
        let last_success = gauge(
            "collector_last_success_timestamp_seconds",
            "Unix time at the end of the last collection, by kind, in which no container failed.",
            &["machine", "kind"],
        )?;
        let series = gauge(
            "collector_series",
            "Samples in the previous exposition served (this family's own included).",
            &["machine"],
        )?;
        let logs_browser = gauge(
            "collector_logs_browser_info",
            "Where the logs browser of this machine is reached (WEB_EXTERNAL_URL), for links in alerts.",
            &["machine", "url"],
        )?;
        let mut counter = |name: &str, help: &str, labels: &[&str]| {
            let family = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(family.clone()))?;
            parts.push(Box::new(family.clone()));
            Ok::<_, MetricsError>(family)
        };
        let engine_errors = counter(
            "collector_engine_errors_total",
            "Failed Docker Engine requests, by kind (connection, timeout, status, decode, other).",
            &["machine", "kind"],
        )?;
        let log_lines_written = counter(
            "collector_log_lines_written_total",
            "Log lines written to the containers' files.",
            &["machine"],
        )?;
        let log_bytes_written = counter(
            "collector_log_bytes_written_total",
            "Bytes written to the containers' log files, line ends included.",
            &["machine"],
        )?;
        let log_reads = counter(
            "collector_log_reads_total",
            "Reads of a container's new log lines, by where they were read from: the engine's json-file files (files) or the engine (engine).",
            &["machine", "source"],
        )?;
        let refused_connects = counter(
            "collector_engine_refused_connects_total",
            "Connects the Docker Engine could not take at once (its listen queue full, or refused while it took others), each tried again after a pause.",
            &["machine"],
        )?;
        let pushback_seconds = {
            let family = CounterVec::new(
                Opts::new(
                    "collector_engine_pushback_seconds_total",
                    "Time requests paused before trying a connect the Docker Engine could not take, added up over all requests.",
                ),
                &["machine"],
            )?;
            registry.register(Box::new(family.clone()))?;
            parts.push(Box::new(family.clone()));
            family
        };
        let table = Table::new(machine)?;
        registry.register(Box::new(table.clone()))?;
        for kind in ["connection", "timeout", "status", "decode", "other"] {
            engine_errors.with_label_values(&[machine, kind]);
        }
        log_lines_written.with_label_values(&[machine]);
        log_bytes_written.with_label_values(&[machine]);
        for source in ["files", "engine"] {
            log_reads.with_label_values(&[machine, source]);
        }
        refused_connects.with_label_values(&[machine]);
        pushback_seconds.with_label_values(&[machine]);
        Ok(MetricsExporter {
            registry,
            machine: machine.to_string(),
            collector_up,
            collection_duration,
            last_success,
            engine_errors,
            log_lines_written,
            log_bytes_written,
            log_reads,
            refused_connects,
            pushback_seconds,
            logs_browser,
            series,
            table,
            parts: Arc::new(parts),
            own_registry: false,
        })
    }

    /// Exports only these groups of the families beyond the reference ones (all of them until
    /// this is called). Clones share their series, and so the groups set here.
    pub fn with_groups(self, groups: MetricGroups) -> MetricsExporter {
        self.table.set_groups(groups);
        self
    }

    /// The registry holding the families.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A metrics collection succeeded for `container`.
    pub fn on_container_metrics(&self, container: &str, m: &ContainerMetrics) {
        self.table.update(container, |series| series.record(m));
    }

    /// `n` lines of `level` were written for `container`. A level's series exists once a line of it
    /// was counted, as the Python client made it: users' rules such as `increase(
    /// container_logs_total{level="error"}[5m])` with no comparison fire for every series they get,
    /// so a series at 0 for a quiet container would page for it.
    pub fn on_log_lines(&self, container: &str, level: Level, n: u64) {
        self.table
            .update(container, |series| series.count_lines(level, n));
    }

    /// `container` is gone for good: its series leave the exposition.
    pub fn forget(&self, container: &str) {
        self.table.forget(container);
    }

    /// A collection of `kind` took `seconds`; `clean` when no container failed.
    pub fn on_collection(&self, kind: Collection, seconds: f64, clean: bool, unix_secs: i64) {
        let labels = [self.machine.as_str(), kind.as_str()];
        self.collection_duration
            .with_label_values(&labels)
            .set(seconds);
        if clean {
            self.last_success
                .with_label_values(&labels)
                .set(unix_secs as f64);
        }
    }

    /// An engine request failed; `kind` is the engine error's kind (connection, timeout, status,
    /// decode, other).
    pub fn on_engine_error(&self, kind: &str) {
        self.engine_errors
            .with_label_values(&[self.machine.as_str(), kind])
            .inc();
    }

    /// The engine could not take `refused` connects at once; requests paused `paused_seconds` in all
    /// before trying them again.
    pub fn on_engine_pushback(&self, refused: u64, paused_seconds: f64) {
        let machine = [self.machine.as_str()];
        self.refused_connects
            .with_label_values(&machine)
            .inc_by(refused);
        self.pushback_seconds
            .with_label_values(&machine)
            .inc_by(paused_seconds);
    }

    /// `lines` lines of `bytes` bytes in all reached the files (counted at the commit).
    pub fn on_log_written(&self, lines: u64, bytes: u64) {
        let machine = [self.machine.as_str()];
        self.log_lines_written
            .with_label_values(&machine)
            .inc_by(lines);
        self.log_bytes_written
            .with_label_values(&machine)
            .inc_by(bytes);
    }

    /// Containers' logs were read: `from_files` of them from the engine's json-file files,
    /// `from_engine` from the engine.
    pub fn on_log_reads(&self, from_files: u64, from_engine: u64) {
        for (source, n) in [("files", from_files), ("engine", from_engine)] {
            self.log_reads
                .with_label_values(&[self.machine.as_str(), source])
                .inc_by(n);
        }
    }

    /// The logs browser is reached at `url` (no trailing `/`): alerts link to its pages from
    /// `collector_logs_browser_info`'s `url` label.
    pub fn on_logs_browser(&self, url: &str) {
        self.logs_browser
            .with_label_values(&[self.machine.as_str(), url])
            .set(1.0);
    }

    /// A loop iteration ended at `unix_secs`.
    pub fn on_loop_end(&self, unix_secs: i64) {
        self.collector_up
            .with_label_values(&[self.machine.as_str()])
            .set(unix_secs as f64);
    }

    /// The text exposition (format 0.0.4) of every family in the registry, whole.
    ///
    /// With a registry of its own, the per-container families are written straight from the table
    /// and only the crate's few families go through the crate's encoder; the text is the same as the
    /// registry's `gather` and `TextEncoder` give, families sorted by name.
    pub fn encode(&self) -> Result<Vec<u8>, MetricsError> {
        let mut out = Vec::new();
        for chunk in self.exposition() {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// The same text as [`MetricsExporter::encode`], in chunks of about
    /// `CHUNK_BYTES` (64 KiB) written one at a time as the iterator is advanced: a
    /// scrape of 1000 containers (a few MB of text) then holds one chunk at a time instead of the
    /// whole text. Each family is written from the table as it is at that moment.
    pub fn exposition(&self) -> Exposition {
        Exposition::new(self)
    }
}

#[cfg(test)]
mod tests;
