//! A strict, line-aware reader for TOML files: the recipe's `[upstream]`
//! and `[watch]` tables here, and peipkg-manager's own config file.
//!
//! Serde's `deny_unknown_fields` stops at the first unknown key and cannot
//! say on which line it was. Operators fix files faster when every problem
//! is listed at once with its line, so tables are read through this walker
//! instead: each table records which keys were consumed, type errors are
//! collected rather than returned, and leftover keys are reported with their
//! lines. It lives with the recipe reader so that both programs parse TOML
//! with one parser version and count lines one way.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::ops::Range;

use toml_edit::{Document, Item, TableLike, Value};

/// One thing wrong with a file, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found in one pass over a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Maps byte offsets to 1-based line numbers.
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// The line of a span's start; 0 when the parser kept no span.
    pub fn line(&self, span: Option<Range<usize>>) -> usize {
        match span {
            Some(range) => self.at(range.start),
            None => 0,
        }
    }

    pub fn at(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// Text that is not TOML, located as precisely as the parser can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: Option<usize>,
    /// The parser's one-line reason.
    pub message: String,
    /// The parser's full report: line, column and a pointer under the text.
    pub detail: String,
}

/// A parsed TOML file plus what is needed to turn byte offsets into lines.
pub struct Doc {
    pub file: PathBuf,
    lines: Lines,
    doc: Document<String>,
}

impl Doc {
    /// Parses `text` (TOML 1.1, the dialect the reference tools' TOML
    /// library accepts).
    pub fn parse(file: &Path, text: String) -> Result<Doc, SyntaxError> {
        let lines = Lines::new(&text);
        match Document::parse(text) {
            Ok(doc) => Ok(Doc {
                file: file.to_path_buf(),
                lines,
                doc,
            }),
            Err(e) => Err(SyntaxError {
                line: e.span().map(|s| lines.at(s.start)),
                message: e.message().trim().to_string(),
                detail: e.to_string().trim_end().to_string(),
            }),
        }
    }

    /// Parses `text`; a syntax error is returned as a single located problem.
    pub fn parse_or_problem(file: &Path, text: String) -> Result<Doc, Problem> {
        Doc::parse(file, text).map_err(|e| Problem {
            file: file.to_path_buf(),
            line: e.line,
            message: format!("invalid TOML: {}", e.message),
        })
    }

    pub fn root(&self) -> &dyn TableLike {
        self.doc.as_table()
    }

    pub fn table(&self) -> &toml_edit::Table {
        self.doc.as_table()
    }

    pub fn lines(&self) -> &Lines {
        &self.lines
    }

    pub fn line(&self, offset: usize) -> usize {
        self.lines.at(offset)
    }
}

/// Collects problems for one file.
pub struct Reporter<'d> {
    pub doc: &'d Doc,
    pub problems: Vec<Problem>,
}

impl<'d> Reporter<'d> {
    pub fn new(doc: &'d Doc) -> Self {
        Reporter {
            doc,
            problems: Vec::new(),
        }
    }

    pub fn push(&mut self, line: Option<usize>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.doc.file.clone(),
            line,
            message: message.into(),
        });
    }

    pub fn into_problems(self) -> Problems {
        Problems(self.problems)
    }
}

/// A view of one table that remembers which keys were read.
pub struct Section<'d> {
    /// How the table is named in messages: `[upload]`, `[[grant]] #2`.
    pub label: String,
    table: &'d dyn TableLike,
    doc: &'d Doc,
    seen: BTreeSet<String>,
    /// Line of the table header, for problems about the table as a whole.
    pub line: Option<usize>,
}

impl<'d> Section<'d> {
    pub fn new(doc: &'d Doc, label: String, table: &'d dyn TableLike, line: Option<usize>) -> Self {
        Section {
            label,
            table,
            doc,
            seen: BTreeSet::new(),
            line,
        }
    }

