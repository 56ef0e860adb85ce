//! Log level classification, line by line, with the Python tool's mapping file format:
//!
//! ```json
//! {
//!   "default_mapping": {"warning_keywords": ["WARNING", "WARN"], "error_keywords": ["ERROR"]},
//!   "mappings": [
//!     {"container_keywords": ["some-custom-app"], "warning_keywords": ["WARNING"],
//!      "error_keywords": ["ERROR"], "messages_to_ignore_errors": ["TODO"]}
//!   ]
//! }
//! ```
//!
//! A container uses the first mapping with a `container_keywords` entry contained in its name, else the
//! default. A line is `error` if it contains an error keyword and no ignore message, else `warning` if
//! it contains a warning keyword, else `info`. Matching is case-sensitive and on bytes, so lines that
//! are not UTF-8 are classified too.

use std::path::Path;

use memchr::memmem::Finder;
use serde::Deserialize;

/// The level of one log line: the `level` label of `container_logs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Neither an error nor a warning.
    Info,
    /// Contains a warning keyword.
    Warning,
    /// Contains an error keyword and no ignore message.
    Error,
}

impl Level {
    /// Every level, in label order of the Python tool: the one order of levels, which
    /// [`Level::index`] follows, so a per-level array is indexed the same way everywhere.
    pub const ALL: [Level; 3] = [Level::Info, Level::Warning, Level::Error];

    /// Where this level is in [`Level::ALL`]: the index of its slot in a per-level array.
    pub const fn index(self) -> usize {
        match self {
            Level::Info => 0,
            Level::Warning => 1,
            Level::Error => 2,
        }
    }

    /// The label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A mapping file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LevelsError {
    /// The file cannot be read.
    #[error("level mapping file {path} cannot be read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid mapping.
    #[error("level mapping file {path}: {message}")]
    Invalid {
        /// The file (or `<text>` when parsed from a string).
        path: String,
        /// What is wrong, with line and column.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
struct RawRules {
    #[serde(default)]
    warning_keywords: Vec<String>,
    #[serde(default)]
    error_keywords: Vec<String>,
    #[serde(default)]
    messages_to_ignore_errors: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawMapping {
    container_keywords: Vec<String>,
    #[serde(flatten)]
    rules: RawRules,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    default_mapping: RawRules,
    #[serde(default)]
    mappings: Vec<RawMapping>,
}

/// The keywords of one mapping, compiled for fast matching.
#[derive(Debug, Clone)]
pub struct Rules {
    warning: Vec<Finder<'static>>,
    error: Vec<Finder<'static>>,
    ignore: Vec<Finder<'static>>,
}

/// Empty keywords are dropped: an empty string is in every line and would make every line match,
/// which no mapping author means.
fn finders(words: &[String]) -> Vec<Finder<'static>> {
    words
        .iter()
        .filter(|w| !w.is_empty())
        .map(|w| Finder::new(w.as_bytes()).into_owned())
        .collect()
}

fn any_in(finders: &[Finder<'static>], line: &[u8]) -> bool {
    finders.iter().any(|f| f.find(line).is_some())
}

impl Rules {
    fn compile(raw: &RawRules) -> Rules {
        Rules {
            warning: finders(&raw.warning_keywords),
            error: finders(&raw.error_keywords),
            ignore: finders(&raw.messages_to_ignore_errors),
        }
    }

    /// The level of one line (without its line end).
    pub fn classify(&self, line: &[u8]) -> Level {
        if any_in(&self.error, line) {
            // An ignored error message is info, even if it also holds a warning keyword: the Python
            // tool checked the ignore list only inside its error branch and fell back to info.
            if any_in(&self.ignore, line) {
                return Level::Info;
            }
            return Level::Error;
        }
        if any_in(&self.warning, line) {
            return Level::Warning;
        }
        Level::Info
    }
}

/// The whole mapping: per-container rules and the default.
#[derive(Debug, Clone)]
pub struct LevelMapping {
    default: Rules,
    mappings: Vec<(Vec<String>, Rules)>,
}

impl LevelMapping {
    /// The mapping used when no file is given: WARNING and WARN are warnings, ERROR is an error.
    pub fn builtin() -> LevelMapping {
        LevelMapping {
            default: Rules::compile(&RawRules {
                warning_keywords: vec!["WARNING".into(), "WARN".into()],
                error_keywords: vec!["ERROR".into()],
                messages_to_ignore_errors: Vec::new(),
            }),
            mappings: Vec::new(),
        }
    }

    fn parse(text: &str, path: &str) -> Result<LevelMapping, LevelsError> {
        let raw: RawFile = serde_json::from_str(text).map_err(|e| LevelsError::Invalid {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        Ok(LevelMapping {
            default: Rules::compile(&raw.default_mapping),
            mappings: raw
                .mappings
                .iter()
                .map(|m| (m.container_keywords.clone(), Rules::compile(&m.rules)))
                .collect(),
        })
    }

    /// Parses the JSON text of a mapping file.
    pub fn from_json(text: &str) -> Result<LevelMapping, LevelsError> {
        LevelMapping::parse(text, "<text>")
    }

    /// Reads and parses a mapping file; errors name the file.
    pub fn load(path: &Path) -> Result<LevelMapping, LevelsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LevelsError::Read {
            path: shown.clone(),
            source,
        })?;
        LevelMapping::parse(&text, &shown)
    }

    /// The rules for a container: the first mapping with a keyword contained in its name, else the
    /// default mapping.
    pub fn rules_for(&self, container: &str) -> &Rules {
        for_container(&self.mappings, container).unwrap_or(&self.default)
    }
}

/// Of per-container entries `(container_keywords, value)`, the value of the first one with a
/// (non-empty) keyword contained in `container`'s name: how the level mapping and the log patterns
/// pick a container's own entry.
pub(crate) fn for_container<'a, T>(
    mappings: &'a [(Vec<String>, T)],
    container: &str,
) -> Option<&'a T> {
    mappings
        .iter()
        .find(|(keywords, _)| {
            keywords
                .iter()
                .any(|k| !k.is_empty() && container.contains(k.as_str()))
        })
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_index_is_its_place_in_all() {
        for (i, level) in Level::ALL.into_iter().enumerate() {
            assert_eq!(level.index(), i, "{level:?}");
        }
    }

    const FILE: &str = r#"{
        "default_mapping": {"warning_keywords": ["WARNING", "WARN"], "error_keywords": ["ERROR"]},
        "mappings": [
            {"container_keywords": ["custom-app"], "warning_keywords": ["Attention"],
             "error_keywords": ["ERROR", "Fatal"], "messages_to_ignore_errors": ["TODO"]},
            {"container_keywords": ["app"], "warning_keywords": [], "error_keywords": ["boom"]}
        ]
    }"#;

