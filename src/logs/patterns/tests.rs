use super::*;

const FILE: &str = r#"{
    "patterns": [
        {"name": "oom", "regex": "OutOfMemoryError|Killed process"},
        {"name": "panic", "regex": "(?i)panic"}
    ],
    "mappings": [
        {"container_keywords": ["postgres"],
         "patterns": [{"name": "deadlock", "regex": "deadlock detected"},
                      {"name": "oom", "regex": "out of memory"}]},
        {"container_keywords": ["quiet"], "patterns": []}
    ]
}"#;

/// The indexes `line` matches in `set`, by name.
fn matched<'a>(set: &'a PatternSet, line: &[u8]) -> Vec<&'a str> {
    let mut out = Vec::new();
    set.each_match(line, |i| out.push(&*set.names()[i]));
    out
}

#[test]
fn a_line_matches_every_pattern_it_holds_once() {
    let p = LogPatterns::from_json(FILE).expect("valid");
    assert_eq!(p.len(), 4);
    let web = p.for_container("web-1");
    let cases: &[(&[u8], &[&str])] = &[
        (b"java.lang.OutOfMemoryError: heap", &["oom"]),
        (b"Killed process 42 (java) PANIC", &["oom", "panic"]),
        (b"OutOfMemoryError OutOfMemoryError", &["oom"]),
        (b"all good", &[]),
        (b"", &[]),
        (b"killed process (lower case)", &[]),
        (b"\xff\xfe kernel panic \xc3", &["panic"]),
    ];
    for (line, want) in cases {
        assert_eq!(
            matched(web, line),
            *want,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn a_container_mapping_replaces_the_top_level_patterns() {
    let p = LogPatterns::from_json(FILE).expect("valid");
    let pg = p.for_container("my-postgres-1");
    let names: Vec<&str> = pg.names().iter().map(|n| &**n).collect();
    assert_eq!(names, ["deadlock", "oom"]);
    assert_eq!(matched(pg, b"ERROR: deadlock detected"), ["deadlock"]);
    assert_eq!(matched(pg, b"FATAL: out of memory"), ["oom"]);
    assert!(matched(pg, b"OutOfMemoryError").is_empty(), "not its regex");
    assert!(matched(pg, b"panic").is_empty(), "not its pattern");
    assert!(p.for_container("quiet-job").is_empty());
    assert!(matched(p.for_container("quiet-job"), b"panic OutOfMemoryError").is_empty());
    assert!(matched(p.for_container("web"), b"deadlock detected").is_empty());
    assert_eq!(
        p.for_container("Postgres").names().len(),
        2,
        "case-sensitive names: the top level"
    );
}

#[test]
fn no_patterns_match_nothing() {
    let none = LogPatterns::none();
    assert!(none.is_empty());
    let set = none.for_container("x");
    assert!(set.is_empty());
    assert!(matched(set, b"anything").is_empty());
    assert!(LogPatterns::from_json("{}").expect("valid").is_empty());
    assert!(LogPatterns::from_json(r#"{"patterns": []}"#)
        .expect("valid")
        .is_empty());
}

#[test]
fn bad_files_are_refused_with_one_line_naming_the_pattern() {
    let too_many = format!(
        r#"{{"patterns": [{}], "mappings": [{{"container_keywords": ["a"], "patterns": [{}]}}]}}"#,
        (0..20)
            .map(|i| format!(r#"{{"name": "p{i}", "regex": "x"}}"#))
            .collect::<Vec<_>>()
            .join(","),
        (0..13)
            .map(|i| format!(r#"{{"name": "q{i}", "regex": "y"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "EOF"),
        ("[1]".into(), "invalid type"),
        (r#"{"patterns": [{"name": "a", "regex": "("}]}"#.into(), r#"pattern "a": regex "(" does not parse: unclosed group"#),
        (r#"{"patterns": [{"name": "a", "regex": "x", "level": 1}]}"#.into(), "unknown field `level`"),
        (r#"{"pattern": []}"#.into(), "unknown field `pattern`"),
        (r#"{"patterns": [], "mappings": [{"container_keywords": ["a"], "patterns": [], "x": 1}]}"#.into(), "unknown field `x`"),
        (r#"{"patterns": [{"name": "a"}]}"#.into(), "missing field `regex`"),
        (r#"{"patterns": [{"regex": "a"}]}"#.into(), "missing field `name`"),
        (r#"{"mappings": [{"container_keywords": ["a"]}]}"#.into(), "missing field `patterns`"),
        (r#"{"mappings": [{"patterns": []}]}"#.into(), "missing field `container_keywords`"),
        (r#"{"mappings": [{"container_keywords": [""], "patterns": []}]}"#.into(), "mappings[0]: container_keywords names no container"),
        (r#"{"patterns": [{"name": "1st", "regex": "a"}]}"#.into(), r#"pattern "1st": a name is letters"#),
        (r#"{"patterns": [{"name": "", "regex": "a"}]}"#.into(), r#"pattern "": a name is letters"#),
        (r#"{"patterns": [{"name": "a-b", "regex": "a"}]}"#.into(), r#"pattern "a-b""#),
        (r#"{"patterns": [{"name": "a\"}", "regex": "a"}]}"#.into(), r#"pattern "a\"}""#),
        (r#"{"patterns": [{"name": "é", "regex": "a"}]}"#.into(), r#"pattern "é""#),
        (format!(r#"{{"patterns": [{{"name": "{}", "regex": "a"}}]}}"#, "a".repeat(65)), "at most 64 characters"),
        (r#"{"patterns": [{"name": "a", "regex": ""}]}"#.into(), r#"pattern "a": the regex is empty"#),
        (r#"{"patterns": [{"name": "a", "regex": "x"}, {"name": "a", "regex": "y"}]}"#.into(), r#"patterns: pattern name "a" is used twice"#),
        (r#"{"mappings": [{"container_keywords": ["k"], "patterns": [{"name": "b", "regex": "x"}, {"name": "b", "regex": "y"}]}]}"#.into(), r#"mappings[0]: pattern name "b" is used twice"#),
        (r#"{"patterns": [{"name": "big", "regex": "\\w{1000}\\w{1000}\\w{1000}"}]}"#.into(), r#"pattern "big": regex"#),
        (too_many, "33 patterns, at most 32 are allowed"),
    ];
    for (text, want) in &cases {
        let err = LogPatterns::from_json(text).expect_err(text).to_string();
        assert!(err.starts_with("log patterns file <text>: "), "{err}");
        assert!(err.contains(want), "{text:?} (want {want:?}): {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn thirty_two_patterns_are_allowed_and_names_may_repeat_across_lists() {
    let list = |prefix: &str, n: usize| {
        (0..n)
            .map(|i| format!(r#"{{"name": "{prefix}{i}", "regex": "{prefix}{i}\\b"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let text = format!(
        r#"{{"patterns": [{}], "mappings": [{{"container_keywords": ["a"], "patterns": [{}]}}]}}"#,
        list("p", 16),
        list("p", 16)
    );
    let p = LogPatterns::from_json(&text).expect("32 patterns");
    assert_eq!(p.len(), MAX_PATTERNS);
    assert_eq!(matched(p.for_container("a"), b"p15 and p3"), ["p3", "p15"]);
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.json");
    let err = LogPatterns::load(&missing)
        .expect_err("missing")
        .to_string();
    assert!(
        err.contains(&*missing.to_string_lossy()) && err.contains("cannot be read"),
        "{err}"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"patterns": [{"name": "x", "regex": "[a"}]}"#).expect("write");
    let err = LogPatterns::load(&bad).expect_err("bad").to_string();
    assert!(
        err.contains(&*bad.to_string_lossy()) && err.contains(r#"pattern "x""#),
        "{err}"
    );
    let good = dir.path().join("good.json");
    std::fs::write(&good, FILE).expect("write");
    let p = LogPatterns::load(&good).expect("good");
    assert_eq!(
        matched(p.for_container("pg-postgres"), b"deadlock detected"),
        ["deadlock"]
    );
}

/// The quick test (one regex of every pattern) and the set agree, also for patterns with their own
/// flags, anchors and alternations, and for a verbose-mode comment that keeps them from making one
/// regex.
#[test]
fn the_quick_test_and_the_set_agree() {
    let lists = [
        r#"{"patterns": [{"name": "a", "regex": "(?i)^error"}, {"name": "b", "regex": "x|y$"}, {"name": "c", "regex": "^$|z"}]}"#,
        r#"{"patterns": [{"name": "a", "regex": "(?x) boom # a comment"}, {"name": "b", "regex": "fine"}]}"#,
    ];
    let lines: [&[u8]; 9] = [
        b"ERROR x",
        b"an error",
        b"Error",
        b"y",
        b"ay",
        b"ya",
        b"",
        b"boom",
        b"fine",
    ];
    for text in lists {
        let set = LogPatterns::from_json(text).expect(text).default;
        let c = set.compiled.as_ref().expect("compiled");
        assert_eq!(c.any.is_some(), !text.contains("(?x)"), "{text}");
        for line in lines {
            let want = c.each.is_match(line);
            assert_eq!(!matched(&set, line).is_empty(), want, "{text}: {line:?}");
        }
    }
    let set = LogPatterns::from_json(lists[0]).expect("valid").default;
    assert_eq!(matched(&set, b"ERROR x"), ["a", "b"]);
    assert_eq!(
        matched(&set, b"an error"),
        Vec::<&str>::new(),
        "anchored in its own group"
    );
    assert_eq!(matched(&set, b""), ["c"]);
    assert_eq!(matched(&set, b"ay"), ["b"]);
    assert_eq!(matched(&set, b"ya"), Vec::<&str>::new());
    let verbose = LogPatterns::from_json(lists[1]).expect("valid").default;
    assert_eq!(matched(&verbose, b"a boom here"), ["a"]);
}
