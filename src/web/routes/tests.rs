use super::*;

use crate::container::ContainerName;
use crate::logs::levels::LevelMapping;
use crate::web::board::Board;
use crate::web::{Stamp, Times, Web};

/// A time index where each line of the current file is its own tick: line i at second i.
#[derive(Debug)]
struct EverySecond {
    offsets: Vec<u64>,
}

impl Times for EverySecond {
    fn position(&self, _: &ContainerName, ts_nanos: i64) -> Bound {
        let i = (ts_nanos + 999_999_999) / 1_000_000_000;
        match usize::try_from(i) {
            Err(_) => Bound::Start,
            Ok(i) if i >= self.offsets.len() => Bound::End,
            Ok(i) => Bound::At(Position {
                file: 0,
                offset: self.offsets[i],
            }),
        }
    }

    fn stamps(&self, _: &ContainerName) -> Vec<Stamp> {
        let second = 1_000_000_000;
        (0..)
            .zip(&self.offsets)
            .map(|(i, offset)| Stamp {
                at: Position {
                    file: 0,
                    offset: *offset,
                },
                ts: i * second,
            })
            .collect()
    }
}

const HOSTILE: [&str; 3] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "ERROR \u{1b}[31m\u{0}nul\\ \"quoted\" \u{2028}",
];

fn web() -> (tempfile::TempDir, Arc<Web>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("app")).expect("dir");
    let mut text = String::new();
    let mut offsets = Vec::new();
    for l in ["INFO zero", "ERROR one", "WARN two", "INFO three"]
        .iter()
        .chain(HOSTILE.iter())
    {
        offsets.push(text.len() as u64);
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(dir.path().join("app/app.log"), text).expect("write");
    let board = Board::default();
    board.on_tick(&[ContainerName::from("app")]);
    let web = Arc::new(Web {
        logs_dir: dir.path().into(),
        mapping: Arc::new(LevelMapping::builtin()),
        board,
        times: Arc::new(EverySecond { offsets }),
        machine: "m1".into(),
    });
    (dir, web)
}

async fn get(web: &Arc<Web>, target: &str) -> (StatusCode, hyper::HeaderMap, Vec<u8>) {
    let uri: Uri = target.parse().expect("uri");
    let r = answer(web.clone(), Method::GET, uri).await;
    let (parts, body) = r.into_parts();
    let body = body.collect().await.expect("body").to_bytes().to_vec();
    (parts.status, parts.headers, body)
}

