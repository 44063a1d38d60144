//! Package URLs: rendering `--package-url-template` and mapping a URL to
//! the file it names inside the state.
//!
//! The reference joins whatever the template produced onto the output
//! directory, so a manifest named `../../x` wrote outside it. Here a URL
//! either names an external location (http/https, nothing is written) or a
//! path that stays inside the state and outside the files the state itself
//! owns (`repo.json`, `index/`, `keys/`, the browse site, our work
//! directories).

/// Render the template in one left-to-right pass: a substituted value is
/// never expanded again, and unknown `{…}` text is kept literally.
pub fn render(template: &str, name: &str, version: &str, arch: &str, filename: &str) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let value = [
            ("{name}", name),
            ("{version}", version),
            ("{arch}", arch),
            ("{filename}", filename),
        ]
        .into_iter()
        .find(|(p, _)| tail.starts_with(p));
        match value {
            Some((p, v)) => {
                out.push_str(v);
                rest = &tail[p.len()..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where a package URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An absolute http(s) URL: the file is hosted elsewhere.
    Remote,
    /// A path relative to the state directory.
    Local(String),
}

/// Top-level names a package file may not be placed under.
const RESERVED: &[&str] = &[
    "repo.json",
    "repo.json.sig",
    "index",
    "keys",
    "index.html",
    "assets",
    "packages",
];

/// The scheme of an absolute URL (RFC 3986 §3.1), if it has one.
fn scheme(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let s = &url[..colon];
    let mut chars = s.chars();
    let first = chars.next()?;
    if first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        Some(s)
    } else {
        None
    }
}

/// Strictly locate a URL this publish is about to record. Relative URLs
/// must start with `/`: PSD-009 §6.4.6 resolves one without it against the
/// index's own URL (`/index/…`), which is never what a template means.
pub fn locate_new(url: &str) -> Result<Location, String> {
    match scheme(url) {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            return Ok(Location::Remote)
        }
        Some(s) => {
            return Err(format!(
                "URL {url:?} has scheme {s:?}; package URLs are http(s) or start with / (PSD-009 §6.4.6)"
            ))
        }
        None => {}
    }
    let Some(path) = url.strip_prefix('/') else {
        return Err(format!(
            "URL {url:?} must start with / (a relative URL would resolve against the index's URL, PSD-009 §6.4.6)"
        ));
    };
    check_local(url, path).map(Location::Local)
}

/// Locate a URL already recorded in an index, as the reference reads it:
/// http(s) is external, anything else is a path in the state with one
/// leading `/` removed. Unsafe paths are errors.
pub fn locate_recorded(url: &str) -> Result<Location, String> {
    match scheme(url) {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            Ok(Location::Remote)
        }
        _ => check_local(url, url.strip_prefix('/').unwrap_or(url)).map(Location::Local),
    }
}

fn check_local(url: &str, path: &str) -> Result<String, String> {
    if path.is_empty() {
        return Err(format!("URL {url:?} names no file"));
    }
    for seg in path.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(format!(
                "URL {url:?} has an empty, '.' or '..' path segment, which could leave the state directory"
            ));
        }
        if let Some(c) = seg
            .chars()
            .find(|c| c.is_control() || matches!(c, '\\' | '?' | '#' | '%'))
        {
            return Err(format!(
                "URL {url:?} contains {c:?}, which does not map to a file path unambiguously"
            ));
        }
    }
    let first = path.split('/').next().unwrap_or("");
    if RESERVED.contains(&first) || first.starts_with(".peipkg-repo") {
        return Err(format!(
            "URL {url:?} points into {first:?}, which the repository state itself uses"
        ));
    }
    Ok(path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_in_one_pass() {
        assert_eq!(
            render(
                "/p/{name}/{version}/{filename}",
                "a",
                "1.0-1",
                "noarch",
                "a_1.0-1_noarch.peipkg"
            ),
            "/p/a/1.0-1/a_1.0-1_noarch.peipkg"
        );
        assert_eq!(
            render("/x/{arch}/{unknown}/{", "n", "v", "x86_64", "f"),
            "/x/x86_64/{unknown}/{"
        );
        // A value that looks like a placeholder is not expanded again.
        assert_eq!(
            render("{name}{version}", "{version}", "1", "a", "f"),
            "{version}1"
        );
    }

    #[test]
    fn locates_safely() {
        assert_eq!(
            locate_new("/p/a/1:1.0~rc1-1/f.peipkg"),
            Ok(Location::Local("p/a/1:1.0~rc1-1/f.peipkg".into()))
        );
        assert_eq!(
            locate_new("https://example.org/r/f.peipkg"),
            Ok(Location::Remote)
        );
        assert_eq!(locate_new("HTTP://example.org/f"), Ok(Location::Remote));
        for bad in [
            "/",
            "/p/../../../escaped/1.0-1/evil.peipkg",
            "/p//x",
            "/p/./x",
            "p/x",
            "/index/x.peipkg",
            "/keys/x",
            "/repo.json",
            "/.peipkg-repo-work/x",
            "javascript:alert(1)",
            "/p/a?b",
            "/p/%2e%2e/x",
            "/p/a\\b",
        ] {
            assert!(locate_new(bad).is_err(), "{bad}");
        }
        assert_eq!(locate_recorded("p/x"), Ok(Location::Local("p/x".into())));
        assert!(locate_recorded("/p/../x").is_err());
    }
}
