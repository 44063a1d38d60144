//! Version constraints (PSD-009 §2.2.8, §4.1.6, appendix B.3).
//!
//! A constraint is one or more `<operator> <version>` clauses joined by
//! commas and AND-combined. The subtle part is an operand written without a
//! revision (`>= 3.0`): it constrains epoch and upstream only, so `> 1.0`
//! is *not* satisfied by `1.0-5` and `<= 1.0` *is* satisfied by `1.0-99`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::error::{IdentityError, Shown};
use super::version::Version;

/// A relational operator (§2.2.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `=`; also what a bare version means.
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Operator {
    /// Every operator, two-character ones first so that prefix matching
    /// takes the longest.
    const BY_LENGTH: [Operator; 6] = [
        Operator::Ge,
        Operator::Le,
        Operator::Ne,
        Operator::Gt,
        Operator::Lt,
        Operator::Eq,
    ];

    /// The operator's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "!=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Lt => "<",
            Operator::Le => "<=",
        }
    }

    /// Whether `candidate <op> operand` holds, given `candidate.cmp(operand)`.
    pub fn holds(self, ord: Ordering) -> bool {
        match self {
            Operator::Eq => ord == Ordering::Equal,
            Operator::Ne => ord != Ordering::Equal,
            Operator::Gt => ord == Ordering::Greater,
            Operator::Ge => ord != Ordering::Less,
            Operator::Lt => ord == Ordering::Less,
            Operator::Le => ord != Ordering::Greater,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `<operator> <version>` expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Clause {
    op: Operator,
    operand: Version,
}

impl Clause {
    /// A clause from parts. The operand may lack a revision.
    pub fn new(op: Operator, operand: Version) -> Clause {
        Clause { op, operand }
    }

    pub fn op(&self) -> Operator {
        self.op
    }

    /// The operand; [`Version::has_revision`] tells whether the revision is
    /// constrained.
    pub fn operand(&self) -> &Version {
        &self.operand
    }

    /// Appendix B.3: compare on epoch and upstream only when the operand has
    /// no revision, on the full version otherwise.
    pub fn matches(&self, candidate: &Version) -> bool {
        let ord = if self.operand.has_revision() {
            candidate.cmp(&self.operand)
        } else {
            candidate.cmp_ignoring_revision(&self.operand)
        };
        self.op.holds(ord)
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.operand)
    }
}

/// A parsed constraint: a non-empty AND of clauses.
///
/// `Display` gives the canonical text: clauses as `<op> <version>` joined by
/// `", "`, a bare version written as `= <version>`, operands in canonical
/// version form. That is the form the reference tools emit (`>= 1.0, < 2.0`,
/// `= 1:1.2.3~rc1-2`). Equality compares clauses, with operands compared as
/// versions (so `= 1.0~a` equals `= 1.0~alpha`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Constraint {
    clauses: Vec<Clause>,
}

fn err(value: &str, reason: impl Into<String>, section: &'static str) -> IdentityError {
    IdentityError::InvalidConstraint {
        value: value.to_owned(),
        reason: reason.into(),
        section,
    }
}

impl Constraint {
    /// Parses a constraint string. Whitespace (ASCII) around operators and
    /// commas is ignored; each clause is an optional operator followed by a
    /// version operand whose revision may be omitted (§2.2.8, §4.1.6).
    pub fn parse(s: &str) -> Result<Constraint, IdentityError> {
        if s.trim_matches(is_space).is_empty() {
            return Err(err(
                s,
                "empty: at least one operator-and-version expression is required",
                "§4.1.6",
            ));
        }
        let mut clauses = Vec::new();
        for (i, piece) in s.split(',').enumerate() {
            let n = i + 1;
            let piece = piece.trim_matches(is_space);
            if piece.is_empty() {
                return Err(err(
                    s,
                    format!("clause {n} is empty (stray comma?)"),
                    "§4.1.6",
                ));
            }
            let (op, rest) = Operator::BY_LENGTH
                .iter()
                .find_map(|op| piece.strip_prefix(op.as_str()).map(|r| (*op, r)))
                .unwrap_or((Operator::Eq, piece));
            let rest = rest.trim_matches(is_space);
            if rest.is_empty() {
                return Err(err(
                    s,
                    format!("clause {n} has operator {:?} but no version", op.as_str()),
                    "§4.1.6",
                ));
            }
            let operand = Version::parse_operand(rest).map_err(|e| {
                err(
                    s,
                    format!("clause {n}: version {}: {}", Shown(rest), e.reason()),
                    e.section(),
                )
            })?;
            clauses.push(Clause { op, operand });
        }
        Ok(Constraint { clauses })
    }

    /// A constraint from clauses; `None` when there are none (an absent
    /// constraint is expressed by not having one, §4.1.1).
    pub fn from_clauses(clauses: Vec<Clause>) -> Option<Constraint> {
        (!clauses.is_empty()).then_some(Constraint { clauses })
    }

