//! HMAC-SHA256 signatures in both directions: verifying WhatsApp's
//! `X-Hub-Signature-256` on callbacks we receive, and signing the webhooks we send.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `header` (`sha256=<hex>`) is WhatsApp's signature of `body` under the app
/// secret. The raw bytes are checked first; a body with characters past 0x7E is also
/// checked in the `\uXXXX`-escaped form Meta has signed in the past. Comparisons are
/// constant-time.
pub fn hub_signature_valid(app_secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let verify = |bytes: &[u8]| {
        let mut mac = HmacSha256::new_from_slice(app_secret.as_bytes()).expect("any key length");
        mac.update(bytes);
        mac.verify_slice(&expected).is_ok()
    };
    if verify(body) {
        return true;
    }
    match std::str::from_utf8(body) {
        // DEL is ASCII but escaped too.
        Ok(text) if text.bytes().any(|b| b >= 0x7f) => verify(escape_unicode(text).as_bytes()),
        _ => false,
    }
}

/// Compares two secrets without leaking, through timing, how much of one matches:
/// both are hashed first, and digests compare in constant time.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let mut mac = HmacSha256::new_from_slice(b"same-secret").expect("any key length");
    mac.update(given.as_bytes());
    mac.verify_slice(&hmac_sha256(b"same-secret", expected.as_bytes()))
        .is_ok()
}

/// Every UTF-16 code unit outside 0x00–0x7E as `\uXXXX` with lowercase hex, the form
/// in which Meta signed non-ASCII bodies.
pub fn escape_unicode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        if (ch as u32) < 0x7f {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// `X-Webhook-Signature`: `sha256=` and the hex HMAC of the raw body, keyed with the
/// endpoint's secret as UTF-8.
pub fn body_signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), body))
    )
}

/// Standard Webhooks `webhook-signature`: `v1,` and the base64 HMAC of
/// `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret as UTF-8. Binding
/// the id and the time lets receivers reject replays.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = Vec::with_capacity(id.len() + body.len() + 24);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.to_string().as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let mac = hmac_sha256(secret.as_bytes(), &signed);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_sdk_vector() {
        let header = "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221";
        assert!(hub_signature_valid("TEST_APP_SECRET", b"test", header));
        assert!(!hub_signature_valid("OTHER_SECRET", b"test", header));
        assert!(!hub_signature_valid("TEST_APP_SECRET", b"test ", header));
        assert!(!hub_signature_valid(
            "TEST_APP_SECRET",
            b"test",
            &header[7..]
        ));
        assert!(!hub_signature_valid(
            "TEST_APP_SECRET",
            b"test",
            "sha256=zz"
        ));
    }

    #[test]
    fn escaped_unicode_vector() {
        let body = "Let's pretend this body is equal to the message object and can handle \
                    unicode characters like みどりいろ and J'ai mangé des pâtes";
        let header = "sha256=0363007aabdf1ab579f35936651a460fb5fa1aaf40df98b1264446b72cc96688";
        assert!(hub_signature_valid(
            "YOUR_APP_SECRET",
            body.as_bytes(),
            header
        ));
        assert!(escape_unicode(body).contains("mang\\u00e9"));
        assert_eq!(escape_unicode("😀"), "\\ud83d\\ude00");
        // DEL is ASCII, yet escaped: a body with it is checked in both forms too.
        let header = format!("sha256={}", hex::encode(hmac_sha256(b"s", b"a\\u007f")));
        assert!(hub_signature_valid("s", b"a\x7f", &header));
    }

    #[test]
    fn body_and_standard_signatures() {
        assert_eq!(
            body_signature("secret", b"test"),
            "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
        );
        let sig = standard_signature("secret", "msg_1", 1700000000, b"{}");
        let mac = hmac_sha256(b"secret", b"msg_1.1700000000.{}");
        assert_eq!(
            sig,
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac)
            )
        );
    }
}
