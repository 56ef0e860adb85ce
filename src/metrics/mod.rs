//! The metrics side.

mod exporter;
mod http;

pub use exporter::*;
pub use http::{serve, CONTENT_TYPE_TEXT};
