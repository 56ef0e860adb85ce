//! The stats requests, on a lean HTTP/1.1 client of their own.
//!
//! A stats request waits for the engine's sampler (up to 1 s one-shot, 1-2 s plain), so a collection
//! of 1000 containers in about a second has 1000 of them in flight at once. Through hyper's pooled
//! client each costs about 22 KiB while it waits: the connection's read buffer, its dispatch channel,
//! its task and the pool's futures (measured with heaptrack, see BENCHMARKS.md). Here a waiting
//! request holds only its socket and a small future: the request is written from a short string,
//! nothing is allocated for the answer until the socket is readable, and the answer (a few KiB) is
//! read, decoded and dropped at once. One connection a request (`Connection: close`), as bollard's
//! own clients do; the other requests (list, inspect, logs) keep going through hyper's pool.
//!
//! hyper's single-connection client was tried in its place (commit 3591366 has it):
//! `hyper::client::conn::http1` over the connected socket, its connection polled in the request's
//! own future (no task), the read buffer fixed with `read_buf_exact_size`, the body collected
//! through `Limited`. Its buffers are allocated before the answer comes, so each waiting request
//! still held about 16 KiB: an 8 KiB write buffer hyper always allocates, the read buffer, the
//! dispatch channel. Peak RSS at 1000 containers, `BENCH_SAMPLER=1 BENCH_SECONDS=30
//! BENCH_STREAM=0 scripts/bench.sh 1000`, 2 cores shared with other builds, runs alternated
//! (2026-12-06): this client 19.3 and 19.5 MiB, hyper's with a 4 KiB read buffer 34.8 and
//! 35.8 MiB, with 1 KiB 32.5 MiB, against a budget of 20 MiB; the times and CPU were alike within
//! the noise of the shared machine. So the framing and chunked decoding below stay.

use std::io;
use std::path::PathBuf;

use bollard::errors::Error as BollardError;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UnixStream};

use super::pushback::Pushback;

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
        let io_error = |err: io::Error| BollardError::IOError { err };
        let request = format!(
            "GET /{version}/containers/{id}/stats?stream=false&one-shot={one_shot} HTTP/1.1\r\n\
             Host: {}\r\nUser-Agent: container-metrics\r\nAccept: application/json\r\n\
             Connection: close\r\n\r\n",
            match self {
                StatsHost::Unix(_) => "docker",
                StatsHost::Tcp(address) => address,
            }
        );
        let mut socket = pushback
            .connect(|| Socket::connect(self), |e: &io::Error| Some(e.kind()))
            .await
            .map_err(io_error)?;
        socket
            .write_all(request.as_bytes())
            .await
            .map_err(io_error)?;
        drop(request);
        let answer = read_answer(&socket).await.map_err(io_error)?;
        drop(socket);
        pushback.alive();
        let (status, body) = answer.into_parts().map_err(io_error)?;
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

/// A connection to the engine.
enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    async fn connect(host: &StatsHost) -> io::Result<Socket> {
        Ok(match host {
            StatsHost::Unix(path) => Socket::Unix(UnixStream::connect(path).await?),
            StatsHost::Tcp(address) => Socket::Tcp(TcpStream::connect(address.as_str()).await?),
        })
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.write_all(bytes).await,
            Socket::Unix(s) => s.write_all(bytes).await,
        }
    }

    /// Waits, holding no buffer, until there is something to read.
    async fn readable(&self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.readable().await,
            Socket::Unix(s) => s.readable().await,
        }
    }

    fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.try_read_buf(buf),
            Socket::Unix(s) => s.try_read_buf(buf),
        }
    }
}

/// The most an answer may take: a stats answer is a few KiB (more with many CPUs or interfaces).
const MAX_ANSWER: usize = 4 << 20;

/// How much room is made in the buffer before each read.
const READ_STEP: usize = 4096;

/// Reads one whole HTTP answer: until its body is complete (Content-Length or chunked) or the
/// engine closes the connection.
async fn read_answer(stream: &Socket) -> io::Result<Answer> {
    let mut buf = Vec::new();
    loop {
        stream.readable().await?;
        if buf.capacity() - buf.len() < READ_STEP {
            buf.reserve(READ_STEP);
        }
        match stream.try_read_buf(&mut buf) {
            Ok(0) => {
                return Ok(Answer {
                    bytes: buf,
                    eof: true,
                })
            }
            Ok(_) => {
                if buf.len() > MAX_ANSWER {
                    return Err(io::Error::other("the engine's answer is too long"));
                }
                let answer = Answer {
                    bytes: buf,
                    eof: false,
                };
                if answer.complete()? {
                    return Ok(answer);
                }
                buf = answer.bytes;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

/// The bytes of an answer read so far.
#[derive(Debug)]
struct Answer {
    bytes: Vec<u8>,
    /// The engine closed the connection after them.
    eof: bool,
}

/// How an answer's body ends.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    Close,
}

/// The status code, the framing and where the body starts; `None` while the head is incomplete.
/// The head is read by `httparse`, hyper's own parser.
fn head(bytes: &[u8]) -> io::Result<Option<(u16, Framing, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let start = match response.parse(bytes) {
        Ok(httparse::Status::Complete(start)) => start,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(invalid(&format!("the answer's head cannot be read: {e}"))),
    };
    let status = response
        .code
        .ok_or_else(|| invalid("the answer has no status"))?;
    let mut framing = Framing::Close;
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or_default().trim();
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().ends_with("chunked") {
                framing = Framing::Chunked;
            }
        } else if header.name.eq_ignore_ascii_case("content-length") && framing != Framing::Chunked
        {
            let length = value
                .parse()
                .map_err(|_| invalid("the answer's Content-Length is not a number"))?;
            framing = Framing::Length(length);
        }
    }
    Ok(Some((status, framing, start)))
}

impl Answer {
    /// Whether the whole answer is here.
    fn complete(&self) -> io::Result<bool> {
        let Some((_, framing, start)) = head(&self.bytes)? else {
            return Ok(false);
        };
        let body = &self.bytes[start..];
        Ok(match framing {
            Framing::Length(n) => body.len() >= n,
            Framing::Chunked => dechunk(body)?.is_some(),
            Framing::Close => false,
        })
    }

    /// The status code and the body, once the answer is complete.
    fn into_parts(self) -> io::Result<(u16, Vec<u8>)> {
        let cut = || invalid("the engine closed the connection in the middle of its answer");
        let (status, framing, start) = head(&self.bytes)?.ok_or_else(cut)?;
        let body = &self.bytes[start..];
        let body = match framing {
            Framing::Length(n) => body.get(..n).ok_or_else(cut)?.to_vec(),
            Framing::Chunked => dechunk(body)?.ok_or_else(cut)?,
            Framing::Close if self.eof => body.to_vec(),
            Framing::Close => return Err(cut()),
        };
        Ok((status, body))
    }
}

/// The body of a chunked answer; `None` while its last chunk is not here yet.
fn dechunk(mut bytes: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let mut body = Vec::with_capacity(bytes.len());
    loop {
        let Some(eol) = memchr::memmem::find(bytes, b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&bytes[..eol]).unwrap_or("x");
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid("a chunk of the answer has no size"))?;
        let rest = &bytes[eol + 2..];
        if size == 0 {
            // The trailer (none from the engine) ends with an empty line.
            return Ok(memchr::memmem::find(rest, b"\r\n")
                .is_some()
                .then_some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        bytes = &rest[size + 2..];
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
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
