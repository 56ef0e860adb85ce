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

use hyper::body::Incoming;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::auth::Users;
use super::{full, Body};
use crate::say_once::Latch;

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
    // Said once while connections are refused, again once half the permits are free.
    let refused = Latch::new();
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
            if refused.first() {
                tracing::warn!(
                    "{what}: {} connections open, new ones are closed until some end",
                    limits.max_connections
                );
            }
            drop(stream);
            continue;
        };
        if permits.available_permits() > limits.max_connections / 2 {
            refused.reset();
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(
        limits: Limits,
        users: Option<Arc<Users>>,
    ) -> (
        std::net::SocketAddr,
        watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, mut stopped) = watch::channel(false);
        let handler = |_req: Request<Incoming>| async { Response::new(full("hello\n")) };
        let server = tokio::spawn(async move {
            serve(
                listener,
                limits,
                users,
                handler,
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
                "test",
            )
            .await;
        });
        (address, stop, server)
    }

    async fn get(address: std::net::SocketAddr, extra: &str) -> String {
        let mut s = TcpStream::connect(address).await.expect("connect");
        s.write_all(
            format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n").as_bytes(),
        )
        .await
        .expect("send");
        let mut answer = String::new();
        match s.read_to_string(&mut answer).await {
            Ok(_) => answer,
            // Closed with the request unread: the kernel answers with a reset.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => String::new(),
            Err(e) => panic!("read: {e}"),
        }
    }

    #[tokio::test]
    async fn beyond_the_cap_new_connections_are_closed_at_once_and_served_again_later() {
        let limits = Limits {
            max_connections: 4,
            ..Limits::default()
        };
        let (address, stop, server) = start(limits, None).await;
        // Four clients hold a connection with half a request each.
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut s = TcpStream::connect(address).await.expect("connect");
            s.write_all(b"GET / HTTP/1.1\r\nHo").await.expect("send");
            held.push(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A fifth is closed without an answer, at once.
        let refused = tokio::time::timeout(Duration::from_secs(2), get(address, "")).await;
        assert_eq!(refused.expect("closed at once, not held"), "");
        drop(held);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = get(address, "").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        stop.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(6), server)
            .await
            .expect("server ends")
            .expect("join");
    }

    #[tokio::test]
    async fn with_users_a_request_without_the_right_password_gets_401() {
        let hash = bcrypt::hash("pw", 4).expect("hash");
        let users =
            Arc::new(Users::parse(&format!("basic_auth_users:\n  u: {hash}\n")).expect("users"));
        let (address, stop, _server) = start(Limits::default(), Some(users)).await;
        let none = get(address, "").await;
        assert!(none.starts_with("HTTP/1.1 401"), "{none}");
        assert!(none.contains("www-authenticate: Basic"), "{none}");
        let wrong = get(address, "Authorization: Basic dTp4\r\n").await;
        assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
        // u:pw
        let right = get(address, "Authorization: Basic dTpwdw==\r\n").await;
        assert!(right.starts_with("HTTP/1.1 200"), "{right}");
        stop.send(true).expect("stop");
    }
}