    /// The line a key is written on (or the table's line if unknown).
    pub fn key_line(&self, key: &str) -> Option<usize> {
        self.table
            .get_key_value(key)
            .and_then(|(k, v)| k.span().or_else(|| v.span()))
            .map(|s| self.doc.line(s.start))
            .or(self.line)
    }

    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    fn take(&mut self, key: &str) -> Option<&'d Item> {
        self.seen.insert(key.to_string());
        self.table.get(key)
    }

    fn type_error(&self, r: &mut Reporter<'_>, key: &str, want: &str, item: &Item) {
        // The top level has no label: "upstream: ...", not ".upstream: ...".
        let dot = if self.label.is_empty() { "" } else { "." };
        r.push(
            self.key_line(key),
            format!(
                "{}{dot}{key}: expected {want}, found {}",
                self.label,
                describe(item)
            ),
        );
    }

    pub fn string(&mut self, r: &mut Reporter<'_>, key: &str) -> Option<String> {
        let item = self.take(key)?;
        match item.as_str() {
            Some(v) => Some(v.to_string()),
            None => {
                self.type_error(r, key, "a string", item);
                None
            }
        }
    }

    pub fn bool(&mut self, r: &mut Reporter<'_>, key: &str) -> Option<bool> {
        let item = self.take(key)?;
        match item.as_bool() {
            Some(v) => Some(v),
            None => {
                self.type_error(r, key, "a boolean (true or false)", item);
                None
            }
        }
    }

    pub fn integer(&mut self, r: &mut Reporter<'_>, key: &str) -> Option<i64> {
        let item = self.take(key)?;
        match item.as_integer() {
            Some(v) => Some(v),
            None => {
                self.type_error(r, key, "an integer", item);
                None
            }
        }
    }

    pub fn string_array(&mut self, r: &mut Reporter<'_>, key: &str) -> Option<Vec<String>> {
        let item = self.take(key)?;
        let Some(arr) = item.as_array() else {
            self.type_error(r, key, "an array of strings", item);
            return None;
        };
        let mut out = Vec::new();
        for v in arr.iter() {
            match v.as_str() {
                Some(s) => out.push(s.to_string()),
                None => {
                    self.type_error(r, key, "an array of strings", item);
                    return None;
                }
            }
        }
        Some(out)
    }

    /// A Go duration string with a minimum. Integers are refused, as by the
    /// reference, because `60` alone does not say seconds or minutes.
    pub fn duration(
        &mut self,
        r: &mut Reporter<'_>,
        key: &str,
        minimum: Duration,
    ) -> Option<Duration> {
        let text = self.string(r, key)?;
        let line = self.key_line(key);
        match peipkg_cli::parse_duration(&text) {
            Ok(d) if d < minimum => {
                r.push(
                    line,
                    format!(
                        "{}.{key}: {text:?} is less than the {} minimum (use {} or greater)",
                        self.label,
                        peipkg_cli::format_duration(minimum),
                        short_duration(minimum)
                    ),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                r.push(line, format!("{}.{key}: {e}", self.label));
                None
            }
        }
    }

    /// A sub-table (`[a.b]` or an inline table).
    pub fn table(&mut self, r: &mut Reporter<'_>, key: &str) -> Option<Section<'d>> {
        let item = self.take(key)?;
        match item.as_table_like() {
            Some(t) => Some(Section::new(
                self.doc,
                format!("[{key}]"),
                t,
                self.key_line(key),
            )),
            None => {
                self.type_error(r, key, "a table", item);
                None
            }
        }
    }

    /// An array of tables (`[[grant]]`); each entry is labelled with its
    /// 1-based position.
    pub fn table_array(&mut self, r: &mut Reporter<'_>, key: &str) -> Vec<Section<'d>> {
        let Some(item) = self.take(key) else {
            return Vec::new();
        };
        let doc = self.doc;
        match item {
            Item::ArrayOfTables(arr) => arr
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let line = t.span().map(|s| doc.line(s.start));
                    Section::new(doc, format!("[[{key}]] #{}", i + 1), t, line)
                })
                .collect(),
            Item::Value(Value::Array(arr)) => {
                let mut out = Vec::new();
                for (i, v) in arr.iter().enumerate() {
                    match v.as_inline_table() {
                        Some(t) => {
                            let line = v.span().map(|s| doc.line(s.start));
                            out.push(Section::new(doc, format!("[[{key}]] #{}", i + 1), t, line))
                        }
                        None => {
                            self.type_error(r, key, "an array of tables", item);
                            return Vec::new();
                        }
                    }
                }
                out
            }
            other => {
                self.type_error(r, key, "an array of tables", other);
                Vec::new()
            }
        }
    }

    /// Marks a key as known without reading it (for tables owned by
    /// another tool).
    pub fn ignore(&mut self, key: &str) {
        self.seen.insert(key.to_string());
    }

    /// Reports every key that nobody read, each on its own line.
    pub fn finish(self, r: &mut Reporter<'_>) {
        for (key, _) in self.table.iter() {
            if !self.seen.contains(key) {
                let line = self.key_line(key);
                let what = if self.label.is_empty() {
                    format!("unknown key {key:?} at the top level (typo?)")
                } else {
                    format!("unknown key {key:?} in {} (typo?)", self.label)
                };
                r.push(line, what);
            }
        }
    }
}

