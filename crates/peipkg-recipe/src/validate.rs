//! Semantic checks on a decoded recipe: the PSD-009 identity rules for every
//! name, architecture, constraint and side effect, plus the recipe's own
//! rules (`same_build` only towards sibling stanzas, no duplicate entries,
//! `build_script` inside the recipe directory).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use peipkg_format::documents::manifest::homepage_problem;
use peipkg_format::identity::{
    validate_arch_qualifier, Architecture, Constraint, PackageName, SideEffect, Version,
};

use crate::decode::Decoded;
use crate::model::{DependencyField, Meta, PackageStanza, Recipe};
use crate::Problem;

struct Checker<'a> {
    problems: &'a mut Vec<Problem>,
    warnings: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    fn error(&mut self, line: usize, message: String) {
        self.problems.push(Problem {
            line: (line > 0).then_some(line),
            message,
        });
    }

    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(Problem {
            line: (line > 0).then_some(line),
            message,
        });
    }
}

pub fn validate(
    path: &Path,
    dir: PathBuf,
    decoded: Decoded,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Recipe {
    let mut c = Checker { problems, warnings };
    let meta = match decoded.meta {
        Some(meta) => {
            check_meta(&mut c, &meta);
            meta
        }
        None => {
            c.error(
                0,
                "[meta] is missing; it must at least set build_script (e.g. build_script = \"build.sh\")"
                    .to_string(),
            );
            Meta::default()
        }
    };
    if decoded.packages.is_empty() {
        c.error(
            0,
            "the recipe declares no [[package]]; at least one is required".to_string(),
        );
    }
    let sibling_names: HashSet<&str> = decoded
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    let mut seen_names: HashSet<&str> = HashSet::new();
    for (index, stanza) in decoded.packages.iter().enumerate() {
        check_package(&mut c, stanza, index, &sibling_names);
        if !stanza.name.is_empty() && !seen_names.insert(stanza.name.as_str()) {
            c.error(
                stanza.line,
                format!(
                    "{}: another [[package]] already has this name; each stanza must produce a distinct package",
                    stanza.label(index)
                ),
            );
        }
    }
    let mut seen_sign_paths: HashSet<&str> = HashSet::new();
    for (index, sign) in decoded.signs.iter().enumerate() {
        let label = format!("[[sign]] #{}", index + 1);
        if sign.path.is_empty() {
            c.error(sign.line, format!("{label}: path is required"));
        } else if let Some(problem) = relative_path_problem(&sign.path) {
            c.error(
                sign.line,
                format!(
                    "{label}: path {:?} {problem} (paths are relative to $DESTDIR)",
                    sign.path
                ),
            );
        } else if !seen_sign_paths.insert(sign.path.as_str()) {
            c.error(
                sign.line,
                format!(
                    "{label}: path {:?} is already listed by another [[sign]]",
                    sign.path
                ),
            );
        }
        if sign.key.is_empty() {
            c.error(
                sign.line,
                format!("{label}: key is required (the NAME of a --binary-sign-key NAME=PATH)"),
            );
        }
    }
    Recipe {
        path: path.to_path_buf(),
        dir,
        meta,
        packages: decoded.packages,
        signs: decoded.signs,
        upstream: decoded.upstream,
        watch: decoded.watch,
    }
}

fn check_meta(c: &mut Checker<'_>, meta: &Meta) {
    if meta.build_script.is_empty() {
        let line = if meta.build_script_line > 0 {
            meta.build_script_line
        } else {
            meta.line
        };
        c.error(
            line,
            "[meta]: build_script is required (the script that fills $DESTDIR, e.g. \"build.sh\")"
                .to_string(),
        );
    } else if let Some(problem) = relative_path_problem(&meta.build_script) {
        c.error(
            meta.build_script_line,
            format!(
                "[meta]: build_script {:?} {problem}; it must name a file inside the recipe directory",
                meta.build_script
            ),
        );
    }
    if !meta.homepage.is_empty() {
        if let Some(problem) = homepage_problem(&meta.homepage) {
            c.error(
                meta.homepage_line,
                format!(
                    "[meta]: homepage {:?} {problem} (PSD-009 §3.3.6)",
                    meta.homepage
                ),
            );
        }
    }
}

/// Why a recipe-relative path could leave its base directory, if it could.
fn relative_path_problem(path: &str) -> Option<&'static str> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Some("is absolute");
    }
    let mut depth: usize = 0;
    for component in p.components() {
        match component {
            Component::ParentDir => {
                if depth == 0 {
                    return Some("climbs out of its base directory with '..'");
                }
                depth -= 1;
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Some("is absolute"),
        }
    }
    if depth == 0 {
        return Some("does not name a file");
    }
    None
}

