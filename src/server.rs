//! The HTTP server under both ports (metrics and logs browser): HTTP/1.1 GET and HEAD with small
//! requests, a deadline for the request headers, a cap on the connections held at once, optional
//! basic auth, and a stop that lets the answers in flight finish.
//!
//! The cap is what keeps memory bounded whatever clients do: a connection that sends half a request
//! holds its buffers until the header deadline drops it, so without a cap a client reconnecting fast
//! enough can grow the collector without bound. Beyond the cap a new connection is closed at once.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::auth::Users;

/// A response body: fixed bytes or a stream of chunks.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A fixed body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// What the server allows its clients.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections held at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// A client that has not sent its request headers by then is dropped.
    pub header_timeout: Duration,
    /// The most a request may take in the connection's buffer (hyper's smallest is 8 KiB).
    pub max_request_bytes: usize,
    /// How long a stop waits for the answers in flight.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            max_request_bytes: 8192,
            drain: Duration::from_secs(5),
        }
    }
}

/// Serves `handler` on `listener` until `shutdown` resolves, then lets the answers in flight finish
/// (for at most `limits.drain`) and returns. `what` names the port in the console.
pub async fn serve<H, F>(
    listener: TcpListener,
    limits: Limits,
    users: Option<Arc<Users>>,
    handler: H,
    shutdown: impl Future<Output = ()>,
    what: &'static str,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let mut shutdown = std::pin::pin!(shutdown);
    let (stop, stopping) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut refused_said = false;
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
                tracing::warn!("cannot accept a {what} connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if !refused_said {
                tracing::warn!(
                    "{what}: {} connections open, new ones are closed until some end",
                    limits.max_connections
                );
                refused_said = true;
            }
            drop(stream);
            continue;
        };
        if permits.available_permits() > limits.max_connections / 2 {
            refused_said = false;
        }
        let handler = handler.clone();
        let users = users.clone();
        let stopping = stopping.clone();
        let limits = limits.clone();
        connections.spawn(async move {
            connection(stream, &limits, users, handler, stopping, what).await;
            drop(permit);
        });
    }
    drop(listener);
    // No receiver left means no connection left: nothing to tell.
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} {what} connections still open {:.1} s after the stop: closed",
            connections.len(),
            limits.drain.as_secs_f64()
        );
    }
    // Dropping the set ends the connections still in it.
}

/// Answers the requests of one connection until it closes, or until `stopping` turns true and the
/// answer being written is finished.
async fn connection<H, F>(
    stream: TcpStream,
    limits: &Limits,
    users: Option<Arc<Users>>,
    handler: H,
    mut stopping: watch::Receiver<bool>,
    what: &'static str,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let handler = handler.clone();
        let users = users.clone();
        async move {
            if let Some(users) = users {
                if !users.allows(req.headers()).await {
                    return Ok::<_, Infallible>(unauthorized());
                }
            }
            Ok::<_, Infallible>(handler(req).await)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_request_bytes)
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
        tracing::debug!("{what} connection ended: {e}");
    }
}

fn unauthorized() -> Response<Body> {
    let mut r = Response::new(full("authorization required\n"));
    *r.status_mut() = StatusCode::UNAUTHORIZED;
    r.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"container-metrics\", charset=\"UTF-8\""),
    );
    r
}
