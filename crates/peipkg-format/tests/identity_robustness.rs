//! Every identity parser must return an error, never panic, on hostile
//! input, and whatever it accepts must print back to text that parses to the
//! same value (the canonical form is a fixed point).

use peipkg_format::identity::{
    package_file_name, parse_package_file_name, validate_arch_qualifier, Architecture, Constraint,
    PackageName, SideEffect, Version,
};

/// Runs every parser on `s` and checks the round-trip property for the
/// ones that accept it.
fn exercise(s: &str) {
    if let Ok(v) = Version::parse(s) {
        let again = Version::parse(v.as_str()).expect("canonical text re-parses");
        assert_eq!(again.as_str(), v.as_str());
        assert_eq!(again, v);
        assert!(v.has_revision());
    }
    if let Ok(v) = Version::parse_operand(s) {
        let again = Version::parse_operand(&v.to_string()).expect("operand re-parses");
        assert_eq!(again.as_str(), v.as_str());
    }
    if let Ok(c) = Constraint::parse(s) {
        let text = c.to_string();
        let again = Constraint::parse(&text).expect("canonical constraint re-parses");
        assert_eq!(again.to_string(), text);
        assert_eq!(again, c);
        assert!(!c.clauses().is_empty());
    }
    if let Ok(n) = PackageName::parse(s) {
        assert_eq!(n.as_str(), s);
    }
    if let Ok(a) = Architecture::parse(s) {
        assert_eq!(a.as_str(), s);
    }
    if let Ok(e) = SideEffect::parse(s) {
        assert_eq!(e.as_str(), s);
    }
    let _ = validate_arch_qualifier(Some(s));
    if let Ok((n, v, a)) = parse_package_file_name(s) {
        let rebuilt = package_file_name(&n, &v, &a);
        assert_eq!(parse_package_file_name(&rebuilt).unwrap(), (n, v, a));
    }
    // Every error message must be printable and bounded.
    for msg in [
        Version::parse(s).err().map(|e| e.to_string()),
        Constraint::parse(s).err().map(|e| e.to_string()),
        PackageName::parse(s).err().map(|e| e.to_string()),
        parse_package_file_name(s).err().map(|e| e.to_string()),
    ]
    .into_iter()
    .flatten()
    {
        assert!(msg.contains("PSD-009 §"), "{msg}");
        assert!(msg.len() < 2_000, "message of {} bytes", msg.len());
    }
}

#[test]
fn nasty_strings() {
    let huge_digits = "9".repeat(100_000);
    let huge_upstream = format!("{}-1", "1.".repeat(50_000));
    let many_commas = ",".repeat(10_000);
    let many_clauses = vec![">= 1.0"; 5_000].join(", ");
    let deep_colons = ":".repeat(10_000);
    let cases: Vec<String> = [
        "",
        " ",
        ":",
        "::",
        ":::",
        "-",
        "--",
        "_",
        "__",
        "~",
        ".",
        "+",
        ",",
        "=",
        ">=",
        "!",
        "0",
        "0:",
        ":0",
        "0:-",
        "0:-1",
        "1:-1",
        "1:",
        "-:-",
        "1-",
        "-1-",
        "1.0-1-",
        "\0",
        "1.0-1\0",
        "\u{feff}1.0-1",
        "１.０-１",
        "1.0-١",
        "é",
        "ü-1",
        "日本語_1.0-1_x86_64.peipkg",
        "\u{1F600}",
        "a\u{0301}b",
        "\r\n",
        "1.0\t-1",
        ">= \u{a0}1.0",
        "1.0-1,",
        ",1.0-1",
        "x_1.0-1_.peipkg",
        "x__.peipkg",
        "_1.0-1_x86_64.peipkg",
        ".peipkg",
        "a_b_c_d.peipkg",
        "hello_0.1-1_noarch.peipkg.peipkg",
        "hello_0.1-1_noarch.PEIPKG",
        "18446744073709551615:1-18446744073709551615",
        "18446744073709551616:1-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        huge_digits.clone(),
        format!("{huge_digits}-1"),
        format!("1.0-{huge_digits}"),
        format!("{huge_digits}:1.0-1"),
        huge_upstream.clone(),
        many_commas,
        many_clauses.clone(),
        deep_colons,
        "a".repeat(1_000_000),
        format!("{}_1.0-1_x86_64.peipkg", "a".repeat(65)),
    ])
    .collect();
    for s in &cases {
        exercise(s);
    }
    // Big but valid inputs work, and compare sensibly.
    let big = Version::parse(&huge_upstream).unwrap();
    assert_eq!(big.cmp(&big), std::cmp::Ordering::Equal);
    assert!(big > Version::parse("1.1-1").unwrap());
    let c = Constraint::parse(&many_clauses).unwrap();
    assert_eq!(c.clauses().len(), 5_000);
    assert!(c.matches(&Version::parse("1.0-1").unwrap()));
    assert!(Version::parse(&format!("{huge_digits}-1")).unwrap() > Version::parse("1-1").unwrap());
}

/// Deterministic pseudo-random strings over the characters that matter to
/// these grammars, plus some that must never be accepted.
#[test]
fn generated_strings_never_panic() {
    // Digits and '-' are over-represented so that a fair share of the
    // strings are valid versions and constraints.
    const PALETTE: &[char] = &[
        '0',
        '1',
        '1',
        '2',
        '2',
        '9',
        '9',
        'a',
        'b',
        'r',
        'c',
        'z',
        'A',
        '.',
        '.',
        '+',
        '-',
        '-',
        '-',
        '~',
        ':',
        '_',
        ',',
        ' ',
        '=',
        '<',
        '>',
        '!',
        '/',
        'é',
        '\0',
        '\n',
        '\u{1F600}',
    ];
    let mut state: u64 = 0x0dd5_eed5;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let mut accepted_versions = 0;
    for _ in 0..20_000 {
        let len = 1 + next() % 10;
        let s: String = (0..len).map(|_| PALETTE[next() % PALETTE.len()]).collect();
        exercise(&s);
        accepted_versions += usize::from(Version::parse(&s).is_ok());
    }
    // The generator has to reach the accepting paths too, or the round-trip
    // checks above test nothing.
    assert!(
        accepted_versions > 20,
        "only {accepted_versions} versions accepted"
    );
}
