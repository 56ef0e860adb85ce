//! The stats requests, on hyper's single-connection HTTP/1.1 client.
//!
//! A stats request waits for the engine's sampler (up to 1 s one-shot, 1-2 s plain), so a collection
//! of 1000 containers in about a second has 1000 of them in flight at once. Through hyper's pooled
//! client each cost about 22 KiB while it waited: the connection's read buffer, its dispatch channel,
//! its task and the pool's futures (measured with heaptrack, see BENCHMARKS.md). Here each request
//! has a connection of its own (`Connection: close`, as bollard's own clients do), driven in the
//! request's own future rather than a task of its own, with a small fixed read buffer; the pool, its
//! futures and the connection task are gone. The other requests (list, inspect, logs) keep going
//! through hyper's pool.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::pin;

use bollard::errors::Error as BollardError;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{ACCEPT, CONNECTION, HOST, USER_AGENT};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use super::pushback::{io_kind, Pushback};

/// Where the engine listens, for the stats requests.
#[derive(Debug, Clone)]
pub(super) enum StatsHost {
    /// A unix socket's path.
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

impl StatsHost {
    /// The address of DOCKER_HOST, when it is one this client speaks to (unix://, tcp://, http://).
    pub(super) fn parse(docker_host: &str) -> Option<StatsHost> {
        if let Some(path) = docker_host.strip_prefix("unix://") {
            return Some(StatsHost::Unix(PathBuf::from(path)));
        }
        docker_host
            .strip_prefix("tcp://")
            .or_else(|| docker_host.strip_prefix("http://"))
            .map(|a| StatsHost::Tcp(a.trim_end_matches('/').to_string()))
    }

    /// One stats answer of the container `id`, not streamed, asked with the API `version` (e.g.
    /// `v1.41`): `Ok(None)` when the engine sent an empty body. A connect the engine pushes back is
    /// tried again (see [`Pushback`]). Errors are bollard's, so they count and read as the other
    /// requests' do.
    pub(super) async fn stats<T: serde::de::DeserializeOwned>(
        &self,
        pushback: &Pushback,
        version: &str,
        id: &str,
        one_shot: bool,
    ) -> Result<Option<T>, BollardError> {
        let request = Request::get(format!(
            "/{version}/containers/{id}/stats?stream=false&one-shot={one_shot}"
        ))
        .header(
            HOST,
            match self {
                StatsHost::Unix(_) => "docker",
                StatsHost::Tcp(address) => address,
            },
        )
        .header(USER_AGENT, "container-metrics")
        .header(ACCEPT, "application/json")
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| io_error(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let socket = pushback
            .connect(|| connect(self), |e: &io::Error| Some(e.kind()))
            .await
            .map_err(io_error)?;
        let (status, body) = match socket {
            Socket::Tcp(s) => exchange(s, request).await,
            Socket::Unix(s) => exchange(s, request).await,
        }
        .map_err(io_error)?;
        pushback.alive();
        if !(200..300).contains(&status) {
            return Err(BollardError::DockerResponseServerError {
                status_code: status,
                message: engine_message(&body),
            });
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|err| BollardError::JsonSerdeError { err })
    }
}

fn io_error(err: io::Error) -> BollardError {
    BollardError::IOError { err }
}

/// A connection to the engine.
enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

async fn connect(host: &StatsHost) -> io::Result<Socket> {
    Ok(match host {
        StatsHost::Unix(path) => Socket::Unix(UnixStream::connect(path).await?),
        StatsHost::Tcp(address) => Socket::Tcp(TcpStream::connect(address.as_str()).await?),
    })
}

/// The most an answer may take: a stats answer is a few KiB (more with many CPUs or interfaces).
const MAX_ANSWER: usize = 4 << 20;

/// hyper's read buffer, fixed: it is reserved while the request waits for the sampler, and the
/// answer's head (about 300 bytes from the engine) must fit in it.
const READ_BUFFER: usize = 4096;

/// Sends `request` on `socket` and reads the whole answer: its status and body. The connection is
/// polled in this future, beside the answer, until the answer is complete, then dropped (closed);
/// a task of its own would cost memory for each request in flight.
async fn exchange<S>(socket: S, request: Request<Empty<Bytes>>) -> io::Result<(u16, Bytes)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .read_buf_exact_size(Some(READ_BUFFER))
        .handshake::<_, Empty<Bytes>>(TokioIo::new(socket))
        .await
        .map_err(from_hyper)?;
    let answer = async move {
        let response = sender.send_request(request).await.map_err(from_hyper)?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| match e.downcast::<hyper::Error>() {
                Ok(e) => from_hyper(*e),
                Err(_) => io::Error::other("the engine's answer is too long"),
            })?
            .to_bytes();
        Ok((status, body))
    };
    let mut answer = pin!(answer);
    let mut connection = pin!(connection);
    let mut connection_ended = false;
    // The connection ends (closed after the answer, or failed) before the answer is taken from it;
    // a failure reaches the answer as well, so only the answer's result counts.
    std::future::poll_fn(|cx| {
        if !connection_ended && connection.as_mut().poll(cx).is_ready() {
            connection_ended = true;
        }
        answer.as_mut().poll(cx)
    })
    .await
}

/// hyper's error as an I/O error: the socket's own when there is one, else invalid data (an answer
/// that is not HTTP, or cut short).
fn from_hyper(e: hyper::Error) -> io::Error {
    let kind = io_kind(&e).unwrap_or(io::ErrorKind::InvalidData);
    io::Error::new(kind, e)
}

/// The engine's error text: the `message` of its JSON body, else the body as it is.
fn engine_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    serde_json::from_slice::<Message>(body)
        .map(|m| m.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string())
}

#[cfg(test)]
mod tests;
