//! A lines query as the URL gives it (`?level=error,warning&q=timeout&regex=1&since=1h&limit=500`),
//! checked once into a [`history::Query`] and its time bounds.

use super::history::{self, Pattern, Position};
use super::tail::Point;
use super::when::{self, BadTime};

/// Lines one answer holds at most, whatever `limit` asks.
pub const MAX_LIMIT: usize = 5000;
/// Lines a download holds at most.
pub const MAX_DOWNLOAD: usize = 1_000_000;

/// A query that cannot be run: one line naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadQuery {
    /// An unknown level.
    #[error("level={0:?}: the levels are info, warning and error, comma-separated")]
    Level(String),
    /// A regular expression that does not compile.
    #[error("q={0:?} is not a regular expression: {1}")]
    Regex(String, String),
    /// A limit that is not a number.
    #[error("limit={0:?} is not a number of lines")]
    Limit(String),
    /// A time that does not parse.
    #[error(transparent)]
    Time(#[from] BadTime),
    /// A position that is not `file:offset`.
    #[error("from={0:?} is not a position (file:offset, as the lines answer gives them)")]
    Position(String),
    /// A stream start that is not a number.
    #[error("{0}={1:?} is not a number")]
    Number(&'static str, String),
    /// An unknown parameter: a typo would otherwise be silently ignored.
    #[error("unknown parameter {0:?} (level, q, regex, since, until, limit, first, from)")]
    Unknown(String),
    /// An unknown parameter of a search of every container.
    #[error("unknown parameter {0:?} (q, regex, level, since, until, containers, limit)")]
    UnknownInSearch(String),
    /// A container name the logs browser does not know.
    #[error("containers: no container named {0:?}")]
    Container(String),
}

/// A checked query.
#[derive(Debug, Clone)]
pub struct LinesQuery {
    /// The search, positions not set yet.
    pub search: history::Query,
    /// `since`, unix nanoseconds.
    pub since: Option<i64>,
    /// `until`, unix nanoseconds.
    pub until: Option<i64>,
}

/// The pairs of a query string, decoded as browsers encode forms: `+` is a space, `%XX` a byte,
/// an escape that is not one stays as it is, and bytes that are not UTF-8 become U+FFFD.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Checks the query string of a lines request; `download` allows the larger limit.
pub fn lines_query(
    query: Option<&str>,
    now_nanos: i64,
    download: bool,
) -> Result<LinesQuery, BadQuery> {
    let max = if download { MAX_DOWNLOAD } else { MAX_LIMIT };
    let mut search = history::Query {
        limit: if download { MAX_DOWNLOAD } else { 1000 },
        // The search limits are the history's defaults.
        ..history::Query::default()
    };
    let (mut q, mut regex) = (None::<String>, false);
    let (mut since, mut until) = (None, None);
    for (k, v) in pairs(query.unwrap_or("")) {
        match k.as_str() {
            "level" if !v.is_empty() => {
                let mut levels = [false; 3];
                for name in v.split(',').filter(|n| !n.is_empty()) {
                    let i = match name {
                        "info" => 0,
                        "warning" => 1,
                        "error" => 2,
                        _ => return Err(BadQuery::Level(v.clone())),
                    };
                    levels[i] = true;
                }
                search.levels = levels;
            }
            "q" if !v.is_empty() => q = Some(v),
            "regex" => regex = matches!(v.as_str(), "1" | "true" | "on" | "yes"),
            "since" if !v.is_empty() => since = Some(when::parse("since", &v, now_nanos)?),
            "until" if !v.is_empty() => until = Some(when::parse("until", &v, now_nanos)?),
            "limit" if !v.is_empty() => {
                let n: usize = v.parse().map_err(|_| BadQuery::Limit(v.clone()))?;
                search.limit = n.min(max);
            }
            "first" => search.first = matches!(v.as_str(), "1" | "true" | "on" | "yes"),
            "from" if !v.is_empty() => search.from = Some(position(&v)?),
            "level" | "q" | "since" | "until" | "limit" | "from" => {}
            _ => return Err(BadQuery::Unknown(k)),
        }
    }
    search.pattern = match q {
        None => None,
        Some(q) if regex => {
            Some(Pattern::regex(&q).map_err(|e| BadQuery::Regex(q.clone(), first_line(&e)))?)
        }
        Some(q) => Some(Pattern::text(&q)),
    };
    Ok(LinesQuery {
        search,
        since,
        until,
    })
}

fn position(v: &str) -> Result<Position, BadQuery> {
    let bad = || BadQuery::Position(v.to_string());
    let (file, offset) = v.split_once(':').ok_or_else(bad)?;
    Ok(Position {
        file: file.parse().map_err(|_| bad())?,
        offset: offset.parse().map_err(|_| bad())?,
    })
}

/// A checked search of every container: the lines query and the names to restrict it to (none:
/// every container).
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// Levels, pattern, limit and the time range, as for one container.
    pub lines: LinesQuery,
    /// `containers`, split at commas, empty names left out.
    pub containers: Vec<String>,
}

