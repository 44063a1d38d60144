//! Trusted binaries fail closed: a recipe whose `[[sign]]` stanzas name a
//! key that its `[[grant]]` does not allow is refused before its source is
//! fetched, with an error that says which stanza and which grant entry is
//! missing. peipkg-build would refuse too (it is never given the key), but
//! only after a fetch, and with a message about a flag the operator never
//! typed; the decision belongs to the farm, which holds the keys.

use crate::config::Grant;
use crate::roster::{Recipe, SignStanza};

/// The recipe's stanzas whose key the grant does not allow.
pub fn ungranted<'r>(recipe: &'r Recipe, grant: Option<&Grant>) -> Vec<&'r SignStanza> {
    recipe
        .signs
        .iter()
        .filter(|s| !grant.is_some_and(|g| g.sign.contains(&s.key)))
        .collect()
}

/// Why the recipe must not be built with this grant, or `None` when every
/// `[[sign]]` stanza has its key.
pub fn refusal(recipe: &Recipe, grant: Option<&Grant>) -> Option<String> {
    let missing = ungranted(recipe, grant);
    if missing.is_empty() {
        return None;
    }
    let stanzas: Vec<String> = missing
        .iter()
        .map(|s| format!("{} (key {:?})", s.path, s.key))
        .collect();
    let mut keys: Vec<&str> = Vec::new();
    for s in &missing {
        if !keys.contains(&s.key.as_str()) {
            keys.push(&s.key);
        }
    }
    let quoted: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    let fix = match grant {
        None => format!(
            "no [[grant]] has recipe = {:?}; add one with sign = [{}]",
            recipe.id,
            quoted.join(", ")
        ),
        Some(_) => format!("its [[grant]] does not list {} in sign", quoted.join(", ")),
    };
    Some(format!(
        "binary signing not granted: recipe {:?} must sign {} with a trusted key, but {fix}; refusing to build rather than ship unsigned trusted binaries",
        recipe.id,
        stanzas.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::parse_recipe;
    use std::path::Path;

    fn recipe(signs: &[(&str, &str)]) -> Recipe {
        let mut text = String::from(
            "[meta]\nbuild_script = \"build.sh\"\n[[package]]\nname = \"loregd\"\narchitecture = \"x86_64\"\n",
        );
        for (path, key) in signs {
            text.push_str(&format!("[[sign]]\npath = \"{path}\"\nkey = \"{key}\"\n"));
        }
        parse_recipe(
            "loregd",
            Path::new("/r/loregd"),
            Path::new("/r/loregd/peipkg.toml"),
            text,
            Default::default(),
        )
        .unwrap()
    }

    fn grant(sign: &[&str]) -> Grant {
        Grant {
            recipe: "loregd".into(),
            inject_pubkey: Vec::new(),
            sign: sign.iter().map(|s| s.to_string()).collect(),
            network: false,
        }
    }

    #[test]
    fn no_stanzas_need_no_grant() {
        assert_eq!(refusal(&recipe(&[]), None), None);
    }

    #[test]
    fn every_stanza_needs_its_key_granted() {
        let r = recipe(&[("usr/bin/loregd", "tcb"), ("usr/lib/libx.so", "lib")]);
        assert_eq!(refusal(&r, Some(&grant(&["tcb", "lib"]))), None);
        let partial = refusal(&r, Some(&grant(&["tcb"]))).unwrap();
        assert!(
            partial.contains("usr/lib/libx.so (key \"lib\")"),
            "{partial}"
        );
        assert!(
            partial.contains("does not list \"lib\" in sign"),
            "{partial}"
        );
        assert!(!partial.contains("usr/bin/loregd"), "{partial}");
        let none = refusal(&r, None).unwrap();
        assert!(
            none.contains(
                "no [[grant]] has recipe = \"loregd\"; add one with sign = [\"tcb\", \"lib\"]"
            ),
            "{none}"
        );
        // A grant of the inject key alone is not a signing grant.
        let inject_only = Grant {
            inject_pubkey: vec!["tcb".into()],
            ..grant(&[])
        };
        assert!(refusal(&r, Some(&inject_only)).is_some());
    }
}
