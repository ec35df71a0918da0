//! Properties of the HMAC signatures: WhatsApp's `X-Hub-Signature-256` on callbacks
//! we receive and the signatures of the webhooks we send. What is signed verifies,
//! any one bit changed anywhere does not, and no header string makes the check panic.
//! The MACs the properties expect are computed here, apart from the code under test.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use waplify_shared::signing::{
    body_signature, escape_unicode, hub_signature_valid, standard_signature,
};
use waplify_tests::app::APP_SECRET;
use waplify_tests::whatsapp::{fixtures, sign};

fn mac(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

fn flip(bytes: &[u8], bit: Index) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let i = bit.index(out.len() * 8);
    out[i / 8] ^= 1 << (i % 8);
    out
}

/// Meta's escaping, written apart: UTF-16 code units past 0x7E as `\uXXXX`.
fn escaped(text: &str) -> String {
    text.encode_utf16()
        .map(|u| match char::from_u32(u.into()) {
            Some(c) if u < 0x7f => c.to_string(),
            _ => format!("\\u{u:04x}"),
        })
        .collect()
}

/// Every vector of `signature/test_vectors.json` with its body bytes.
fn vectors() -> Vec<(String, String, Vec<u8>, String)> {
    let text = std::fs::read(fixtures().join("signature/test_vectors.json")).unwrap();
    let all: Value = serde_json::from_slice(&text).unwrap();
    let list = all["vectors"].as_array().unwrap();
    list.iter()
        .map(|v| {
            let body = match (v["body_utf8"].as_str(), v["body_file"].as_str()) {
                (Some(b), _) => b.as_bytes().to_vec(),
                (None, Some(f)) => std::fs::read(fixtures().join(f)).unwrap(),
                _ => panic!("vector without a body: {v}"),
            };
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (s("name"), s("secret"), body, s("header"))
        })
        .collect()
}

#[test]
fn every_fixture_vector_verifies_and_another_secret_does_not() {
    let all = vectors();
    assert!(all.len() >= 7, "{}", all.len());
    for (name, secret, body, header) in all {
        assert!(hub_signature_valid(&secret, &body, &header), "{name}");
        assert!(!hub_signature_valid("another", &body, &header), "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signed_bodies_verify(
        body in prop::collection::vec(any::<u8>(), 0..1024),
        secret in ".{0,80}",
    ) {
        let header = body_signature(&secret, &body);
        let expected = format!("sha256={}", hex::encode(mac(secret.as_bytes(), &body)));
        prop_assert_eq!(&header, &expected);
        prop_assert_eq!(&header, &sign(&secret, &body));
        prop_assert!(hub_signature_valid(&secret, &body, &header));
        let padded = format!(" {header}\t");
        prop_assert!(hub_signature_valid(&secret, &body, &padded));
    }

    #[test]
    fn text_signed_in_escaped_form_verifies(
        text in prop_oneof![".{0,200}", "[ -\u{7f}]{0,40}"],
        secret in "[ -~]{1,40}",
    ) {
        prop_assert_eq!(escape_unicode(&text), escaped(&text));
        let header = sign(&secret, escaped(&text).as_bytes());
        prop_assert!(hub_signature_valid(&secret, text.as_bytes(), &header));
    }

    #[test]
    fn one_bit_changed_anywhere_fails(
        body in prop::collection::vec(any::<u8>(), 1..512),
        secret in ".{1,64}",
        bit in any::<Index>(),
    ) {
        let header = sign(&secret, &body);
        prop_assert!(!hub_signature_valid(&secret, &flip(&body, bit), &header));
        let tag = mac(secret.as_bytes(), &body);
        let forged = format!("sha256={}", hex::encode(flip(&tag, bit)));
        prop_assert!(!hub_signature_valid(&secret, &body, &forged));
        if let Ok(other) = String::from_utf8(flip(secret.as_bytes(), bit)) {
            prop_assert!(!hub_signature_valid(&other, &body, &header));
        }
        // Hex digits compare by value, so a letter's case is the one change that stays.
        if let Ok(h) = String::from_utf8(flip(header.as_bytes(), bit)) {
            let same = h.eq_ignore_ascii_case(&header) && h.starts_with("sha256=");
            prop_assert_eq!(hub_signature_valid(&secret, &body, &h), same, "{}", h);
        }
    }

    #[test]
    fn a_changed_fixture_body_fails(which in any::<Index>(), bit in any::<Index>()) {
        let all = vectors();
        let (name, secret, body, header) = &all[which.index(all.len())];
        prop_assert!(!hub_signature_valid(secret, &flip(body, bit), header), "{}", name);
    }

    #[test]
    fn malformed_headers_are_refused(
        body in prop::collection::vec(any::<u8>(), 0..64),
        header in prop_oneof![
            any::<String>(),
            "sha256=[0-9a-fA-F]{0,63}",
            "sha256=[0-9a-f]{65,130}",
            "(sha1|SHA256|sha256 |sha256:)=?[0-9a-f]{64}",
            "sha256=[0-9a-f]{62}[^0-9a-fA-F]{1,2}",
        ],
    ) {
        prop_assert!(!hub_signature_valid(APP_SECRET, &body, &header), "{:?}", header);
    }

    #[test]
    fn outgoing_webhook_signatures_bind_id_time_and_body(
        secret in ".{0,64}",
        id in "[a-zA-Z0-9_]{1,30}",
        timestamp in any::<i64>(),
        body in prop::collection::vec(any::<u8>(), 0..512),
        bit in any::<Index>(),
    ) {
        let signed = [id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", &body].concat();
        let b64 = base64::engine::general_purpose::STANDARD.encode(mac(secret.as_bytes(), &signed));
        let sig = standard_signature(&secret, &id, timestamp, &body);
        prop_assert_eq!(&sig, &format!("v1,{b64}"));
        prop_assert_ne!(&sig, &standard_signature(&secret, &id, timestamp ^ 1, &body));
        if !body.is_empty() {
            prop_assert_ne!(&sig, &standard_signature(&secret, &id, timestamp, &flip(&body, bit)));
        }
    }
}
