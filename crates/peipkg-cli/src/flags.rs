//! The flag set: definitions, parsing, usage text and error reporting.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::duration::parse_duration;
use crate::{EXIT_OK, EXIT_USAGE};

/// What a flag holds and how its value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// One string; given twice, the last value wins (as in Go).
    String,
    /// A switch: `-flag` sets it, `-flag=false` clears it. It never consumes
    /// the next argument, so `-flag false` is the flag plus a positional.
    Bool,
    /// A string that may be given many times; every value is kept in order.
    Strings,
    /// A Go duration (`90s`, `1h30m`).
    Duration,
    /// A signed decimal integer.
    Int,
}

impl FlagKind {
    fn type_name(self) -> &'static str {
        match self {
            FlagKind::String => "string",
            FlagKind::Bool => "",
            FlagKind::Strings => "value",
            FlagKind::Duration => "duration",
            FlagKind::Int => "int",
        }
    }
}

/// One flag definition. Built with [`FlagSet::flag`] and refined with the
/// builder methods.
#[derive(Debug, Clone)]
pub struct FlagSpec {
    name: String,
    kind: FlagKind,
    help: String,
    value_name: Option<String>,
    default: Option<String>,
    required: bool,
}

impl FlagSpec {
    /// Marks the flag as mandatory. Missing mandatory flags are a usage
    /// error, and all of them are named at once.
    pub fn required(&mut self) -> &mut Self {
        self.required = true;
        self
    }

    /// The placeholder shown in the usage text instead of the type name,
    /// e.g. `PATH` in `-recipe PATH`.
    pub fn value_name(&mut self, name: &str) -> &mut Self {
        self.value_name = Some(name.to_string());
        self
    }

    /// The value used when the flag is absent. It is parsed like a command
    /// line value when the flag set parses, and shown in the usage text.
    pub fn default(&mut self, value: &str) -> &mut Self {
        self.default = Some(value.to_string());
        self
    }
}

/// A parsed flag value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Strs(Vec<String>),
    Duration(Duration),
    Int(i64),
}

/// Why a command line was refused (or, for [`ParseError::Help`], why parsing
/// stopped early).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// `-h`, `-help` or `--help` was given.
    Help,
    /// A flag that this command does not define.
    UnknownFlag(String),
    /// A value flag at the end of the command line with nothing after it.
    MissingValue(String),
    /// A value that does not parse as the flag's kind.
    InvalidValue {
        flag: String,
        value: String,
        reason: String,
    },
    /// Something that starts with dashes but is not a flag (`---x`, `-=v`).
    BadSyntax(String),
    /// A positional argument the command does not take.
    UnexpectedArgument(String),
    /// Fewer positional arguments than the command needs.
    MissingArgument(String),
    /// Mandatory flags that were not given, in definition order.
    MissingRequired(Vec<String>),
    /// A mandatory flag given with an empty value (`--out=`): the reference
    /// treats it as absent, with this wording.
    EmptyValue(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Help => write!(f, "help requested"),
            ParseError::UnknownFlag(arg) => write!(f, "unknown flag {arg}"),
            ParseError::MissingValue(name) => write!(f, "flag -{name} needs a value"),
            ParseError::InvalidValue {
                flag,
                value,
                reason,
            } => write!(f, "invalid value {value:?} for flag -{flag}: {reason}"),
            ParseError::BadSyntax(arg) => write!(f, "bad flag syntax: {arg}"),
            ParseError::UnexpectedArgument(arg) => write!(f, "unexpected argument {arg:?}"),
            ParseError::MissingArgument(what) => write!(f, "missing argument {what}"),
            ParseError::MissingRequired(names) => {
                let list: Vec<String> = names.iter().map(|n| format!("-{n}")).collect();
                if names.len() == 1 {
                    write!(f, "missing required flag {}", list[0])
                } else {
                    write!(f, "missing required flags {}", list.join(", "))
                }
            }
            ParseError::EmptyValue(name) => write!(f, "--{name} is required"),
        }
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The exit status this outcome maps to: 0 for help, 2 for the rest.
    pub fn exit_code(&self) -> i32 {
        match self {
            ParseError::Help => EXIT_OK,
            _ => EXIT_USAGE,
        }
    }
}

