//! The paths of the logs browser: pages, their assets, and the JSON API the pages and scripts use.
//!
//! | path | answer |
//! |---|---|
//! | `/` | the overview page |
//! | `/containers/<name>` | one container's logs page |
//! | `/search` | the search of every container's history |
//! | `/assets/<file>` | the pages' styles and scripts, embedded in the binary |
//! | `/api/containers` | every container, as the overview shows it (JSON) |
//! | `/api/containers/<name>/lines?…` | lines of its history (JSON) |
//! | `/api/containers/<name>/download?…` | the same selection as plain text |
//! | `/api/containers/<name>/stream?…` | new lines as they are written (server-sent events) |
//! | `/api/search?…` | lines of every container's history, merged in time order (JSON) |
//!
//! A container is looked up by its exact name in the collector's own table: URL text never becomes
//! part of a path on disk.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode, Uri};
use serde::Serialize;

use super::everywhere;
use super::history::{self, Position};
use super::query::{self, BadQuery};
use super::tail::{self, Tail};
use super::{Bound, Web};
use crate::container::ContainerName;
use crate::http::{fixed, full, Body};
use crate::logs::levels::Level;
use crate::logs::LogsDir;

/// How often the live tail looks for new lines. The collector flushes once a tick, so this only
/// has to be well under a tick.
const TAIL_POLL: Duration = Duration::from_millis(250);

/// A comment line every so often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The pages may load only what this server serves, run no inline script and be framed by no one.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const OVERVIEW_HTML: &str = include_str!("assets/overview.html");
const CONTAINER_HTML: &str = include_str!("assets/container.html");
const SEARCH_HTML: &str = include_str!("assets/search.html");
const OVERVIEW_JS: &str = include_str!("assets/overview.js");
const CONTAINER_JS: &str = include_str!("assets/container.js");
const SEARCH_JS: &str = include_str!("assets/search.js");
const COMMON_JS: &str = include_str!("assets/common.js");

const JS: &str = "text/javascript; charset=utf-8";

/// What `/assets/<name>` serves: its name, content type and body.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    ("common.js", JS, COMMON_JS),
    ("overview.js", JS, OVERVIEW_JS),
    ("container.js", JS, CONTAINER_JS),
    ("search.js", JS, SEARCH_JS),
];

fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => fixed(status, "application/json", body),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    #[derive(Serialize)]
    struct Error<'a> {
        error: &'a str,
    }
    json(status, &Error { error: message })
}

fn not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "no such page or container")
}

/// Headers every answer carries: the pages' policy, no sniffing, no referrer, not cached.
fn secure(mut r: Response<Body>) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

/// The answer to one request.
pub async fn answer(web: Arc<Web>, method: Method, uri: Uri) -> Response<Body> {
    let head = method == Method::HEAD;
    if method != Method::GET && !head {
        let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return secure(r);
    }
    let mut r = secure(route(&web, uri.path(), uri.query()).await);
    if head {
        *r.body_mut() = full(Bytes::new());
    }
    r
}

async fn route(web: &Arc<Web>, path: &str, query: Option<&str>) -> Response<Body> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    match segments.as_slice() {
        [""] => fixed(StatusCode::OK, "text/html; charset=utf-8", OVERVIEW_HTML),
        ["containers", name] if web.knows(name) => {
            fixed(StatusCode::OK, "text/html; charset=utf-8", CONTAINER_HTML)
        }
        ["search"] => fixed(StatusCode::OK, "text/html; charset=utf-8", SEARCH_HTML),
        ["assets", file] => match ASSETS.iter().find(|(name, _, _)| name == file) {
            Some((_, content_type, body)) => fixed(StatusCode::OK, content_type, *body),
            None => not_found(),
        },
        ["api", "containers"] => containers(web),
        ["api", "search"] => search(web, query).await,
        ["api", "containers", name, "lines"] if web.knows(name) => {
            lines(web, &(*name).into(), query, false).await
        }
        ["api", "containers", name, "download"] if web.knows(name) => {
            lines(web, &(*name).into(), query, true).await
        }
        ["api", "containers", name, "stream"] if web.knows(name) => {
            stream(web, &(*name).into(), query)
        }
        _ => not_found(),
    }
}

fn containers(web: &Web) -> Response<Body> {
    #[derive(Serialize)]
    struct Containers {
        machine: String,
        now: i64,
        kept: super::board::Kept,
        containers: Vec<super::board::Summary>,
    }
    let now = chrono::Utc::now().timestamp();
    json(
        StatusCode::OK,
        &Containers {
            machine: web.machine.clone(),
            now,
            kept: web.board.kept(),
            containers: web.board.summaries(now),
        },
    )
}

