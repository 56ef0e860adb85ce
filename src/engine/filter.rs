//! Which containers the collector watches.
//!
//! By name: INCLUDE_CONTAINERS and EXCLUDE_CONTAINERS are comma-separated patterns where `*` stands
//! for any run of characters (`web-*`, `*-db`). By label: INCLUDE_LABEL and EXCLUDE_LABEL are
//! `key` (the label is present) or `key=value`. And any container can opt out itself with the label
//! `container-metrics.ignore=true`. A container is watched when it matches every include given and
//! no exclude. Labels only decide; they are never copied onto series.

use std::collections::HashMap;

/// The label a container carries to be left alone.
pub const OPT_OUT_LABEL: &str = "container-metrics.ignore";

/// A label condition: present, or present with this value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatch {
    /// The label's key.
    pub key: String,
    /// The value it must have; `None`: any.
    pub value: Option<String>,
}

impl LabelMatch {
    /// `key` or `key=value`; `None` for an empty text.
    pub fn parse(text: &str) -> Option<LabelMatch> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(match text.split_once('=') {
            Some((k, v)) => LabelMatch {
                key: k.trim().to_string(),
                value: Some(v.trim().to_string()),
            },
            None => LabelMatch {
                key: text.to_string(),
                value: None,
            },
        })
    }

    fn matches(&self, labels: &HashMap<String, String>) -> bool {
        match (labels.get(&self.key), &self.value) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some(want)) => v == want,
        }
    }
}

/// The include and exclude rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Name patterns of which one must match (none given: every name).
    pub include: Vec<String>,
    /// Name patterns of which none may match.
    pub exclude: Vec<String>,
    /// A label the container must carry.
    pub include_label: Option<LabelMatch>,
    /// A label the container must not carry.
    pub exclude_label: Option<LabelMatch>,
}

/// Comma-separated patterns, blanks dropped.
pub fn patterns(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

impl Filter {
    /// Whether the container called `name` with these labels is watched.
    pub fn watches(&self, name: &str, labels: &HashMap<String, String>) -> bool {
        if labels
            .get(OPT_OUT_LABEL)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return false;
        }
        if !self.include.is_empty() && !self.include.iter().any(|p| glob(p, name)) {
            return false;
        }
        if self.exclude.iter().any(|p| glob(p, name)) {
            return false;
        }
        if self
            .include_label
            .as_ref()
            .is_some_and(|l| !l.matches(labels))
        {
            return false;
        }
        !self
            .exclude_label
            .as_ref()
            .is_some_and(|l| l.matches(labels))
    }

    /// True when every container is watched but those opting out.
    pub fn is_empty(&self) -> bool {
        self == &Filter::default()
    }
}

/// `*` matches any run of characters, everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_star_matches_any_run_of_characters() {
        for (p, t) in [
            ("web", "web"),
            ("web-*", "web-1"),
            ("*-db", "shop-db"),
            ("*", "anything"),
            ("a*b*c", "axxbyyc"),
            ("a*b*c", "abc"),
            ("**", ""),
        ] {
            assert!(glob(p, t), "{p} {t}");
        }
        for (p, t) in [
            ("web", "web-1"),
            ("web-*", "api-1"),
            ("*-db", "db-shop"),
            ("a*b*c", "acb"),
            ("ab*ba", "aba"),
        ] {
            assert!(!glob(p, t), "{p} {t}");
        }
    }

    #[test]
    fn a_container_is_watched_when_it_matches_every_include_and_no_exclude() {
        let none = labels(&[]);
        assert!(Filter::default().watches("x", &none));
        assert!(!Filter::default().watches("x", &labels(&[(OPT_OUT_LABEL, "true")])));
        assert!(Filter::default().watches("x", &labels(&[(OPT_OUT_LABEL, "false")])));
        let f = Filter {
            include: patterns("web-*, api"),
            exclude: patterns("web-canary"),
            ..Filter::default()
        };
        assert!(f.watches("web-1", &none));
        assert!(f.watches("api", &none));
        assert!(!f.watches("web-canary", &none));
        assert!(!f.watches("db", &none));
        let f = Filter {
            include_label: LabelMatch::parse("monitor"),
            exclude_label: LabelMatch::parse("env=test"),
            ..Filter::default()
        };
        assert!(f.watches("a", &labels(&[("monitor", "")])));
        assert!(!f.watches("a", &none));
        assert!(!f.watches("a", &labels(&[("monitor", "1"), ("env", "test")])));
        assert!(f.watches("a", &labels(&[("monitor", "1"), ("env", "prod")])));
    }

    #[test]
    fn a_label_condition_splits_at_the_first_equals_sign() {
        assert_eq!(LabelMatch::parse("  "), None);
        assert_eq!(
            LabelMatch::parse("a=b=c"),
            Some(LabelMatch {
                key: "a".into(),
                value: Some("b=c".into())
            })
        );
    }
}