/// The flags and positional arguments of one (sub)command.
#[derive(Debug, Clone)]
pub struct FlagSet {
    command: String,
    synopsis: String,
    about: Option<String>,
    flags: Vec<FlagSpec>,
    args_name: Option<String>,
    min_args: usize,
    max_args: usize,
}

impl FlagSet {
    /// `command` is what the user types, e.g. `peipkg-build build`; its first
    /// word prefixes error messages. `synopsis` follows it on the usage line,
    /// e.g. `[flags]` or `FILE [flags]`.
    pub fn new(command: &str, synopsis: &str) -> Self {
        FlagSet {
            command: command.to_string(),
            synopsis: synopsis.to_string(),
            about: None,
            flags: Vec::new(),
            args_name: None,
            min_args: 0,
            max_args: 0,
        }
    }

    /// A paragraph shown under the usage line.
    pub fn about(&mut self, text: &str) -> &mut Self {
        self.about = Some(text.to_string());
        self
    }

    /// Declares that the command takes between `min` and `max` positional
    /// arguments, named `name` in messages. Without this call any positional
    /// argument is an error.
    pub fn args(&mut self, name: &str, min: usize, max: usize) -> &mut Self {
        self.args_name = Some(name.to_string());
        self.min_args = min;
        self.max_args = max.max(min);
        self
    }

    /// Defines a flag. `name` is written without dashes.
    ///
    /// Defining the same name twice, or `h`/`help`, is a programming error
    /// and panics in debug builds.
    pub fn flag(&mut self, name: &str, kind: FlagKind, help: &str) -> &mut FlagSpec {
        debug_assert!(
            self.spec(name).is_none(),
            "flag -{name} defined twice for {}",
            self.command
        );
        debug_assert!(name != "h" && name != "help", "-h and -help are reserved");
        self.flags.push(FlagSpec {
            name: name.to_string(),
            kind,
            help: help.to_string(),
            value_name: None,
            default: None,
            required: false,
        });
        let last = self.flags.len() - 1;
        &mut self.flags[last]
    }

    fn spec(&self, name: &str) -> Option<&FlagSpec> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// The program name used to prefix messages (first word of the command).
    pub fn program(&self) -> &str {
        self.command.split_whitespace().next().unwrap_or("")
    }

    /// Parses `args` (without the program and subcommand names).
    ///
    /// Flags may come before, between or after positional arguments; `--`
    /// ends flag parsing. A value flag takes the rest of its argument after
    /// `=`, or else the whole next argument even when that starts with `-`.
    pub fn parse<S: AsRef<str>>(&self, args: &[S]) -> Result<Matches, ParseError> {
        let mut values: BTreeMap<String, Value> = BTreeMap::new();
        let mut given: Vec<String> = Vec::new();
        let mut positionals: Vec<String> = Vec::new();

        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_ref();
            i += 1;
            if arg == "--" {
                positionals.extend(args[i..].iter().map(|a| a.as_ref().to_string()));
                break;
            }
            if arg.len() < 2 || !arg.starts_with('-') {
                positionals.push(arg.to_string());
                continue;
            }
            let body = arg.strip_prefix("--").unwrap_or_else(|| &arg[1..]);
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                return Err(ParseError::BadSyntax(arg.to_string()));
            }
            let (name, inline_value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(spec) = self.spec(name) else {
                if name == "h" || name == "help" {
                    return Err(ParseError::Help);
                }
                let shown = match inline_value {
                    Some(_) => arg.split_once('=').map_or(arg, |(n, _)| n),
                    None => arg,
                };
                return Err(ParseError::UnknownFlag(shown.to_string()));
            };
            let raw = match (spec.kind, inline_value) {
                (FlagKind::Bool, None) => "true".to_string(),
                (_, Some(v)) => v.to_string(),
                (_, None) => {
                    if i >= args.len() {
                        return Err(ParseError::MissingValue(spec.name.clone()));
                    }
                    i += 1;
                    args[i - 1].as_ref().to_string()
                }
            };
            let value = convert(spec, &raw)?;
            // Defaults are only filled in after the loop, so an existing list
            // here holds earlier command-line values.
            match (values.get_mut(&spec.name), value) {
                (Some(Value::Strs(list)), Value::Strs(mut more)) => list.append(&mut more),
                (_, value) => {
                    values.insert(spec.name.clone(), value);
                }
            }
            if !given.contains(&spec.name) {
                given.push(spec.name.clone());
            }
        }

