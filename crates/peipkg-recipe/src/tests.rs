use std::path::{Path, PathBuf};

use super::*;

const GOOD: &str = r#"
[meta]
license = "MIT"
homepage = "https://example.org/libfoo"
source = "github:example/libfoo"
build_script = "build.sh"

[[package]]
name = "libfoo"
architecture = "x86_64"
description = "libfoo runtime"
dependencies = [{ name = "libc" }]
provides = [{ name = "foo-abi", version = "1.2-1" }]
side_effects = ["ldconfig"]
files = ["usr/lib/x86_64-linux-peios/libfoo.so.1*"]

[[package]]
name = "libfoo-dev"
architecture = "x86_64"
dependencies = [
  { name = "libfoo", same_build = true },
  { name = "libc-dev", constraint = ">= 1.0, < 2.0", arch = "any" },
]
replaces = [{ name = "foo-devel", constraint = "< 1.0" }]
files = ["usr/include/**", "var/lib/foo/"]

[upstream]
git = "https://example.org/libfoo.git"
tag_pattern = "^v(.*)$"
peios_revision = 1

[watch]
poll_interval = "1h"

[[sign]]
path = "usr/bin/foo"
key = "tcb"
"#;

fn parse_text(text: &str) -> Result<LoadedRecipe, RecipeError> {
    parse(
        Path::new("r/peipkg.toml"),
        PathBuf::from("/recipes/r"),
        text.to_string(),
    )
}

/// The 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap()
}

fn problems(text: &str) -> Vec<Problem> {
    match parse_text(text) {
        Err(RecipeError::Invalid { problems, .. }) => problems,
        Err(other) => panic!("expected validation problems, got {other}"),
        Ok(_) => panic!("expected validation problems, the recipe loaded"),
    }
}

/// A minimal valid recipe with `extra` appended to its only stanza.
fn with_stanza(extra: &str) -> String {
    format!(
        "[meta]\nbuild_script = \"build.sh\"\n\n[[package]]\nname = \"pkg\"\narchitecture = \"noarch\"\n{extra}\n"
    )
}

fn assert_one_problem(text: &str, line: usize, needles: &[&str]) {
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].line, Some(line), "{found:#?}");
    for needle in needles {
        assert!(
            found[0].message.contains(needle),
            "{needle:?} not in {:?}",
            found[0].message
        );
    }
}

#[test]
fn loads_every_owned_field() {
    let loaded = parse_text(GOOD).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let r = loaded.recipe;
    assert_eq!(r.dir, PathBuf::from("/recipes/r"));
    assert_eq!(r.meta.license, "MIT");
    assert_eq!(r.meta.homepage, "https://example.org/libfoo");
    assert_eq!(r.meta.source, "github:example/libfoo");
    assert_eq!(r.meta.build_script, "build.sh");
    assert_eq!(r.packages.len(), 2);
    let lib = &r.packages[0];
    assert_eq!(lib.name, "libfoo");
    assert_eq!(lib.line, 8);
    assert_eq!(lib.description, "libfoo runtime");
    assert_eq!(lib.dependencies[0].name, "libc");
    assert_eq!(lib.provides[0].version, "1.2-1");
    assert_eq!(lib.side_effects[0].value, "ldconfig");
    assert_eq!(
        lib.files[0].glob.as_str(),
        "usr/lib/x86_64-linux-peios/libfoo.so.1*"
    );
    let dev = &r.packages[1];
    assert!(dev.dependencies[0].same_build);
    assert_eq!(dev.dependencies[1].constraint, ">= 1.0, < 2.0");
    assert_eq!(dev.dependencies[1].arch, "any");
    assert_eq!(dev.replaces[0].constraint, "< 1.0");
    assert!(dev.files[1].glob.is_dir_pattern());
    assert_eq!(r.signs.len(), 1);
    assert_eq!(r.signs[0].path, "usr/bin/foo");
    assert_eq!(r.signs[0].key, "tcb");
}