fn check_package(
    c: &mut Checker<'_>,
    stanza: &PackageStanza,
    index: usize,
    siblings: &HashSet<&str>,
) {
    let label = stanza.label(index);
    if stanza.name.is_empty() {
        c.error(stanza.line, format!("{label}: name is required"));
    } else if let Err(e) = PackageName::parse(&stanza.name) {
        c.error(stanza.name_line, format!("{label}: name: {e}"));
    }
    if stanza.architecture.is_empty() {
        c.error(
            stanza.line,
            format!("{label}: architecture is required (e.g. \"x86_64\" or \"noarch\")"),
        );
    } else if let Err(e) = Architecture::parse(&stanza.architecture) {
        c.error(
            stanza.architecture_line,
            format!("{label}: architecture: {e}"),
        );
    }
    check_description(c, &label, stanza);

    for field in DependencyField::ALL {
        let key = field.key();
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, dep) in stanza.dependency_list(field).iter().enumerate() {
            let at = format!("{label} {key}[{i}]");
            if dep.name.is_empty() {
                c.error(dep.line, format!("{at}: name is required"));
                continue;
            }
            if let Err(e) = PackageName::parse(&dep.name) {
                c.error(dep.line, format!("{at}: name: {e}"));
            }
            if !seen.insert(dep.name.as_str()) {
                c.error(
                    dep.line,
                    format!(
                        "{at}: {:?} is listed twice in {key}; combine the constraints into one entry (PSD-009 §4.1.7)",
                        dep.name
                    ),
                );
            }
            if !dep.constraint.is_empty() {
                if dep.same_build {
                    c.error(
                        dep.line,
                        format!(
                            "{at}: same_build = true conflicts with the explicit constraint {:?}; same_build already pins \"= <this build's version>\"",
                            dep.constraint
                        ),
                    );
                } else if let Err(e) = Constraint::parse(&dep.constraint) {
                    c.error(dep.line, format!("{at}: constraint: {e}"));
                }
            }
            if !dep.arch.is_empty() {
                if let Err(e) = validate_arch_qualifier(Some(&dep.arch)) {
                    c.error(dep.line, format!("{at}: arch: {e}"));
                }
            }
            if dep.same_build {
                if dep.name == stanza.name {
                    c.error(
                        dep.line,
                        format!("{at}: same_build names this stanza itself; it must name a sibling [[package]]"),
                    );
                } else if !siblings.contains(dep.name.as_str()) {
                    c.error(
                        dep.line,
                        format!(
                            "{at}: same_build = true, but no sibling [[package]] is named {:?}; same_build only pins packages built by this recipe",
                            dep.name
                        ),
                    );
                }
            }
        }
    }

    let mut seen: HashSet<&str> = HashSet::new();
    for (i, p) in stanza.provides.iter().enumerate() {
        let at = format!("{label} provides[{i}]");
        if p.name.is_empty() {
            c.error(p.line, format!("{at}: name is required"));
            continue;
        }
        if let Err(e) = PackageName::parse(&p.name) {
            c.error(p.line, format!("{at}: name: {e}"));
        }
        if !seen.insert(p.name.as_str()) {
            c.error(
                p.line,
                format!("{at}: {:?} is listed twice in provides", p.name),
            );
        }
        if !p.version.is_empty() {
            if let Err(e) = Version::parse(&p.version) {
                if Version::parse_operand(&p.version).is_ok() {
                    c.error(
                        p.line,
                        format!(
                            "{at}: version {:?} has no revision; a provided version must be a full version such as \"{}-1\" (the peipkg client rejects the whole repository index otherwise, although the reference docs show a bare \"1.27.0\")",
                            p.version, p.version
                        ),
                    );
                } else {
                    c.error(p.line, format!("{at}: version: {e}"));
                }
            }
        }
    }

    let mut seen: HashSet<&str> = HashSet::new();
    for (i, r) in stanza.replaces.iter().enumerate() {
        let at = format!("{label} replaces[{i}]");
        if r.name.is_empty() {
            c.error(r.line, format!("{at}: name is required"));
            continue;
        }
        if let Err(e) = PackageName::parse(&r.name) {
            c.error(r.line, format!("{at}: name: {e}"));
        }
        if !seen.insert(r.name.as_str()) {
            c.error(
                r.line,
                format!("{at}: {:?} is listed twice in replaces", r.name),
            );
        }
        if !r.constraint.is_empty() {
            if let Err(e) = Constraint::parse(&r.constraint) {
                c.error(r.line, format!("{at}: constraint: {e}"));
            }
        }
    }

    let mut seen: Vec<SideEffect> = Vec::new();
    for (i, s) in stanza.side_effects.iter().enumerate() {
        let at = format!("{label} side_effects[{i}]");
        match SideEffect::parse(&s.value) {
            Ok(effect) if seen.contains(&effect) => c.error(
                s.line,
                format!(
                    "{at}: {:?} is listed twice (PSD-009 §4.3.1 forbids duplicates)",
                    s.value
                ),
            ),
            Ok(effect) => seen.push(effect),
            Err(e) => c.error(s.line, format!("{at}: {e}")),
        }
    }
}

fn check_description(c: &mut Checker<'_>, label: &str, stanza: &PackageStanza) {
    let line = stanza.description_line;
    if let Some(bad) = stanza.description.chars().find(|ch| ch.is_control()) {
        c.error(
            line,
            format!(
                "{label}: description contains the control character {bad:?}; PSD-009 §3.3.6 allows printable ASCII only (control characters can inject terminal escape sequences)"
            ),
        );
    } else if let Some(bad) = stanza.description.chars().find(|ch| !ch.is_ascii()) {
        c.warn(
            line,
            format!(
                "{label}: description contains the non-ASCII character {bad:?}; PSD-009 §3.3.6 says the description MUST be printable ASCII (0x20-0x7E), but the peipkg client accepts it, so the package is built anyway"
            ),
        );
    }
}