        let missing: Vec<String> = self
            .flags
            .iter()
            .filter(|f| f.required && !given.contains(&f.name))
            .map(|f| f.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(ParseError::MissingRequired(missing));
        }

        if positionals.len() > self.max_args {
            return Err(ParseError::UnexpectedArgument(
                positionals[self.max_args].clone(),
            ));
        }
        if positionals.len() < self.min_args {
            let name = self.args_name.clone().unwrap_or_else(|| "ARG".to_string());
            return Err(ParseError::MissingArgument(name));
        }

        for spec in &self.flags {
            if values.contains_key(&spec.name) {
                continue;
            }
            let default = match (&spec.default, spec.kind) {
                (Some(raw), _) => convert(spec, raw)?,
                (None, FlagKind::Bool) => Value::Bool(false),
                (None, FlagKind::Strings) => Value::Strs(Vec::new()),
                (None, _) => continue,
            };
            values.insert(spec.name.clone(), default);
        }

        Ok(Matches {
            values,
            given,
            positionals,
        })
    }

    /// The usage text: a usage line, the optional description, and one entry
    /// per flag sorted by name (as Go's `PrintDefaults` does).
    pub fn usage(&self) -> String {
        let mut out = format!("usage: {} {}\n", self.command, self.synopsis);
        if let Some(about) = &self.about {
            out.push('\n');
            out.push_str(about.trim_end());
            out.push('\n');
        }
        if !self.flags.is_empty() {
            out.push_str("\nflags:\n");
            let mut sorted: Vec<&FlagSpec> = self.flags.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            for spec in sorted {
                let placeholder = spec
                    .value_name
                    .clone()
                    .unwrap_or_else(|| spec.kind.type_name().to_string());
                if placeholder.is_empty() {
                    out.push_str(&format!("  -{}\n", spec.name));
                } else {
                    out.push_str(&format!("  -{} {}\n", spec.name, placeholder));
                }
                let mut help = spec.help.clone();
                if spec.required {
                    help.push_str(" (required)");
                }
                if spec.kind == FlagKind::Strings {
                    help.push_str(" (repeatable)");
                }
                if let Some(default) = &spec.default {
                    help.push_str(&format!(" (default {default})"));
                }
                for line in help.lines() {
                    out.push_str(&format!("    \t{line}\n"));
                }
            }
        }
        out
    }

    /// Reports a parse outcome the conventional way and returns the exit
    /// status: help goes to stdout with status 0; errors print
    /// `<program>: <error>`, a blank line and the usage to stderr, status 2.
    pub fn report(&self, err: &ParseError) -> i32 {
        match err {
            ParseError::Help => print!("{}", self.usage()),
            other => eprint!("{}: {other}\n\n{}", self.program(), self.usage()),
        }
        err.exit_code()
    }
}

fn convert(spec: &FlagSpec, raw: &str) -> Result<Value, ParseError> {
    let invalid = |reason: String| ParseError::InvalidValue {
        flag: spec.name.clone(),
        value: raw.to_string(),
        reason,
    };
    Ok(match spec.kind {
        FlagKind::String => Value::Str(raw.to_string()),
        FlagKind::Strings => Value::Strs(vec![raw.to_string()]),
        FlagKind::Bool => {
            Value::Bool(parse_bool(raw).ok_or_else(|| {
                invalid("expected a boolean (true, false, 1, 0, t, f)".to_string())
            })?)
        }
        FlagKind::Duration => {
            Value::Duration(parse_duration(raw).map_err(|e| invalid(e.to_string()))?)
        }
        FlagKind::Int => Value::Int(
            raw.parse::<i64>()
                .map_err(|_| invalid("expected a decimal integer".to_string()))?,
        ),
    })
}

