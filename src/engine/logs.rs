//! What a logs request brings, in the collector's own words, so the logs side does not depend on the
//! client library.

use bollard::container::LogOutput;
use bytes::Bytes;

use super::error::EngineError;

/// One piece of a logs answer: the one type a stdout or stderr chunk has from the engine client,
/// which converts the client library's item into it once, to the line assembler, which reads it.
/// `B` holds the bytes: [`Bytes`] as the answer brings them, `&[u8]` where they are only looked at
/// ([`LogChunk::view`]), so the assembler (and a benchmark or a fuzz target) needs no copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogChunk<B = Bytes> {
    /// One stdout entry of a container without a TTY: a timestamp, a space, then the text.
    Stdout(B),
    /// One stderr entry of a container without a TTY.
    Stderr(B),
    /// Bytes that came without a frame header: the log of a TTY container, or the tail of an answer
    /// that was cut inside a frame.
    Console(B),
}

impl<B: AsRef<[u8]>> LogChunk<B> {
    /// The same chunk, its bytes borrowed.
    pub fn view(&self) -> LogChunk<&[u8]> {
        match self {
            LogChunk::Stdout(bytes) => LogChunk::Stdout(bytes.as_ref()),
            LogChunk::Stderr(bytes) => LogChunk::Stderr(bytes.as_ref()),
            LogChunk::Console(bytes) => LogChunk::Console(bytes.as_ref()),
        }
    }
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

/// Where the engine keeps a container's log, as its inspect answer says: what the logs side needs to
/// read the log from the engine's own files instead of asking for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// `LogPath`: the engine's json-file log, on the engine's host (e.g.
    /// `/var/lib/docker/containers/<id>/<id>-json.log`); `None` for any other log driver.
    pub path: Option<std::path::PathBuf>,
    /// `Config.Tty`: the entries are a terminal's output (lines end with `\r\n`).
    pub tty: bool,
}

impl LogFile {
    pub(super) fn from_inspect(inspect: &bollard::models::ContainerInspectResponse) -> LogFile {
        let driver = inspect
            .host_config
            .as_ref()
            .and_then(|h| h.log_config.as_ref())
            .and_then(|l| l.typ.as_deref());
        LogFile {
            path: inspect
                .log_path
                .as_deref()
                .filter(|p| !p.is_empty() && driver == Some("json-file"))
                .map(std::path::PathBuf::from),
            tty: inspect.config.as_ref().and_then(|c| c.tty).unwrap_or(false),
        }
    }
}

impl<B: AsRef<[u8]>> AsRef<[u8]> for LogChunk<B> {
    fn as_ref(&self) -> &[u8] {
        match self {
            LogChunk::Stdout(bytes) | LogChunk::Stderr(bytes) | LogChunk::Console(bytes) => {
                bytes.as_ref()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_frame_keeps_its_stream_and_stdin_frames_are_left_out() {
        let frame = |output| LogChunk::from_engine(Ok(output)).map(|c| c.expect("a chunk"));
        let text = Bytes::from_static(b"2026-11-24T18:54:51.5Z hello");
        assert_eq!(
            frame(LogOutput::StdOut {
                message: text.clone()
            }),
            Some(LogChunk::Stdout(text.clone()))
        );
        assert_eq!(
            frame(LogOutput::StdErr {
                message: text.clone()
            }),
            Some(LogChunk::Stderr(text.clone()))
        );
        assert_eq!(
            frame(LogOutput::Console {
                message: text.clone()
            }),
            Some(LogChunk::Console(text.clone()))
        );
        assert_eq!(frame(LogOutput::StdIn { message: text }), None);
        let chunk = LogChunk::Stderr(Bytes::from_static(b"x"));
        assert_eq!(chunk.as_ref(), b"x");
        assert_eq!(chunk.view(), LogChunk::Stderr(&b"x"[..]));
    }

    #[test]
    fn the_log_file_is_the_inspect_answers_log_path_for_json_file_only() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/docker-26.1/container_t1_inspect.json"
        );
        let mut inspect: bollard::models::ContainerInspectResponse =
            serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("inspect");
        let recorded = inspect.log_path.clone().expect("a LogPath");
        assert!(recorded.ends_with("-json.log"), "{recorded}");
        let file = LogFile::from_inspect(&inspect);
        assert_eq!(file.path, Some(std::path::PathBuf::from(&recorded)));
        assert!(!file.tty);
        inspect.config.as_mut().expect("config").tty = Some(true);
        assert!(LogFile::from_inspect(&inspect).tty);
        let log_config = inspect
            .host_config
            .as_mut()
            .and_then(|h| h.log_config.as_mut())
            .expect("a log config");
        log_config.typ = Some("local".into());
        assert_eq!(LogFile::from_inspect(&inspect).path, None, "another driver");
        inspect.host_config = None;
        assert_eq!(LogFile::from_inspect(&inspect).path, None, "no driver said");
    }

    #[test]
    fn a_404_in_the_middle_of_a_read_says_the_container_is_gone() {
        let gone = bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "no such container".into(),
        };
        let item = LogChunk::from_engine(Err(gone));
        assert!(matches!(item, Some(Err(e)) if e.is_gone()));
    }
}