/// One line as the API shows it.
#[derive(Debug, Serialize)]
pub struct LineJson {
    /// info, warning or error.
    pub level: &'static str,
    /// The line, invalid UTF-8 replaced.
    pub text: String,
    /// Bytes of the line not shown.
    #[serde(skip_serializing_if = "is_zero")]
    pub cut: usize,
    /// Age of its file (0 = current).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<u32>,
    /// Its offset in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl LineJson {
    /// A line of `level` as the pages get it; `at` is where it starts (none in the live stream).
    fn new(level: Level, text: &[u8], cut: usize, at: Option<Position>) -> LineJson {
        LineJson {
            level: level.as_str(),
            text: String::from_utf8_lossy(text).into_owned(),
            cut,
            file: at.map(|p| p.file),
            offset: at.map(|p| p.offset),
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Serialize)]
struct Lines {
    container: ContainerName,
    lines: Vec<LineJson>,
    left_out: u64,
    first: bool,
    stopped: Option<&'static str>,
    bytes_read: u64,
    /// Where the current file ended when the search ran: a live tail started there misses nothing.
    end: Option<EndJson>,
}

#[derive(Debug, Serialize)]
struct EndJson {
    inode: u64,
    offset: u64,
}

async fn lines(
    web: &Arc<Web>,
    name: &ContainerName,
    query: Option<&str>,
    download: bool,
) -> Response<Body> {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let mut q = match query::lines_query(query, now, download) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    if let Err(e) = web.bound(name, &mut q) {
        return error(StatusCode::BAD_REQUEST, &e.to_string());
    }
    let web2 = web.clone();
    let name2 = name.clone();
    let searched = tokio::task::spawn_blocking(move || {
        let end = tail::end_of(&web2.logs_dir, &name2);
        let rules = web2.mapping.rules_for(name2.as_str());
        history::search(&web2.logs_dir, &name2, rules, &q.search).map(|a| (a, end, q.search.first))
    })
    .await;
    let (answer, end, first) = match searched {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot read the logs of {name}: {e}"),
            )
        }
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if download {
        let mut text = Vec::with_capacity(answer.lines.iter().map(|l| l.text.len() + 1).sum());
        for l in &answer.lines {
            text.extend_from_slice(&l.text);
            text.push(b'\n');
        }
        let mut r = fixed(StatusCode::OK, "text/plain; charset=utf-8", text);
        let file_name = LogsDir::log_file_name(name);
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        return r;
    }
    json(
        StatusCode::OK,
        &Lines {
            container: name.clone(),
            lines: answer
                .lines
                .iter()
                .map(|l| LineJson::new(l.level, &l.text, l.cut, Some(l.at)))
                .collect(),
            left_out: answer.left_out,
            first,
            stopped: answer.stopped.map(history::Limit::as_str),
            bytes_read: answer.bytes_read,
            end: end.map(|p| EndJson {
                inode: p.inode,
                offset: p.offset,
            }),
        },
    )
}

/// One line of a search of every container.
#[derive(Debug, Serialize)]
struct HitJson<'a> {
    container: &'a ContainerName,
    /// The time of its tick (RFC 3339), or none.
    time: Option<String>,
    #[serde(flatten)]
    line: LineJson,
}

#[derive(Debug, Serialize)]
struct FailedJson<'a> {
    container: &'a ContainerName,
    error: &'a str,
}

#[derive(Debug, Serialize)]
struct SearchJson<'a> {
    lines: Vec<HitJson<'a>>,
    left_out: u64,
    stopped: Option<&'static str>,
    bytes_read: u64,
    /// Containers asked for.
    containers: usize,
    /// Of those, read to the end of the range.
    containers_searched: usize,
    failed: Vec<FailedJson<'a>>,
}

async fn search(web: &Arc<Web>, query: Option<&str>) -> Response<Body> {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let q = match query::search_query(query, now) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let names = match web.chosen(&q.containers) {
        Ok(names) => names,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let lines = q.lines;
    let found = everywhere::search(
        web.clone(),
        names,
        everywhere::Query {
            levels: lines.search.levels,
            pattern: lines.search.pattern,
            limit: lines.search.limit,
            since: lines.since,
            until: lines.until,
            max_bytes: lines.search.max_bytes,
            max_time: lines.search.max_time,
        },
    )
    .await;
    json(StatusCode::OK, &search_json(&found))
}

fn search_json(found: &everywhere::Found) -> SearchJson<'_> {
    let time = |ns: i64| {
        chrono::DateTime::from_timestamp_nanos(ns)
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    };
    let lines = found
        .hits
        .iter()
        .map(|h| HitJson {
            container: &found.names[h.key.container as usize],
            time: h.key.time.map(time),
            line: LineJson::new(h.level, &h.text, h.cut, Some(h.key.position())),
        })
        .collect();
    SearchJson {
        lines,
        left_out: found.left_out,
        stopped: found.stopped.map(history::Limit::as_str),
        bytes_read: found.bytes_read,
        containers: found.names.len(),
        containers_searched: found.searched,
        failed: found
            .failed
            .iter()
            .map(|f| FailedJson {
                container: &f.container,
                error: &f.error,
            })
            .collect(),
    }
}

