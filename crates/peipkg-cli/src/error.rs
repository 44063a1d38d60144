//! The one error type a subcommand returns, and how each kind ends the
//! process: every program prints and exits the same way for the same kind.

use crate::{EXIT_FAILURE, EXIT_USAGE};

/// Why a subcommand did not succeed. It is not a `std::error::Error`, so
/// any error converts into it with `?` (as a [`CliError::Failure`]).
#[derive(Debug)]
pub enum CliError {
    /// The command line was understood by the flag parser but is not
    /// acceptable (an empty path, a bad value combination): printed as
    /// `PROGRAM: message`, a blank line and the subcommand's usage; exit 2.
    Usage(String),
    /// The operation failed: printed as `PROGRAM: message`; exit 1.
    Failure(String),
    /// The subcommand already printed what went wrong: nothing more is
    /// printed and the process exits with this status.
    Exit(i32),
}

impl CliError {
    /// The exit status this error ends the process with.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Failure(_) => EXIT_FAILURE,
            CliError::Exit(code) => *code,
        }
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(err: E) -> Self {
        CliError::Failure(render_chain(&err))
    }
}

/// An error and its causes joined with ": ", skipping causes whose text the
/// message already includes (most of our error types quote their source, so
/// printing every link would repeat it).
pub fn render_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("read x: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn chain_is_joined_without_repeats() {
        let io = || std::io::Error::other("gone");
        assert_eq!(render_chain(&Outer(io())), "outer: gone");
        assert_eq!(render_chain(&Quoting(io())), "read x: gone");
        let e: CliError = Outer(io()).into();
        assert!(matches!(e, CliError::Failure(ref m) if m == "outer: gone"));
        assert_eq!(e.exit_code(), 1);
        assert_eq!(CliError::Usage(String::new()).exit_code(), 2);
        assert_eq!(CliError::Exit(3).exit_code(), 3);
    }
}
