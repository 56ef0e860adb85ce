//! What can go wrong talking to the engine, and the two questions every caller asks of it: which
//! `kind` it counts as, and whether it only says the container is gone.

use bollard::errors::Error as BollardError;

/// Errors talking to the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// DOCKER_HOST could not be used.
    #[error("cannot use DOCKER_HOST {host}: {source}")]
    Host {
        /// The address given.
        host: String,
        /// Why.
        source: BollardError,
    },
    /// A request failed.
    #[error("{}", with_causes(.0))]
    Request(#[from] BollardError),
    /// The engine took longer than ENGINE_TIMEOUT.
    #[error("no answer within ENGINE_TIMEOUT")]
    Timeout,
}

impl EngineError {
    /// The `kind` label of `collector_engine_errors_total`: connection, timeout, status, decode or
    /// other.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::Host { .. } => "connection",
            EngineError::Timeout => "timeout",
            EngineError::Request(_) if self.is_unreadable() => "decode",
            EngineError::Request(e) => match e {
                BollardError::DockerResponseServerError { .. } => "status",
                BollardError::RequestTimeoutError => "timeout",
                BollardError::IOError { .. }
                | BollardError::HyperResponseError { .. }
                | BollardError::HyperLegacyError { .. } => "connection",
                _ => "other",
            },
        }
    }

    /// True when the engine said the container does not exist (any more): it was removed between
    /// the list and this request, which is no failure.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            EngineError::Request(BollardError::DockerResponseServerError {
                status_code: 404,
                ..
            })
        )
    }

    /// True when the engine answered, but with JSON the client cannot read.
    pub(super) fn is_unreadable(&self) -> bool {
        matches!(
            self,
            EngineError::Request(
                BollardError::JsonSerdeError { .. } | BollardError::JsonDataError { .. }
            )
        )
    }
}

/// An error and its causes on one line: bollard's own text ("client error (Connect)") rarely says why.
pub(super) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> EngineError {
        EngineError::Request(BollardError::DockerResponseServerError {
            status_code: code,
            message: "no such container".into(),
        })
    }

    #[test]
    fn only_a_404_means_the_container_is_gone() {
        assert!(status(404).is_gone());
        assert!(!status(500).is_gone());
        assert!(!EngineError::Timeout.is_gone());
    }

    #[test]
    fn each_error_counts_under_its_kind() {
        let unreadable = serde_json::from_str::<u32>("x")
            .map_err(|err| EngineError::Request(BollardError::JsonSerdeError { err }));
        let table = [
            (status(404), "status"),
            (status(500), "status"),
            (EngineError::Timeout, "timeout"),
            (
                EngineError::Request(BollardError::RequestTimeoutError),
                "timeout",
            ),
            (unreadable.expect_err("not a number"), "decode"),
            (
                EngineError::Request(BollardError::IOError {
                    err: std::io::Error::other("refused"),
                }),
                "connection",
            ),
            (
                EngineError::Host {
                    host: "unix:///nowhere".into(),
                    source: BollardError::SocketNotFoundError("/nowhere".into()),
                },
                "connection",
            ),
            (
                EngineError::Request(BollardError::SocketNotFoundError("/nowhere".into())),
                "other",
            ),
        ];
        for (error, kind) in table {
            assert_eq!(error.kind(), kind, "{error}");
        }
    }
}
