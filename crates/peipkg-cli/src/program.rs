//! A program made of subcommands: the table, the dispatch, the help
//! convention and how a subcommand's outcome becomes output and an exit
//! status. `peipkg-build`, `peipkg-repo` and `peipkg-manager` are each one
//! [`Program`], so the three cannot drift apart in how they answer `help`,
//! a mistyped subcommand or a failed operation.

use std::ffi::OsString;
use std::fmt::Write as _;

use crate::error::CliError;
use crate::flags::{FlagSet, Matches};
use crate::quote::go_quote;
use crate::{EXIT_OK, EXIT_USAGE};

type FlagsFn = Box<dyn Fn() -> FlagSet>;
type RunFn<E> = Box<dyn Fn(&Matches) -> Result<i32, E>>;

enum Action<E> {
    /// Flags parsed by the layer, then the handler.
    Flags { flags: FlagsFn, run: RunFn<E> },
    /// The arguments as given, for internal entry points whose callers are
    /// our own programs, not people.
    Raw(fn(&[String]) -> i32),
}

struct Command<E> {
    name: String,
    /// One line for the subcommand table; `None` hides the subcommand.
    summary: Option<String>,
    action: Action<E>,
}

/// What runs when the first argument is a flag or there is none (the
/// manager's daemon); without one, a bare program name is a usage error.
struct DefaultMode<E> {
    synopsis: String,
    flags: fn(&mut FlagSet),
    run: RunFn<E>,
}

/// One program: name, description, subcommands and optional default mode.
///
/// `E` is what the handlers return; `errors` turns it into a [`CliError`]
/// (the identity for handlers that return `CliError` already, a mapping for
/// those written against `anyhow`).
pub struct Program<E = CliError> {
    name: String,
    about: Option<String>,
    commands: Vec<Command<E>>,
    default: Option<DefaultMode<E>>,
    errors: fn(E) -> CliError,
}

impl Program<CliError> {
    /// A program whose handlers return [`CliError`].
    pub fn new(name: &str) -> Self {
        Program::with_errors(name, |e| e)
    }
}

/// The ways to ask for help instead of running something.
const HELP_SPELLINGS: &[&str] = &["-h", "-help", "--help"];

impl<E> Program<E> {
    /// A program whose handlers return `E`, reported through `errors`.
    pub fn with_errors(name: &str, errors: fn(E) -> CliError) -> Self {
        Program {
            name: name.to_string(),
            about: None,
            commands: Vec::new(),
            default: None,
            errors,
        }
    }

    /// A paragraph shown between the usage line and the subcommand table.
    pub fn about(&mut self, text: &str) -> &mut Self {
        self.about = Some(text.to_string());
        self
    }

    /// A subcommand listed in the usage with `summary`.
    pub fn command(
        &mut self,
        name: &str,
        summary: &str,
        flags: impl Fn() -> FlagSet + 'static,
        run: impl Fn(&Matches) -> Result<i32, E> + 'static,
    ) -> &mut Self {
        self.push(name, Some(summary), flags, run)
    }

    /// A subcommand other programs call, not listed in the usage (its own
    /// `-h` still works).
    pub fn hidden(
        &mut self,
        name: &str,
        flags: impl Fn() -> FlagSet + 'static,
        run: impl Fn(&Matches) -> Result<i32, E> + 'static,
    ) -> &mut Self {
        self.push(name, None, flags, run)
    }

    /// A hidden subcommand that gets its arguments unparsed and returns
    /// the exit status itself.
    pub fn raw(&mut self, name: &str, run: fn(&[String]) -> i32) -> &mut Self {
        self.commands.push(Command {
            name: name.to_string(),
            summary: None,
            action: Action::Raw(run),
        });
        self
    }

    fn push(
        &mut self,
        name: &str,
        summary: Option<&str>,
        flags: impl Fn() -> FlagSet + 'static,
        run: impl Fn(&Matches) -> Result<i32, E> + 'static,
    ) -> &mut Self {
        debug_assert!(
            self.find(name).is_none() && name != "help",
            "subcommand {name} defined twice or reserved"
        );
        self.commands.push(Command {
            name: name.to_string(),
            summary: summary.map(str::to_string),
            action: Action::Flags {
                flags: Box::new(flags),
                run: Box::new(run),
            },
        });
        self
    }

