//! API keys: `wapl_` followed by 40 random alphanumerics. Only the SHA-256 of a key
//! is stored; the short prefix lets an operator name a key without knowing it.

use rand::RngExt;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

const SCHEME: &str = "wapl_";
const RANDOM_LEN: usize = 40;
/// `wapl_` plus 8 characters: enough to tell keys apart in a listing.
pub const PREFIX_LEN: usize = SCHEME.len() + 8;

/// A well-formed API key, as presented by a client or just generated.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}…)", self.prefix())
    }
}

impl ApiKey {
    pub fn generate() -> ApiKey {
        let random: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(RANDOM_LEN)
            .map(char::from)
            .collect();
        ApiKey(format!("{SCHEME}{random}"))
    }

    /// `None` for anything that cannot be one of our keys, so a malformed bearer
    /// token never reaches the database.
    pub fn parse(s: &str) -> Option<ApiKey> {
        let random = s.strip_prefix(SCHEME)?;
        (random.len() == RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| ApiKey(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn prefix(&self) -> &str {
        &self.0[..PREFIX_LEN]
    }

    /// Lowercase hex SHA-256, the form stored in `api_keys.key_hash`.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_hash_stably() {
        let key = ApiKey::generate();
        assert!(key.expose().starts_with("wapl_"));
        let again = ApiKey::parse(key.expose()).expect("parses");
        assert_eq!(again.hash(), key.hash());
        assert_eq!(key.hash().len(), 64);
        assert_eq!(key.prefix().len(), PREFIX_LEN);
        assert_ne!(ApiKey::generate().hash(), key.hash());
    }

    #[test]
    fn rejects_malformed_keys() {
        let good = ApiKey::generate();
        for bad in [
            String::new(),
            "wapl_".into(),
            good.expose()[1..].to_string(),
            format!("{}x", good.expose()),
            good.expose().replace("wapl_", "WAPL_"),
            format!("wapl_{}", "é".repeat(40)),
        ] {
            assert!(ApiKey::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn hash_is_sha256_hex() {
        let key = ApiKey::parse(&format!("wapl_{}", "a".repeat(40))).unwrap();
        assert_eq!(
            key.hash(),
            hex::encode(Sha256::digest(format!("wapl_{}", "a".repeat(40))))
        );
    }
}