fn stream(web: &Arc<Web>, name: &ContainerName, query: Option<&str>) -> Response<Body> {
    let q = match query::stream_query(query) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let tail = Tail::new(
        web.logs_dir.clone(),
        name.clone(),
        q.from,
        q.levels,
        q.pattern,
    );
    let state = (
        web.clone(),
        name.clone(),
        Some(tail),
        tokio::time::Instant::now(),
    );
    let events =
        futures_util::stream::unfold(state, |(web, name, tail, mut quiet_since)| async move {
            let mut tail = tail?;
            loop {
                tokio::time::sleep(TAIL_POLL).await;
                let web2 = web.clone();
                let name2 = name.clone();
                let polled = tokio::task::spawn_blocking(move || {
                    let found = tail.poll(web2.mapping.rules_for(name2.as_str()));
                    (tail, found)
                })
                .await;
                let Ok((back, found)) = polled else {
                    return None;
                };
                tail = back;
                let lines = match found {
                    Ok(lines) => lines,
                    Err(e) => {
                        tracing::debug!("live tail of {name}: {e}");
                        Vec::new()
                    }
                };
                let mut text = String::new();
                for l in lines {
                    let json = LineJson::new(l.level, &l.text, l.cut, None);
                    if let Ok(data) = serde_json::to_string(&json) {
                        text.push_str("event: line\ndata: ");
                        text.push_str(&data);
                        text.push_str("\n\n");
                    }
                }
                if !text.is_empty() {
                    if let Some(p) = tail.position() {
                        text.push_str(&format!(
                            "event: position\ndata: {{\"inode\":{},\"offset\":{}}}\n\n",
                            p.inode, p.offset
                        ));
                    }
                }
                if text.is_empty() && quiet_since.elapsed() >= KEEP_ALIVE {
                    text.push_str(": still here\n\n");
                }
                if !text.is_empty() {
                    quiet_since = tokio::time::Instant::now();
                    let frame: Result<Frame<Bytes>, std::io::Error> =
                        Ok(Frame::data(Bytes::from(text)));
                    return Some((frame, (web, name, Some(tail), quiet_since)));
                }
            }
        });
    let mut r = Response::new(StreamBody::new(events).boxed());
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

impl Web {
    /// The containers a search of every container reads: those named in `containers`, or every
    /// one the overview lists when it is empty; sorted, each once.
    fn chosen(&self, containers: &[String]) -> Result<Vec<ContainerName>, BadQuery> {
        if containers.is_empty() {
            return Ok(self.board.names());
        }
        let mut names = Vec::with_capacity(containers.len());
        for name in containers {
            if !self.knows(name) {
                return Err(BadQuery::Container(name.clone()));
            }
            names.push(ContainerName::from(name.as_str()));
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Turns the query's `since` and `until` into positions of the time index.
    fn bound(&self, name: &ContainerName, q: &mut query::LinesQuery) -> Result<(), BadQuery> {
        if let Some(since) = q.since {
            let start = match self.times.position(name, since) {
                Bound::Start => None,
                Bound::At(p) => Some(p),
                // After every line: nothing is in the range.
                Bound::End => Some(Position {
                    file: 0,
                    offset: u64::MAX,
                }),
            };
            q.search.from = match (q.search.from, start) {
                (Some(a), Some(b)) => Some(later(a, b)),
                (a, b) => a.or(b),
            };
        }
        if let Some(until) = q.until {
            match self.times.position(name, until.saturating_add(1)) {
                // Before every line: nothing is in the range.
                Bound::Start => {
                    q.search.to = Some(Position {
                        file: u32::MAX,
                        offset: 0,
                    })
                }
                Bound::At(p) => q.search.to = Some(p),
                Bound::End => {}
            }
        }
        Ok(())
    }
}

/// The later of two positions in the history: a younger file, or further into the same one.
fn later(a: Position, b: Position) -> Position {
    if (a.file, std::cmp::Reverse(a.offset)) < (b.file, std::cmp::Reverse(b.offset)) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests;
