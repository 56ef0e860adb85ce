//! The endpoint over a real socket: what a scrape in flight gets when the stop comes, and that
//! `serve` returns afterwards.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;
use crate::container::{ContainerInfo, ContainerMetrics};

/// Socket buffers this small keep most of a large answer in the server's hands until the client
/// reads it, so the answer is still being written when the stop comes.
const SMALL_BUFFER: u32 = 4096;

/// An exporter with `containers` containers: some 10 series, about 1 KB of text, each.
fn exporter(containers: usize) -> Arc<MetricsExporter> {
    let m = MetricsExporter::new("m1").expect("families");
    for i in 0..containers {
        let name = format!("c{i:05}");
        m.on_container_metrics(
            &name,
            &ContainerMetrics {
                started_at: Some(1),
                memory_used: 5,
                cpu_seconds: Some(1.5),
                info: ContainerInfo {
                    id: format!("id-{name}"),
                    image: "img".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
    }
    Arc::new(m)
}

/// `serve` on a port of its own, and the sender that stops it.
async fn start(
    exporter: Arc<MetricsExporter>,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    start_draining(exporter, DRAIN_TIMEOUT).await
}

/// The same, waiting at most `drain` for the answers in flight.
async fn start_draining(
    exporter: Arc<MetricsExporter>,
    drain: Duration,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let socket = TcpSocket::new_v4().expect("socket");
    // Accepted connections take the listener's send buffer.
    socket
        .set_send_buffer_size(SMALL_BUFFER)
        .expect("SO_SNDBUF");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let listener = socket.listen(16).expect("listen");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    let server = tokio::spawn(serve_draining(listener, exporter, stopped, drain));
    (address, stop, server)
}

async fn connect(address: SocketAddr) -> BufReader<TcpStream> {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(SMALL_BUFFER)
        .expect("SO_RCVBUF");
    BufReader::new(socket.connect(address).await.expect("connect"))
}

/// Sends a GET and reads the answer's head; returns its lines, lowercase.
async fn get_head(stream: &mut BufReader<TcpStream>) -> Vec<String> {
    stream
        .get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("request");
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.expect("head");
        let line = line.trim_end().to_ascii_lowercase();
        if line.is_empty() {
            return head;
        }
        head.push(line);
    }
}

/// Reads a chunked body to its last chunk.
async fn read_chunked(stream: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        stream.read_line(&mut size).await.expect("chunk size");
        let size = usize::from_str_radix(size.trim_end(), 16).expect("hex chunk size");
        let mut chunk = vec![0; size + 2];
        stream.read_exact(&mut chunk).await.expect("chunk");
        assert!(chunk.ends_with(b"\r\n"), "a chunk ends with CRLF");
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// The lines that do not change from one scrape to the next.
fn steady(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.contains("process_") && !l.contains("collector_series"))
        .collect()
}

#[tokio::test]
async fn a_scrape_in_flight_when_the_stop_comes_gets_its_whole_answer() {
    let exporter = exporter(2000);
    let (address, stop, server) = start(exporter.clone()).await;
    let mut scrape = connect(address).await;
    let head = get_head(&mut scrape).await;
    assert_eq!(head[0], "http/1.1 200 ok", "{head:?}");
    assert!(
        head.iter().any(|l| l == "transfer-encoding: chunked"),
        "{head:?}"
    );

    stop.send(()).expect("the server listens for the stop");
    // The answer has begun and is not read yet: the server waits for it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !server.is_finished(),
        "serve returned with an answer in flight"
    );
    assert!(
        TcpStream::connect(address).await.is_err(),
        "a new connection after the stop"
    );

    let body = String::from_utf8(read_chunked(&mut scrape).await).expect("utf8");
    let whole = String::from_utf8(exporter.encode().expect("encode")).expect("utf8");
    assert!(body.len() > 1_000_000, "{} bytes", body.len());
    assert_eq!(steady(&body), steady(&whole));
    // Keep-alive is off once the stop came: the server closes the connection after the answer.
    let mut rest = Vec::new();
    let read = scrape.read_to_end(&mut rest).await.expect("end of stream");
    assert_eq!((read, rest.len()), (0, 0));
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("serve returns once the answer is out")
        .expect("serve does not panic");
}

#[tokio::test]
async fn an_idle_connection_does_not_hold_the_stop_up() {
    let (address, stop, server) = start(exporter(3)).await;
    let mut idle = connect(address).await;
    let head = get_head(&mut idle).await;
    assert_eq!(head[0], "http/1.1 200 ok", "{head:?}");
    assert!(read_chunked(&mut idle).await.starts_with(b"# HELP "));
    // The connection is kept alive, waiting for another request, when the stop comes.
    stop.send(()).expect("the server listens for the stop");
    tokio::time::timeout(Duration::from_secs(1), server)
        .await
        .expect("serve returns at once, well before DRAIN_TIMEOUT")
        .expect("serve does not panic");
    let mut rest = Vec::new();
    let read = idle.read_to_end(&mut rest).await.expect("end of stream");
    assert_eq!(read, 0, "the idle connection is closed");
}

#[tokio::test]
async fn a_client_that_does_not_read_is_cut_off_after_the_drain_time() {
    let exporter = exporter(2000);
    let (address, stop, server) = start_draining(exporter, Duration::from_millis(200)).await;
    let mut stalled = connect(address).await;
    let head = get_head(&mut stalled).await;
    assert_eq!(head[0], "http/1.1 200 ok", "{head:?}");
    stop.send(()).expect("the server listens for the stop");
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("serve returns after the drain time")
        .expect("serve does not panic");
    // What the buffers held, then the end: the answer was broken off, never finished.
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest).await;
    assert!(
        !rest.ends_with(b"0\r\n\r\n"),
        "{} bytes, last chunk seen",
        rest.len()
    );
}
