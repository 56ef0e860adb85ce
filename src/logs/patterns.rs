//! Log patterns (LOG_PATTERNS_PATH): regular expressions whose matching lines are counted in
//! `container_log_pattern_matches_total`, for alerts on what a log says. The file has the level
//! mapping's shape for per-container entries:
//!
//! ```json
//! {
//!   "patterns": [{"name": "oom", "regex": "OutOfMemoryError|Killed process"}],
//!   "mappings": [
//!     {"container_keywords": ["postgres"],
//!      "patterns": [{"name": "deadlock", "regex": "deadlock detected"}]}
//!   ]
//! }
//! ```
//!
//! A container uses the patterns of the first mapping with a `container_keywords` entry contained in
//! its name, else the top-level ones, as with the level mapping. A name is a label value: letters,
//! digits and `_`, not starting with a digit, at most [`MAX_NAME_LEN`] long, once per list. At most
//! [`MAX_PATTERNS`] patterns in the whole file, so the series stay bounded. Each list is one regex
//! on bytes (its patterns as alternatives), so a line is searched once for all of them, and lines
//! that are not UTF-8 are matched too; only a line that matches one goes through the list's
//! [`RegexSet`] to find which. Anything else in the file (an unknown key, a regex that does not parse) is
//! refused with one line naming the file and the pattern.

use std::path::Path;
use std::sync::Arc;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

/// Patterns in a whole file, at most: with N containers, at most N x this many series.
pub const MAX_PATTERNS: usize = 32;
/// The longest pattern name.
pub const MAX_NAME_LEN: usize = 64;
/// The most memory one list's compiled regexes may take (the regex crate's own limit is 10 MiB).
const REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// A patterns file that cannot be used: one line, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum PatternsError {
    /// The file cannot be read.
    #[error("log patterns file {path} cannot be read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid patterns file.
    #[error("log patterns file {path}: {message}")]
    Invalid {
        /// The file (or `<text>` when parsed from a string).
        path: String,
        /// What is wrong, and where.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    name: String,
    regex: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    container_keywords: Vec<String>,
    patterns: Vec<RawPattern>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    patterns: Vec<RawPattern>,
    #[serde(default)]
    mappings: Vec<RawMapping>,
}

/// One list of patterns, compiled: what a container's lines are matched against.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    names: Vec<Arc<str>>,
    /// `None` when the list is empty: nothing is matched.
    compiled: Option<Compiled>,
}

/// A list's patterns as one regex, `(?:a)|(?:b)|...`, which answers whether a line matches any:
/// a single regex searches for its literals first (SIMD), which a set of regexes does not, and
/// most lines match none (six times faster on 100-byte lines that match none of five, see
/// BENCHMARKS.md); and as a set, which says which ones a line that matched any matches.
#[derive(Debug, Clone)]
struct Compiled {
    /// `None` when the alternatives do not make one regex (a verbose-mode comment, `(?x)a # c`,
    /// runs to the line's end, past the group that closes it): the set answers then.
    any: Option<Regex>,
    each: RegexSet,
}

impl PatternSet {
    /// The names, in the file's order: the index [`PatternSet::each_match`] gives is a place here.
    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// No pattern: lines are not looked at.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Calls `matched` with the index of every pattern that `line` (without its line end) matches.
    /// Most lines match none: those are read once, by the set's single search.
    pub fn each_match(&self, line: &[u8], mut matched: impl FnMut(usize)) {
        let Some(c) = &self.compiled else { return };
        let any = match &c.any {
            Some(any) => any.is_match(line),
            None => c.each.is_match(line),
        };
        if !any {
            return;
        }
        for i in c.each.matches(line).iter() {
            matched(i);
        }
    }

