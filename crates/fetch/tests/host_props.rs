//! Properties of the host normaliser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferrodon_fetch::Url;
use ferrodon_fetch::host::{is_same_or_subdomain, normalize_host, origin_host, same_host};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

/// An ASCII or Unicode label (no `ß`/`ς`, whose upper case is not a
/// spelling of the same name under IDNA).
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,12}",
        "[a-z][a-z0-9-]{0,10}[a-z0-9]",
        "[a-zäöüéñå]{1,10}",
        "[a-zж-я]{1,8}",
    ]
}

fn domain() -> impl Strategy<Value = Vec<String>> {
    // The top-level label is ASCII letters: an all-numeric last label
    // would make the name an IPv4 address.
    (prop::collection::vec(label(), 1..4), "[a-z]{2,6}").prop_map(|(mut labels, tld)| {
        labels.push(tld);
        labels
    })
}

/// Upper-cases the characters where `mask` says so.
fn recase(s: &str, mask: &[bool]) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask.get(i % mask.len().max(1)).copied().unwrap_or(false) {
                c.to_uppercase().collect::<String>()
            } else {
                c.to_string()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_panics(s in any::<String>()) {
        let _ = normalize_host(&s);
        let _ = same_host(&s, "example.com");
        let _ = is_same_or_subdomain(&s, "example.com");
        let _ = is_same_or_subdomain("a.example.com", &s);
    }

    #[test]
    fn never_panics_on_host_like_input(s in "[a-zA-Z0-9.:\\[\\]@%\\\\/ ä-]{0,30}") {
        let _ = normalize_host(&s);
        if let Ok(u) = Url::parse(&format!("https://{s}/")) {
            let _ = origin_host(&u);
        }
    }

    #[test]
    fn normalisation_is_idempotent(s in "[a-zA-Z0-9.:\\[\\]äÖéñ-]{1,30}") {
        if let Ok(once) = normalize_host(&s) {
            prop_assert_eq!(normalize_host(&once), Ok(once.clone()));
            prop_assert!(once.is_ascii());
            prop_assert_eq!(once.to_ascii_lowercase(), once.clone());
            prop_assert!(!once.ends_with('.'));
        }
    }

    #[test]
    fn equivalent_spellings_compare_equal(
        labels in domain(),
        mask in prop::collection::vec(any::<bool>(), 1..8),
        dot in any::<bool>(),
        port in prop_oneof![Just(None), Just(Some(443u16)), (1u16..).prop_map(Some)],
    ) {
        let plain = labels.join(".");
        let base = normalize_host(&plain);
        prop_assert!(base.is_ok(), "{plain}: {base:?}");
        let base = base.unwrap();

        let mut spelled = recase(&plain, &mask);
        if dot {
            spelled.push('.');
        }
        if let Some(p) = port {
            spelled.push_str(&format!(":{p}"));
        }
        let expected = match port {
            Some(p) if p != 443 => format!("{base}:{p}"),
            _ => base.clone(),
        };
        prop_assert_eq!(normalize_host(&spelled), Ok(expected.clone()));
        // The ASCII (punycode) spelling names the same host.
        prop_assert!(same_host(&base, &plain));
        // And a URL with either spelling has that host.
        let url = Url::parse(&format!("https://{spelled}/x")).unwrap();
        prop_assert_eq!(origin_host(&url), expected);
    }

    #[test]
    fn subdomains_and_lookalikes(labels in domain(), sub in label(), prefix in "[a-z]{1,5}") {
        let domain = labels.join(".");
        let under = format!("{sub}.{domain}");
        let lookalike = format!("{prefix}{domain}");
        prop_assert!(is_same_or_subdomain(&domain, &domain));
        prop_assert!(is_same_or_subdomain(&under, &domain));
        prop_assert!(is_same_or_subdomain(&under.to_uppercase(), &domain));
        prop_assert!(!is_same_or_subdomain(&lookalike, &domain));
        prop_assert!(!is_same_or_subdomain(&domain, &under));
    }
}
