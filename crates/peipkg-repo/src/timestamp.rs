//! `--timestamp` and period values of the `peipkg-repo` command line.
//!
//! Timestamps follow the index `generated_at` grammar, which the format crate
//! owns ([`peipkg_format::repository::timestamp`]); periods (`30d`, `720h`)
//! are a command-line convention only.

pub use peipkg_format::repository::timestamp::{Timestamp, TimestampError};

/// Parses a retention or transition period: a whole number of days (`30d`)
/// or a Go duration (`720h`). Returns seconds.
pub fn parse_period(s: &str) -> Result<i64, String> {
    if let Some(days) = s.strip_suffix('d') {
        if !days.is_empty() && days.bytes().all(|c| c.is_ascii_digit()) {
            return days
                .parse::<i64>()
                .ok()
                .and_then(|d| d.checked_mul(86_400))
                .ok_or_else(|| format!("period {s:?} is out of range"));
        }
    }
    peipkg_cli::parse_duration(s)
        .map(|d| d.as_secs() as i64)
        .map_err(|e| format!("{e}; or a number of days such as 30d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(parse_period("30d"), Ok(30 * 86_400));
        assert_eq!(parse_period("720h"), Ok(30 * 86_400));
        assert_eq!(parse_period("90s"), Ok(90));
        assert!(parse_period("d").is_err());
        assert!(parse_period("1w").is_err());
        assert!(parse_period("-3d").is_err());
    }
}
