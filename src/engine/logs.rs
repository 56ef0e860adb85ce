//! What a logs request brings, in the collector's own words, so the logs side does not depend on the
//! client library.

use bollard::container::LogOutput;
use bytes::Bytes;

use super::error::EngineError;

/// One piece of a logs answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogChunk {
    /// One stdout entry of a container without a TTY: a timestamp, a space, then the text.
    Stdout(Bytes),
    /// One stderr entry of a container without a TTY.
    Stderr(Bytes),
    /// Bytes that came without a frame header: the log of a TTY container, or the tail of an answer
    /// that was cut inside a frame.
    Console(Bytes),
}

impl LogChunk {
    /// The chunk the client's item stands for; `None` for stdin frames, which a logs request for
    /// stdout and stderr does not ask for, so the logs side never sees them.
    pub(super) fn from_engine(
        item: Result<LogOutput, bollard::errors::Error>,
    ) -> Option<Result<LogChunk, EngineError>> {
        match item {
            Ok(LogOutput::StdOut { message }) => Some(Ok(LogChunk::Stdout(message))),
            Ok(LogOutput::StdErr { message }) => Some(Ok(LogChunk::Stderr(message))),
            Ok(LogOutput::Console { message }) => Some(Ok(LogChunk::Console(message))),
            Ok(LogOutput::StdIn { .. }) => None,
            Err(e) => Some(Err(e.into())),
        }
    }
}

impl AsRef<[u8]> for LogChunk {
    fn as_ref(&self) -> &[u8] {
        match self {
            LogChunk::Stdout(bytes) | LogChunk::Stderr(bytes) | LogChunk::Console(bytes) => bytes,
        }
    }
}
