//! Credential redaction: the one function every value goes through before it
//! leaves the process (HTTP bodies, log lines, `explain`/`check`/`--once`
//! output, error text stored in SQLite).
//!
//! Operators put credentials where the tools need them: a token in a
//! recipe's git URL (`https://user:TOKEN@host/x.git`), keys in an rclone
//! connection-string remote (`:s3,access_key_id=…,secret_access_key=…:b`),
//! a `?token=` in a URL. Those strings then travel inside error messages
//! (git and rclone echo them back), so redacting a few known fields is not
//! enough: every outgoing text is scanned instead. What is hidden:
//!
//! - URL userinfo: the password of `scheme://user:pass@`, and the whole
//!   userinfo of `http(s)://TOKEN@` (a token used as the user name);
//!   `ssh://git@host` keeps its non-secret user;
//! - the value of any `name=value` whose name has a secret word as one of
//!   its `_`/`-`/`.`-separated parts (`secret`, `password`, `pass`, `pwd`,
//!   `token`, `key`, `auth`, `credential(s)`, `sas`: `secret_access_key`,
//!   `access_key_id`, `session_token`, but not `keys` or `monkey`), in
//!   rclone connection strings, query strings and `key=value` text alike.
//!
//! Redaction only ever shortens a value to `***` and keeps the quoting
//! around it, so JSON, HTML and log lines stay well-formed.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::bytes::{Captures, Regex};

/// What a secret is replaced with.
pub const MASK: &str = "***";

fn userinfo_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s@"'<>?#\\]+)@"#).expect("static regex")
    })
}

fn assignment_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?i)\b((?:[a-z0-9]+[_.-])*(?:secret|password|passwd|pass|pwd|token|key|auth|credentials?|sas)(?:[_.-][a-z0-9]+)*)=("(?:[^"\\]|\\.)*"|'[^']*'|[^,:\s"'&;<>)\\]+)"#,
        )
        .expect("static regex")
    })
}

/// Redact credentials in bytes (build logs need not be UTF-8).
pub fn redact_bytes(input: &[u8]) -> Cow<'_, [u8]> {
    let step1 = userinfo_re().replace_all(input, |c: &Captures<'_>| {
        let scheme = &c[1];
        let info = &c[2];
        let mut out = scheme.to_vec();
        if let Some(colon) = info.iter().position(|&b| b == b':') {
            out.extend_from_slice(&info[..colon + 1]);
            out.extend_from_slice(MASK.as_bytes());
        } else if scheme.eq_ignore_ascii_case(b"http://")
            || scheme.eq_ignore_ascii_case(b"https://")
        {
            out.extend_from_slice(MASK.as_bytes());
        } else {
            out.extend_from_slice(info);
        }
        out.push(b'@');
        out
    });
    let step2 = assignment_re().replace_all(&step1, |c: &Captures<'_>| {
        let mut out = c[1].to_vec();
        out.push(b'=');
        let value = &c[2];
        if value == MASK.as_bytes() {
            out.extend_from_slice(value);
            return out;
        }
        match value.first() {
            Some(q @ (b'"' | b'\'')) => {
                out.push(*q);
                out.extend_from_slice(MASK.as_bytes());
                out.push(*q);
            }
            _ => out.extend_from_slice(MASK.as_bytes()),
        }
        out
    });
    let step2 = match step2 {
        Cow::Owned(v) => Some(v),
        Cow::Borrowed(_) => None,
    };
    match (step2, step1) {
        (Some(v), _) | (None, Cow::Owned(v)) => Cow::Owned(v),
        (None, Cow::Borrowed(_)) => Cow::Borrowed(input),
    }
}

/// Redact credentials in text.
pub fn redact(input: &str) -> Cow<'_, str> {
    match redact_bytes(input.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(input),
        // Only ASCII was inserted, at char boundaries: still UTF-8.
        Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn userinfo() {
        assert_eq!(
            redact("clone https://user:ghp_T0KEN@github.com/x.git failed"),
            "clone https://user:***@github.com/x.git failed"
        );
        assert_eq!(
            redact("https://ghp_T0KEN@github.com/x.git"),
            "https://***@github.com/x.git"
        );
        assert_eq!(redact("ssh://git@host/x.git"), "ssh://git@host/x.git");
        assert_eq!(
            redact("\"git\": \"https://u:p%40ss@h/x\""),
            "\"git\": \"https://u:***@h/x\""
        );
    }

    #[test]
    fn rclone_connection_strings_and_assignments() {
        assert_eq!(
            redact("rclone:\":s3,provider=AWS,access_key_id=AKIA123,secret_access_key=abc/def+g:bucket/path\""),
            "rclone:\":s3,provider=AWS,access_key_id=***,secret_access_key=***:bucket/path\""
        );
        assert_eq!(
            redact(":b2,account=acct,key='k,ey':b"),
            ":b2,account=acct,key='***':b"
        );
        assert_eq!(
            redact("https://h/x?token=abc&x=1"),
            "https://h/x?token=***&x=1"
        );
        assert_eq!(redact("password=\"a b\" rest"), "password=\"***\" rest");
        assert_eq!(redact("nothing to see"), "nothing to see");
        // Log attributes that merely look like secret names stay.
        assert_eq!(
            redact("keys=[http].addr monkey=1"),
            "keys=[http].addr monkey=1"
        );
        assert_eq!(redact("x session_token=abc"), "x session_token=***");
        // Idempotent.
        let once = redact(":s3,secret_access_key=x:b").into_owned();
        assert_eq!(redact(&once), once);
    }
}