/// The spellings Go's `strconv.ParseBool` accepts.
fn parse_bool(raw: &str) -> Option<bool> {
    match raw {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// The result of a successful parse.
#[derive(Debug, Clone, PartialEq)]
pub struct Matches {
    values: BTreeMap<String, Value>,
    given: Vec<String>,
    positionals: Vec<String>,
}

impl Matches {
    /// A string flag's value (the default when absent and one was declared).
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A bool flag's value; false when absent without a default.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(Value::Bool(true)))
    }

    /// Every value of a repeatable flag, in command-line order.
    pub fn strings(&self, name: &str) -> &[String] {
        match self.values.get(name) {
            Some(Value::Strs(v)) => v,
            _ => &[],
        }
    }

    /// A duration flag's value.
    pub fn duration(&self, name: &str) -> Option<Duration> {
        match self.values.get(name) {
            Some(Value::Duration(d)) => Some(*d),
            _ => None,
        }
    }

    /// An int flag's value.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// Whether the flag appeared on the command line (defaults do not count).
    pub fn is_set(&self, name: &str) -> bool {
        self.given.iter().any(|g| g == name)
    }

    /// A string flag's value where empty counts as absent (`--name=` names
    /// nothing), for flags the command cannot do without.
    pub fn non_empty(&self, name: &str) -> Result<&str, ParseError> {
        match self.string(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ParseError::EmptyValue(name.to_string())),
        }
    }

    /// Positional arguments in order.
    pub fn positionals(&self) -> &[String] {
        &self.positionals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_set() -> FlagSet {
        let mut fs = FlagSet::new("tool sub", "[flags]");
        fs.flag("recipe", FlagKind::String, "path to the recipe")
            .required()
            .value_name("PATH");
        fs.flag("version", FlagKind::String, "package version")
            .required();
        fs.flag("build-env", FlagKind::Strings, "NAME=VALUE");
        fs.flag("keep-failed", FlagKind::Bool, "keep staging");
        fs.flag("timeout", FlagKind::Duration, "script timeout");
        fs.flag("zstd-level", FlagKind::Int, "level").default("19");
        fs
    }

    fn parse(args: &[&str]) -> Result<Matches, ParseError> {
        build_set().parse(args)
    }

    #[test]
    fn accepts_every_go_spelling() {
        for args in [
            vec!["-recipe", "r.toml", "-version", "1-1"],
            vec!["--recipe", "r.toml", "--version", "1-1"],
            vec!["-recipe=r.toml", "--version=1-1"],
            vec!["--recipe=r.toml", "-version", "1-1"],
        ] {
            let m = parse(&args).unwrap();
            assert_eq!(m.string("recipe"), Some("r.toml"), "{args:?}");
            assert_eq!(m.string("version"), Some("1-1"), "{args:?}");
        }
    }

    #[test]
    fn value_flag_consumes_next_argument_even_with_dash() {
        let m = parse(&["-recipe", "-weird", "-version", "1-1"]).unwrap();
        assert_eq!(m.string("recipe"), Some("-weird"));
    }

    #[test]
    fn equals_value_may_be_empty_or_contain_equals() {
        let m = parse(&["-recipe=", "-version=a=b"]).unwrap();
        assert_eq!(m.string("recipe"), Some(""));
        let err = m.non_empty("recipe").unwrap_err();
        assert_eq!(err.to_string(), "--recipe is required");
        assert_eq!(err.exit_code(), 2);
        assert_eq!(m.non_empty("version"), Ok("a=b"));
        assert_eq!(m.string("version"), Some("a=b"));
    }

    #[test]
    fn last_string_wins_and_repeatable_accumulates() {
        let m = parse(&[
            "-recipe",
            "a",
            "-recipe",
            "b",
            "-version",
            "1-1",
            "--build-env",
            "A=1",
            "-build-env=B=2",
        ])
        .unwrap();
        assert_eq!(m.string("recipe"), Some("b"));
        assert_eq!(m.strings("build-env"), ["A=1", "B=2"]);
    }

    #[test]
    fn bool_forms() {
        let base = ["-recipe", "r", "-version", "v"];
        let with = |extra: &[&str]| {
            let mut v: Vec<&str> = base.to_vec();
            v.extend_from_slice(extra);
            parse(&v)
        };
        assert!(!with(&[]).unwrap().flag("keep-failed"));
        assert!(with(&["-keep-failed"]).unwrap().flag("keep-failed"));
        assert!(with(&["--keep-failed=true"]).unwrap().flag("keep-failed"));
        assert!(!with(&["-keep-failed=false"]).unwrap().flag("keep-failed"));
        assert!(!with(&["-keep-failed=0"]).unwrap().flag("keep-failed"));
        // A bool never swallows the next argument.
        assert_eq!(
            with(&["-keep-failed", "false"]),
            Err(ParseError::UnexpectedArgument("false".into()))
        );
        assert!(matches!(
            with(&["-keep-failed=maybe"]),
            Err(ParseError::InvalidValue { ref flag, .. }) if flag == "keep-failed"
        ));
    }

    #[test]
    fn duration_and_int_values() {
        let m = parse(&["-recipe", "r", "-version", "v", "-timeout", "1h30m"]).unwrap();
        assert_eq!(m.duration("timeout"), Some(Duration::from_secs(5400)));
        assert_eq!(m.int("zstd-level"), Some(19));
        assert!(!m.is_set("zstd-level"));
        let m = parse(&["-recipe", "r", "-version", "v", "--zstd-level=3"]).unwrap();
        assert_eq!(m.int("zstd-level"), Some(3));
        assert!(m.is_set("zstd-level"));
        assert!(matches!(
            parse(&["-recipe", "r", "-version", "v", "-timeout", "10"]),
            Err(ParseError::InvalidValue { ref flag, .. }) if flag == "timeout"
        ));
        assert!(matches!(
            parse(&["-recipe", "r", "-version", "v", "-zstd-level", "high"]),
            Err(ParseError::InvalidValue { ref flag, .. }) if flag == "zstd-level"
        ));
    }

    #[test]
    fn unknown_and_missing_and_bad_syntax() {
        assert_eq!(
            parse(&["-bogus"]),
            Err(ParseError::UnknownFlag("-bogus".into()))
        );
        assert_eq!(
            parse(&["--bogus=1"]),
            Err(ParseError::UnknownFlag("--bogus".into()))
        );
        assert_eq!(
            parse(&["-recipe", "r", "-version"]),
            Err(ParseError::MissingValue("version".into()))
        );
        assert_eq!(parse(&["---x"]), Err(ParseError::BadSyntax("---x".into())));
        assert_eq!(parse(&["-=x"]), Err(ParseError::BadSyntax("-=x".into())));
    }

    #[test]
    fn all_missing_required_flags_are_named_in_definition_order() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(
            err,
            ParseError::MissingRequired(vec!["recipe".into(), "version".into()])
        );
        assert_eq!(err.to_string(), "missing required flags -recipe, -version");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn help_spellings() {
        for h in ["-h", "--h", "-help", "--help"] {
            let err = parse(&[h]).unwrap_err();
            assert_eq!(err, ParseError::Help, "{h}");
            assert_eq!(err.exit_code(), 0);
        }
    }

    #[test]
    fn positionals_interspersed_and_double_dash() {
        let mut fs = FlagSet::new("tool inspect", "FILE [flags]");
        fs.args("FILE", 1, 1);
        fs.flag("json", FlagKind::Bool, "JSON output");
        let m = fs.parse(&["pkg.peipkg", "--json"]).unwrap();
        assert_eq!(m.positionals(), ["pkg.peipkg"]);
        assert!(m.flag("json"));
        let m = fs.parse(&["--", "-odd-name"]).unwrap();
        assert_eq!(m.positionals(), ["-odd-name"]);
        assert!(!m.flag("json"));
        assert_eq!(
            fs.parse::<&str>(&[]),
            Err(ParseError::MissingArgument("FILE".into()))
        );
        assert_eq!(
            fs.parse(&["a", "b"]),
            Err(ParseError::UnexpectedArgument("b".into()))
        );
        // A lone "-" is a positional (conventionally stdin), as in Go.
        assert_eq!(fs.parse(&["-"]).unwrap().positionals(), ["-"]);
    }

    #[test]
    fn usage_lists_flags_sorted_with_types() {
        let usage = build_set().usage();
        assert!(usage.starts_with("usage: tool sub [flags]\n"));
        let recipe = usage.find("  -recipe PATH\n").unwrap();
        let build_env = usage.find("  -build-env value\n").unwrap();
        let keep = usage.find("  -keep-failed\n").unwrap();
        let timeout = usage.find("  -timeout duration\n").unwrap();
        assert!(build_env < keep && keep < recipe && recipe < timeout);
        assert!(usage.contains("    \tpath to the recipe (required)\n"));
        assert!(usage.contains("(default 19)"));
    }
}
