//! TOML -> recipe model, strict inside the sections recipes define.
//!
//! The document is walked by hand (rather than through serde) so that every
//! problem carries a line number, unknown keys are named together with
//! their table, and *all* problems of a recipe are reported in one go. The
//! parser is `toml_edit` with TOML 1.1 support, the dialect the reference
//! tool's TOML library accepts by default. `[upstream]` and `[watch]` are
//! read by [`crate::upstream`] through the same parsed document.

use std::ops::Range;

use toml_edit::{Array, ArrayOfTables, InlineTable, Item, Table, Value};

use crate::glob::Glob;
use crate::model::{
    DependencyEntry, FilePattern, Located, Meta, PackageStanza, ProvidesEntry, ReplacesEntry,
    SignStanza,
};
use crate::strict::{value_type, Doc, Lines, Reporter, Section};
use crate::upstream::{self, Upstream, Watch};
use crate::Problem;

const META_KEYS: &[&str] = &["license", "homepage", "source", "build_script"];
const PACKAGE_KEYS: &[&str] = &[
    "name",
    "architecture",
    "description",
    "dependencies",
    "optional_dependencies",
    "conflicts",
    "provides",
    "replaces",
    "side_effects",
    "files",
];
const DEPENDENCY_KEYS: &[&str] = &["name", "constraint", "arch", "same_build"];
const PROVIDES_KEYS: &[&str] = &["name", "version"];
const REPLACES_KEYS: &[&str] = &["name", "constraint"];
const SIGN_KEYS: &[&str] = &["path", "key"];

/// What decoding found, before semantic validation.
#[derive(Debug, Default)]
pub struct Decoded {
    pub meta: Option<Meta>,
    pub packages: Vec<PackageStanza>,
    pub signs: Vec<SignStanza>,
    pub upstream: Option<Upstream>,
    pub watch: Watch,
}

/// A table or inline table, seen uniformly.
#[derive(Clone, Copy)]
enum TableRef<'a> {
    Table(&'a Table),
    Inline(&'a InlineTable),
}

/// A value-ish node: a plain value, a table, or an array of tables.
#[derive(Clone, Copy)]
enum Node<'a> {
    Value(&'a Value),
    Table(&'a Table),
    Tables(&'a ArrayOfTables),
}

impl<'a> Node<'a> {
    fn from_item(item: &'a Item) -> Option<Node<'a>> {
        match item {
            Item::None => None,
            Item::Value(v) => Some(Node::Value(v)),
            Item::Table(t) => Some(Node::Table(t)),
            Item::ArrayOfTables(a) => Some(Node::Tables(a)),
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Node::Value(v) => value_type(v),
            Node::Table(_) => "a table",
            Node::Tables(_) => "an array of tables",
        }
    }

    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Value(v) => v.span(),
            Node::Table(t) => t.span(),
            Node::Tables(a) => a.span(),
        }
    }

    fn as_table(self) -> Option<TableRef<'a>> {
        match self {
            Node::Table(t) => Some(TableRef::Table(t)),
            Node::Value(Value::InlineTable(t)) => Some(TableRef::Inline(t)),
            _ => None,
        }
    }

    /// `[[x]]` blocks, or `x = [{...}, ...]`.
    fn as_table_list(self) -> Option<Vec<TableRef<'a>>> {
        match self {
            Node::Tables(a) => Some(a.iter().map(TableRef::Table).collect()),
            Node::Value(Value::Array(array)) => array
                .iter()
                .map(|v| v.as_inline_table().map(TableRef::Inline))
                .collect(),
            _ => None,
        }
    }

    fn as_array(self) -> Option<&'a Array> {
        match self {
            Node::Value(Value::Array(a)) => Some(a),
            _ => None,
        }
    }
}

struct Entry<'a> {
    key: &'a str,
    line: usize,
    node: Node<'a>,
}

impl<'a> TableRef<'a> {
    fn span(self) -> Option<Range<usize>> {
        match self {
            TableRef::Table(t) => t.span(),
            TableRef::Inline(t) => t.span(),
        }
    }

    fn entries(self, lines: &Lines) -> Vec<Entry<'a>> {
        match self {
            TableRef::Table(t) => t
                .iter()
                .filter_map(|(key, item)| {
                    let node = Node::from_item(item)?;
                    let span = t.key(key).and_then(|k| k.span()).or_else(|| node.span());
                    Some(Entry {
                        key,
                        line: lines.line(span),
                        node,
                    })
                })
                .collect(),
            TableRef::Inline(t) => t
                .iter()
                .map(|(key, value)| {
                    let node = Node::Value(value);
                    let span = t.key(key).and_then(|k| k.span()).or_else(|| value.span());
                    Entry {
                        key,
                        line: lines.line(span),
                        node,
                    }
                })
                .collect(),
        }
    }
}

struct Decoder<'p> {
    lines: &'p Lines,
    problems: &'p mut Vec<Problem>,
}

