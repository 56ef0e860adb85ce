//! The table of every container's series, and its adapter to the `prometheus` crate.
//!
//! The per-container families (about 33 series a container) are plain numbers here rather than
//! crate families: the crate would keep a protobuf structure for every series, which with 1000
//! containers costs most of a scrape's time and several MiB. The text encoder writes the table
//! straight out; the [`Collector`] impl lets a registry (the embedding program's, or the tests')
//! gather it like any family.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};

use super::error::MetricsError;
use super::families::{
    ContainerSeries, Family, Shape, FAMILIES, HEALTH_BY_LABEL, HEALTH_STATES, LEVELS_BY_LABEL,
};
use super::groups::MetricGroups;
use crate::container::ContainerName;

/// The labels of one series, names sorted, as the crate writes them.
pub(super) type Labels<'a> = [(&'static str, &'a str)];

/// The table of every container's series; a crate [`Collector`] of the per-container families.
///
/// Clones share the rows: the clone in a registry gathers what the exporter records.
#[derive(Clone)]
pub(super) struct Table {
    machine: Arc<str>,
    /// [`FAMILIES`] sorted by name, the order of the exposition.
    pub(super) families: Arc<[&'static Family]>,
    /// In the order of `families`.
    descs: Arc<Vec<Desc>>,
    rows: Arc<Mutex<Rows>>,
}

/// What the table holds: every container's series, and which groups of families are written out.
#[derive(Debug, Default)]
pub(super) struct Rows {
    /// Shared with the registry's clone of the table, which is registered before the groups are
    /// set (see [`MetricsExporter::with_groups`](super::MetricsExporter::with_groups)).
    groups: MetricGroups,
    containers: Containers,
}

/// Every container's series, by the container's name: the order of the exposition.
type Containers = BTreeMap<ContainerName, ContainerSeries>;

impl Table {
    pub(super) fn new(machine: &str) -> Result<Table, MetricsError> {
        let mut families: Vec<&'static Family> = FAMILIES.iter().collect();
        families.sort_by_key(|f| f.name);
        let descs = families
            .iter()
            .map(|f| {
                let labels = f.label_names().iter().map(|l| l.to_string()).collect();
                Desc::new(
                    f.name.to_string(),
                    f.help.to_string(),
                    labels,
                    Default::default(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Table {
            machine: machine.into(),
            families: families.into(),
            descs: Arc::new(descs),
            rows: Arc::default(),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Rows> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on, writes out only the families of `groups` (and the reference ones).
    pub(super) fn set_groups(&self, groups: MetricGroups) {
        self.lock().groups = groups;
    }

    /// Runs `f` on `container`'s series, made empty if the container had none. A `&str`, as the
    /// exporter's public methods take it: the key is made only for a container not yet known.
    pub(super) fn update(&self, container: &str, f: impl FnOnce(&mut ContainerSeries)) {
        let mut rows = self.lock();
        let containers = &mut rows.containers;
        // No new key is allocated for a container already known, the common case.
        if let Some(series) = containers.get_mut(container) {
            return f(series);
        }
        f(containers
            .entry(ContainerName::from(container))
            .or_default())
    }

    pub(super) fn forget(&self, container: &str) {
        self.lock().containers.remove(container);
    }

    /// Calls `sample` for every series of `family`, in the order the registry's `gather` sorts them
    /// (by label values, labels in name order), with its labels in name order; for none if the
    /// family's group is off.
    pub(super) fn each_series(
        &self,
        rows: &Rows,
        family: &Family,
        mut sample: impl FnMut(&Labels<'_>, f64),
    ) {
        if !rows.groups.exports(family.group) {
            return;
        }
        let containers = &rows.containers;
        let m = &*self.machine;
        match family.shape {
            Shape::Single(get) => single_series(containers, m, get, &mut sample),
            Shape::Logs => logs_series(containers, m, &mut sample),
            Shape::Patterns => pattern_series(containers, m, &mut sample),
            Shape::Network(i) => network_series(containers, m, i, &mut sample),
            Shape::Health => health_series(containers, m, &mut sample),
            Shape::Info => info_series(containers, m, &mut sample),
        }
    }
}

/// A [`Shape::Single`] family: one series a container, when `get` has a value for it.
fn single_series(
    containers: &Containers,
    m: &str,
    get: fn(&ContainerSeries) -> Option<f64>,
    sample: &mut impl FnMut(&Labels<'_>, f64),
) {
    for (c, s) in containers {
        if let Some(v) = get(s) {
            sample(&[("container", c.as_str()), ("machine", m)], v);
        }
    }
}

/// `container_logs_total`: a series for each level a container has had a line of.
fn logs_series(containers: &Containers, m: &str, sample: &mut impl FnMut(&Labels<'_>, f64)) {
    for (c, s) in containers {
        for level in LEVELS_BY_LABEL {
            if let Some(n) = &s.logs[level.index()] {
                let labels = [
                    ("container", c.as_str()),
                    ("level", level.as_str()),
                    ("machine", m),
                ];
                sample(&labels, *n as f64);
            }
        }
    }
}

/// `container_log_pattern_matches_total`: a series for each pattern counted for a container.
fn pattern_series(containers: &Containers, m: &str, sample: &mut impl FnMut(&Labels<'_>, f64)) {
    for (c, s) in containers {
        for (pattern, n) in &s.patterns {
            let labels = [
                ("container", c.as_str()),
                ("machine", m),
                ("pattern", &**pattern),
            ];
            sample(&labels, *n as f64);
        }
    }
}

/// A `container_network_*` family: a series for each interface of a container, with the counter
/// at index `i`.
fn network_series(
    containers: &Containers,
    m: &str,
    i: usize,
    sample: &mut impl FnMut(&Labels<'_>, f64),
) {
    for (c, s) in containers {
        for (interface, values) in &s.interfaces {
            let labels = [
                ("container", c.as_str()),
                ("interface", interface.as_str()),
                ("machine", m),
            ];
            sample(&labels, values[i] as f64);
        }
    }
}

/// `container_health_status`: for a container with a health check, a series for each state, 1 for
/// the one it is in.
fn health_series(containers: &Containers, m: &str, sample: &mut impl FnMut(&Labels<'_>, f64)) {
    for (c, s) in containers {
        if let Some(state) = s.health {
            for i in HEALTH_BY_LABEL {
                let on = if i == state { 1.0 } else { 0.0 };
                let labels = [
                    ("container", c.as_str()),
                    ("machine", m),
                    ("status", HEALTH_STATES[i]),
                ];
                sample(&labels, on);
            }
        }
    }
}

/// `container_info`: a series a container whose labels carry the values, sorted by those labels
/// as `gather` sorts them.
fn info_series(containers: &Containers, m: &str, sample: &mut impl FnMut(&Labels<'_>, f64)) {
    // The first label is not the container's name: these series sort otherwise.
    let mut rows: Vec<(&str, &[String; 4])> = containers
        .iter()
        .filter_map(|(c, s)| Some((c.as_str(), s.info.as_ref()?)))
        .collect();
    fn key<'a>((c, v): &(&'a str, &'a [String; 4])) -> [&'a str; 5] {
        [&v[2], &v[3], c, &v[0], &v[1]]
    }
    rows.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
    for (c, v) in rows {
        let labels = [
            ("compose_project", v[2].as_str()),
            ("compose_service", v[3].as_str()),
            ("container", c),
            ("id", v[0].as_str()),
            ("image", v[1].as_str()),
            ("machine", m),
        ];
        sample(&labels, 1.0);
    }
}

impl Collector for Table {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let rows = self.lock();
        let mut families = Vec::new();
        for family in self.families.iter() {
            let mut metrics = Vec::new();
            self.each_series(&rows, family, |labels, value| {
                let mut pairs: Vec<LabelPair> = labels
                    .iter()
                    .map(|(name, value)| {
                        let mut pair = LabelPair::default();
                        pair.set_name(name.to_string());
                        pair.set_value(value.to_string());
                        pair
                    })
                    .collect();
                // As the crate's own metrics do; the direct encoder relies on `labels`' order.
                pairs.sort();
                let mut metric = proto::Metric::from_label(pairs);
                if family.counter {
                    let mut c = proto::Counter::default();
                    c.set_value(value);
                    metric.set_counter(c);
                } else {
                    let mut g = proto::Gauge::default();
                    g.set_value(value);
                    metric.set_gauge(g);
                }
                metrics.push(metric);
            });
            let mut f = MetricFamily::default();
            f.set_name(family.name.to_string());
            f.set_help(family.help.to_string());
            f.set_field_type(if family.counter {
                MetricType::COUNTER
            } else {
                MetricType::GAUGE
            });
            f.set_metric(metrics);
            families.push(f);
        }
        families
    }
}
