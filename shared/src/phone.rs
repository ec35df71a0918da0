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
