//! Structured `key=value` log lines on stderr.
//!
//! Operators of the reference daemon alert on its log lines (for example
//! `level=ERROR msg="build failed"`), so the line shape and the `msg` strings
//! follow the reference's Go `log/slog` text handler: `time=… level=… msg=…`
//! then the attributes, with values quoted only when they need it. Time is
//! written in UTC so lines from different hosts sort together.

use std::fmt::Write as _;
use std::io::Write as _;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// Severity, ordered from chattiest to quietest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Debug,
            1 => Level::Info,
            2 => Level::Warn,
            _ => Level::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

impl FromStr for Level {
    type Err = String;

    /// Exactly the reference's spellings: lower case, no aliases, so a
    /// config management template that works with one works with the other.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "debug" => Ok(Level::Debug),
            "info" => Ok(Level::Info),
            "warn" => Ok(Level::Warn),
            "error" => Ok(Level::Error),
            other => Err(format!(
                "unknown log level {other:?} (want one of: debug, info, warn, error)"
            )),
        }
    }
}

enum Sink {
    Stderr,
    Memory(Arc<Mutex<Vec<String>>>),
}

/// A cheap, cloneable handle on the process logger.
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Inner>,
}

struct Inner {
    /// A [`Level`] as `u8`: a config reload may change it while other
    /// threads log.
    level: std::sync::atomic::AtomicU8,
    sink: Sink,
    lock: Mutex<()>,
}

/// One attribute value. Strings, numbers and booleans cover every field the
/// daemon logs.
pub enum Val<'a> {
    Str(&'a str),
    Owned(String),
    Int(i64),
    Bool(bool),
}

impl From<&'static str> for Val<'static> {
    fn from(s: &'static str) -> Self {
        Val::Str(s)
    }
}

impl Val<'_> {
    fn render(&self, out: &mut String) {
        match self {
            Val::Str(s) => quote_into(s, out),
            Val::Owned(s) => quote_into(s, out),
            Val::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Val::Bool(b) => {
                let _ = write!(out, "{b}");
            }
        }
    }
}

/// Shorthand constructors used at call sites: `s(&x)`, `n(3)`.
pub fn s(v: impl std::fmt::Display) -> Val<'static> {
    Val::Owned(v.to_string())
}

pub fn n(v: impl TryInto<i64>) -> Val<'static> {
    Val::Int(v.try_into().unwrap_or(i64::MAX))
}

pub fn b(v: bool) -> Val<'static> {
    Val::Bool(v)
}

impl Logger {
    pub fn stderr(level: Level) -> Logger {
        Logger {
            inner: Arc::new(Inner {
                level: std::sync::atomic::AtomicU8::new(level as u8),
                sink: Sink::Stderr,
                lock: Mutex::new(()),
            }),
        }
    }

    /// A logger that keeps its lines in memory, for tests that assert on
    /// what the daemon said.
    pub fn memory(level: Level) -> (Logger, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        (
            Logger {
                inner: Arc::new(Inner {
                    level: std::sync::atomic::AtomicU8::new(level as u8),
                    sink: Sink::Memory(lines.clone()),
                    lock: Mutex::new(()),
                }),
            },
            lines,
        )
    }

    pub fn level(&self) -> Level {
        Level::from_u8(self.inner.level.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Changes the level for every clone of this logger.
    pub fn set_level(&self, level: Level) {
        self.inner
            .level
            .store(level as u8, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn enabled(&self, level: Level) -> bool {
        level >= self.level()
    }

    pub fn log(&self, level: Level, msg: &str, attrs: &[(&str, Val<'_>)]) {
        if !self.enabled(level) {
            return;
        }
        let line = format_line(&now_rfc3339_millis(), level, msg, attrs);
        let line = crate::redact::redact(&line).into_owned();
        match &self.inner.sink {
            Sink::Stderr => {
                let _guard = self.inner.lock.lock();
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{line}");
            }
            Sink::Memory(lines) => {
                if let Ok(mut l) = lines.lock() {
                    l.push(line);
                }
            }
        }
    }

    pub fn debug(&self, msg: &str, attrs: &[(&str, Val<'_>)]) {
        self.log(Level::Debug, msg, attrs)
    }
    pub fn info(&self, msg: &str, attrs: &[(&str, Val<'_>)]) {
        self.log(Level::Info, msg, attrs)
    }
    pub fn warn(&self, msg: &str, attrs: &[(&str, Val<'_>)]) {
        self.log(Level::Warn, msg, attrs)
    }
    pub fn error(&self, msg: &str, attrs: &[(&str, Val<'_>)]) {
        self.log(Level::Error, msg, attrs)
    }
}

fn now_rfc3339_millis() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Renders one line; split out so the quoting rules are testable.
pub fn format_line(time: &str, level: Level, msg: &str, attrs: &[(&str, Val<'_>)]) -> String {
    let mut out = String::with_capacity(96);
    out.push_str("time=");
    out.push_str(time);
    out.push_str(" level=");
    out.push_str(level.label());
    out.push_str(" msg=");
    quote_into(msg, &mut out);
    for (k, v) in attrs {
        out.push(' ');
        out.push_str(k);
        out.push('=');
        v.render(&mut out);
    }
    out
}

/// slog's rule: quote when empty or when the value holds a space, `=`, `"`
/// or anything non-printable. Quoting keeps one event on one line even
/// when an error message from a child process spans several.
fn quote_into(v: &str, out: &mut String) {
    let needs = v.is_empty()
        || v.chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_control() || c == '\u{FFFD}');
    if !needs {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shape_matches_slog_text() {
        let line = format_line(
            "T",
            Level::Error,
            "build failed",
            &[
                ("recipe", s("zlib")),
                ("err", s("exit status 1")),
                ("n", n(3)),
                ("empty", s("")),
            ],
        );
        assert_eq!(
            line,
            r#"time=T level=ERROR msg="build failed" recipe=zlib err="exit status 1" n=3 empty="""#
        );
    }

    #[test]
    fn multiline_values_stay_on_one_line() {
        let line = format_line("T", Level::Info, "x", &[("err", s("a\nb\"c"))]);
        assert!(!line.contains('\n'));
        assert!(line.ends_with(r#"err="a\nb\"c""#), "{line}");
    }

    #[test]
    fn levels_parse_exactly_like_the_reference() {
        assert_eq!("warn".parse::<Level>(), Ok(Level::Warn));
        assert!("warning".parse::<Level>().is_err());
        assert!("INFO".parse::<Level>().is_err());
    }

    #[test]
    fn memory_logger_filters_by_level() {
        let (log, lines) = Logger::memory(Level::Warn);
        log.info("hidden", &[]);
        log.warn("shown", &[]);
        assert_eq!(lines.lock().unwrap().len(), 1);
        assert!(lines.lock().unwrap()[0].contains("msg=shown"));
        let clone = log.clone();
        clone.set_level(Level::Debug);
        log.debug("now shown", &[]);
        assert_eq!(log.level(), Level::Debug);
        assert_eq!(lines.lock().unwrap().len(), 2);
    }
}