#[test]
fn unknown_keys_name_key_table_and_line() {
    let text = GOOD
        .replace("homepage =", "homepag =")
        .replace("files = [\"usr/include/**\"", "fles = [\"usr/include/**\"")
        .replace("{ name = \"libc\" }", "{ name = \"libc\", bogus = 1 }")
        .replace("key = \"tcb\"", "key = \"tcb\"\nextra = true");
    let found = problems(&text);
    let rendered: Vec<String> = found
        .iter()
        .map(|p| format!("{:?} {}", p.line, p.message))
        .collect();
    assert_eq!(found.len(), 4, "{rendered:#?}");
    assert_eq!(found[0].line, Some(line_of(&text, "homepag =")));
    assert!(
        found[0].message.contains("[meta]: unknown key \"homepag\""),
        "{rendered:#?}"
    );
    assert_eq!(found[1].line, Some(line_of(&text, "bogus = 1")));
    assert!(
        found[1]
            .message
            .contains("[[package]] \"libfoo\" dependencies[0]: unknown key \"bogus\""),
        "{rendered:#?}"
    );
    assert_eq!(found[2].line, Some(line_of(&text, "fles =")));
    assert_eq!(found[3].line, Some(line_of(&text, "extra = true")));
    assert!(
        found[2]
            .message
            .contains("[[package]] \"libfoo-dev\": unknown key \"fles\""),
        "{rendered:#?}"
    );
    assert!(
        found[3]
            .message
            .contains("[[sign]] #1: unknown key \"extra\""),
        "{rendered:#?}"
    );
}

#[test]
fn nested_tables_under_owned_sections_are_unknown_keys() {
    let text = "[meta]\nbuild_script = \"b.sh\"\n\n[meta.sub]\nx = 1\n\n[[package]]\nname = \"pkg\"\narchitecture = \"noarch\"\n";
    assert_one_problem(text, 4, &["[meta]: unknown key \"sub\""]);
}

#[test]
fn foreign_top_level_content_is_ignored() {
    let text = format!(
        "rootkey = 1\n{}\n[anything-else]\nx = [1, 2]\n[tool.other]\nwhatever = true\n",
        with_stanza("")
    );
    assert!(parse_text(&text).is_ok());
}

#[test]
fn toml_syntax_errors_carry_line_and_column() {
    let err = parse_text("[meta]\nbuild_script = \"b.sh\"\nlicense = \n").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RecipeError::Syntax { .. }));
    assert!(msg.contains("line 3, column"), "{msg}");
    let err = parse_text("[meta]\nbuild_script = \"a\"\nbuild_script = \"b\"\n").unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn toml_1_1_syntax_is_accepted() {
    // Multi-line inline tables with a trailing comma, and \e / \xHH escapes,
    // are TOML 1.1 (the dialect the reference tool accepts).
    let text = with_stanza(
        "description = \"esc \\x41\"\ndependencies = [\n  { name = \"libc\",\n    constraint = \">= 1.0-1\", },\n]\n",
    );
    let loaded = parse_text(&text).unwrap();
    let stanza = &loaded.recipe.packages[0];
    assert_eq!(stanza.description, "esc A");
    assert_eq!(stanza.dependencies[0].constraint, ">= 1.0-1");
}

#[test]
fn type_mismatches_are_reported_with_the_expected_type() {
    assert_one_problem(
        &with_stanza("description = 5"),
        7,
        &["\"description\" must be a string, found an integer"],
    );
    assert_one_problem(
        &with_stanza("files = \"usr/**\""),
        7,
        &["\"files\" must be an array of strings"],
    );
    assert_one_problem(
        &with_stanza("files = [\"usr/**\", 3]"),
        7,
        &["files[1] must be a string"],
    );
    assert_one_problem(
        &with_stanza("dependencies = [\"libc\"]"),
        7,
        &["\"dependencies\" must be an array of dependency tables"],
    );
    assert_one_problem(
        &with_stanza("dependencies = [{ name = \"libc\", same_build = \"yes\" }]"),
        7,
        &["\"same_build\" must be a boolean"],
    );
    let found = problems(
        "[meta]\nbuild_script = \"b\"\n[package]\nname = \"x\"\narchitecture = \"noarch\"\n",
    );
    assert!(
        found[0]
            .message
            .contains("write [[package]], not [package]"),
        "{found:?}"
    );
}