    /// Compiles `list` (`place` says where it is in the file, for errors).
    fn compile(list: &[RawPattern], place: &str) -> Result<PatternSet, String> {
        let mut names: Vec<Arc<str>> = Vec::with_capacity(list.len());
        for p in list {
            check_name(&p.name).map_err(|why| format!("{place}: pattern {:?}: {why}", p.name))?;
            if names.iter().any(|n| **n == *p.name) {
                return Err(format!("{place}: pattern name {:?} is used twice", p.name));
            }
            check_regex(&p.regex).map_err(|why| format!("{place}: pattern {:?}: {why}", p.name))?;
            names.push(p.name.as_str().into());
        }
        if list.is_empty() {
            return Ok(PatternSet::default());
        }
        let together =
            |e: regex::Error| format!("{place}: the patterns together: {}", one_line(&e));
        let each = RegexSetBuilder::new(list.iter().map(|p| &p.regex))
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(together)?;
        let alternation: Vec<String> = list.iter().map(|p| format!("(?:{})", p.regex)).collect();
        let any = RegexBuilder::new(&alternation.join("|"))
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .ok();
        Ok(PatternSet {
            names,
            compiled: Some(Compiled { any, each }),
        })
    }
}

/// A name must make a sane label value: `[a-zA-Z_][a-zA-Z0-9_]*`, at most [`MAX_NAME_LEN`] long.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("a name is letters, digits and _, not starting with a digit".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("a name is at most {MAX_NAME_LEN} characters"));
    }
    Ok(())
}

/// A regex alone must parse, and not be empty (it would count every line).
fn check_regex(regex: &str) -> Result<(), String> {
    if regex.is_empty() {
        return Err("the regex is empty (it would match every line)".into());
    }
    regex::bytes::RegexBuilder::new(regex)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(drop)
        .map_err(|e| format!("regex {regex:?} does not parse: {}", one_line(&e)))
}

/// The regex crate's message, which spans lines (the regex, a caret, the error), as one line: its
/// `error: ...` line.
fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    let why = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_string);
    why.unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Every list of the file: the top-level one and the per-container ones.
#[derive(Debug, Clone, Default)]
pub struct LogPatterns {
    default: PatternSet,
    mappings: Vec<(Vec<String>, PatternSet)>,
}

impl LogPatterns {
    /// No patterns (LOG_PATTERNS_PATH not set).
    pub fn none() -> LogPatterns {
        LogPatterns::default()
    }

    fn parse(text: &str, path: &str) -> Result<LogPatterns, PatternsError> {
        let invalid = |message: String| PatternsError::Invalid {
            path: path.to_string(),
            message,
        };
        let raw: RawFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let total =
            raw.patterns.len() + raw.mappings.iter().map(|m| m.patterns.len()).sum::<usize>();
        if total > MAX_PATTERNS {
            return Err(invalid(format!(
                "{total} patterns, at most {MAX_PATTERNS} are allowed (each is a series per container)"
            )));
        }
        let default = PatternSet::compile(&raw.patterns, "patterns").map_err(invalid)?;
        let mut mappings = Vec::with_capacity(raw.mappings.len());
        for (i, m) in raw.mappings.iter().enumerate() {
            let place = format!("mappings[{i}]");
            if m.container_keywords.iter().all(|k| k.is_empty()) {
                return Err(invalid(format!(
                    "{place}: container_keywords names no container"
                )));
            }
            let set = PatternSet::compile(&m.patterns, &place).map_err(invalid)?;
            mappings.push((m.container_keywords.clone(), set));
        }
        Ok(LogPatterns { default, mappings })
    }

    /// Parses the JSON text of a patterns file.
    pub fn from_json(text: &str) -> Result<LogPatterns, PatternsError> {
        LogPatterns::parse(text, "<text>")
    }

    /// Reads and parses a patterns file; errors name the file.
    pub fn load(path: &Path) -> Result<LogPatterns, PatternsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PatternsError::Read {
            path: shown.clone(),
            source,
        })?;
        LogPatterns::parse(&text, &shown)
    }

    /// Patterns in the whole file.
    pub fn len(&self) -> usize {
        self.default.names.len()
            + self
                .mappings
                .iter()
                .map(|(_, s)| s.names.len())
                .sum::<usize>()
    }

    /// No pattern at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The patterns of a container: those of the first mapping with a keyword contained in its
    /// name, else the top-level ones.
    pub fn for_container(&self, container: &str) -> &PatternSet {
        super::levels::for_container(&self.mappings, container).unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests;
