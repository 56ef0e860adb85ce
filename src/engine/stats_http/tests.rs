use super::*;

fn parts(bytes: &[u8], eof: bool) -> io::Result<(u16, Vec<u8>)> {
    Answer {
        bytes: bytes.to_vec(),
        eof,
    }
    .into_parts()
}

fn complete(bytes: &[u8]) -> bool {
    Answer {
        bytes: bytes.to_vec(),
        eof: false,
    }
    .complete()
    .expect("a readable head")
}

#[test]
fn a_chunked_answer_is_complete_with_its_last_chunk_only() {
    let whole = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
    for cut in 0..whole.len() {
        assert!(!complete(&whole[..cut]), "complete after {cut} bytes");
    }
    assert!(complete(whole));
    assert_eq!(parts(whole, false).unwrap(), (200, b"{\"a\":1}".to_vec()));
}

#[test]
fn a_length_framed_answer_ends_after_its_length() {
    let whole = b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n{\"a\":1}";
    assert!(!complete(&whole[..whole.len() - 1]));
    assert!(complete(whole));
    assert_eq!(parts(whole, false).unwrap(), (200, b"{\"a\":1}".to_vec()));
    let cut = parts(&whole[..whole.len() - 1], true).expect_err("cut short");
    assert_eq!(cut.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn an_answer_without_framing_ends_when_the_engine_closes() {
    let whole = b"HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"No such container: x\"}\n";
    assert!(!complete(whole));
    let (status, body) = parts(whole, true).unwrap();
    assert_eq!(status, 404);
    assert_eq!(engine_message(&body), "No such container: x");
    assert!(parts(whole, false).is_err());
}

#[test]
fn an_empty_body_and_a_text_error_read_as_they_are() {
    let (status, body) = parts(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false).unwrap();
    assert_eq!((status, body.len()), (200, 0));
    assert_eq!(engine_message(b"page not found\n"), "page not found");
}

#[test]
fn a_head_that_is_not_http_is_an_error() {
    let answer = Answer {
        bytes: b"SSH-2.0-OpenSSH\r\n\r\n".to_vec(),
        eof: false,
    };
    assert!(answer.complete().is_err());
    assert!(dechunk(b"zz\r\n").is_err());
}

#[test]
fn docker_host_gives_the_address() {
    assert!(matches!(
        StatsHost::parse("unix:///var/run/docker.sock"),
        Some(StatsHost::Unix(p)) if p == std::path::Path::new("/var/run/docker.sock")
    ));
    assert!(matches!(
        StatsHost::parse("tcp://127.0.0.1:2375"),
        Some(StatsHost::Tcp(a)) if a == "127.0.0.1:2375"
    ));
    assert!(matches!(
        StatsHost::parse("http://engine:2375/"),
        Some(StatsHost::Tcp(a)) if a == "engine:2375"
    ));
    assert!(StatsHost::parse("npipe:////./pipe/docker_engine").is_none());
}

/// Serves one connection after the other on a unix socket: for each, reads the request head, then
/// writes the answer's pieces with a pause between them. Returns the requests' heads.
fn serve(
    listener: tokio::net::UnixListener,
    answers: Vec<Vec<&'static [u8]>>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut heads = Vec::new();
        for pieces in answers {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut head = Vec::new();
            while memchr::memmem::find(&head, b"\r\n\r\n").is_none() {
                let mut b = [0u8; 256];
                let n = s.read(&mut b).await.expect("read");
                assert!(n > 0, "the request ended early");
                head.extend_from_slice(&b[..n]);
            }
            for piece in pieces {
                s.write_all(piece).await.expect("write");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            heads.push(String::from_utf8(head).expect("text"));
        }
        heads
    })
}

#[tokio::test]
async fn stats_over_a_unix_socket_in_pieces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("engine.sock");
    let server = serve(
        tokio::net::UnixListener::bind(&path).expect("bind"),
        vec![vec![
            b"HTTP/1.1 200 OK\r\nTransfer-",
            b"Encoding: chunked\r\n\r\n8\r\n{\"read\":",
            b"\r\n6\r\n\"now\"}\r\n0\r\n\r\n",
        ]],
    );
    let host = StatsHost::Unix(path);
    let answer: Option<serde_json::Value> = host
        .stats(&patient(), "v1.41", "abc", true)
        .await
        .expect("an answer");
    assert_eq!(answer, Some(serde_json::json!({"read": "now"})));
    let heads = server.await.expect("server");
    assert!(
        heads[0]
            .starts_with("GET /v1.41/containers/abc/stats?stream=false&one-shot=true HTTP/1.1\r\n"),
        "{heads:?}"
    );
}

#[tokio::test]
async fn a_404_an_empty_body_bad_json_and_a_cut_answer_read_as_bollard_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("engine.sock");
    let answers: Vec<Vec<&'static [u8]>> = vec![
        vec![b"HTTP/1.1 404 Not Found\r\nContent-Length: 36\r\n\r\n{\"message\":\"No such container: abc\"}"],
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"rea"],
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n{\"rea"],
    ];
    let count = answers.len();
    let server = serve(
        tokio::net::UnixListener::bind(&path).expect("bind"),
        answers,
    );
    let host = StatsHost::Unix(path);
    let mut results = Vec::new();
    for _ in 0..count {
        results.push(
            host.stats::<serde_json::Value>(&patient(), "v1.41", "abc", false)
                .await,
        );
    }
    server.await.expect("server");
    match &results[0] {
        Err(BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        }) => assert_eq!(message, "No such container: abc"),
        other => panic!("not a 404: {other:?}"),
    }
    assert!(matches!(results[1], Ok(None)), "{:?}", results[1]);
    assert!(
        matches!(results[2], Err(BollardError::JsonSerdeError { .. })),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(results[3], Err(BollardError::IOError { .. })),
        "{:?}",
        results[3]
    );
}

