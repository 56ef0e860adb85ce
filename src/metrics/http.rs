//! The Prometheus endpoint: every path answers with the exposition, because the reference scrape
//! config uses `metrics_path: ""`. A stop lets the scrapes in flight have their whole answer.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::MetricsExporter;

/// Content type of the text exposition format 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A client that has not sent its request headers by then is dropped.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a request may take in the connection's buffer (hyper's smallest allowed value).
const MAX_REQUEST_BYTES: usize = 8192;

/// A response body: the exposition's chunks as they are written, or a fixed text.
type Body = BoxBody<Bytes, std::io::Error>;

fn fixed(text: impl Into<Bytes>) -> Body {
    Full::new(text.into())
        .map_err(|never| match never {})
        .boxed()
}

/// The exposition, written chunk by chunk as the connection takes it (see
/// [`MetricsExporter::exposition`]), so a large scrape never sits whole in memory. The first
/// chunk is written before the answer starts, so a failure there is still a 500.
fn exposition(exporter: &MetricsExporter) -> Response<Body> {
    let mut chunks = exporter.exposition();
    let first = match chunks.next().transpose() {
        Ok(first) => first.unwrap_or_default(),
        Err(e) => {
            tracing::error!("{e}");
            let mut r = Response::new(fixed(e.to_string()));
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return r;
        }
    };
    let rest = chunks.map(|chunk| {
        chunk.map(|c| Frame::data(Bytes::from(c))).map_err(|e| {
            // Too late for a status: the answer breaks off, which Prometheus counts as a failed scrape.
            tracing::error!("{e}");
            std::io::Error::other(e.to_string())
        })
    });
    let frames = futures_util::stream::iter(
        std::iter::once(Ok(Frame::data(Bytes::from(first)))).chain(rest),
    );
    let mut r = Response::new(StreamBody::new(frames).boxed());
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_TEXT));
    r
}

fn answer(exporter: &MetricsExporter, req: &Request<Incoming>) -> Response<Body> {
    match *req.method() {
        Method::GET => exposition(exporter),
        Method::HEAD => {
            let mut r = Response::new(fixed(Bytes::new()));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_TEXT));
            r
        }
        _ => {
            let mut r = Response::new(fixed(Bytes::from_static(b"only GET and HEAD\n")));
            *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        }
    }
}

/// How long a stop waits for the answers in flight. A scrape of 1000 containers is written in well
/// under a second; a client that reads slower than this is cut off, so a stop stays short.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves scrapes on `listener` until `shutdown` resolves. Then it stops accepting, lets every
/// connection finish the answer it is writing (an idle keep-alive connection closes at once), and
/// returns when they are all closed, or after 5 s (`DRAIN_TIMEOUT`) at the latest: a stop does not
/// cut off a scrape its client reads at the usual pace, and a stalled client cannot hold it up.
pub async fn serve(
    listener: TcpListener,
    exporter: Arc<MetricsExporter>,
    shutdown: impl Future<Output = ()>,
) {
    serve_draining(listener, exporter, shutdown, DRAIN_TIMEOUT).await
}

/// [`serve`], waiting at most `drain` for the answers in flight.
async fn serve_draining(
    listener: TcpListener,
    exporter: Arc<MetricsExporter>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
            // Connections that ended leave the set, which so holds only the open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!("cannot accept a scrape connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        connections.spawn(connection(stream, exporter.clone(), stopping.clone()));
    }
    drop(listener);
    // No receiver left means no connection left: nothing to tell.
    let _ = stop.send(true);
    let drained = tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} scrape connections still open {:.1} s after the stop: closed",
            connections.len(),
            drain.as_secs_f64()
        );
    }
    // Dropping the set ends the connections still in it.
}

/// Answers the requests of one connection until it closes, or until `stopping` turns true and the
/// answer being written is finished.
async fn connection(
    stream: TcpStream,
    exporter: Arc<MetricsExporter>,
    mut stopping: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let response = answer(&exporter, &req);
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // A scrape request is a few hundred bytes; nothing bigger is read.
        .max_buf_size(MAX_REQUEST_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let mut told = false;
    let result = loop {
        tokio::select! {
            result = connection.as_mut() => break result,
            // A dropped sender means the server is gone: stop as well.
            _ = stopping.wait_for(|stop| *stop), if !told => {
                told = true;
                // Keep-alive off: the answer in progress is finished, then the connection closes.
                connection.as_mut().graceful_shutdown();
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!("scrape connection ended: {e}");
    }
}

#[cfg(test)]
mod tests;
