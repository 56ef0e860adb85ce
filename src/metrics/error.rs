//! The one error type of the metrics side, in a room of its own so that the table, the exposition
//! and the exporter all name it without importing one another.

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