/// How messages name the type of what was found.
fn describe(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => value_type(v),
    }
}

/// How messages name the type of a value (the recipe's decoder uses it too).
pub fn value_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "an inline table",
    }
}

fn short_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 && secs.checked_rem(3600) == Some(0) {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs.checked_rem(60) == Some(0) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Doc {
        Doc::parse(Path::new("t.toml"), text.to_string()).unwrap()
    }

    #[test]
    fn unknown_keys_are_listed_with_lines() {
        let d = doc("[a]\nx = 1\ny = 2\n\n[a.deep]\nz = 3\n");
        let mut r = Reporter::new(&d);
        let mut root = Section::new(&d, String::new(), d.root(), None);
        let mut a = root.table(&mut r, "a").unwrap();
        assert_eq!(a.integer(&mut r, "x"), Some(1));
        a.finish(&mut r);
        root.finish(&mut r);
        let p = r.into_problems();
        let lines: Vec<_> = p.0.iter().map(|p| (p.line, p.message.clone())).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].0, Some(3));
        assert!(lines[0].1.contains("\"y\""));
        assert_eq!(lines[1].0, Some(5));
        assert!(lines[1].1.contains("\"deep\""));
    }

    #[test]
    fn type_errors_name_key_and_line() {
        let d = doc("[w]\n\nflag = \"yes\"\n");
        let mut r = Reporter::new(&d);
        let mut root = Section::new(&d, String::new(), d.root(), None);
        let mut w = root.table(&mut r, "w").unwrap();
        assert_eq!(w.bool(&mut r, "flag"), None);
        let p = r.into_problems();
        assert_eq!(p.0[0].line, Some(3));
        assert!(p.0[0].message.contains("[w].flag"));
        assert!(p.0[0].message.contains("expected a boolean"));
    }

    #[test]
    fn durations_refuse_integers_days_and_too_small() {
        let d = doc("[p]\na = 60\nb = \"1d\"\nc = \"10s\"\nd = \"90m\"\n");
        let mut r = Reporter::new(&d);
        let mut root = Section::new(&d, String::new(), d.root(), None);
        let mut p = root.table(&mut r, "p").unwrap();
        let min = Duration::from_secs(60);
        assert_eq!(p.duration(&mut r, "a", min), None);
        assert_eq!(p.duration(&mut r, "b", min), None);
        assert_eq!(p.duration(&mut r, "c", min), None);
        assert_eq!(
            p.duration(&mut r, "d", min),
            Some(Duration::from_secs(5400))
        );
        let probs = r.into_problems();
        assert_eq!(probs.0.len(), 3);
        assert!(probs.0[2].message.contains("1m"), "{}", probs.0[2]);
        assert_eq!(probs.0[1].line, Some(3));
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = Doc::parse_or_problem(Path::new("x.toml"), "[a]\nb = \n".into())
            .err()
            .unwrap();
        assert_eq!(e.line, Some(2));
    }
}
