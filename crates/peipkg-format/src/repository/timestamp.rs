//! Repository timestamps (`generated_at`, PSD-009 §6.2.2, and the
//! `--timestamp` values that become it): RFC 3339 in UTC, ending in `Z`.
//!
//! The reference accepts what Go's `time.Parse(time.RFC3339, …)` accepts
//! (a comma as decimal mark, any number of fraction digits, no leap
//! second, upper-case `T` and `Z` only) and then insists on the `Z`; it
//! stores the text verbatim as `generated_at`. That grammar is wider than
//! the `time` crate's RFC 3339 parser in some places and narrower in
//! others, so the fields are read here and the `time` crate checks the
//! calendar and computes the instant. The text is kept verbatim; the
//! instant lets a publish refuse to go back in time. It lives in the format
//! crate with the index documents whose member it validates.

use std::cmp::Ordering;
use std::fmt;

use crate::documents::timestamp::format_timestamp;

/// A parsed timestamp. Ordering is by instant; the text is kept verbatim.
#[derive(Debug, Clone)]
pub struct Timestamp {
    text: String,
    unix: i64,
    nanos: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("Timestamp must end with 'Z' for UTC (got {0:?})")]
    NotUtc(String),
    #[error(
        "Timestamp: {value:?} is not an RFC 3339 date-time like 2026-05-07T00:00:00Z: {reason}"
    )]
    Syntax { value: String, reason: String },
}

impl Timestamp {
    pub fn parse(s: &str) -> Result<Timestamp, TimestampError> {
        let (unix, nanos, utc) = parse_rfc3339(s).map_err(|reason| TimestampError::Syntax {
            value: s.to_string(),
            reason: reason.to_string(),
        })?;
        if !utc {
            return Err(TimestampError::NotUtc(s.to_string()));
        }
        Ok(Timestamp {
            text: s.to_string(),
            unix,
            nanos,
        })
    }

    /// A timestamp for a Unix time, written `YYYY-MM-DDTHH:MM:SSZ` (the
    /// one formatter every document uses); `None` past year 9999.
    pub fn from_unix(unix: i64) -> Option<Timestamp> {
        Some(Timestamp {
            text: format_timestamp(unix)?,
            unix,
            nanos: 0,
        })
    }