#[test]
fn structural_requirements() {
    let found = problems("[[package]]\nname = \"x1\"\narchitecture = \"noarch\"\n");
    assert!(found[0].message.contains("[meta] is missing"), "{found:?}");
    let found = problems("[meta]\nlicense = \"MIT\"\n");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].message.contains("build_script is required"));
    assert!(found[1].message.contains("no [[package]]"));
    let found = problems("[meta]\nbuild_script = \"b\"\n[[package]]\ndescription = \"d\"\n");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0]
        .message
        .contains("[[package]] #1: name is required"));
    assert!(found[1].message.contains("architecture is required"));
}

#[test]
fn identity_rules_are_enforced() {
    assert_one_problem(
        &with_stanza("").replace("\"pkg\"", "\"../x\""),
        5,
        &["name", "\"../x\"", "§2.1"],
    );
    assert_one_problem(
        &with_stanza("").replace("\"noarch\"", "\"x86-64\""),
        6,
        &["architecture", "\"x86-64\""],
    );
    assert_one_problem(
        &with_stanza("dependencies = [{ name = \"Libc\" }]"),
        7,
        &["dependencies[0]: name", "\"Libc\""],
    );
    assert_one_problem(
        &with_stanza("dependencies = [{ name = \"libc\", constraint = \">> 1\" }]"),
        7,
        &["dependencies[0]: constraint", "\">> 1\""],
    );
    assert_one_problem(
        &with_stanza("conflicts = [{ name = \"libc\", arch = \"x86_64\" }]"),
        7,
        &["conflicts[0]: arch", "\"any\""],
    );
    assert_one_problem(
        &with_stanza("side_effects = [\"ldconfig\", \"reboot\"]"),
        7,
        &["side_effects[1]", "\"reboot\""],
    );
    assert_one_problem(
        &with_stanza("side_effects = [\"man-db\", \"man-db\"]"),
        7,
        &["side_effects[1]", "listed twice"],
    );
}

#[test]
fn provides_version_needs_a_revision() {
    assert_one_problem(
        &with_stanza("provides = [{ name = \"http-server\", version = \"1.27.0\" }]"),
        7,
        &[
            "\"1.27.0\" has no revision",
            "\"1.27.0-1\"",
            "rejects the whole repository index",
        ],
    );
    assert_one_problem(
        &with_stanza("provides = [{ name = \"http-server\", version = \"1.0 beta\" }]"),
        7,
        &["provides[0]: version"],
    );
    assert!(parse_text(&with_stanza("provides = [{ name = \"http-server\" }]")).is_ok());
}

#[test]
fn duplicates_are_rejected() {
    assert_one_problem(
        &with_stanza(
            "dependencies = [{ name = \"libc\" }, { name = \"libc\", constraint = \">= 2-1\" }]",
        ),
        7,
        &["\"libc\" is listed twice in dependencies"],
    );
    assert_one_problem(
        &with_stanza("provides = [{ name = \"a1\" }, { name = \"a1\" }]"),
        7,
        &["listed twice in provides"],
    );
    assert_one_problem(
        &with_stanza("replaces = [{ name = \"a1\" }, { name = \"a1\" }]"),
        7,
        &["listed twice in replaces"],
    );
    let text = format!(
        "{}\n[[package]]\nname = \"pkg\"\narchitecture = \"noarch\"\n",
        with_stanza("")
    );
    assert_one_problem(
        &text,
        9,
        &["[[package]] \"pkg\": another [[package]] already has this name"],
    );
}

