//! The `after` cursor of `list_campaign_messages`: the last message id of a page, as
//! unpadded base64url of its 12 bytes. Opaque to clients, so the order key can change
//! without breaking them; a cursor that does not decode to an id is a 400.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use waplify_shared::ids::MessageId;

use crate::campaigns::error::CampaignError;

pub fn encode(last: &MessageId) -> String {
    let bytes = hex::decode(last.as_str()).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn decode(cursor: &str) -> Result<MessageId, CampaignError> {
    let invalid = || CampaignError::Invalid("Invalid after: not a cursor of this list".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    MessageId::parse(&hex::encode(bytes)).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let id = MessageId::parse("0123456789abcdef01234567").unwrap();
        let c = encode(&id);
        assert_eq!(c.len(), 16);
        assert_eq!(decode(&c).unwrap(), id);
        for bad in [
            "",
            "!!",
            "AAAA",
            "0123456789abcdef01234567",
            &format!("{c}A"),
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