    /// `= <version>`, e.g. for a sibling built from the same recipe.
    pub fn exactly(version: Version) -> Constraint {
        Constraint {
            clauses: vec![Clause::new(Operator::Eq, version)],
        }
    }

    /// The clauses, in the order written.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// Whether `candidate` satisfies every clause.
    pub fn matches(&self, candidate: &Version) -> bool {
        self.clauses.iter().all(|c| c.matches(candidate))
    }
}

fn is_space(c: char) -> bool {
    c.is_ascii_whitespace()
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl FromStr for Constraint {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Constraint::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn m(c: &str, ver: &str) -> bool {
        Constraint::parse(c).unwrap().matches(&v(ver))
    }

    #[test]
    fn parses_and_prints_canonically() {
        for (input, canon) in [
            (">= 1.0, < 2.0", ">= 1.0, < 2.0"),
            (">=1.0,<2.0", ">= 1.0, < 2.0"),
            ("  >=  1.0 ,\t< 2.0  ", ">= 1.0, < 2.0"),
            ("1.26.2-3", "= 1.26.2-3"),
            ("= 1:1.2.3~rc1-2", "= 1:1.2.3~rc1-2"),
            ("!=0:1.0", "!= 1.0"),
            ("<= 1.0-rc.1", "<= 1.0-rc.1"),
            ("> 2", "> 2"),
        ] {
            assert_eq!(
                Constraint::parse(input).unwrap().to_string(),
                canon,
                "{input:?}"
            );
        }
    }

    #[test]
    fn clause_access() {
        let c = Constraint::parse(">= 1.0, < 2.0-3").unwrap();
        let ops: Vec<Operator> = c.clauses().iter().map(Clause::op).collect();
        assert_eq!(ops, [Operator::Ge, Operator::Lt]);
        assert!(!c.clauses()[0].operand().has_revision());
        assert_eq!(c.clauses()[1].operand().revision(), Some("3"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "   ",
            ",",
            ">= 1.0,",
            ", >= 1.0",
            ">= 1.0,, < 2",
            ">=",
            "== 1.0",
            "=> 1.0",
            ">= 1.0 2.0",
            ">= 1.0 -1",
            "~> 1.0",
            ">= 1.0-0",
            ">= 1.0-",
            "> _1",
            ">= 01:1.0",
            "< 1.0; > 0.5",
        ] {
            assert!(Constraint::parse(bad).is_err(), "{bad:?} parsed");
        }
        let e = Constraint::parse(">= 1.0, < 2.0 x").unwrap_err();
        assert!(e.to_string().contains("clause 2"), "{e}");
        assert_eq!(e.section(), "§2.2.3");
    }

    /// §2.2.8: an operand without a revision constrains epoch and upstream
    /// only; one with a revision constrains the revision too.
    #[test]
    fn operand_without_revision_ignores_candidate_revision() {
        assert!(m(">= 3.0", "3.0-1"));
        assert!(m(">= 3.0", "3.0-7"));
        assert!(!m("> 1.0", "1.0-5"));
        assert!(m("<= 1.0", "1.0-99"));
        assert!(!m("< 1.0", "1.0-1"));
        assert!(m("= 1.0", "1.0-1") && m("= 1.0", "1.0-42") && m("1.0", "1.0-3"));
        assert!(!m("!= 1.0", "1.0-3"));
        assert!(m("!= 1.0", "1.0.1-3"));
        assert!(m("= 1.0", "0:1.0-2"));
        assert!(!m("= 1.0", "1:1.0-2"));
        // With a revision, the revision counts.
        assert!(!m("= 1.0-1", "1.0-2"));
        assert!(m("> 1.0-1", "1.0-2"));
        assert!(!m("> 1.0-2", "1.0-2"));
        assert!(m(">= 1.0-2", "1.0-2"));
        assert!(m("!= 1.0-1", "1.0-2"));
    }

    #[test]
    fn and_combination() {
        let c = ">= 3.0, < 4.0";
        assert!(m(c, "3.0-1"));
        assert!(m(c, "3.9.9-2"));
        assert!(!m(c, "4.0-1"));
        assert!(m(c, "4.0~rc1-1"));
        assert!(!m(c, "2.9-1"));
        assert!(!m(c, "1:3.5-1"));
        assert!(!m(">= 2.0, < 1.0", "1.5-1"));
    }

    #[test]
    fn exactly_and_from_clauses() {
        let c = Constraint::exactly(v("1:1.2.3~rc1-2"));
        assert_eq!(c.to_string(), "= 1:1.2.3~rc1-2");
        assert!(c.matches(&v("1:1.2.3~rc1-2")));
        assert!(!c.matches(&v("1:1.2.3~rc1-3")));
        assert!(Constraint::from_clauses(vec![]).is_none());
        let c = Constraint::from_clauses(vec![Clause::new(Operator::Lt, v("2.0-1"))]).unwrap();
        assert_eq!(c, Constraint::parse("<2.0-1").unwrap());
    }
}
