//! Phone numbers as E.164 digits, normalised once at the edge.

use std::fmt;

/// An E.164 number without the `+`: 8 to 15 digits, not starting with 0.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Phone(String);

impl Phone {
    /// Accepts digits with an optional leading `+`, and spaces or dashes anywhere
    /// (the separators people paste from spreadsheets). Anything else is rejected
    /// rather than guessed at.
    pub fn parse(input: &str) -> Option<Phone> {
        let trimmed = input.trim();
        let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => return None,
            }
        }
        let ok = (8..=15).contains(&digits.len()) && !digits.starts_with('0');
        ok.then_some(Phone(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Phone;

    #[test]
    fn strips_plus_spaces_and_dashes() {
        assert_eq!(
            Phone::parse("+1 555-123-4567").unwrap().as_str(),
            "15551234567"
        );
        assert_eq!(
            Phone::parse(" 919876543210 ").unwrap().as_str(),
            "919876543210"
        );
        assert_eq!(
            Phone::parse("44 20 7946 0958").unwrap().as_str(),
            "442079460958"
        );
    }

    #[test]
    fn rejects_what_is_not_e164() {
        for bad in [
            "",
            "+",
            "1234567",
            "1234567890123456",
            "0123456789",
            "+1 (555) 123",
            "12a4567890",
            "1555.123.4567",
            "++15551234567",
            "15551234567+",
        ] {
            assert!(Phone::parse(bad).is_none(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn boundaries() {
        assert!(Phone::parse("12345678").is_some());
        assert!(Phone::parse("123456789012345").is_some());
    }
}

/// Properties over generated input: whatever `parse` takes is E.164 digits, taken
/// again unchanged, and everything outside its rule is refused.
#[cfg(test)]
mod props {
    use super::Phone;
    use proptest::prelude::*;

    /// A number the rule admits: digits not starting with 0, 8 to 15 of them.
    fn e164() -> impl Strategy<Value = String> {
        "[1-9][0-9]{7,14}"
    }

    /// `digits` as people write it: an optional `+`, spaces or dashes between any
    /// digits, blanks around.
    fn written(digits: String) -> impl Strategy<Value = (String, String)> {
        let seps = proptest::collection::vec("[ -]{0,2}", digits.len());
        (any::<bool>(), seps, "[ \t\n\u{a0}\u{3000}]{0,2}").prop_map(move |(plus, seps, pad)| {
            let mut s = String::from(&pad);
            if plus {
                s.push('+');
            }
            for (d, sep) in digits.chars().zip(&seps) {
                s.push(d);
                s.push_str(sep);
            }
            s.push_str(&pad);
            (s, digits.clone())
        })
    }

    fn written_e164() -> impl Strategy<Value = (String, String)> {
        e164().prop_flat_map(written)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_string_is_refused_or_e164(s in any::<String>()) {
            if let Some(p) = Phone::parse(&s) {
                let d = p.as_str();
                prop_assert!((8..=15).contains(&d.len()), "{d:?}");
                prop_assert!(d.bytes().all(|b| b.is_ascii_digit()), "{d:?}");
                prop_assert!(!d.starts_with('0'), "{d:?}");
                prop_assert_eq!(Phone::parse(d), Some(p.clone()));
                prop_assert_eq!(Phone::parse(&format!("+{d}")), Some(p.clone()));
            }
        }

        #[test]
        fn near_misses_are_refused_or_e164(s in "[+ 0-9()./-]{0,24}") {
            if let Some(p) = Phone::parse(&s) {
                prop_assert_eq!(Phone::parse(p.as_str()), Some(p.clone()));
                prop_assert!(!s.contains(['(', ')', '.', '/']), "{s:?}");
            }
        }

        #[test]
        fn written_numbers_normalise_to_their_digits((s, digits) in written_e164()) {
            let p = Phone::parse(&s);
            prop_assert_eq!(p.as_ref().map(Phone::as_str), Some(digits.as_str()), "{:?}", s);
        }

        #[test]
        fn letters_nul_and_other_marks_are_refused(
            (s, _) in written_e164(),
            at in any::<prop::sample::Index>(),
            bad in prop_oneof!["[a-zA-Z]", Just("\0".to_owned()), "[().,/#*+]", "[٠-٩]"],
        ) {
            let mut chars: Vec<char> = s.chars().collect();
            // Inside the number: a `+` before the first digit is the one allowed.
            let first = chars.iter().position(char::is_ascii_digit).unwrap_or(0) + 1;
            let i = first + at.index(chars.len() + 1 - first);
            chars.splice(i..i, bad.chars());
            let s: String = chars.into_iter().collect();
            prop_assert_eq!(Phone::parse(&s), None, "{:?}", s);
        }

        #[test]
        fn a_leading_zero_or_a_wrong_length_is_refused(
            digits in prop_oneof!["0[0-9]{7,14}", "[1-9][0-9]{0,6}", "[1-9][0-9]{15,20}"],
        ) {
            prop_assert_eq!(Phone::parse(&digits), None);
            prop_assert_eq!(Phone::parse(&format!("+{digits}")), None);
        }
    }
}