    #[test]
    fn the_builtin_mapping_knows_error_warn_and_warning() {
        let rules = LevelMapping::builtin().rules_for("anything").clone();
        let cases: &[(&[u8], Level)] = &[
            (b"2024 ERROR db down", Level::Error),
            (b"WARN disk at 80%", Level::Warning),
            (b"WARNING: deprecated", Level::Warning),
            (b"all good", Level::Info),
            (b"error in lowercase", Level::Info),
            (b"ERROR and WARN", Level::Error),
            (b"", Level::Info),
            (b"\xff\xfe ERROR \xc3", Level::Error),
            (b"\xff WARN", Level::Warning),
        ];
        for (line, want) in cases {
            assert_eq!(
                rules.classify(line),
                *want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn container_mappings_first_match_wins() {
        let m = LevelMapping::from_json(FILE).expect("valid");
        // (container, line, level)
        let cases = [
            ("my-custom-app-1", "Fatal: out of memory", Level::Error),
            ("my-custom-app-1", "ERROR but TODO later", Level::Info),
            ("my-custom-app-1", "Attention please", Level::Warning),
            ("my-custom-app-1", "WARN not a keyword here", Level::Info),
            ("my-custom-app-1", "TODO alone", Level::Info),
            // "app" matches too, but "custom-app" comes first.
            ("my-custom-app-1", "boom", Level::Info),
            ("other-app", "boom", Level::Error),
            ("other-app", "ERROR is not a keyword here", Level::Info),
            ("db", "ERROR default mapping", Level::Error),
            ("db", "WARN default mapping", Level::Warning),
            ("Custom-App", "Fatal", Level::Info), // case-sensitive names: default rules
        ];
        for (container, line, want) in cases {
            assert_eq!(
                m.rules_for(container).classify(line.as_bytes()),
                want,
                "{container}: {line}"
            );
        }
    }

    #[test]
    fn ignore_messages_only_soften_errors() {
        let m = LevelMapping::from_json(
            r#"{"default_mapping": {"warning_keywords": ["WARN"], "error_keywords": ["ERROR"],
                 "messages_to_ignore_errors": ["expected"]}}"#,
        )
        .expect("valid");
        let r = m.rules_for("x");
        assert_eq!(r.classify(b"ERROR expected failure"), Level::Info);
        assert_eq!(r.classify(b"WARN expected slowness"), Level::Warning);
        assert_eq!(
            r.classify(b"ERROR unexpected"),
            Level::Info,
            "substring match, as in Python"
        );
        assert_eq!(r.classify(b"ERROR real"), Level::Error);
    }

    #[test]
    fn empty_keywords_match_nothing() {
        let m = LevelMapping::from_json(
            r#"{"default_mapping": {"error_keywords": [""], "warning_keywords": []}}"#,
        )
        .expect("valid");
        assert_eq!(m.rules_for("x").classify(b"anything"), Level::Info);
    }

    #[test]
    fn invalid_files_are_refused_with_a_reason() {
        let cases = [
            ("", "EOF"),
            ("{\"default_mapping\": [", "line 1"),
            ("{}", "missing field `default_mapping`"),
            (
                r#"{"default_mapping": {}, "mappings": [{"error_keywords": ["E"]}]}"#,
                "container_keywords",
            ),
            (
                r#"{"default_mapping": {"error_keywords": "ERROR"}}"#,
                "invalid type",
            ),
            (
                r#"{"default_mapping": {"warning_keywords": [1]}}"#,
                "invalid type",
            ),
        ];
        for (text, want) in cases {
            let err = LevelMapping::from_json(text).expect_err(text).to_string();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.json");
        let err = LevelMapping::load(&missing)
            .expect_err("missing")
            .to_string();
        assert!(
            err.contains(&*missing.to_string_lossy()) && err.contains("cannot be read"),
            "{err}"
        );
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "not json").expect("write");
        let err = LevelMapping::load(&bad).expect_err("bad").to_string();
        assert!(err.contains(&*bad.to_string_lossy()), "{err}");
        let good = dir.path().join("good.json");
        std::fs::write(&good, FILE).expect("write");
        let m = LevelMapping::load(&good).expect("good");
        assert_eq!(m.rules_for("other-app").classify(b"boom"), Level::Error);
    }
}
