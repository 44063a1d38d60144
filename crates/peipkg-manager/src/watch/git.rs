//! The environment every git invocation gets.
//!
//! The daemon has no terminal; a git that asks for a password would wait
//! forever. These settings make every credential prompt fail at once.

use crate::process::Cmd;

pub fn git_cmd(program: &str, timeout: std::time::Duration) -> Cmd {
    let mut cmd = Cmd::new(program, timeout)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never");
    if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
        cmd = cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    cmd
}
