//! `UnitCode`: the short code of an organisational unit (an agency, a department, a division inside it), such as
//! "KHCN", "KHCN-QLCN", "UBND-TINH" or "SO-NNPTNT". Tasks name their lead and coordinating units with it and actors
//! carry the unit they belong to (see `actor.rs`). A pure value type: no lookup of whether the unit exists.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest unit code accepted, in characters.
pub const MAX_UNIT_CODE_CHARS: usize = 40;

/// An organisational unit code.
///
/// Invariant: 1 to [`MAX_UNIT_CODE_CHARS`] characters, each an ASCII uppercase letter, an ASCII digit, '-', '_' or
/// '.', the first one a letter or a digit. [`UnitCode::parse`] trims and uppercases its input first, so "khcn" and
/// " KHCN " both give "KHCN".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitCode(String);

/// Why a text is not a unit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitCodeError {
    #[error("unit code is empty")]
    Empty,
    #[error("unit code must be at most {max_chars} characters, got {actual_chars}")]
    TooLong { max_chars: usize, actual_chars: usize },
    #[error("unit code may only contain ASCII letters, digits, '-', '_' and '.', got {character:?} in {input:?}")]
    InvalidCharacter { input: String, character: char },
    #[error("unit code must start with a letter or a digit, got {input:?}")]
    MustStartWithLetterOrDigit { input: String },
}

impl UnitCode {
    /// Parses a unit code, trimming and uppercasing the input first.
    pub fn parse(input: &str) -> Result<UnitCode, UnitCodeError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(UnitCodeError::Empty);
        }
        let actual_chars = trimmed.chars().count();
        if actual_chars > MAX_UNIT_CODE_CHARS {
            return Err(UnitCodeError::TooLong { max_chars: MAX_UNIT_CODE_CHARS, actual_chars });
        }
        if let Some(character) = trimmed.chars().find(|character| !is_unit_code_character(*character)) {
            return Err(UnitCodeError::InvalidCharacter { input: trimmed.to_owned(), character });
        }
        let uppercased = trimmed.to_ascii_uppercase();
        if !uppercased.starts_with(|character: char| character.is_ascii_alphanumeric()) {
            return Err(UnitCodeError::MustStartWithLetterOrDigit { input: uppercased });
        }
        Ok(UnitCode(uppercased))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for UnitCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for UnitCode {
    type Err = UnitCodeError;

    fn from_str(input: &str) -> Result<UnitCode, UnitCodeError> {
        UnitCode::parse(input)
    }
}

impl Serialize for UnitCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UnitCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UnitCode, D::Error> {
        let text = String::deserialize(deserializer)?;
        UnitCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Lowercase ASCII letters are accepted here because parsing uppercases them.
fn is_unit_code_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_codes_of_the_seed() {
        for code in ["KHCN", "KHCN-QLCN", "UBND-TINH", "SO-NNPTNT", "VP_UBND", "SO.KHCN", "123"] {
            assert_eq!(UnitCode::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn trims_and_uppercases() {
        assert_eq!(UnitCode::parse("  khcn-qlcn ").unwrap().as_str(), "KHCN-QLCN");
        assert_eq!(UnitCode::parse("khcn").unwrap(), UnitCode::parse("KHCN").unwrap());
    }

    #[test]
    fn rejects_empty_and_blank() {
        assert_eq!(UnitCode::parse(""), Err(UnitCodeError::Empty));
        assert_eq!(UnitCode::parse(" \t "), Err(UnitCodeError::Empty));
    }

    #[test]
    fn rejects_too_long() {
        let forty = "A".repeat(40);
        assert!(UnitCode::parse(&forty).is_ok());
        let forty_one = "A".repeat(41);
        assert_eq!(UnitCode::parse(&forty_one), Err(UnitCodeError::TooLong { max_chars: 40, actual_chars: 41 }));
    }

    #[test]
    fn rejects_other_characters() {
        assert_eq!(
            UnitCode::parse("KH&CN"),
            Err(UnitCodeError::InvalidCharacter { input: "KH&CN".to_owned(), character: '&' })
        );
        assert!(matches!(UnitCode::parse("SỞ-KHCN"), Err(UnitCodeError::InvalidCharacter { character: 'Ở', .. })));
        assert!(matches!(UnitCode::parse("UBND TINH"), Err(UnitCodeError::InvalidCharacter { character: ' ', .. })));
        assert!(matches!(UnitCode::parse("đ"), Err(UnitCodeError::InvalidCharacter { .. })));
    }

    #[test]
    fn rejects_leading_punctuation() {
        assert_eq!(
            UnitCode::parse("-KHCN"),
            Err(UnitCodeError::MustStartWithLetterOrDigit { input: "-KHCN".to_owned() })
        );
    }

    #[test]
    fn error_messages_name_the_rule() {
        assert_eq!(
            UnitCode::parse("KH&CN").unwrap_err().to_string(),
            "unit code may only contain ASCII letters, digits, '-', '_' and '.', got '&' in \"KH&CN\""
        );
    }

    #[test]
    fn serde_round_trips_as_a_string_and_parses_on_the_way_in() {
        let code = UnitCode::parse("KHCN-QLCN").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"KHCN-QLCN\"");
        let back: UnitCode = serde_json::from_str("\"khcn-qlcn\"").unwrap();
        assert_eq!(back, code);
        assert!(serde_json::from_str::<UnitCode>("\"KH&CN\"").is_err());
        assert!(serde_json::from_str::<UnitCode>("\"\"").is_err());
    }

    #[test]
    fn orders_and_displays_as_text() {
        let mut codes = [UnitCode::parse("UBND").unwrap(), UnitCode::parse("KHCN").unwrap()];
        codes.sort();
        assert_eq!(codes[0].to_string(), "KHCN");
    }
}
