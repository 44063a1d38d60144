//! Version vectors: every example in PSD-009 §2.2 and appendix B.3, and the
//! reference repository tool's vectors (behaviour/peipkg-repo.md §10.3 and
//! §10.4). Where the reference tool and the spec disagree we follow the spec;
//! each such vector has its own named test saying so.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use peipkg_format::identity::{
    compare_upstream, upstream_segments, Constraint, IdentityError, SegmentKind, Version,
};

fn full(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

/// Operands may omit the revision; appendix B.3 writes most rows that way.
fn operand(s: &str) -> Version {
    Version::parse_operand(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

/// Checks `a <ord> b` and its mirror image, plus Eq/Ord agreement.
fn check(a: &Version, ord: Ordering, b: &Version) {
    assert_eq!(a.cmp(b), ord, "{a} vs {b}");
    assert_eq!(b.cmp(a), ord.reverse(), "{b} vs {a} (antisymmetry)");
    assert_eq!(a == b, ord == Equal, "{a} == {b}");
    assert_eq!(a.partial_cmp(b), Some(ord));
}

fn check_full(a: &str, ord: Ordering, b: &str) {
    check(&full(a), ord, &full(b));
}

fn check_table(rows: &[(&str, Ordering, &str)]) {
    for &(a, ord, b) in rows {
        check_full(a, ord, b);
    }
}

// ---------------------------------------------------------------- PSD-009 §2.2

#[test]
fn spec_2_2_1_structure_examples() {
    for (s, epoch, upstream, revision) in [
        ("1.26.2-3", 0, "1.26.2", "3"),
        ("1.26.2-rc.1-1", 0, "1.26.2-rc.1", "1"),
        ("2:0.5.0-1", 2, "0.5.0", "1"),
        ("0.22-1", 0, "0.22", "1"),
    ] {
        let v = full(s);
        assert_eq!(
            (v.epoch(), v.upstream(), v.revision()),
            (epoch, upstream, Some(revision))
        );
        assert!(v.has_revision());
        assert_eq!(v.to_string(), s, "round trip");
        assert_eq!(s.parse::<Version>().unwrap().as_str(), s);
    }
}

#[test]
fn spec_2_2_3_upstream_character_set_examples() {
    for up in [
        "1.26.2",
        "1.0.0-rc.1",
        "16beta1",
        "1.0+build.42",
        "1.0~rc.1",
    ] {
        assert_eq!(full(&format!("{up}-1")).upstream(), up);
    }
}

fn segs(s: &str) -> Vec<(String, bool)> {
    upstream_segments(s)
        .map(|x| (x.text.to_owned(), x.prerelease))
        .collect()
}

fn expect_segs(s: &str, want: &[(&str, bool)]) {
    let want: Vec<(String, bool)> = want.iter().map(|&(t, p)| (t.to_owned(), p)).collect();
    assert_eq!(segs(s), want, "{s}");
}

/// The table of §2.2.7.1, which the reference tool's §10.3 vectors repeat.
fn expect_tokenisation_table() {
    let one = |t| (t, false);
    let pre = |t| (t, true);
    expect_segs("1.26.2", &[one("1"), one("26"), one("2")]);
    expect_segs(
        "1.0.0-rc.1",
        &[one("1"), one("0"), one("0"), pre("rc"), pre("1")],
    );
    expect_segs("1.0~rc1", &[one("1"), one("0"), pre("rc"), pre("1")]);
    expect_segs("16beta1", &[one("16"), pre("beta"), pre("1")]);
}

#[test]
fn spec_2_2_7_1_tokenisation_table() {
    expect_tokenisation_table();
}

#[test]
fn spec_2_2_7_2_aliasing_examples() {
    check_full("1.0~alpha-1", Equal, "1.0~a-1");
    check_full("1.0~beta-1", Equal, "1.0~b-1");
    check_full("1.0~Alpha-1", Equal, "1.0~ALPHA-1");
    check_full("1.0-foo-1", Less, "1.0-zzz-1");
}

#[test]
fn spec_2_2_7_3_prerelease_examples() {
    expect_segs("1.0-foo", &[("1", false), ("0", false), ("foo", false)]);
    assert!(full("1.0.0-rc.1-1").is_prerelease());
    assert!(full("16beta1-1").is_prerelease());
    assert!(!full("1.0-foo-1").is_prerelease());
    let kinds: Vec<SegmentKind> = upstream_segments("16beta1").map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            SegmentKind::Numeric,
            SegmentKind::Alphabetic,
            SegmentKind::Numeric
        ]
    );
}

#[test]
fn spec_2_2_7_4_end_of_string_examples() {
    for (a, ord, b) in [
        ("1.0", Less, "1.0.1"),
        ("1.0", Greater, "1.0-rc.1"),
        ("1.0", Greater, "1.0.alpha"),
        ("1.0", Greater, "1.0a"),
    ] {
        assert_eq!(compare_upstream(a, b), ord, "{a} vs {b}");
        check(&operand(a), ord, &operand(b));
    }
}

#[test]
fn spec_2_2_8_constraint_examples() {
    let c = Constraint::parse(">= 3.0").unwrap();
    assert!(c.matches(&full("3.0-1")) && c.matches(&full("3.1-4")) && !c.matches(&full("2.9-9")));
    let c = Constraint::parse(">= 3.0, < 4.0").unwrap();
    assert!(c.matches(&full("3.5-1")) && !c.matches(&full("4.0-1")));
    let c = Constraint::parse("= 1.26.2-3").unwrap();
    assert!(c.matches(&full("1.26.2-3")) && !c.matches(&full("1.26.2-4")));
    // §4.1.6: a bare version is `=`.
    assert_eq!(
        Constraint::parse("1.26.2-3").unwrap(),
        Constraint::parse("= 1.26.2-3").unwrap()
    );
}

// ------------------------------------------------------------ appendix B.3

#[test]
fn appendix_b3_worked_examples() {
    for (a, ord, b) in [
        ("1.0", Equal, "1.0"),
        ("1.0", Less, "2.0"),
        ("1.10", Greater, "1.9"),
        ("1.0", Less, "1.0.1"),
        ("1.0", Greater, "1.0-rc.1"),
        ("1.0-rc.1", Less, "1.0-rc.2"),
        ("1.0-alpha", Less, "1.0-beta"),
        ("1.0-rc", Greater, "1.0-pre"),
        ("1.0a1", Less, "1.0a2"),
        ("1.0a1", Less, "1.0b1"),
        ("1.0~rc1", Less, "1.0"),
        ("0:1.0", Less, "1:0.5"),
        ("1.0-1", Less, "1.0-2"),
        ("1.0-foo-1", Greater, "1.0-1"),
    ] {
        check(&operand(a), ord, &operand(b));
    }
}

#[test]
fn appendix_b3_segment_pair_table() {
    // numeric vs alphabetic pre-release: numeric greater; vs non-pre: less.
    assert_eq!(compare_upstream("1.1", "1.rc"), Greater);
    assert_eq!(compare_upstream("1.1", "1.foo"), Less);
    assert_eq!(compare_upstream("1.rc", "1.1"), Less);
    assert_eq!(compare_upstream("1.foo", "1.1"), Greater);
}

// ------------------------------------- reference tool, behaviour §10.3

#[test]
fn reference_10_3_parse_round_trip() {
    for (s, e, u, r) in [
        ("1.26.2-3", 0, "1.26.2", 3),
        ("1.26.2-rc.1-1", 0, "1.26.2-rc.1", 1),
        ("2:0.5.0-1", 2, "0.5.0", 1),
        ("0.22-1", 0, "0.22", 1),
    ] {
        let v = full(s);
        assert_eq!(
            (v.epoch(), v.upstream(), v.revision_number()),
            (e, u, Some(r))
        );
        assert_eq!(v.to_string(), s);
    }
}

#[test]
fn reference_10_3_rejects() {
    for bad in [
        "",
        ":",
        "1.0",
        "-1",
        "1.0-",
        "1.0-0",
        "1.0-01",
        "01:1.0-1",
        "-1:1.0-1",
        "abc:1.0-1",
        ".1.0-1",
        "1.0 -1",
        "1.0/-1",
    ] {
        let e: IdentityError = Version::parse(bad).expect_err(bad);
        assert!(e.to_string().starts_with("invalid version "), "{e}");
        assert!(e.to_string().contains("(PSD-009 §2.2."), "{e}");
    }
}

#[test]
fn reference_10_3_compare() {
    check_table(&[
        ("1.0-1", Less, "1.0.1-1"),
        ("1.0-1", Greater, "1.0-rc.1-1"),
        ("1.0-1", Greater, "1.0.alpha-1"),
        ("1.0-1", Greater, "1.0a-1"),
        ("2:0.5.0-1", Greater, "1:99.99-1"),
        ("0:1.0-1", Equal, "1.0-1"),
        ("1.0-1", Less, "1.0-2"),
        ("1.0-10", Greater, "1.0-9"),
        ("1.0-1", Equal, "1.0-1"),
        ("1.0-1", Less, "1.1-1"),
        ("1.10-1", Greater, "1.9-1"),
        ("1.0~dev1-1", Less, "1.0~alpha1-1"),
        ("1.0~alpha1-1", Less, "1.0~beta1-1"),
        ("1.0~beta1-1", Less, "1.0~pre1-1"),
        ("1.0~pre1-1", Less, "1.0~rc1-1"),
        ("1.0~rc1-1", Less, "1.0-1"),
        ("1.0~rc1-1", Less, "1.0~rc2-1"),
        ("1.0~a-1", Equal, "1.0~alpha-1"),
        ("1.0~b-1", Equal, "1.0~beta-1"),
        ("1.0~Alpha-1", Equal, "1.0~ALPHA-1"),
        ("1.0~rc.1-1", Equal, "1.0-rc.1-1"),
        ("1.0-1", Less, "1.0-foo-1"),
        ("16beta1-1", Less, "16-1"),
        ("16beta1-1", Less, "16beta2-1"),
        ("16beta1-1", Less, "16rc1-1"),
        ("1.0~Alpha-1", Less, "1.0~beta-1"),
        ("1.01-1", Equal, "1.1-1"),
    ]);
}

#[test]
fn reference_10_3_tokeniser() {
    expect_tokenisation_table();
    expect_segs("1.0-foo", &[("1", false), ("0", false), ("foo", false)]);
}

#[test]
fn reference_10_3_reflexive_and_antisymmetric_set() {
    let set: Vec<Version> = [
        "1.0-1",
        "1.0-2",
        "1.1-1",
        "2.0-1",
        "1.0~alpha-1",
        "1.0~beta-1",
        "1.0~rc1-1",
        "1.0-rc.1-1",
        "1.0a-1",
        "1:1.0-1",
        "2:1.0-1",
        "1.0-foo-1",
        "1.0+build.42-1",
    ]
    .iter()
    .map(|s| full(s))
    .collect();
    for a in &set {
        assert_eq!(a.cmp(a), Equal);
        for b in &set {
            assert_eq!(a.cmp(b), b.cmp(a).reverse(), "{a} vs {b}");
        }
    }
}

#[test]
fn reference_10_3_archive_sort() {
    let mut entries: Vec<(&str, Version)> = [
        ("libfoo", "1.0.0-1"),
        ("libbar", "2.5-1"),
        ("libfoo", "1.2.0-1"),
        ("libfoo", "1.1.0-1"),
        ("libbar", "2.4-1"),
    ]
    .iter()
    .map(|&(n, v)| (n, full(v)))
    .collect();
    entries.sort_by(|a, b| a.0.cmp(b.0).then_with(|| b.1.cmp(&a.1)));
    let got: Vec<String> = entries.iter().map(|(n, v)| format!("{n} {v}")).collect();
    assert_eq!(
        got,
        [
            "libbar 2.5-1",
            "libbar 2.4-1",
            "libfoo 1.2.0-1",
            "libfoo 1.1.0-1",
            "libfoo 1.0.0-1"
        ]
    );
    assert!(Version::parse("not-a-real-version").is_err());
}

// ------------------------------------- reference tool, behaviour §10.4

/// The §10.4 vectors on which the reference tool and the spec agree.
#[test]
fn reference_10_4_agreeing_vectors() {
    check_table(&[
        ("1.0-foo-1", Less, "1.0-zzz-1"),
        ("1.0-Foo-1", Less, "1.0-foo-1"),
        ("1.0RC1-1", Equal, "1.0rc1-1"),
        ("1.0RC1-1", Less, "1.0-1"),
        ("1.0.-1", Equal, "1.0-1"),
        ("1.0..0-1", Equal, "1.0.0-1"),
        ("1.0~-1", Equal, "1.0-1"),
        ("1.0+build.42-1", Greater, "1.0-1"),
        ("1.0+build.42-1", Greater, "1.0.1-1"),
        ("1.0~1-1", Greater, "1.0-1"),
        ("1.0~1-1", Equal, "1.0.1-1"),
        ("1.0a-1", Less, "1.0b-1"),
        ("1.0dev-1", Less, "1.0alpha-1"),
        ("1.0pre-1", Less, "1.0rc-1"),
        ("1.0rc-1", Less, "1.0-1"),
        ("1.0zeta-1", Greater, "1.0-1"),
        ("1.0zeta-1", Greater, "1.0.1-1"),
        ("1.0~zeta-1", Less, "1.0-1"),
        ("1.0~zeta-1", Greater, "1.0~rc-1"),
        ("1a-1", Less, "1-1"),
        ("1.a-1", Less, "1.1-1"),
        ("1.foo-1", Greater, "1.1-1"),
        ("0:1.0-1", Equal, "1.0-1"),
        ("1:0.1-1", Greater, "2.0-1"),
        ("2:1.0-1", Less, "10:0.1-1"),
        ("1.0-2", Less, "1.0-10"),
        ("1.0-beta-1", Equal, "1.0~beta-1"),
        ("1.0-beta.2-1", Equal, "1.0~beta2-1"),
        ("1.0beta.2-1", Equal, "1.0~beta2-1"),
        ("1.0.0-rc.1-1", Less, "1.0.0-1"),
        ("1.0.0-rc.1-1", Less, "1.0.0-rc.2-1"),
        ("1.0.0-rc.1-1", Greater, "1.0.0-beta.9-1"),
        ("2.0~rc1-1", Greater, "1.9-1"),
        ("1.0~rc-5-1", Greater, "1.0~rc-1"),
    ]);
}

#[test]
fn reference_10_4_parse_observations() {
    let e = Version::parse("1:2:3-1").unwrap_err();
    assert!(e.reason().contains("':'"), "{e}");
    assert!(Version::parse("1.0-99999999999999999999").is_err());
    assert!(Version::parse("99999999999999999999:1.0-1").is_err());
    assert_eq!(full("A1.0-1").upstream(), "A1.0");
    assert!(Version::parse("1.0_1-1").is_err());
    assert!(Version::parse("~1-1").is_err());
    let v = full("1.0-1-1");
    assert_eq!((v.upstream(), v.revision()), ("1.0-1", Some("1")));
    assert!(Version::parse("1.0-+1").is_err());
}

/// DEVIATION (DESIGN.md §2): the spec's pre-release tail runs to the end of
/// the upstream version (§2.2.7.3: "a `-` separator ... is not itself a
/// pre-release marker"). The reference tool resets it at every `-`, which
/// makes `foo` below a non-pre-release segment. Following the spec, `foo` is
/// a pre-release segment, so it sorts below numbers and below end-of-string.
#[test]
fn spec_over_reference_prerelease_tail_is_not_reset_by_hyphen() {
    // Reference tool: the left side is Less in every row.
    check_full("1.0~rc-1", Greater, "1.0~rc-foo-1");
    check_full("1.0~rc-1-1", Greater, "1.0~rc-foo-1");
    check_full("1.0-rc-1-1", Greater, "1.0-rc-foo-1");
    check_full("1.0-rc-1", Greater, "1.0-rc-foo-1");
    expect_segs(
        "1.0~rc-foo",
        &[("1", false), ("0", false), ("rc", true), ("foo", true)],
    );
}

/// DEVIATION: §2.2.7.2 compares numeric segments "as integers"; the
/// reference tool clamps at 2^63-1 and calls these equal.
#[test]
fn spec_over_reference_numbers_are_not_clamped() {
    check_full("99999999999999999999-1", Greater, "99999999999999999998-1");
    check_full(
        "000099999999999999999999-1",
        Equal,
        "99999999999999999999-1",
    );
}

/// DEVIATION: the literal spec rules (and the reference tool) call
/// `1.0zeta == 1.0~zeta` while also giving `1.0zeta > 1.0 > 1.0~zeta`; no
/// total order can satisfy all three. We keep the end-of-string rules and
/// order a pre-release rank-5 token below a non-pre-release one.
#[test]
fn transitivity_over_literal_rule_prerelease_rank5_below_plain_rank5() {
    check_full("1.0~zeta-1", Less, "1.0zeta-1");
    check_full("1.0~zeta-1", Less, "1.0-1");
    check_full("1.0-1", Less, "1.0zeta-1");
    // The same resolution when the bytes differ: literal rules say
    // `1.0~zzz > 1.0.aaa` by byte order, yet `1.0~zzz < 1.0 < 1.0.aaa`.
    check(&operand("1.0~zzz"), Less, &operand("1.0.aaa"));
}
