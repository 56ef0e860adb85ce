//! The metrics side: the Prometheus families of the Python tool, with the same names, label sets
//! and value rules, plus the `process_*` families of the collector itself, and the endpoint that
//! serves them.
//!
//! Data flows one way. The collector hands each container's samples
//! ([`ContainerMetrics`](crate::container::ContainerMetrics)) and log counts to the
//! [`MetricsExporter`]'s `on_*` methods; the value rules of `families` turn them into one row of
//! plain numbers per container in the `table`; on a scrape, [`serve`] asks for an [`Exposition`],
//! which writes the table's families with the hand-written `text` encoder and the crate's few
//! families with its own encoder, in name order, a chunk at a time. [`MetricGroups`]
//! (METRIC_GROUPS) says which families beyond the reference ones are written out.
//!
//! A program that embeds the collector can have the families in its own registry instead
//! ([`MetricsExporter::with_registry`]): the table is also a `prometheus` collector.
//!
//! Inside, the imports go one way, from the door down: `http` serves the `exporter`; the `exporter`
//! asks the `exposition` for a scrape's text; the `exposition` writes the `table` with `text`; the
//! `table` holds rows by the rules of `families`, filtered by `groups`. All of them name the one
//! error type, which sits in `error` and imports none of them.

mod error;
mod exporter;
mod exposition;
mod families;
mod groups;
mod http;
mod table;
mod text;

pub use error::MetricsError;
pub use exporter::{Collection, MetricsExporter};
pub use groups::{Group, MetricGroups};
pub use http::{default_limits, serve};
