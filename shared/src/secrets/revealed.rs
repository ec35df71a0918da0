//! A decrypted secret: its `Debug` shows nothing, and its memory is wiped when dropped.

use zeroize::Zeroizing;

#[derive(Clone, PartialEq, Eq)]
pub struct Revealed(Zeroizing<String>);

impl Revealed {
    pub fn new(plaintext: String) -> Revealed {
        Revealed(Zeroizing::new(plaintext))
    }

    /// The plain text, for the one place that sends it (a header, a signature).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Revealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revealed(***)")
    }
}