async fn lines(web: &Arc<Web>, query: &str) -> Vec<(String, String)> {
    let (status, _, body) = get(web, &format!("/api/containers/app/lines?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    v["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["level"].as_str().expect("level").to_string(),
                l["text"].as_str().expect("text").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn names_that_are_not_in_the_table_get_404_whatever_they_hold() {
    let (_dir, web) = web();
    let long = format!("/containers/{}", "a".repeat(5000));
    for path in [
        "/containers/..",
        "/containers/..%2F..%2Fetc%2Fpasswd",
        "/containers/app%2F..",
        "/containers/app%00",
        "/containers/%2e%2e",
        "/containers/app/extra",
        "/api/containers/../lines",
        "/api/containers/..%2Fapp/lines",
        "/api/containers/nope/lines",
        long.as_str(),
        "/nothing",
        "/assets/nope.js",
        "/assets/..%2Fapp.css",
    ] {
        let (status, headers, _) = get(&web, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
    }
    assert_eq!(get(&web, "/containers/app").await.0, StatusCode::OK);
}

#[tokio::test]
async fn every_answer_carries_a_strict_policy_and_pages_hold_no_inline_script() {
    let (_dir, web) = web();
    for path in ["/", "/containers/app", "/search"] {
        let (status, headers, body) = get(&web, path).await;
        assert_eq!(status, StatusCode::OK);
        let csp = headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let page = String::from_utf8(body).expect("utf8");
        for script in page.match_indices("<script") {
            let tag = &page[script.0
                ..page[script.0..]
                    .find('>')
                    .map_or(page.len(), |e| script.0 + e)];
            assert!(tag.contains(" src="), "inline script in {path}: {tag}");
        }
        // No inline handler: no attribute named on<letters>= anywhere in the page.
        let handler = page.match_indices(" on").find(|(at, _)| {
            let rest = &page[at + 3..];
            let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        });
        assert_eq!(handler, None, "an inline handler in {path}");
    }
    for asset in [
        "/assets/app.css",
        "/assets/common.js",
        "/assets/overview.js",
        "/assets/container.js",
        "/assets/search.js",
    ] {
        assert_eq!(get(&web, asset).await.0, StatusCode::OK, "{asset}");
    }
    for js in [OVERVIEW_JS, CONTAINER_JS, SEARCH_JS, COMMON_JS] {
        assert!(
            !js.contains("innerHTML") && !js.contains("eval("),
            "text is never parsed as HTML"
        );
    }
}

#[tokio::test]
async fn a_search_of_every_container_gives_each_line_its_container_time_and_place() {
    let (_dir, web) = web();
    let (status, _, body) = get(&web, "/api/search?q=%3C&limit=1").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    // Lines 4 and 5 of app.log (one a second) hold a `<`: the newer is kept.
    let lines = v["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "{v}");
    assert_eq!(lines[0]["container"], "app");
    assert_eq!(lines[0]["text"], HOSTILE[1]);
    assert_eq!(lines[0]["time"], "1970-01-01T00:00:05.000000000Z");
    assert_eq!(lines[0]["file"], 0);
    assert!(lines[0]["offset"].as_u64().is_some_and(|o| o > 0));
    assert_eq!(v["left_out"], 1);
    assert_eq!(v["containers"], 1);
    assert_eq!(v["containers_searched"], 1);
    for bad in ["q=(&regex=1", "containers=nope", "first=1", "level=fatal"] {
        let (status, _, body) = get(&web, &format!("/api/search?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert!(v["error"].is_string(), "{bad}: {v}");
    }
}

#[tokio::test]
async fn hostile_lines_come_back_as_the_same_text_in_json() {
    let (_dir, web) = web();
    let got = lines(&web, "").await;
    let texts: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
    for h in HOSTILE {
        assert!(
            texts.contains(&h),
            "{h:?} not returned as itself: {texts:?}"
        );
    }
}

#[tokio::test]
async fn lines_follow_the_level_filter_the_search_and_the_time_range() {
    let (_dir, web) = web();
    let errors = lines(&web, "level=error").await;
    assert_eq!(errors[0], ("error".to_string(), "ERROR one".to_string()));
    assert!(errors.iter().all(|(l, _)| l == "error"));
    let found = lines(&web, "q=%5E(WARN%7CINFO)+t&regex=1").await;
    assert_eq!(
        found,
        [
            ("warning".to_string(), "WARN two".to_string()),
            ("info".to_string(), "INFO three".to_string())
        ]
    );
    // Line i was written at second i: since=1 until=2 is lines one and two, exactly.
    let range = lines(&web, "since=1&until=2").await;
    let texts: Vec<&str> = range.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["ERROR one", "WARN two"]);
    assert!(lines(&web, "since=1000").await.is_empty());
    let (status, _, body) = get(&web, "/api/containers/app/lines?level=fatal").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("level="));
}

#[tokio::test]
async fn a_download_is_the_selection_as_plain_text() {
    let (_dir, web) = web();
    let (status, headers, body) = get(&web, "/api/containers/app/download?level=warning").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"WARN two\n");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"app.log\""
    );
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .expect("type")
        .starts_with("text/plain"));
}

#[tokio::test]
async fn only_get_and_head_are_answered() {
    let (_dir, web) = web();
    let r = answer(web.clone(), Method::POST, "/".parse().expect("uri")).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = answer(
        web.clone(),
        Method::HEAD,
        "/api/containers".parse().expect("uri"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.into_body().collect().await.expect("body").to_bytes();
    assert!(body.is_empty());
}

#[tokio::test]
async fn the_overview_lists_every_known_container_as_json() {
    let (_dir, web) = web();
    web.board.on_history(&[ContainerName::from("<b>old</b>")]);
    let (status, _, body) = get(&web, "/api/containers").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["machine"], "m1");
    let names: Vec<&str> = v["containers"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["<b>old</b>", "app"]);
    assert_eq!(v["containers"][0]["state"], "gone");
    assert_eq!(
        v["containers"][0]["spark"]["errors"]
            .as_array()
            .map(Vec::len),
        Some(60)
    );
}