impl Decoder<'_> {
    fn problem(&mut self, line: usize, message: String) {
        self.problems.push(Problem {
            line: (line > 0).then_some(line),
            message,
        });
    }

    fn unknown_key(&mut self, entry: &Entry<'_>, table: &str, known: &[&str]) {
        self.problem(
            entry.line,
            format!(
                "{table}: unknown key {:?} (known keys: {}); unknown keys inside [meta], [[package]] and [[sign]] are refused as likely typos",
                entry.key,
                known.join(", ")
            ),
        );
    }

    fn wrong_type(&mut self, entry: &Entry<'_>, table: &str, expected: &str) {
        self.problem(
            entry.line,
            format!(
                "{table}: {:?} must be {expected}, found {}",
                entry.key,
                entry.node.type_name()
            ),
        );
    }

    fn string(&mut self, entry: &Entry<'_>, table: &str) -> String {
        match entry.node {
            Node::Value(Value::String(s)) => s.value().clone(),
            _ => {
                self.wrong_type(entry, table, "a string");
                String::new()
            }
        }
    }

    fn boolean(&mut self, entry: &Entry<'_>, table: &str) -> bool {
        match entry.node {
            Node::Value(Value::Boolean(b)) => *b.value(),
            _ => {
                self.wrong_type(entry, table, "a boolean (true or false)");
                false
            }
        }
    }

    fn string_list(&mut self, entry: &Entry<'_>, table: &str) -> Vec<Located<String>> {
        let Some(array) = entry.node.as_array() else {
            self.wrong_type(entry, table, "an array of strings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (index, value) in array.iter().enumerate() {
            let line = match self.lines.line(value.span()) {
                0 => entry.line,
                l => l,
            };
            match value.as_str() {
                Some(s) => out.push(Located {
                    line,
                    value: s.to_string(),
                }),
                None => self.problem(
                    line,
                    format!(
                        "{table}: {}[{index}] must be a string, found {}",
                        entry.key,
                        Node::Value(value).type_name()
                    ),
                ),
            }
        }
        out
    }

    fn meta(&mut self, node: Node<'_>, line: usize) -> Meta {
        let mut meta = Meta {
            line,
            ..Meta::default()
        };
        let Some(table) = node.as_table() else {
            self.problem(
                line,
                format!(
                    "\"meta\" must be a table ([meta]), found {}",
                    node.type_name()
                ),
            );
            return meta;
        };
        if let Some(l) = table.span().map(|s| self.lines.line(Some(s))) {
            meta.line = l;
        }
        for entry in table.entries(self.lines) {
            let label = "[meta]";
            match entry.key {
                "license" => meta.license = self.string(&entry, label),
                "homepage" => {
                    meta.homepage = self.string(&entry, label);
                    meta.homepage_line = entry.line;
                }
                "source" => meta.source = self.string(&entry, label),
                "build_script" => {
                    meta.build_script = self.string(&entry, label);
                    meta.build_script_line = entry.line;
                }
                _ => self.unknown_key(&entry, label, META_KEYS),
            }
        }
        meta
    }

    fn package(
        &mut self,
        table: TableRef<'_>,
        index: usize,
        fallback_line: usize,
    ) -> PackageStanza {
        let mut stanza = PackageStanza {
            line: match self.lines.line(table.span()) {
                0 => fallback_line,
                l => l,
            },
            ..PackageStanza::default()
        };
        let entries = table.entries(self.lines);
        // Name first, so every other message can use it.
        if let Some(entry) = entries.iter().find(|e| e.key == "name") {
            stanza.name = self.string(entry, &format!("[[package]] #{}", index + 1));
            stanza.name_line = entry.line;
        }
        let label = stanza.label(index);
        for entry in &entries {
            match entry.key {
                "name" => {}
                "architecture" => {
                    stanza.architecture = self.string(entry, &label);
                    stanza.architecture_line = entry.line;
                }
                "description" => {
                    stanza.description = self.string(entry, &label);
                    stanza.description_line = entry.line;
                }
                "dependencies" => stanza.dependencies = self.dependencies(entry, &label),
                "optional_dependencies" => {
                    stanza.optional_dependencies = self.dependencies(entry, &label)
                }
                "conflicts" => stanza.conflicts = self.dependencies(entry, &label),
                "provides" => stanza.provides = self.provides(entry, &label),
                "replaces" => stanza.replaces = self.replaces(entry, &label),
                "side_effects" => stanza.side_effects = self.string_list(entry, &label),
                "files" => {
                    for pattern in self.string_list(entry, &label) {
                        match Glob::new(&pattern.value) {
                            Ok(glob) => stanza.files.push(FilePattern {
                                line: pattern.line,
                                glob,
                            }),
                            Err(err) => self.problem(
                                pattern.line,
                                format!(
                                    "{label}: invalid files pattern {:?}: {err}",
                                    pattern.value
                                ),
                            ),
                        }
                    }
                }
                _ => self.unknown_key(entry, &label, PACKAGE_KEYS),
            }
        }
        stanza
    }

    /// The entries of an array-of-tables field, each with its label and line.
    fn table_list<'a>(
        &mut self,
        entry: &Entry<'a>,
        label: &str,
        what: &str,
    ) -> Vec<(String, usize, TableRef<'a>)> {
        let Some(tables) = entry.node.as_table_list() else {
            self.wrong_type(entry, label, &format!("an array of {what} tables"));
            return Vec::new();
        };
        tables
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let line = match self.lines.line(t.span()) {
                    0 => entry.line,
                    l => l,
                };
                (format!("{label} {}[{i}]", entry.key), line, t)
            })
            .collect()
    }

    fn dependencies(&mut self, entry: &Entry<'_>, label: &str) -> Vec<DependencyEntry> {
        let mut out = Vec::new();
        for (item_label, line, table) in self.table_list(entry, label, "dependency") {
            let mut dep = DependencyEntry {
                line,
                ..DependencyEntry::default()
            };
            for e in table.entries(self.lines) {
                match e.key {
                    "name" => dep.name = self.string(&e, &item_label),
                    "constraint" => dep.constraint = self.string(&e, &item_label),
                    "arch" => dep.arch = self.string(&e, &item_label),
                    "same_build" => dep.same_build = self.boolean(&e, &item_label),
                    _ => self.unknown_key(&e, &item_label, DEPENDENCY_KEYS),
                }
            }
            out.push(dep);
        }
        out
    }

    fn provides(&mut self, entry: &Entry<'_>, label: &str) -> Vec<ProvidesEntry> {
        let mut out = Vec::new();
        for (item_label, line, table) in self.table_list(entry, label, "provides") {
            let mut p = ProvidesEntry {
                line,
                ..ProvidesEntry::default()
            };
            for e in table.entries(self.lines) {
                match e.key {
                    "name" => p.name = self.string(&e, &item_label),
                    "version" => p.version = self.string(&e, &item_label),
                    _ => self.unknown_key(&e, &item_label, PROVIDES_KEYS),
                }
            }
            out.push(p);
        }
        out
    }

    fn replaces(&mut self, entry: &Entry<'_>, label: &str) -> Vec<ReplacesEntry> {
        let mut out = Vec::new();
        for (item_label, line, table) in self.table_list(entry, label, "replaces") {
            let mut r = ReplacesEntry {
                line,
                ..ReplacesEntry::default()
            };
            for e in table.entries(self.lines) {
                match e.key {
                    "name" => r.name = self.string(&e, &item_label),
                    "constraint" => r.constraint = self.string(&e, &item_label),
                    _ => self.unknown_key(&e, &item_label, REPLACES_KEYS),
                }
            }
            out.push(r);
        }
        out
    }

    fn sign(&mut self, table: TableRef<'_>, index: usize, fallback_line: usize) -> SignStanza {
        let mut sign = SignStanza {
            line: match self.lines.line(table.span()) {
                0 => fallback_line,
                l => l,
            },
            ..SignStanza::default()
        };
        let label = format!("[[sign]] #{}", index + 1);
        for e in table.entries(self.lines) {
            match e.key {
                "path" => sign.path = self.string(&e, &label),
                "key" => sign.key = self.string(&e, &label),
                _ => self.unknown_key(&e, &label, SIGN_KEYS),
            }
        }
        sign
    }
}