    /// The current time, to the second.
    pub fn now() -> Timestamp {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp::from_unix(unix).unwrap_or_else(|| Timestamp {
            text: "1970-01-01T00:00:00Z".into(),
            unix: 0,
            nanos: 0,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn unix(&self) -> i64 {
        self.unix
    }

    /// This instant plus whole seconds; `None` past year 9999.
    pub fn plus_secs(&self, secs: i64) -> Option<Timestamp> {
        Timestamp::from_unix(self.unix.checked_add(secs)?)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.unix, self.nanos).cmp(&(other.unix, other.nanos))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses RFC 3339 as Go's layout does. Returns (unix seconds, nanoseconds,
/// whether the zone was `Z`).
fn parse_rfc3339(s: &str) -> Result<(i64, u32, bool), &'static str> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, &'static str> {
        let part = b.get(from..from + len).ok_or("too short")?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err("expected digits");
        }
        Ok(part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let lit = |at: usize, c: u8| -> Result<(), &'static str> {
        if b.get(at) == Some(&c) {
            Ok(())
        } else {
            Err("unexpected character")
        }
    };
    let year = num(0, 4)?;
    lit(4, b'-')?;
    let month = num(5, 2)?;
    lit(7, b'-')?;
    let day = num(8, 2)?;
    lit(10, b'T')?;
    let hour = num(11, 2)?;
    lit(13, b':')?;
    let minute = num(14, 2)?;
    lit(16, b':')?;
    let second = num(17, 2)?;
    let mut at = 19;
    let mut nanos: u32 = 0;
    if matches!(b.get(at), Some(b'.') | Some(b',')) {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return Err("fraction has no digits");
        }
        for (i, d) in b[start..at].iter().take(9).enumerate() {
            nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
        }
    }
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or("month out of range")?;
    // Years are four digits, so they always fit an i32.
    let date = time::Date::from_calendar_date(year as i32, month, day as u8)
        .map_err(|_| "day out of range")?;
    if hour > 23 {
        return Err("hour out of range");
    }
    if minute > 59 {
        return Err("minute out of range");
    }
    if second > 59 {
        return Err("second out of range");
    }
    let (offset, utc) = match b.get(at) {
        Some(b'Z') => {
            at += 1;
            (0, true)
        }
        Some(sign @ (b'+' | b'-')) => {
            let oh = num(at + 1, 2)?;
            lit(at + 3, b':')?;
            let om = num(at + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err("time zone offset out of range");
            }
            at += 6;
            let off = oh * 3600 + om * 60;
            (if *sign == b'+' { off } else { -off }, false)
        }
        _ => return Err("missing time zone (Z or +hh:mm)"),
    };
    if at != b.len() {
        return Err("extra text after the time zone");
    }
    let offset = i32::try_from(offset)
        .ok()
        .and_then(|o| time::UtcOffset::from_whole_seconds(o).ok())
        .ok_or("time zone offset out of range")?;
    // Checked above: hour, minute and second are in range and the fraction
    // is below a second.
    let clock = time::Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos)
        .map_err(|_| "time out of range")?;
    let unix = time::PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .unix_timestamp();
    Ok((unix, nanos, utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_reference_accepts() {
        for ok in [
            "2026-05-07T00:00:00Z",
            "2026-05-07T00:00:00.123456789Z",
            "2026-05-07T00:00:00.5Z",
            "2026-05-07T00:00:00.1234567891234Z",
            "2026-05-07T00:00:00,5Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T00:00:00Z",
        ] {
            let t = Timestamp::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(t.as_str(), ok);
        }
    }

    #[test]
    fn rejects_what_the_reference_rejects() {
        assert_eq!(
            Timestamp::parse("2026-05-07T00:00:00+00:00"),
            Err(TimestampError::NotUtc("2026-05-07T00:00:00+00:00".into()))
        );
        // An offset that moves the instant outside years 0..=9999 is still
        // only "not UTC", never a panic.
        for edge in ["9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+23:59"] {
            assert_eq!(
                Timestamp::parse(edge),
                Err(TimestampError::NotUtc(edge.into()))
            );
        }
        for bad in [
            "2026-05-07t00:00:00Z",
            "2026-05-07T00:00:00z",
            "2026-05-07 00:00:00Z",
            "2026-05-07T00:00Z",
            "2026-5-07T00:00:00Z",
            "2026-05-07T00:00:00.Z",
            " 2026-05-07T00:00:00Z",
            "2026-05-07T00:00:00Z ",
            "2026-05-07T00:00:00ZZ",
            "2023-02-29T00:00:00Z",
            "2026-05-07T24:00:00Z",
            "2026-05-07T00:00:60Z",
            "",
        ] {
            assert!(
                matches!(Timestamp::parse(bad), Err(TimestampError::Syntax { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn orders_by_instant() {
        let a = Timestamp::parse("2026-05-07T00:00:00Z").unwrap();
        let b = Timestamp::parse("2026-05-07T00:00:00.5Z").unwrap();
        let c = Timestamp::parse("2026-05-07T00:00:00,50Z").unwrap();
        assert!(a < b);
        assert_eq!(b, c);
        assert_eq!(a.unix(), 1_778_112_000);
        let text = |unix| Timestamp::from_unix(unix).unwrap().as_str().to_string();
        assert_eq!(text(a.unix()), "2026-05-07T00:00:00Z");
        assert_eq!(text(0), "1970-01-01T00:00:00Z");
        assert_eq!(text(951_782_400), "2000-02-29T00:00:00Z");
        // The parse and the formatter agree at the ends of the range.
        for s in ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            assert_eq!(text(Timestamp::parse(s).unwrap().unix()), s);
        }
        assert!(a.plus_secs(i64::MAX).is_none());
        assert!(Timestamp::from_unix(253_402_300_800).is_none());
    }
}
