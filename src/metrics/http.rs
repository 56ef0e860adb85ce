//! The Prometheus endpoint: every path answers with the exposition, because the reference scrape
//! config uses `metrics_path: ""`. A stop lets the scrapes in flight have their whole answer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use super::MetricsExporter;
use crate::http::auth::Users;
use crate::http::server::Limits;
use crate::http::{full, Body};

/// Content type of the text exposition format 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition, written chunk by chunk as the connection takes it (see
/// [`MetricsExporter::exposition`]), so a large scrape never sits whole in memory. The first
/// chunk is written before the answer starts, so a failure there is still a 500.
fn exposition(exporter: &MetricsExporter) -> Response<Body> {
    let mut chunks = exporter.exposition();
    let first = match chunks.next().transpose() {
        Ok(first) => first.unwrap_or_default(),
        Err(e) => {
            tracing::error!("{e}");
            let mut r = Response::new(full(e.to_string()));
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
            let mut r = Response::new(full(Bytes::new()));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_TEXT));
            r
        }
        _ => {
            let mut r = Response::new(full(Bytes::from_static(b"only GET and HEAD\n")));
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

/// Serves scrapes on `listener` until `shutdown` resolves, under `limits` (the connection cap, the
/// header deadline) and `users` (basic auth, if configured). Then it stops accepting, lets every
/// connection finish the answer it is writing (an idle keep-alive connection closes at once), and
/// returns when they are all closed, or after `limits.drain` at the latest: a stop does not cut off
/// a scrape its client reads at the usual pace, and a stalled client cannot hold it up.
pub async fn serve(
    listener: TcpListener,
    exporter: Arc<MetricsExporter>,
    limits: Limits,
    users: Option<Arc<Users>>,
    shutdown: impl Future<Output = ()>,
) {
    let handler = move |req: Request<Incoming>| {
        let response = answer(&exporter, &req);
        async move { response }
    };
    crate::http::server::serve(listener, limits, users, handler, shutdown, "metrics").await
}

/// [`serve`] with the default limits, waiting at most `drain` for the answers in flight.
#[cfg(test)]
async fn serve_draining(
    listener: TcpListener,
    exporter: Arc<MetricsExporter>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let limits = Limits {
        drain,
        ..Limits::default()
    };
    serve(listener, exporter, limits, None, shutdown).await
}

/// The limits of the metrics port by default.
pub fn default_limits() -> Limits {
    Limits {
        drain: DRAIN_TIMEOUT,
        ..Limits::default()
    }
}

#[cfg(test)]
mod tests;