/// Decodes a parsed document. Problems are appended to `problems`; what
/// could be decoded is returned either way so validation can continue and
/// report everything at once.
pub fn decode(doc: &Doc, problems: &mut Vec<Problem>) -> Decoded {
    let mut decoded = Decoded::default();
    let mut reporter = Reporter::new(doc);
    let mut root = Section::new(doc, String::new(), doc.root(), None);
    (decoded.upstream, decoded.watch) = upstream::read(&mut reporter, &mut root);
    problems.extend(reporter.problems.into_iter().map(|p| Problem {
        line: p.line,
        message: p.message,
    }));
    let mut decoder = Decoder {
        lines: doc.lines(),
        problems,
    };
    let root = TableRef::Table(doc.table());
    for entry in root.entries(decoder.lines) {
        match entry.key {
            "meta" => decoded.meta = Some(decoder.meta(entry.node, entry.line)),
            "package" => match entry.node.as_table_list() {
                Some(tables) => {
                    for (i, t) in tables.into_iter().enumerate() {
                        let stanza = decoder.package(t, i, entry.line);
                        decoded.packages.push(stanza);
                    }
                }
                None => decoder.problem(
                    entry.line,
                    format!(
                        "\"package\" must be an array of tables (write [[package]], not [package]), found {}",
                        entry.node.type_name()
                    ),
                ),
            },
            "sign" => match entry.node.as_table_list() {
                Some(tables) => {
                    for (i, t) in tables.into_iter().enumerate() {
                        let sign = decoder.sign(t, i, entry.line);
                        decoded.signs.push(sign);
                    }
                }
                None => decoder.problem(
                    entry.line,
                    format!(
                        "\"sign\" must be an array of tables (write [[sign]], not [sign]), found {}",
                        entry.node.type_name()
                    ),
                ),
            },
            // [upstream] and [watch] were read above; other top-level
            // sections belong to other tools or future extensions.
            _ => {}
        }
    }
    decoded
}
