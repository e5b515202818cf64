//! Bounded human text: names, descriptions, addresses, reasons.

use crate::DomainError;

/// Trimmed text of `MIN..=MAX` characters without control characters (newlines allowed
/// only where `MULTILINE` is true). Every free-text field has a limit, so no request can
/// store an unbounded blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText(String);

impl BoundedText {
    pub fn parse(field: &str, input: &str, min: usize, max: usize) -> Result<Self, DomainError> {
        Self::parse_inner(field, input, min, max, false)
    }

    pub fn parse_multiline(
        field: &str,
        input: &str,
        min: usize,
        max: usize,
    ) -> Result<Self, DomainError> {
        Self::parse_inner(field, input, min, max, true)
    }

    fn parse_inner(
        field: &str,
        input: &str,
        min: usize,
        max: usize,
        multiline: bool,
    ) -> Result<Self, DomainError> {
        // Bidirectional controls reorder what follows them on screen: a name such as
        // "Alice\u{202E}gnp.exe" reads as another. They carry nothing a Chinese or Latin
        // name needs, so they are dropped rather than refused (pasted text often has them).
        let stripped: String = input.chars().filter(|c| !is_bidi_control(*c)).collect();
        let s = stripped.trim();
        let n = s.chars().count();
        if n < min || n > max {
            let reason = if min == 0 {
                format!("must be at most {max} characters")
            } else {
                format!("must be {min}–{max} characters")
            };
            return Err(DomainError::invalid(field, reason));
        }
        let bad_char = s
            .chars()
            .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')));
        if bad_char {
            return Err(DomainError::invalid(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The Unicode bidirectional formatting characters: embeddings and overrides
/// (U+202A–U+202E), isolates (U+2066–U+2069) and the implicit marks (U+200E, U+200F,
/// U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_trimming() {
        assert_eq!(
            BoundedText::parse("name", "  茅台镇小酒坊 ", 1, 10)
                .unwrap()
                .as_str(),
            "茅台镇小酒坊"
        );
        assert!(BoundedText::parse("name", "   ", 1, 10).is_err());
        assert!(BoundedText::parse("name", "一二三四五六七八九十一", 1, 10).is_err());
        assert!(BoundedText::parse("name", "a\u{0}b", 1, 10).is_err());
        assert!(BoundedText::parse("name", "a\nb", 1, 10).is_err());
        assert!(BoundedText::parse_multiline("d", "a\nb", 1, 10).is_ok());
    }

    #[test]
    fn bidi_controls_are_dropped() {
        let name = BoundedText::parse(
            "name",
            "\u{202E}Alice\u{2066}gnp.exe\u{2069}\u{200F}",
            1,
            32,
        );
        assert_eq!(name.unwrap().as_str(), "Alicegnp.exe");
        // Nothing but controls is an empty name.
        assert!(BoundedText::parse("name", "\u{202E}\u{202C}", 1, 32).is_err());
        let text = BoundedText::parse_multiline("d", "好\u{202D}\n货", 1, 10).unwrap();
        assert_eq!(text.as_str(), "好\n货");
    }
}
