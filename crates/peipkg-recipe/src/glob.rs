//! Doublestar glob patterns, as recipes' `files` lists use them.
//!
//! The reference tool matches with Go's doublestar v4, so recipes are written
//! against its semantics: `*` and `?` never cross a `/`, `**` as a whole
//! path segment spans any number of segments (including none), `[...]`
//! classes, `{a,b}` alternatives (which may contain `/`), and `\` escapes.
//! `globset` differs in corner cases that recipes hit (`usr/**` must match
//! `usr` itself, `**` inside a segment is a plain `*`), so this small matcher
//! implements exactly the semantics we document.
//!
//! Unlike the reference, malformed patterns are reported when the recipe is
//! loaded, not lazily when some staged path happens to reach them, and
//! patterns that can never match a relative path (a leading `/`, a `./`
//! segment, an empty `//` segment) are refused instead of silently matching
//! nothing.

use std::fmt;

/// Alternation can multiply patterns; beyond this many expansions a pattern
/// is refused rather than consuming unbounded memory.
const MAX_EXPANSIONS: usize = 4096;

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    #[error("unclosed character class '['")]
    UnclosedClass,
    #[error("empty character class '[]'")]
    EmptyClass,
    #[error("unclosed alternative '{{'")]
    UnclosedAlternative,
    #[error("pattern ends with an escaping backslash")]
    TrailingBackslash,
    #[error("character range '{0}-{1}' is reversed")]
    ReversedRange(char, char),
    #[error("pattern is empty")]
    Empty,
    #[error("pattern starts with '/'; patterns are relative to $DESTDIR (write 'usr/...' not '/usr/...')")]
    Absolute,
    #[error("pattern has an empty path segment ('//'), which never matches")]
    EmptySegment,
    #[error("pattern has a '.' or '..' path segment, which never matches a staged path")]
    DotSegment,
    #[error("pattern has more than {MAX_EXPANSIONS} alternatives when '{{...}}' is expanded")]
    TooManyAlternatives,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ClassItem {
    Char(char),
    Range(char, char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyChar,
    Star,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
    Slash,
    Alternatives(Vec<Vec<Token>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**` as a whole segment: zero or more path segments.
    Globstar,
    /// Anything else; `**` inside it behaves as `*`.
    Part(Vec<Token>),
}

/// A compiled doublestar pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    source: String,
    /// One alternative per `{...}` expansion, each split into segments.
    branches: Vec<Vec<Segment>>,
    /// The pattern ends with `/`: it claims directories (see the partition).
    dir_only: bool,
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.source)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Glob {
    /// Compiles `pattern`. A pattern ending in `/` is a directory pattern:
    /// its trailing slashes are removed for matching and
    /// [`Glob::is_dir_pattern`] reports it.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        if pattern.starts_with('/') {
            return Err(GlobError::Absolute);
        }
        let trimmed = pattern.trim_end_matches('/');
        let dir_only = trimmed.len() != pattern.len();
        if trimmed.is_empty() {
            return Err(GlobError::Empty);
        }
        let chars: Vec<char> = trimmed.chars().collect();
        let mut pos = 0;
        let tokens = parse_sequence(&chars, &mut pos, false)?;
        let mut expanded = Vec::new();
        expand(&tokens, &mut expanded)?;
        let mut branches = Vec::with_capacity(expanded.len());
        for flat in expanded {
            branches.push(split_segments(flat)?);
        }
        Ok(Glob {
            source: pattern.to_string(),
            branches,
            dir_only,
        })
    }

    /// The pattern as written in the recipe.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern ends in `/` and therefore claims directories.
    pub fn is_dir_pattern(&self) -> bool {
        self.dir_only
    }

    /// Whether `path` (relative, `/`-separated, no leading or trailing `/`)
    /// matches the whole pattern.
    pub fn matches(&self, path: &str) -> bool {
        let segments: Vec<Vec<char>> = path.split('/').map(|s| s.chars().collect()).collect();
        self.branches
            .iter()
            .any(|branch| match_segments(branch, &segments))
    }
}

fn parse_sequence(
    chars: &[char],
    pos: &mut usize,
    in_alternative: bool,
) -> Result<Vec<Token>, GlobError> {
    let mut tokens = Vec::new();
    while *pos < chars.len() {
        let c = chars[*pos];
        if in_alternative && (c == ',' || c == '}') {
            return Ok(tokens);
        }
        *pos += 1;
        match c {
            '\\' => {
                let escaped = *chars.get(*pos).ok_or(GlobError::TrailingBackslash)?;
                *pos += 1;
                tokens.push(if escaped == '/' {
                    Token::Slash
                } else {
                    Token::Literal(escaped)
                });
            }
            '?' => tokens.push(Token::AnyChar),
            '*' => tokens.push(Token::Star),
            '/' => tokens.push(Token::Slash),
            '[' => tokens.push(parse_class(chars, pos)?),
            '{' => {
                let mut alternatives = Vec::new();
                loop {
                    let alternative = parse_sequence(chars, pos, true)?;
                    alternatives.push(alternative);
                    match chars.get(*pos) {
                        Some(',') => *pos += 1,
                        Some('}') => {
                            *pos += 1;
                            break;
                        }
                        _ => return Err(GlobError::UnclosedAlternative),
                    }
                }
                tokens.push(Token::Alternatives(alternatives));
            }
            other => tokens.push(Token::Literal(other)),
        }
    }
    if in_alternative {
        return Err(GlobError::UnclosedAlternative);
    }
    Ok(tokens)
}

fn parse_class(chars: &[char], pos: &mut usize) -> Result<Token, GlobError> {
    let mut negated = false;
    if matches!(chars.get(*pos), Some('!') | Some('^')) {
        negated = true;
        *pos += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(*pos).ok_or(GlobError::UnclosedClass)?;
        *pos += 1;
        if c == ']' && !first {
            break;
        }
        if c == ']' && first && chars.get(*pos).is_none() {
            return Err(GlobError::EmptyClass);
        }
        first = false;
        let low = if c == '\\' {
            let escaped = *chars.get(*pos).ok_or(GlobError::UnclosedClass)?;
            *pos += 1;
            escaped
        } else {
            c
        };
        if chars.get(*pos) == Some(&'-') && chars.get(*pos + 1).is_some_and(|&n| n != ']') {
            *pos += 1;
            let mut high = *chars.get(*pos).ok_or(GlobError::UnclosedClass)?;
            *pos += 1;
            if high == '\\' {
                high = *chars.get(*pos).ok_or(GlobError::UnclosedClass)?;
                *pos += 1;
            }
            if high < low {
                return Err(GlobError::ReversedRange(low, high));
            }
            items.push(ClassItem::Range(low, high));
        } else {
            items.push(ClassItem::Char(low));
        }
    }
    if items.is_empty() {
        return Err(GlobError::EmptyClass);
    }
    Ok(Token::Class { negated, items })
}

/// Expands every `{...}` into separate flat token lists.
fn expand(tokens: &[Token], out: &mut Vec<Vec<Token>>) -> Result<(), GlobError> {
    let mut partials: Vec<Vec<Token>> = vec![Vec::new()];
    for token in tokens {
        match token {
            Token::Alternatives(alternatives) => {
                let mut options = Vec::new();
                for alternative in alternatives {
                    expand(alternative, &mut options)?;
                }
                let mut next = Vec::with_capacity(partials.len() * options.len());
                for partial in &partials {
                    for option in &options {
                        if next.len() >= MAX_EXPANSIONS {
                            return Err(GlobError::TooManyAlternatives);
                        }
                        let mut combined = partial.clone();
                        combined.extend(option.iter().cloned());
                        next.push(combined);
                    }
                }
                partials = next;
            }
            other => {
                for partial in &mut partials {
                    partial.push(other.clone());
                }
            }
        }
    }
    if out.len() + partials.len() > MAX_EXPANSIONS {
        return Err(GlobError::TooManyAlternatives);
    }
    out.extend(partials);
    Ok(())
}

fn split_segments(tokens: Vec<Token>) -> Result<Vec<Segment>, GlobError> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    for token in tokens.into_iter().chain(std::iter::once(Token::Slash)) {
        if token != Token::Slash {
            current.push(token);
            continue;
        }
        let part = std::mem::take(&mut current);
        if part.is_empty() {
            // A leading '/' can only come from an alternative such as
            // "{/a,b}"; either way an empty segment never matches.
            return Err(GlobError::EmptySegment);
        }
        if part == [Token::Literal('.')] || part == [Token::Literal('.'), Token::Literal('.')] {
            return Err(GlobError::DotSegment);
        }
        if part == [Token::Star, Token::Star] {
            // Consecutive globstars are equivalent to one.
            if segments.last() != Some(&Segment::Globstar) {
                segments.push(Segment::Globstar);
            }
        } else {
            segments.push(Segment::Part(part));
        }
    }
    Ok(segments)
}

fn match_segments(pattern: &[Segment], path: &[Vec<char>]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::Globstar, rest)) => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((Segment::Part(tokens), rest)) => match path.split_first() {
            None => false,
            Some((name, path_rest)) => match_part(tokens, name) && match_segments(rest, path_rest),
        },
    }
}

/// Matches one path segment against one pattern segment (no `/` inside).
fn match_part(tokens: &[Token], name: &[char]) -> bool {
    // Classic iterative wildcard matching with single-star backtracking.
    let (mut t, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if t < tokens.len() {
            match &tokens[t] {
                Token::Star => {
                    star = Some((t, n));
                    t += 1;
                    continue;
                }
                token if single_matches(token, name[n]) => {
                    t += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((star_t, star_n)) => {
                t = star_t + 1;
                n = star_n + 1;
                star = Some((star_t, star_n + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Star)
}

fn single_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::AnyChar => true,
        Token::Class { negated, items } => {
            let hit = items.iter().any(|item| match item {
                ClassItem::Char(x) => *x == c,
                ClassItem::Range(lo, hi) => *lo <= c && c <= *hi,
            });
            hit != *negated
        }
        Token::Star | Token::Slash | Token::Alternatives(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn star_and_question_stay_in_a_segment() {
        assert!(m("usr/share/*", "usr/share/x"));
        assert!(!m("usr/share/*", "usr/share/x/y"));
        assert!(m("usr/share/*", "usr/share/.hidden"));
        assert!(m("usr/bin/?", "usr/bin/x"));
        assert!(!m("usr/bin/?", "usr/bin/xy"));
        assert!(!m("usr?bin", "usr/bin"));
        assert!(!m("usr*", "usr/bin"));
        assert!(m("usr*", "usr"));
        assert!(m("usr/lib/x/libfoo.so.1.*", "usr/lib/x/libfoo.so.1.2.3"));
        assert!(!m("usr/lib/x/libfoo.so.1.*", "usr/lib/x/libfoo.so.1"));
        assert!(m("usr/share/info/hello.info*", "usr/share/info/hello.info"));
        assert!(m(
            "usr/share/info/hello.info*",
            "usr/share/info/hello.info-1"
        ));
        assert!(m("a*b*c", "abxbyc"));
        assert!(!m("a*b*c", "abxbyd"));
    }

    #[test]
    fn globstar_spans_zero_or_more_segments() {
        assert!(m("usr/**", "usr"));
        assert!(m("usr/**", "usr/a"));
        assert!(m("usr/**", "usr/a/b/c"));
        assert!(!m("usr/**", "usrx"));
        assert!(!m("usr/**", "usrx/a"));
        assert!(m("usr/**/x", "usr/x"));
        assert!(m("usr/**/x", "usr/a/b/x"));
        assert!(!m("usr/**/x", "usr/a/b/y"));
        assert!(m("**", "anything/at/all"));
        assert!(m("**/hello.mo", "hello.mo"));
        assert!(m(
            "usr/share/locale/**/hello.mo",
            "usr/share/locale/de/LC_MESSAGES/hello.mo"
        ));
        assert!(m("usr/**/**/x", "usr/x"));
    }

    #[test]
    fn double_star_inside_a_segment_is_a_single_star() {
        assert!(!m("usr/**.txt", "usr/a/b.txt"));
        assert!(m("usr/**.txt", "usr/b.txt"));
        assert!(!m("usr/a**", "usr/ab/c"));
        assert!(m("usr/a**", "usr/ab"));
    }

    #[test]
    fn classes() {
        assert!(m("lib[0-9].so", "lib5.so"));
        assert!(!m("lib[0-9].so", "libx.so"));
        assert!(m("lib[!0-9].so", "libx.so"));
        assert!(m("lib[^0-9].so", "libx.so"));
        assert!(!m("lib[!0-9].so", "lib5.so"));
        assert!(m("x[ab]y", "xby"));
        assert!(m("x[]a]y", "x]y"));
        assert!(m("x[\\]]y", "x]y"));
        assert!(!m("a[/]b", "a/b"));
        assert!(!m("a?b", "a/b"));
    }

    #[test]
    fn alternatives_may_contain_slashes() {
        assert!(m("usr/{bin,lib}/x", "usr/bin/x"));
        assert!(m("usr/{bin,lib}/x", "usr/lib/x"));
        assert!(!m("usr/{bin,lib}/x", "usr/share/x"));
        assert!(m("usr/{bin/a,share/doc/b}", "usr/share/doc/b"));
        assert!(m("x.{a,b{c,d}}", "x.bd"));
        assert!(m("libfoo.so{,.1}", "libfoo.so"));
        assert!(m("libfoo.so{,.1}", "libfoo.so.1"));
        assert!(m("usr/{**/,}x", "usr/a/b/x"));
    }

    #[test]
    fn escapes_are_literal() {
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("a\\{b", "a{b"));
        assert!(m("a\\?", "a?"));
    }

    #[test]
    fn whole_path_must_match() {
        assert!(!m("usr/bin", "usr/bin/x"));
        assert!(!m("bin/x", "usr/bin/x"));
        assert!(m("usr/bin/x", "usr/bin/x"));
    }

    #[test]
    fn directory_patterns() {
        let g = Glob::new("proc/").unwrap();
        assert!(g.is_dir_pattern());
        assert!(g.matches("proc"));
        assert!(!g.matches("proc/x"));
        let g = Glob::new("usr/share/**/").unwrap();
        assert!(g.is_dir_pattern());
        assert!(g.matches("usr/share"));
        assert!(g.matches("usr/share/a/b"));
        assert!(!Glob::new("usr/**").unwrap().is_dir_pattern());
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert_eq!(Glob::new("a[bc"), Err(GlobError::UnclosedClass));
        assert_eq!(Glob::new("a[]"), Err(GlobError::EmptyClass));
        assert_eq!(Glob::new("a{b,c"), Err(GlobError::UnclosedAlternative));
        assert_eq!(Glob::new("a\\"), Err(GlobError::TrailingBackslash));
        assert_eq!(Glob::new("[z-a]"), Err(GlobError::ReversedRange('z', 'a')));
        assert_eq!(Glob::new(""), Err(GlobError::Empty));
        assert_eq!(Glob::new("/usr/bin/x"), Err(GlobError::Absolute));
        assert_eq!(Glob::new("usr//x"), Err(GlobError::EmptySegment));
        assert_eq!(Glob::new("./usr/x"), Err(GlobError::DotSegment));
        assert_eq!(Glob::new("usr/../x"), Err(GlobError::DotSegment));
        let many = "{a,b,c,d,e,f,g,h}".repeat(5);
        assert_eq!(Glob::new(&many), Err(GlobError::TooManyAlternatives));
    }

    #[test]
    fn non_ascii_names() {
        assert!(m(
            "usr/share/layout-edge/caf?.txt",
            "usr/share/layout-edge/café.txt"
        ));
        assert!(m("usr/share/*/café.txt", "usr/share/x/café.txt"));
    }
}
