//! The `since` and `until` of a query: a moment given as RFC 3339 (`2026-12-01T08:00:00Z`), unix
//! seconds (`1795000000`), or a duration before now (`90s`, `15m`, `1h`, `2d`, `1h30m`, read by
//! humantime).

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

/// `1h30m` and the like, in nanoseconds: humantime's forms, which hold every form this accepted
/// before (digits then one of `s`, `m`, `h`, `d`, `w`, repeated) and more (`1h 30m`, `1.5h`,
/// `500ms`, `2days`).
fn duration_nanos(v: &str) -> Option<i64> {
    let duration = humantime::parse_duration(v).ok()?;
    i64::try_from(duration.as_nanos()).ok()
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
            ("1w2d3h4m5s", NOW - 788_645_000_000_000),
            (" 0s ", NOW),
            // More than the old hand-written parser took.
            ("1h 30m", NOW - 5_400_000_000_000),
            ("1.5h", NOW - 5_400_000_000_000),
            ("250ms", NOW - 250_000_000),
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
            "99999999999999999999s",
            "300y",
            "1m-5s",
            "5 m x",
        ] {
            let e = parse("until", value, NOW).expect_err(value);
            assert_eq!(e.name, "until");
            assert!(e.to_string().starts_with("until="), "{e}");
        }
    }
}
