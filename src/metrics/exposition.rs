//! One scrape's text, written family by family as the connection takes it.
//!
//! The families come in the order the registry's `gather` sorts them (by name): the table's own
//! are written from the table when their turn comes, the crate's few are gathered when the scrape
//! begins and go through the crate's `TextEncoder`.

use std::collections::VecDeque;

use prometheus::proto::MetricFamily;
use prometheus::{Encoder, TextEncoder};

use super::families::Family;
use super::{text, MetricsError, MetricsExporter};

/// A scrape's chunks are at least this long (but for the last), and hold whole families.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// A family to write in an [`Exposition`].
enum Part {
    /// One of the table's, written from the table when its turn comes.
    Ours(&'static Family),
    /// One of the crate's, gathered when the scrape began.
    Theirs(MetricFamily),
}

/// The chunks of one scrape's text, written as they are asked for (see
/// [`MetricsExporter::exposition`]). Once the last is handed out, `collector_series` says how many
/// samples it held.
pub struct Exposition {
    exporter: MetricsExporter,
    parts: VecDeque<Part>,
    samples: usize,
}

impl Exposition {
    /// The families of `exporter`'s registry, in the order the registry's `gather` gives them.
    pub(super) fn new(exporter: &MetricsExporter) -> Exposition {
        let mut parts = VecDeque::new();
        if exporter.own_registry {
            let mut theirs: Vec<MetricFamily> = exporter
                .parts
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
            let mut ours = exporter.table.families.iter().peekable();
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
        } else {
            parts.extend(exporter.registry.gather().into_iter().map(Part::Theirs));
        }
        Exposition {
            exporter: exporter.clone(),
            parts,
            samples: 0,
        }
    }
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
        let table = &self.exporter.table;
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
            let exporter = &self.exporter;
            exporter
                .series
                .with_label_values(&[exporter.machine.as_str()])
                .set(self.samples as f64);
        }
        Some(Ok(out))
    }
}