#[test]
fn same_build_rules() {
    let two = |deps: &str| {
        format!(
            "[meta]\nbuild_script = \"b\"\n[[package]]\nname = \"lib\"\narchitecture = \"noarch\"\n[[package]]\nname = \"lib-dev\"\narchitecture = \"noarch\"\ndependencies = [{deps}]\n"
        )
    };
    assert!(parse_text(&two("{ name = \"lib\", same_build = true }")).is_ok());
    assert_one_problem(
        &two("{ name = \"other\", same_build = true }"),
        9,
        &["no sibling [[package]] is named \"other\""],
    );
    assert_one_problem(
        &two("{ name = \"lib-dev\", same_build = true }"),
        9,
        &["names this stanza itself"],
    );
    assert_one_problem(
        &two("{ name = \"lib\", same_build = true, constraint = \">= 1-1\" }"),
        9,
        &["conflicts with the explicit constraint \">= 1-1\""],
    );
}

#[test]
fn description_rules() {
    let loaded = parse_text(&with_stanza("description = \"caf\u{e9} \u{2014} tools\"")).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    let w = &loaded.warnings[0];
    assert!(w.starts_with("r/peipkg.toml:7: "), "{w}");
    assert!(
        w.contains("PSD-009 §3.3.6") && w.contains("MUST be printable ASCII"),
        "{w}"
    );
    assert_one_problem(
        &with_stanza("description = \"bad\\u001b[31m\""),
        7,
        &["control character"],
    );
}

#[test]
fn homepage_and_build_script_rules() {
    let text = |meta: &str| {
        format!("[meta]\n{meta}\n[[package]]\nname = \"pk\"\narchitecture = \"noarch\"\n")
    };
    assert_one_problem(
        &text("build_script = \"b\"\nhomepage = \"javascript:alert(1)\""),
        3,
        &["homepage \"javascript:alert(1)\"", "http"],
    );
    assert!(parse_text(&text(
        "build_script = \"b\"\nhomepage = \"http://www.figlet.org/\""
    ))
    .is_ok());
    assert_one_problem(
        &text("build_script = \"../other/build.sh\""),
        2,
        &["climbs out"],
    );
    assert_one_problem(
        &text("build_script = \"/usr/bin/build.sh\""),
        2,
        &["is absolute"],
    );
    assert!(parse_text(&text("build_script = \"scripts/../build.sh\"")).is_ok());
}

#[test]
fn bad_glob_patterns_are_reported_at_load() {
    assert_one_problem(
        &with_stanza("files = [\"usr/[bin\"]"),
        7,
        &["invalid files pattern \"usr/[bin\"", "unclosed"],
    );
    assert_one_problem(
        &with_stanza("files = [\"/usr/bin/x\"]"),
        7,
        &["relative to $DESTDIR"],
    );
}

#[test]
fn sign_rules() {
    let text = |sign: &str| format!("{}\n[[sign]]\n{sign}\n", with_stanza(""));
    assert_one_problem(
        &text("key = \"tcb\""),
        9,
        &["[[sign]] #1: path is required"],
    );
    assert_one_problem(&text("path = \"usr/bin/x\""), 9, &["key is required"]);
    assert_one_problem(&text("path = \"../x\"\nkey = \"k\""), 9, &["climbs out"]);
}

#[test]
fn all_problems_are_reported_together() {
    let text = "[meta]\nhomepag = \"x\"\n[[package]]\nname = \"Bad\"\narchitecture = \"noarch\"\nside_effects = [\"nope\"]\n";
    let err = parse_text(text).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("recipe r/peipkg.toml is invalid (4 problems):"),
        "{msg}"
    );
    assert!(
        msg.contains("\n  r/peipkg.toml:2: [meta]: unknown key \"homepag\""),
        "{msg}"
    );
    assert!(msg.contains("build_script is required"), "{msg}");
    assert!(
        msg.contains("r/peipkg.toml:4: [[package]] \"Bad\": name"),
        "{msg}"
    );
    assert!(
        msg.contains("r/peipkg.toml:6: [[package]] \"Bad\" side_effects[0]"),
        "{msg}"
    );
}

#[test]
fn load_reports_unreadable_files() {
    let err = load(Path::new("/nonexistent/peipkg.toml")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("read recipe /nonexistent/peipkg.toml"),
        "{msg}"
    );
}
