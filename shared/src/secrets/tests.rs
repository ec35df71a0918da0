use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::*;

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32])
}

fn ring(current: u8, old: &[u8]) -> Keyring {
    Keyring::new(Some(key(current)), old.iter().map(|b| key(*b)).collect())
}

const TOKEN: Field = Field::NumberAccessToken;

#[test]
fn round_trip_binds_the_key_id_and_hides_the_value() {
    let keys = ring(1, &[]);
    let stored = keys.seal(TOKEN, "num_1", "EAAG-secret-token");
    assert!(
        stored.starts_with(&format!("enc:v1:{}:", key(1).id())),
        "{stored}"
    );
    assert!(!stored.contains("EAAG"));
    assert_eq!(key_id_of(&stored), Some(key(1).id().as_str()));
    assert_eq!(
        keys.open(TOKEN, "num_1", &stored).unwrap().expose(),
        "EAAG-secret-token"
    );
    // A fresh nonce each time: the same value never looks the same twice.
    assert_ne!(stored, keys.seal(TOKEN, "num_1", "EAAG-secret-token"));
}

#[test]
fn key_ids_tell_keys_apart_without_revealing_them() {
    let (a, b) = (key(1), key(2));
    assert_ne!(a.id(), b.id());
    assert_eq!(a.id(), key(1).id());
    assert_eq!(a.id().as_str().len(), 8);
    assert!(!STANDARD.encode([1u8; 32]).contains(a.id().as_str()));
    assert!(!hex::encode([1u8; 32]).contains(a.id().as_str()));
}

#[test]
fn a_wrong_key_or_unknown_key_id_is_an_error_naming_the_key_id() {
    let stored = ring(1, &[]).seal(TOKEN, "num_1", "t");
    let kid = key(1).id().to_string();
    let err = ring(2, &[]).open(TOKEN, "num_1", &stored).unwrap_err();
    assert!(matches!(err, SecretError::UnknownKey { .. }), "{err}");
    assert!(err.to_string().contains(&kid), "{err}");
    let err = Keyring::default()
        .open(TOKEN, "num_1", &stored)
        .unwrap_err();
    assert!(matches!(err, SecretError::NoKey { .. }), "{err}");
    assert!(err.to_string().contains("WAPLIFY_SECRET_KEY"), "{err}");
    // A different key that claims the same id does not open it either.
    let forged = stored.replace(&kid, key(2).id().as_str());
    let err = ring(2, &[]).open(TOKEN, "num_1", &forged).unwrap_err();
    assert!(matches!(err, SecretError::Undecryptable { .. }), "{err}");
}

#[test]
fn old_keys_still_open() {
    let stored = ring(1, &[]).seal(TOKEN, "num_1", "t");
    assert_eq!(
        ring(2, &[1])
            .open(TOKEN, "num_1", &stored)
            .unwrap()
            .expose(),
        "t"
    );
}

#[test]
fn a_tampered_value_does_not_open() {
    let keys = ring(1, &[]);
    let stored = keys.seal(TOKEN, "num_1", "token");
    let (head, body) = stored.rsplit_once(':').unwrap();
    let mut bytes = STANDARD.decode(body).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = format!("{head}:{}", STANDARD.encode(&bytes));
    let err = keys.open(TOKEN, "num_1", &tampered).unwrap_err();
    assert!(matches!(err, SecretError::Undecryptable { .. }), "{err}");
    for broken in [
        format!("{head}:!!!"),
        format!("{head}:AAAA"),
        "enc:zz".into(),
    ] {
        let err = keys.open(TOKEN, "num_1", &broken).unwrap_err();
        assert!(
            matches!(err, SecretError::Malformed { .. }),
            "{broken}: {err}"
        );
    }
}

#[test]
fn a_value_moved_to_another_row_or_column_does_not_open() {
    let keys = ring(1, &[]);
    let stored = keys.seal(TOKEN, "num_1", "token");
    let err = keys.open(TOKEN, "num_2", &stored).unwrap_err();
    assert!(matches!(err, SecretError::Undecryptable { .. }), "{err}");
    let err = keys
        .open(Field::WebhookSecret, "num_1", &stored)
        .unwrap_err();
    assert!(matches!(err, SecretError::Undecryptable { .. }), "{err}");
}

#[test]
fn plain_text_is_read_as_it_is_and_written_so_without_a_key() {
    assert_eq!(
        ring(1, &[]).open(TOKEN, "n", "legacy").unwrap().expose(),
        "legacy"
    );
    assert_eq!(Keyring::default().seal(TOKEN, "n", "plain"), "plain");
}

#[test]
fn keys_parse_from_base64_and_errors_never_echo_them() {
    let b64 = STANDARD.encode([7u8; 32]);
    let keys = Keyring::parse(
        Some(&b64),
        Some(&format!(" {}, ,{b64}", STANDARD.encode([8u8; 32]))),
    )
    .unwrap();
    assert_eq!(keys.current().unwrap().id(), key(7).id());
    assert_eq!(
        keys.all().count(),
        2,
        "the current key is not repeated as an old one"
    );
    let short = STANDARD.encode([7u8; 16]);
    let err = Keyring::parse(Some(&short), None).unwrap_err();
    assert_eq!(err.var, "WAPLIFY_SECRET_KEY");
    assert!(
        err.problem.contains("16 bytes") && !err.problem.contains(&short),
        "{err}"
    );
    let err = Keyring::parse(Some(&b64), Some("not base64!")).unwrap_err();
    assert_eq!(err.var, "WAPLIFY_SECRET_KEYS_OLD");
    let err = Keyring::parse(None, Some(&b64)).unwrap_err();
    assert_eq!(err.var, "WAPLIFY_SECRET_KEYS_OLD");
}

#[test]
fn debug_shows_key_ids_and_no_secrets() {
    let keys = ring(3, &[4]);
    let shown = format!("{keys:?}");
    assert!(shown.contains(key(3).id().as_str()) && shown.contains(key(4).id().as_str()));
    assert!(!shown.contains(&STANDARD.encode([3u8; 32])));
    let plain = Revealed::new("hunter2".into());
    assert!(!format!("{plain:?}").contains("hunter2"));
}
