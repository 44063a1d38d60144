//! Build timestamps (PSD-009 §3.3.4): RFC 3339, UTC, ending in `Z`.
//!
//! The same value becomes every tar entry's mtime, which a ustar header holds
//! as 11 octal digits of whole seconds. We accept only timestamps that fit
//! that field exactly (whole seconds, 1970 to 2242), so no entry ever needs a
//! PAX `mtime` record (§3.1.4 rule 12 forbids it).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Largest mtime an 11-digit octal field holds.
const MAX_USTAR_MTIME: i64 = 0o77777777777;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimestampError {
    #[error("timestamp {value:?} is not RFC 3339 (e.g. 2026-05-06T12:00:00Z): {reason}")]
    Syntax { value: String, reason: String },
    #[error("timestamp {0:?} must be UTC and end with \"Z\" (PSD-009 §3.3.4)")]
    NotUtc(String),
    #[error(
        "timestamp {0:?} has a fractional second; tar mtimes hold whole seconds (PSD-009 §3.1.4)"
    )]
    Fractional(String),
    #[error("timestamp {0:?} is outside 1970-01-01T00:00:00Z..2242-03-16T12:56:31Z, the range a tar mtime holds")]
    OutOfRange(String),
}

/// Parse a build timestamp to Unix seconds.
pub fn parse_build_timestamp(s: &str) -> Result<i64, TimestampError> {
    // RFC 3339 allows a lower-case `t`/`z` or a space as separators; the
    // manifest form is the one canonical spelling, so only that is taken.
    if s.as_bytes().get(10) != Some(&b'T') || s.contains([' ', 't', 'z']) {
        return Err(TimestampError::Syntax {
            value: s.to_string(),
            reason: "use the form YYYY-MM-DDTHH:MM:SSZ (upper-case T and Z)".into(),
        });
    }
    let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|e| TimestampError::Syntax {
        value: s.to_string(),
        reason: e.to_string(),
    })?;
    if !s.ends_with('Z') {
        return Err(TimestampError::NotUtc(s.to_string()));
    }
    if t.nanosecond() != 0 || s.contains('.') {
        return Err(TimestampError::Fractional(s.to_string()));
    }
    let secs = t.unix_timestamp();
    if !(0..=MAX_USTAR_MTIME).contains(&secs) {
        return Err(TimestampError::OutOfRange(s.to_string()));
    }
    Ok(secs)
}

/// Format Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_timestamp(secs: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fixture_timestamp() {
        assert_eq!(
            parse_build_timestamp("2026-05-06T12:00:00Z"),
            Ok(1778068800)
        );
        assert_eq!(
            format_timestamp(1778068800).unwrap(),
            "2026-05-06T12:00:00Z"
        );
    }

    #[test]
    fn refuses_what_a_ustar_mtime_cannot_hold() {
        assert!(matches!(
            parse_build_timestamp("2026-05-06T12:00:00+02:00"),
            Err(TimestampError::NotUtc(_))
        ));
        assert!(matches!(
            parse_build_timestamp("2026-05-06T12:00:00.5Z"),
            Err(TimestampError::Fractional(_))
        ));
        assert!(matches!(
            parse_build_timestamp("1969-12-31T23:59:59Z"),
            Err(TimestampError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_build_timestamp("2026-05-06 12:00:00Z"),
            Err(TimestampError::Syntax { .. })
        ));
        assert!(matches!(
            parse_build_timestamp("2026-05-06t12:00:00z"),
            Err(TimestampError::Syntax { .. })
        ));
        assert!(matches!(
            parse_build_timestamp("yesterday"),
            Err(TimestampError::Syntax { .. })
        ));
    }
}
