//! Vietnamese text handling shared by every value type: normalisation of input (Unicode NFC, tidy whitespace),
//! folding for diacritic-insensitive search, and `NonEmptyText`, the type of free-text fields such as titles and
//! report summaries. `document_ref.rs`, `deadline.rs` and `measure.rs` build their parsers on these functions.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// The maximum length used when a `NonEmptyText` is deserialised, where no caller can pass one.
pub const DEFAULT_MAX_CHARS: usize = 20_000;

/// A text that is normalised (see [`normalize`]), not empty, and free of control characters other than newline.
///
/// Invariant: `normalize(text) == text`, `text` is not empty and contains no control character except '\n'.
/// The maximum length is the caller's choice at [`NonEmptyText::parse`]; deserialisation uses
/// [`DEFAULT_MAX_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NonEmptyText(String);

/// Why a text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("text is empty")]
    Empty,
    #[error("text must be at most {max_chars} characters, got {actual_chars}")]
    TooLong { max_chars: usize, actual_chars: usize },
    #[error("text must not contain control characters other than newline and tab")]
    ControlCharacter,
}

/// Normalises user input: Unicode NFC; within each line, runs of whitespace become one space and the line is
/// trimmed at both ends; "\r\n" becomes "\n"; blank lines at the start and the end are dropped. Newlines inside
/// the text are kept, so paragraphs and "- item" lists survive.
pub fn normalize(input: &str) -> String {
    if is_normalized(input, true) {
        return input.to_owned();
    }
    normalize_fully(input)
}

fn normalize_fully(input: &str) -> String {
    let composed = nfc(input);
    let lines: Vec<String> = composed.split('\n').map(collapse_whitespace).collect();
    let joined = lines.join("\n");
    joined.trim_matches('\n').to_owned()
}

/// Like [`normalize`], but newlines also become spaces: for values that live on one line, such as a document
/// reference.
pub fn normalize_single_line(input: &str) -> String {
    if is_normalized(input, false) {
        return input.to_owned();
    }
    normalize_single_line_fully(input)
}

fn normalize_single_line_fully(input: &str) -> String {
    collapse_whitespace(&nfc(input))
}

/// Folds a text for search: lowercase, no diacritics, "đ" as "d", whitespace collapsed to single spaces.
///
/// "Khảo sát" gives "khao sat"; "hoà" and "hòa" both give "hoa" (old and new tone placement); "uỷ" and "ủy" give
/// "uy"; "Đo lường" gives "do luong". NFC and NFD inputs fold to the same text.
pub fn fold_for_search(input: &str) -> String {
    let lowercase = input.to_lowercase();
    let without_marks: String = lowercase
        .nfd()
        .filter(|character| !is_combining_mark(*character))
        .map(|character| match character {
            // 'ð' is the lowercase of the look-alike 'Ð' (U+00D0) sometimes typed for 'Đ'.
            'đ' | 'ð' => 'd',
            other => other,
        })
        .collect();
    collapse_whitespace(&without_marks)
}

/// Whether `needle` occurs in `haystack`, ignoring case, diacritics and runs of whitespace (see
/// [`fold_for_search`]). An empty needle occurs in every haystack.
pub fn contains_folded(haystack: &str, needle: &str) -> bool {
    fold_for_search(haystack).contains(&fold_for_search(needle))
}

impl NonEmptyText {
    /// Normalises `input` (see [`normalize`]) and checks that the result is not empty, has at most `max_chars`
    /// characters and contains no control character other than newline and tab (tabs become spaces; "\r\n"
    /// line endings are accepted and become "\n").
    pub fn parse(input: &str, max_chars: usize) -> Result<NonEmptyText, TextError> {
        if input.chars().any(|character| character.is_control() && !matches!(character, '\n' | '\t' | '\r')) {
            return Err(TextError::ControlCharacter);
        }
        let normalized = normalize(input);
        if normalized.is_empty() {
            return Err(TextError::Empty);
        }
        let actual_chars = normalized.chars().count();
        if actual_chars > max_chars {
            return Err(TextError::TooLong { max_chars, actual_chars });
        }
        Ok(NonEmptyText(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The number of Unicode scalar values, the unit of every length limit in this crate.
    pub fn n_chars(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Display for NonEmptyText {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for NonEmptyText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for NonEmptyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NonEmptyText, D::Error> {
        let text = String::deserialize(deserializer)?;
        NonEmptyText::parse(&text, DEFAULT_MAX_CHARS).map_err(serde::de::Error::custom)
    }
}

/// `input` in Unicode NFC, borrowed when it already is: the quick check settles that for nearly every input
/// (precomposed Vietnamese included) without composing anything.
fn nfc(input: &str) -> Cow<'_, str> {
    match is_nfc_quick(input.chars()) {
        IsNormalized::Yes => Cow::Borrowed(input),
        IsNormalized::No | IsNormalized::Maybe => Cow::Owned(input.nfc().collect()),
    }
}

/// Whether `input` is already what [`normalize`] (or, without newlines, [`normalize_single_line`]) makes of it, so
/// that the common case (stored text read back, typed text without stray spaces) costs one pass and no allocation
/// beyond the copy: NFC for certain by the quick check, whitespace only single spaces (and newlines, when allowed)
/// inside lines, no line starting or ending with a space, no newline first or last.
fn is_normalized(input: &str, newlines: bool) -> bool {
    let mut previous: Option<char> = None;
    for character in input.chars() {
        if character == '\n' {
            if !newlines || matches!(previous, None | Some(' ')) {
                return false;
            }
        } else if character.is_whitespace() && (character != ' ' || matches!(previous, None | Some(' ') | Some('\n'))) {
            return false;
        }
        previous = Some(character);
    }
    !matches!(previous, Some(' ' | '\n')) && is_nfc_quick(input.chars()) == IsNormalized::Yes
}

/// Collapses every run of whitespace (newlines included) to one space and trims both ends.
fn collapse_whitespace(line: &str) -> String {
    let mut collapsed = String::with_capacity(line.len());
    for word in line.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    collapsed
}

#[cfg(test)]
mod tests;
