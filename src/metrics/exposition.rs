//! One scrape's text, written family by family as the connection takes it.
//!
//! The families come in the order the registry's `gather` sorts them (by name): the table's own
//! are written from the table when their turn comes, the crate's few are gathered when the scrape
//! begins and go through the crate's `TextEncoder`.

use std::collections::VecDeque;

use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, GaugeVec, Registry, TextEncoder};

use super::error::MetricsError;
use super::families::Family;
use super::table::Table;
use super::text;

/// A scrape's chunks are at least this long (but for the last), and hold whole families.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// A family to write in an [`Exposition`].
enum Part {
    /// One of the table's, written from the table when its turn comes.
    Ours(&'static Family),
    /// One of the crate's, gathered when the scrape began.
    Theirs(MetricFamily),
}

/// Where a scrape finds the crate's families, beside the table's.
pub(super) enum Theirs<'a> {
    /// The exporter's own registry holds only these and the table: they are collected one by one
    /// and the table's families are written straight from the table, without `gather`.
    Known(&'a [Box<dyn Collector>]),
    /// A registry of the caller's, which may hold other families too: all are gathered, the
    /// table's included.
    Gathered(&'a Registry),
}

/// The chunks of one scrape's text, written as they are asked for (see
/// [`MetricsExporter::exposition`](crate::metrics::MetricsExporter::exposition)). Once the last is
/// handed out, `collector_series` says how many samples it held.
pub struct Exposition {
    table: Table,
    /// `collector_series`, set when the last chunk is out.
    series: GaugeVec,
    /// The `machine` label of `series`.
    machine: String,
    parts: VecDeque<Part>,
    samples: usize,
}

impl Exposition {
    /// The families of `table` and `theirs`, in the order the registry's `gather` gives them;
    /// `series` (`collector_series`) is set for `machine` once the last chunk is out.
    pub(super) fn new(
        table: &Table,
        theirs: Theirs<'_>,
        series: &GaugeVec,
        machine: &str,
    ) -> Exposition {
        let parts = match theirs {
            Theirs::Known(collectors) => in_name_order(table, collectors),
            Theirs::Gathered(registry) => registry.gather().into_iter().map(Part::Theirs).collect(),
        };
        Exposition {
            table: table.clone(),
            series: series.clone(),
            machine: machine.to_string(),
            parts,
            samples: 0,
        }
    }
}

/// The table's families and the crate's, merged by name as the registry's `gather` sorts them, so
/// the text is the same whether or not the table went through `gather`.
fn in_name_order(table: &Table, collectors: &[Box<dyn Collector>]) -> VecDeque<Part> {
    let mut parts = VecDeque::new();
    let mut theirs: Vec<MetricFamily> = collectors
        .iter()
        .flat_map(|c| c.collect())
        .filter(|f| !f.get_metric().is_empty())
        .collect();
    // As the registry does: series ordered by their label values, families by name.
    for f in &mut theirs {
        f.mut_metric().sort_by(|a, b| {
            a.get_label()
                .iter()
                .map(|l| l.value())
                .cmp(b.get_label().iter().map(|l| l.value()))
        });
    }
    theirs.sort_by(|a, b| a.name().cmp(b.name()));
    let mut theirs = theirs.into_iter().peekable();
    let mut ours = table.families.iter().peekable();
    loop {
        let take_ours = match (ours.peek(), theirs.peek()) {
            (Some(o), Some(t)) => o.name < t.name(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let part = if take_ours {
            ours.next().map(|f| Part::Ours(f))
        } else {
            theirs.next().map(Part::Theirs)
        };
        parts.extend(part);
    }
    parts
}

impl std::fmt::Debug for Exposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exposition")
            .field("parts_left", &self.parts.len())
            .field("samples", &self.samples)
            .finish()
    }
}

impl Iterator for Exposition {
    type Item = Result<Vec<u8>, MetricsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.parts.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        let table = &self.table;
        while out.len() < CHUNK_BYTES {
            let Some(part) = self.parts.pop_front() else {
                break;
            };
            let written = match &part {
                Part::Ours(family) => text::write_family(table, &table.lock(), family, &mut out)
                    .map_err(|e| MetricsError::Encode(e.into())),
                Part::Theirs(family) => TextEncoder::new()
                    .encode(std::slice::from_ref(family), &mut out)
                    .map(|()| family.get_metric().len())
                    .map_err(MetricsError::Encode),
            };
            match written {
                Ok(n) => self.samples += n,
                Err(e) => {
                    self.parts.clear();
                    return Some(Err(e));
                }
            }
        }
        if self.parts.is_empty() {
            self.series
                .with_label_values(&[self.machine.as_str()])
                .set(self.samples as f64);
        }
        Some(Ok(out))
    }
}
