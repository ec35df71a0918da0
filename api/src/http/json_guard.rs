//! What every JSON request body is checked for before it is parsed into its type:
//! - a string value holding NUL (`\u0000`): PostgreSQL text cannot store it while
//!   SQLite can, so it is refused on both, with the field named, instead of failing in
//!   SQL (the spec's string fields say so: pattern `^[^\u0000]*$`). Keys are names the
//!   operation checks itself (unknown fields, template variables);
//! - a key given twice in one object: serde keeps the last one silently, so a client
//!   would never learn which one counted.
//!
//! Both are `400 bad_request`. A body that is not JSON at all passes through, for the
//! operation's own parser to refuse as it always has.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why the body is refused, or `None` when these checks have nothing against it.
pub fn refusal(body: &[u8]) -> Option<String> {
    if !has_escape_or_object(body) {
        return None;
    }
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let walk = Walk {
        path: &mut Vec::new(),
        found: &mut found,
    };
    // A syntax error is left to the operation's parser, which words it as usual.
    let _ = walk.deserialize(&mut de);
    found
}

/// Cheap pre-check: neither problem can occur without an escape or an object.
fn has_escape_or_object(body: &[u8]) -> bool {
    body.contains(&b'{') || body.contains(&b'\\')
}

enum Step {
    Key(String),
    Index(usize),
}

fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

struct Walk<'a> {
    path: &'a mut Vec<Step>,
    found: &'a mut Option<String>,
}

impl Walk<'_> {
    fn refuse<E: serde::de::Error>(&mut self, why: String) -> E {
        *self.found = Some(why);
        E::custom("refused")
    }

    fn nul<E: serde::de::Error>(&mut self) -> E {
        let field = match render(self.path) {
            p if p.is_empty() => "the body".to_owned(),
            p => format!("`{p}`"),
        };
        self.refuse(format!(
            "Invalid request body: {field} must not contain the NUL character (\\u0000)"
        ))
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: serde::de::Error>(mut self, v: &str) -> Result<(), E> {
        if v.contains('\0') {
            return Err(self.nul());
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            self.path.push(Step::Index(i));
            let walk = Walk {
                path: &mut *self.path,
                found: &mut *self.found,
            };
            let more = seq.next_element_seed(walk)?;
            self.path.pop();
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let at = match render(self.path) {
                    p if p.is_empty() => String::new(),
                    p => format!(" in `{p}`"),
                };
                return Err(self.refuse(format!(
                    "Invalid request body: key `{key}` appears more than once{at}"
                )));
            }
            self.path.push(Step::Key(key));
            let walk = Walk {
                path: &mut *self.path,
                found: &mut *self.found,
            };
            map.next_value_seed(walk)?;
            self.path.pop();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn nul_and_repeated_keys_are_named_by_their_path() {
        let r = |s: &str| refusal(s.as_bytes());
        assert_eq!(r(r#"{"name":"ok","contacts":[{"phone":"1"}]}"#), None);
        assert_eq!(
            r(r#"{"name":"ok","contacts":[{"phone":"1"},{"name":"a\u0000"}]}"#).unwrap(),
            "Invalid request body: `contacts[1].name` must not contain the NUL character (\\u0000)"
        );
        // Keys are names the operation checks itself (unknown fields, template
        // variables); only values are stored as text.
        assert_eq!(r(r#"{"body_data":{"a\u0000":"x"}}"#), None);
        assert_eq!(
            r(r#"{"name":"a","name":"b"}"#).unwrap(),
            "Invalid request body: key `name` appears more than once"
        );
        assert_eq!(
            r(r#"{"contacts":[{"phone":"1","phone":"2"}]}"#).unwrap(),
            "Invalid request body: key `phone` appears more than once in `contacts[0]`"
        );
        // Not JSON: left to the operation's parser.
        assert_eq!(r(r#"{"name": "#), None);
        assert_eq!(
            r(r#""\u0000""#).unwrap(),
            "Invalid request body: the body must not contain the NUL character (\\u0000)"
        );
    }
}