    /// What runs without a subcommand: `synopsis` is its usage line (after
    /// the program name), `flags` adds its flags to the program's own.
    pub fn default_mode(
        &mut self,
        synopsis: &str,
        flags: fn(&mut FlagSet),
        run: impl Fn(&Matches) -> Result<i32, E> + 'static,
    ) -> &mut Self {
        self.default = Some(DefaultMode {
            synopsis: synopsis.to_string(),
            flags,
            run: Box::new(run),
        });
        self
    }

    fn find(&self, name: &str) -> Option<&Command<E>> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// The names of the listed subcommands, in table order.
    pub fn subcommands(&self) -> Vec<&str> {
        self.commands
            .iter()
            .filter(|c| c.summary.is_some())
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The program's own flag set: its usage is the top-level help (usage
    /// line, description, subcommand table, the default mode's flags).
    fn top_flags(&self) -> FlagSet {
        let synopsis = match &self.default {
            Some(d) => d.synopsis.as_str(),
            None => "<subcommand> [flags]",
        };
        let mut f = FlagSet::new(&self.name, synopsis);
        let mut about = String::new();
        if let Some(text) = &self.about {
            let _ = write!(about, "{}\n\n", text.trim_end());
        }
        about.push_str("subcommands:\n");
        let listed: Vec<(&str, &str)> = self
            .commands
            .iter()
            .filter_map(|c| c.summary.as_deref().map(|s| (c.name.as_str(), s)))
            .collect();
        let width = listed.iter().map(|(n, _)| n.len()).max().unwrap_or(0) + 2;
        for (name, summary) in listed {
            let _ = writeln!(about, "  {name:<width$}{summary}");
        }
        let _ = write!(
            about,
            "\nRun '{0} <subcommand> -h' (or '{0} help <subcommand>') for the flags of a subcommand.",
            self.name
        );
        f.about(&about);
        if let Some(d) = &self.default {
            (d.flags)(&mut f);
        }
        f
    }

    /// The top-level help text.
    pub fn usage(&self) -> String {
        self.top_flags().usage()
    }

    /// Runs the program on `args` as the OS gave them (program name first)
    /// and returns the exit status. An argument that is not UTF-8 is a usage
    /// error: every flag value and name we take is text.
    pub fn run<I: IntoIterator<Item = OsString>>(&self, args: I) -> i32 {
        let mut strings = Vec::new();
        for arg in args.into_iter().skip(1) {
            match arg.into_string() {
                Ok(s) => strings.push(s),
                Err(raw) => {
                    eprintln!("{}: argument {raw:?} is not valid UTF-8", self.name);
                    return EXIT_USAGE;
                }
            }
        }
        self.run_args(&strings)
    }

    /// Runs the program on `args` (without the program name).
    ///
    /// `help`, `-h`, `-help` and `--help` print the usage to stdout (exit 0);
    /// `help SUB` is `SUB -h`; an unknown subcommand is named, followed by
    /// the usage on stderr (exit 2).
    pub fn run_args(&self, args: &[String]) -> i32 {
        let Some(first) = args.first().map(String::as_str) else {
            return match &self.default {
                Some(d) => self.execute(&self.top_flags(), args, &d.run),
                None => {
                    eprint!("{}", self.usage());
                    EXIT_USAGE
                }
            };
        };
        if first == "help" {
            // After `help`, a word that is no listed subcommand is ignored,
            // as in the reference.
            if let Some(sub) = args
                .get(1)
                .filter(|s| self.subcommands().contains(&s.as_str()))
            {
                return self.run_args(&[sub.clone(), "-h".into()]);
            }
            print!("{}", self.usage());
            return EXIT_OK;
        }
        if HELP_SPELLINGS.contains(&first) {
            print!("{}", self.usage());
            return EXIT_OK;
        }
        if let Some(cmd) = self.find(first) {
            return match &cmd.action {
                Action::Flags { flags, run } => self.execute(&flags(), &args[1..], run),
                Action::Raw(run) => run(&args[1..]),
            };
        }
        match &self.default {
            Some(d) if first.starts_with('-') => self.execute(&self.top_flags(), args, &d.run),
            _ => {
                eprint!(
                    "{}: unknown subcommand {}\n\n{}",
                    self.name,
                    go_quote(first),
                    self.usage()
                );
                EXIT_USAGE
            }
        }
    }

    /// Parses `args` with `flags`, runs the handler and reports the outcome.
    fn execute(&self, flags: &FlagSet, args: &[String], run: &RunFn<E>) -> i32 {
        let m = match flags.parse(args) {
            Ok(m) => m,
            Err(e) => return flags.report(&e),
        };
        let err = match run(&m) {
            Ok(code) => return code,
            Err(e) => (self.errors)(e),
        };
        match &err {
            CliError::Usage(msg) => eprint!("{}: {msg}\n\n{}", self.name, flags.usage()),
            CliError::Failure(msg) => eprintln!("{}: {msg}", self.name),
            CliError::Exit(_) => {}
        }
        err.exit_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlagKind;

    fn program() -> Program {
        let mut p = Program::new("tool");
        p.command(
            "go",
            "do it",
            || {
                let mut f = FlagSet::new("tool go", "[flags]");
                f.flag("n", FlagKind::Int, "how many").required();
                f
            },
            |m| match m.int("n") {
                Some(0) => Err(CliError::Usage("-n must not be 0".into())),
                Some(n) if n < 0 => Err(CliError::Failure("negative".into())),
                Some(n) => Ok(i32::try_from(n).unwrap_or(1)),
                None => Ok(EXIT_OK),
            },
        );
        p.command(
            "longer-name",
            "other",
            || FlagSet::new("tool longer-name", ""),
            |_| Ok(EXIT_OK),
        );
        p.hidden("secret", || FlagSet::new("tool secret", ""), |_| Ok(7));
        p.raw("inner", |args| i32::try_from(args.len()).unwrap_or(0));
        p
    }

    fn run(args: &[&str]) -> i32 {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        program().run_args(&args)
    }

    #[test]
    fn usage_lists_visible_subcommands_aligned() {
        let usage = program().usage();
        assert_eq!(
            usage,
            "usage: tool <subcommand> [flags]\n\nsubcommands:\n  go           do it\n  longer-name  other\n\n\
             Run 'tool <subcommand> -h' (or 'tool help <subcommand>') for the flags of a subcommand.\n"
        );
        assert_eq!(program().subcommands(), ["go", "longer-name"]);
    }

    #[test]
    fn dispatch_and_exit_codes() {
        for h in ["help", "-h", "-help", "--help"] {
            assert_eq!(run(&[h]), EXIT_OK, "{h}");
        }
        assert_eq!(run(&["help", "go"]), EXIT_OK);
        assert_eq!(run(&["help", "nothing"]), EXIT_OK);
        assert_eq!(run(&[]), EXIT_USAGE);
        assert_eq!(run(&["og"]), EXIT_USAGE);
        assert_eq!(run(&["--flag"]), EXIT_USAGE);
        assert_eq!(run(&["go"]), EXIT_USAGE, "missing required flag");
        assert_eq!(run(&["go", "-n", "x"]), EXIT_USAGE, "bad value");
        assert_eq!(run(&["go", "-n", "0"]), EXIT_USAGE, "handler usage error");
        assert_eq!(run(&["go", "-n", "-1"]), 1);
        assert_eq!(run(&["go", "-n", "5"]), 5);
        assert_eq!(run(&["secret"]), 7);
        assert_eq!(run(&["inner", "a", "-b"]), 2);
    }

    #[test]
    fn default_mode_takes_flags_and_no_arguments() {
        let mut p = program();
        p.about("A tool.");
        p.default_mode(
            "[flags]",
            |f| {
                f.flag("once", FlagKind::Bool, "one pass");
            },
            |m| Ok(if m.flag("once") { 3 } else { 4 }),
        );
        assert_eq!(p.run_args(&[]), 4);
        assert_eq!(p.run_args(&["-once".into()]), 3);
        assert_eq!(p.run_args(&["-bogus".into()]), EXIT_USAGE);
        assert_eq!(p.run_args(&["bogus".into()]), EXIT_USAGE);
        let usage = p.usage();
        assert!(usage.starts_with("usage: tool [flags]\n\nA tool.\n\nsubcommands:\n"));
        assert!(
            usage.ends_with("\nflags:\n  -once\n    \tone pass\n"),
            "{usage}"
        );
    }

    #[test]
    fn non_utf8_argument_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt;
        let args = [OsString::from("tool"), OsString::from_vec(vec![b'g', 0xff])];
        assert_eq!(program().run(args), EXIT_USAGE);
    }
}
