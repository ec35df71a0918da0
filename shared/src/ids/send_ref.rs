//! What a send puts in `biz_opaque_callback_data`, which WhatsApp echoes in the status
//! callbacks of that send: our message id and, for a message sent again by request,
//! its send round (`0123…cdef` for the first send, `0123…cdef:2` for the second
//! retry). A callback that names the message by this field only (its WhatsApp id is
//! not one we keep) applies only if its round is the message's current one.

use std::fmt;

use super::MessageId;

/// A message and the round of one of its sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRef {
    pub id: MessageId,
    pub round: i32,
}

impl SendRef {
    /// Reads the field; `None` when it names no message of ours.
    pub fn parse(s: &str) -> Option<SendRef> {
        let (id, round) = match s.split_once(':') {
            Some((id, round)) => (id, round.parse::<i32>().ok().filter(|r| *r > 0)?),
            None => (s, 0),
        };
        Some(SendRef {
            id: MessageId::parse(id).ok()?,
            round,
        })
    }
}

/// The field's text: hex and digits only, so it needs no escaping in JSON.
impl fmt::Display for SendRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.round {
            0 => write!(f, "{}", self.id),
            r => write!(f, "{}:{r}", self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef01234567";

    #[test]
    fn reads_back_what_it_writes() {
        for round in [0, 1, 7] {
            let r = SendRef {
                id: MessageId::parse(ID).unwrap(),
                round,
            };
            assert_eq!(SendRef::parse(&r.to_string()), Some(r));
        }
        assert_eq!(SendRef::parse(ID).unwrap().round, 0);
        assert_eq!(SendRef::parse(&format!("{ID}:3")).unwrap().round, 3);
    }

    #[test]
    fn refuses_what_no_send_of_ours_writes() {
        for s in [
            "",
            "xyz",
            &format!("{ID}:"),
            &format!("{ID}:0"),
            &format!("{ID}:-1"),
            &format!("{ID}:a"),
        ] {
            assert_eq!(SendRef::parse(s), None, "{s}");
        }
    }
}
