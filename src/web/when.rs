//! The `since` and `until` of a query: a moment given as RFC 3339 (`2026-12-01T08:00:00Z`), unix
//! seconds (`1795000000`), or a duration before now (`90s`, `15m`, `1h`, `2d`, `1h30m`).

/// A `since`/`until` value that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not a time: give RFC 3339 (2026-12-01T08:00:00Z), unix seconds, or a duration before now (90s, 15m, 1h, 2d)")]
pub struct BadTime {
    /// The parameter.
    pub name: &'static str,
    /// What was given.
    pub value: String,
}

/// Unix nanoseconds of `value`, with `now_nanos` the present.
pub fn parse(name: &'static str, value: &str, now_nanos: i64) -> Result<i64, BadTime> {
    let bad = || BadTime {
        name,
        value: value.to_string(),
    };
    let v = value.trim();
    if v.is_empty() {
        return Err(bad());
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = v.parse().map_err(|_| bad())?;
        return secs.checked_mul(1_000_000_000).ok_or_else(bad);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return t.timestamp_nanos_opt().ok_or_else(bad);
    }
    let ago = duration_nanos(v).ok_or_else(bad)?;
    now_nanos.checked_sub(ago).ok_or_else(bad)
}

/// `1h30m` and the like, in nanoseconds.
fn duration_nanos(v: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in v.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(n.checked_mul(unit)?.checked_mul(1_000_000_000)?)?;
        any = true;
    }
    (any && digits.is_empty()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000_000_000;

    #[test]
    fn moments_come_as_rfc3339_unix_seconds_or_a_duration_before_now() {
        let cases = [
            ("1795000000", NOW),
            ("2026-11-18T11:46:40Z", 1_795_002_400_000_000_000),
            ("2026-11-18T12:46:40.5+01:00", 1_795_002_400_500_000_000),
            ("90s", NOW - 90_000_000_000),
            ("15m", NOW - 900_000_000_000),
            ("1h30m", NOW - 5_400_000_000_000),
            ("2d", NOW - 172_800_000_000_000),
        ];
        for (value, want) in cases {
            assert_eq!(parse("since", value, NOW), Ok(want), "{value}");
        }
    }

    #[test]
    fn anything_else_is_refused_naming_the_parameter() {
        for value in [
            "",
            "1x",
            "h",
            "1h5",
            "yesterday",
            "-5m",
            "99999999999999999999",
        ] {
            let e = parse("until", value, NOW).expect_err(value);
            assert_eq!(e.name, "until");
            assert!(e.to_string().starts_with("until="), "{e}");
        }
    }
}
