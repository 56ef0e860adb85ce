//! The facade of the metrics side: [`MetricsExporter`], whose methods are named after what
//! happened (`on_container_metrics`, `on_log_lines`, `on_loop_end`). The families themselves stay
//! private, so every value goes through the rules of [`families`](super::families).
//!
//! The collector's own families (a few series) and `process_*` are the `prometheus` crate's; the
//! per-container ones are the [`Table`]'s.

use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::{CounterVec, GaugeVec, IntCounterVec, Opts, Registry};

use super::error::MetricsError;
use super::exposition::{Exposition, Theirs};
use super::groups::MetricGroups;
use super::table::Table;
use crate::container::ContainerMetrics;
use crate::logs::levels::Level;

/// The registry and the families the collector exports.
#[derive(Clone)]
pub struct MetricsExporter {
    registry: Registry,
    machine: String,
    collector_up: GaugeVec,
    collection_duration: GaugeVec,
    last_success: GaugeVec,
    engine_errors: IntCounterVec,
    log_lines_written: IntCounterVec,
    log_bytes_written: IntCounterVec,
    log_reads: IntCounterVec,
    logs_disk_bytes: GaugeVec,
    logs_deleted_bytes: IntCounterVec,
    refused_connects: IntCounterVec,
    pushback_seconds: CounterVec,
    /// `collector_series`, set by the [`Exposition`] once it is all out.
    series: GaugeVec,
    /// `collector_logs_browser_info`: where the logs browser is reached, for alert links.
    logs_browser: GaugeVec,
    /// Every container's series.
    table: Table,
    /// The crate's families (the collector's own, and `process_*` with a registry of its own), for
    /// encoding them between the table's.
    parts: Arc<Vec<Box<dyn Collector>>>,
    /// The registry holds only `parts` and `table` (made by [`MetricsExporter::new`]).
    own_registry: bool,
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
        let mut r = Registering {
            registry: &registry,
            parts: Vec::new(),
        };
        let collector_up = r.gauge(&COLLECTOR_UP)?;
        let collection_duration = r.gauge(&COLLECTION_DURATION)?;
        let last_success = r.gauge(&LAST_SUCCESS)?;
        let series = r.gauge(&SERIES)?;
        let logs_browser = r.gauge(&LOGS_BROWSER)?;
        let engine_errors = r.counter(&ENGINE_ERRORS)?;
        let log_lines_written = r.counter(&LOG_LINES_WRITTEN)?;
        let log_bytes_written = r.counter(&LOG_BYTES_WRITTEN)?;
        let log_reads = r.counter(&LOG_READS)?;
        let logs_disk_bytes = r.gauge(&LOGS_DISK_BYTES)?;
        let logs_deleted_bytes = r.counter(&LOGS_DELETED_BYTES)?;
        let refused_connects = r.counter(&REFUSED_CONNECTS)?;
        let pushback_seconds = r.float_counter(&PUSHBACK_SECONDS)?;
        let parts = r.parts;
        let table = Table::new(machine)?;
        registry.register(Box::new(table.clone()))?;
        let exporter = MetricsExporter {
            registry,
            machine: machine.to_string(),
            collector_up,
            collection_duration,
            last_success,
            engine_errors,
            log_lines_written,
            log_bytes_written,
            log_reads,
            logs_disk_bytes,
            logs_deleted_bytes,
            refused_connects,
            pushback_seconds,
            logs_browser,
            series,
            table,
            parts: Arc::new(parts),
            own_registry: false,
        };
        exporter.start_at_zero();
        Ok(exporter)
    }

    /// Makes the counters' series before anything is counted: they read 0 from the first scrape,
    /// so `rate()` and `increase()` see their first increase instead of starting from it.
    fn start_at_zero(&self) {
        let machine = self.machine.as_str();
        for kind in ["connection", "timeout", "status", "decode", "other"] {
            self.engine_errors.with_label_values(&[machine, kind]);
        }
        self.log_lines_written.with_label_values(&[machine]);
        self.log_bytes_written.with_label_values(&[machine]);
        for source in ["files", "engine"] {
            self.log_reads.with_label_values(&[machine, source]);
        }
        self.refused_connects.with_label_values(&[machine]);
        self.pushback_seconds.with_label_values(&[machine]);
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

    /// `n` more lines of `container` matched `pattern` (LOG_PATTERNS_PATH); with `n` 0 the series
    /// is made at 0, so `increase()` sees its first match.
    pub fn on_pattern_matches(&self, container: &str, pattern: &str, n: u64) {
        self.table
            .update(container, |series| series.count_matches(pattern, n));
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

    /// LOGS_DIR holds `kept_bytes` after a tick's budget pass, which deleted `deleted` bytes by
    /// reason. Only called when LOGS_MAX_TOTAL_BYTES or LOGS_KEEP_REMOVED is on; both reasons' series
    /// exist from the first call, at 0.
    pub fn on_logs_disk(&self, kept_bytes: u64, deleted: &[(&str, u64)]) {
        let machine = self.machine.as_str();
        self.logs_disk_bytes
            .with_label_values(&[machine])
            .set(kept_bytes as f64);
        for reason in ["budget", "removed"] {
            self.logs_deleted_bytes
                .with_label_values(&[machine, reason]);
        }
        for (reason, bytes) in deleted {
            self.logs_deleted_bytes
                .with_label_values(&[machine, reason])
                .inc_by(*bytes);
        }
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
        let theirs = if self.own_registry {
            Theirs::Known(&self.parts)
        } else {
            Theirs::Gathered(&self.registry)
        };
        Exposition::new(&self.table, theirs, &self.series, &self.machine)
    }
}

/// One of the collector's own families: its name, help and label names, defined once.
struct Def {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
}

const COLLECTOR_UP: Def = Def {
    name: "collector_up_timestamp_seconds",
    help: "Unix time at the end of the collector's last loop iteration.",
    labels: &["machine"],
};
const COLLECTION_DURATION: Def = Def {
    name: "collector_collection_duration_seconds",
    help: "Wall time of the collector's last collection, by kind (metrics or logs).",
    labels: &["machine", "kind"],
};
const LAST_SUCCESS: Def = Def {
    name: "collector_last_success_timestamp_seconds",
    help: "Unix time at the end of the last collection, by kind, in which no container failed.",
    labels: &["machine", "kind"],
};
const SERIES: Def = Def {
    name: "collector_series",
    help: "Samples in the previous exposition served (this family's own included).",
    labels: &["machine"],
};
const LOGS_BROWSER: Def = Def {
    name: "collector_logs_browser_info",
    help:
        "Where the logs browser of this machine is reached (WEB_EXTERNAL_URL), for links in alerts.",
    labels: &["machine", "url"],
};
const ENGINE_ERRORS: Def = Def {
    name: "collector_engine_errors_total",
    help: "Failed Docker Engine requests, by kind (connection, timeout, status, decode, other).",
    labels: &["machine", "kind"],
};
const LOG_LINES_WRITTEN: Def = Def {
    name: "collector_log_lines_written_total",
    help: "Log lines written to the containers' files.",
    labels: &["machine"],
};
const LOG_BYTES_WRITTEN: Def = Def {
    name: "collector_log_bytes_written_total",
    help: "Bytes written to the containers' log files, line ends included.",
    labels: &["machine"],
};
const LOG_READS: Def = Def {
    name: "collector_log_reads_total",
    help: "Reads of a container's new log lines, by where they were read from: the engine's json-file files (files) or the engine (engine).",
    labels: &["machine", "source"],
};
const LOGS_DISK_BYTES: Def = Def {
    name: "collector_logs_disk_bytes",
    help: "Bytes kept under LOGS_DIR (log files, cursors, time indexes): exact after each scan, plus what was written since (set when LOGS_MAX_TOTAL_BYTES or LOGS_KEEP_REMOVED is on).",
    labels: &["machine"],
};
const LOGS_DELETED_BYTES: Def = Def {
    name: "collector_logs_deleted_bytes_total",
    help: "Bytes of kept logs deleted, by reason: over LOGS_MAX_TOTAL_BYTES (budget) or a removed container past LOGS_KEEP_REMOVED (removed).",
    labels: &["machine", "reason"],
};
const REFUSED_CONNECTS: Def = Def {
    name: "collector_engine_refused_connects_total",
    help: "Connects the Docker Engine could not take at once (its listen queue full, or refused while it took others), each tried again after a pause.",
    labels: &["machine"],
};
const PUSHBACK_SECONDS: Def = Def {
    name: "collector_engine_pushback_seconds_total",
    help: "Time requests paused before trying a connect the Docker Engine could not take, added up over all requests.",
    labels: &["machine"],
};

/// Puts families into a registry and keeps them in `parts` too, for encoding beside the table.
struct Registering<'a> {
    registry: &'a Registry,
    parts: Vec<Box<dyn Collector>>,
}

impl Registering<'_> {
    /// Registers `family` and keeps a handle to it for the exposition.
    fn add<F: Collector + Clone + 'static>(&mut self, family: F) -> Result<F, MetricsError> {
        self.registry.register(Box::new(family.clone()))?;
        self.parts.push(Box::new(family.clone()));
        Ok(family)
    }

    /// A gauge family, registered.
    fn gauge(&mut self, def: &Def) -> Result<GaugeVec, MetricsError> {
        self.add(GaugeVec::new(Opts::new(def.name, def.help), def.labels)?)
    }

    /// An integer counter family, registered.
    fn counter(&mut self, def: &Def) -> Result<IntCounterVec, MetricsError> {
        self.add(IntCounterVec::new(
            Opts::new(def.name, def.help),
            def.labels,
        )?)
    }

    /// A counter family of fractions (seconds), registered.
    fn float_counter(&mut self, def: &Def) -> Result<CounterVec, MetricsError> {
        self.add(CounterVec::new(Opts::new(def.name, def.help), def.labels)?)
    }
}

#[cfg(test)]
mod tests;