/// Checks the query string of a search of every container: the lines query's parameters but the
/// positions (`first`, `from`), and `containers`.
pub fn search_query(query: Option<&str>, now_nanos: i64) -> Result<SearchQuery, BadQuery> {
    let mut rest = form_urlencoded::Serializer::new(String::new());
    let mut containers = Vec::new();
    for (k, v) in pairs(query.unwrap_or("")) {
        match k.as_str() {
            "containers" => containers.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(String::from),
            ),
            "first" | "from" => return Err(BadQuery::UnknownInSearch(k)),
            _ => {
                rest.append_pair(&k, &v);
            }
        }
    }
    let lines = match lines_query(Some(&rest.finish()), now_nanos, false) {
        Err(BadQuery::Unknown(k)) => return Err(BadQuery::UnknownInSearch(k)),
        other => other?,
    };
    Ok(SearchQuery { lines, containers })
}

/// A checked live-tail request: levels and pattern, and where to start (`inode` and `offset` of the
/// lines answer's `end`), or from now.
#[derive(Debug, Clone)]
pub struct StreamQuery {
    /// Which levels to send.
    pub levels: [bool; 3],
    /// Send only lines holding a match.
    pub pattern: Option<Pattern>,
    /// Where to start.
    pub from: Option<Point>,
}

/// Checks the query string of a stream request.
pub fn stream_query(query: Option<&str>) -> Result<StreamQuery, BadQuery> {
    let mut rest = form_urlencoded::Serializer::new(String::new());
    let (mut inode, mut offset) = (None, None);
    for (k, v) in pairs(query.unwrap_or("")) {
        let number = |name: &'static str| {
            v.parse::<u64>()
                .map_err(|_| BadQuery::Number(name, v.clone()))
        };
        match k.as_str() {
            "inode" => inode = Some(number("inode")?),
            "offset" => offset = Some(number("offset")?),
            "level" | "q" | "regex" => {
                rest.append_pair(&k, &v);
            }
            _ => return Err(BadQuery::Unknown(k)),
        }
    }
    let lines = lines_query(Some(&rest.finish()), 0, false)?;
    Ok(StreamQuery {
        levels: lines.search.levels,
        pattern: lines.search.pattern,
        from: inode
            .zip(offset)
            .map(|(inode, offset)| Point { inode, offset }),
    })
}