#[tokio::test]
async fn a_404_framed_by_close_over_a_unix_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("engine.sock");
    let server = serve(
        tokio::net::UnixListener::bind(&path).expect("bind"),
        vec![vec![
            b"HTTP/1.0 404 Not Found\r\n\r\n{\"message\":",
            b"\"No such container: x\"}\n",
        ]],
    );
    let e = StatsHost::Unix(path)
        .stats::<serde_json::Value>(&patient(), "v1.41", "x", true)
        .await
        .expect_err("a 404");
    server.await.expect("server");
    match e {
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => assert_eq!(message, "No such container: x"),
        other => panic!("not a 404: {other:?}"),
    }
}

#[tokio::test]
async fn a_text_error_and_a_head_that_is_not_http_read_as_bollard_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("engine.sock");
    let server = serve(
        tokio::net::UnixListener::bind(&path).expect("bind"),
        vec![
            vec![
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 15\r\n\r\npage not found\n",
            ],
            vec![b"SSH-2.0-OpenSSH\r\n\r\n"],
        ],
    );
    let host = StatsHost::Unix(path);
    let text = host
        .stats::<serde_json::Value>(&patient(), "v1.41", "abc", true)
        .await;
    let ssh = host
        .stats::<serde_json::Value>(&patient(), "v1.41", "abc", true)
        .await;
    server.await.expect("server");
    match text {
        Err(BollardError::DockerResponseServerError {
            status_code: 500,
            message,
        }) => assert_eq!(message, "page not found"),
        other => panic!("not a 500: {other:?}"),
    }
    match ssh {
        Err(BollardError::IOError { err }) => assert_eq!(err.kind(), io::ErrorKind::InvalidData),
        other => panic!("not an I/O error: {other:?}"),
    }
}

/// An answer longer than the cap is given up, not held in memory whole.
#[tokio::test]
async fn an_answer_over_the_cap_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("engine.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let server = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut head = [0u8; 1024];
        let _ = s.read(&mut head).await;
        let length = MAX_ANSWER + 1;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
        // The client stops reading at the cap and closes: the write fails then, as it should.
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(&vec![b' '; length]).await;
    });
    let e = StatsHost::Unix(path)
        .stats::<serde_json::Value>(&patient(), "v1.41", "abc", true)
        .await
        .expect_err("too long");
    server.await.expect("server");
    assert!(
        matches!(&e, BollardError::IOError { err } if err.to_string().contains("too long")),
        "{e:?}"
    );
}

#[tokio::test]
async fn no_engine_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = StatsHost::Unix(dir.path().join("none.sock"));
    let e = host
        .stats::<serde_json::Value>(&patient(), "v1.41", "abc", true)
        .await
        .expect_err("no engine");
    assert!(matches!(e, BollardError::IOError { .. }), "{e:?}");
}

fn patient() -> Pushback {
    Pushback::new(std::time::Duration::from_secs(10))
}

/// An engine whose listen queue holds one connection and that takes none for a while: the connects
/// beyond the queue fail with EAGAIN, are tried again, and every request gets its answer.
#[tokio::test]
async fn connects_beyond_a_full_listen_queue_are_tried_again() {
    const REQUESTS: usize = 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("engine.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    // A second listen() on the bound socket sets its backlog.
    rustix::net::listen(&listener, 1).expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::UnixListener::from_std(listener).expect("tokio listener");
    let answer: &'static [u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"read\":\"x\"}";
    let server = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        // Takes nothing until the clients have all tried once.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        for _ in 0..REQUESTS {
            let (mut s, _) = listener.accept().await.expect("accept");
            tokio::spawn(async move {
                let mut head = [0u8; 1024];
                let _ = s.read(&mut head).await;
                s.write_all(answer).await.expect("write");
            });
        }
    });
    let host = StatsHost::Unix(path);
    let pushback = patient();
    let asks =
        (0..REQUESTS).map(|_| host.stats::<serde_json::Value>(&pushback, "v1.41", "abc", true));
    let answers = futures_util::future::join_all(asks).await;
    server.await.expect("server");
    for a in answers {
        assert_eq!(a.expect("answered"), Some(serde_json::json!({"read": "x"})));
    }
    let count = pushback.take();
    assert!(count.refused >= 1, "the full queue pushed back: {count:?}");
}
