//! Public identifiers: 24 lowercase hex characters (4 bytes of seconds, 8 random bytes).
//!
//! The time prefix keeps new rows near each other in B-tree indexes, which matters for
//! bulk inserts of a million messages; the random tail makes ids unguessable enough that
//! one account cannot probe another's.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A malformed id. Its display is the public error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid {what}")]
pub struct InvalidId {
    pub what: &'static str,
}

fn is_id(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Generates a fresh 24-hex id.
pub fn new_hex_id() -> String {
    let secs = chrono::Utc::now().timestamp() as u32;
    let tail: [u8; 8] = rand::random();
    let mut out = String::with_capacity(24);
    out.push_str(&hex::encode(secs.to_be_bytes()));
    out.push_str(&hex::encode(tail));
    out
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// What the id is called in error messages (`Invalid campaign_id`).
            pub const WHAT: &'static str = $what;

            pub fn generate() -> Self {
                Self(new_hex_id())
            }

            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                if is_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(InvalidId { what: $what })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// Wraps a value read back from our own database, where it was stored valid.
            pub fn from_db(s: String) -> Self {
                Self(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// An account (customer).
    AccountId, "account_id"
);
hex_id!(
    /// A campaign.
    CampaignId, "campaign_id"
);
hex_id!(
    /// One message: one recipient of one campaign.
    MessageId, "message_id"
);
hex_id!(
    /// A contact of an account.
    ContactId, "contact_id"
);
hex_id!(
    /// A message template.
    TemplateId, "template_id"
);
hex_id!(
    /// A WhatsApp Business phone number (WABA phone).
    NumberId, "waba_phone_id"
);
hex_id!(
    /// An API key row (not the key itself).
    KeyId, "key_id"
);
hex_id!(
    /// A customer's webhook endpoint.
    WebhookId, "webhook_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = CampaignId::generate();
        let b = CampaignId::generate();
        assert_ne!(a, b);
        assert!(CampaignId::parse(a.as_str()).is_ok());
        assert_eq!(a.as_str().len(), 24);
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "abc",
            "507F1F77BCF86CD799439011",
            "507f1f77bcf86cd79943901g",
            "507f1f77bcf86cd7994390111",
            "507f1f77-cf86cd799439011",
        ] {
            let err = CampaignId::parse(bad).unwrap_err();
            assert_eq!(err.to_string(), "Invalid campaign_id", "{bad}");
        }
        assert!(CampaignId::parse("507f1f77bcf86cd799439011").is_ok());
    }

    #[test]
    fn serde_round_trip_validates() {
        let id = MessageId::generate();
        let json = serde_json::to_string(&id).unwrap();
        let back: MessageId = serde_json::from_str(&json).unwrap();
        assert_eq!(id, back);
        assert!(serde_json::from_str::<MessageId>("\"nothex\"").is_err());
    }
}