fn first_line(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000_000_000;

    #[test]
    fn a_query_string_is_decoded_into_levels_pattern_limits_and_times() {
        let q = lines_query(
            Some("level=error,warning&q=time%20out+now&since=1h&until=1795000000&limit=20&first=1"),
            NOW,
            false,
        )
        .expect("valid");
        assert_eq!(q.search.levels, [false, true, true]);
        assert_eq!(q.search.limit, 20);
        assert!(q.search.first);
        assert_eq!(q.since, Some(NOW - 3_600_000_000_000));
        assert_eq!(q.until, Some(NOW));
        match q.search.pattern {
            Some(Pattern::Text(f)) => assert_eq!(f.needle(), b"time out now"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits_are_capped_and_empty_values_mean_no_filter() {
        let q = lines_query(Some("limit=99999999&level=&q="), NOW, false).expect("valid");
        assert_eq!(q.search.limit, MAX_LIMIT);
        assert_eq!(q.search.levels, [true; 3]);
        assert!(q.search.pattern.is_none());
        let d = lines_query(Some("limit=99999999"), NOW, true).expect("valid");
        assert_eq!(d.search.limit, MAX_DOWNLOAD);
    }

    #[test]
    fn bad_parameters_are_refused_with_their_name() {
        let cases = [
            ("level=fatal", "level="),
            ("q=(x&regex=1", "q="),
            ("limit=ten", "limit="),
            ("since=soon", "since="),
            ("levle=error", "unknown parameter \"levle\""),
        ];
        for (query, start) in cases {
            let e = lines_query(Some(query), NOW, false).expect_err(query);
            assert!(e.to_string().starts_with(start), "{query}: {e}");
        }
    }

    #[test]
    fn a_stream_starts_where_the_lines_ended_and_keeps_the_filters() {
        let s = stream_query(Some("level=error&q=a%26b&inode=7&offset=99")).expect("valid");
        assert_eq!(s.levels, [false, false, true]);
        assert_eq!(
            s.from,
            Some(Point {
                inode: 7,
                offset: 99
            })
        );
        match s.pattern {
            Some(Pattern::Text(f)) => assert_eq!(f.needle(), b"a&b"),
            other => panic!("{other:?}"),
        }
        assert!(
            stream_query(Some("since=1h")).is_err(),
            "a stream has no range"
        );
        assert!(stream_query(Some("offset=x")).is_err());
        let from = lines_query(Some("from=2:4096"), NOW, false).expect("valid");
        assert_eq!(
            from.search.from,
            Some(Position {
                file: 2,
                offset: 4096
            })
        );
        assert!(lines_query(Some("from=2"), NOW, false).is_err());
    }

    #[test]
    fn a_search_of_every_container_takes_the_lines_parameters_and_containers() {
        let q = search_query(
            Some("q=a%5Eb&regex=1&level=error&since=1h&limit=7&containers=api,+db,,"),
            NOW,
        )
        .expect("valid");
        assert_eq!(q.containers, ["api", "db"]);
        assert_eq!(q.lines.search.limit, 7);
        assert_eq!(q.lines.search.levels, [false, false, true]);
        assert_eq!(q.lines.since, Some(NOW - 3_600_000_000_000));
        assert!(matches!(q.lines.search.pattern, Some(Pattern::Regex(_))));
        for (query, start) in [
            ("from=0:0", "unknown parameter \"from\" (q, regex, level"),
            ("first=1", "unknown parameter \"first\""),
            ("container=api", "unknown parameter \"container\""),
            ("q=(&regex=1", "q=\"(\" is not a regular expression"),
            ("until=later", "until="),
        ] {
            let e = search_query(Some(query), NOW).expect_err(query);
            assert!(e.to_string().starts_with(start), "{query}: {e}");
        }
        assert!(search_query(None, NOW)
            .expect("valid")
            .containers
            .is_empty());
    }

    /// The value of a pair whose value is `component`, decoded.
    fn decode(component: &str) -> String {
        match pairs(&format!("v={component}")).as_slice() {
            [(k, v)] if k == "v" => v.clone(),
            other => panic!("{component}: {other:?}"),
        }
    }

    #[test]
    fn percent_escapes_decode_to_bytes_and_broken_ones_stay() {
        assert_eq!(decode("a%2Fb%00c"), "a/b\0c");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%C3%A4+x"), "ä x");
        assert_eq!(decode("a+b%2Bc"), "a b+c", "+ is a space, %2B a plus");
        assert_eq!(decode("%G1%1"), "%G1%1");
        assert_eq!(decode("%FF"), "\u{FFFD}", "not UTF-8");
    }

    #[test]
    fn pairs_split_on_ampersands_and_the_first_equals_sign() {
        let got = pairs("q=a%3Db=c&&flag&l%65vel=error&=x");
        let want = [("q", "a=b=c"), ("flag", ""), ("level", "error"), ("", "x")];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_stream_keeps_a_pattern_with_pluses_spaces_and_ampersands() {
        let s = stream_query(Some("q=a%2Bb+c%26d%25&level=warning")).expect("valid");
        assert_eq!(s.levels, [false, true, false]);
        match s.pattern {
            Some(Pattern::Text(f)) => assert_eq!(f.needle(), b"a+b c&d%"),
            other => panic!("{other:?}"),
        }
    }
}
