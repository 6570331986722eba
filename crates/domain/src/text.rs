//! Vietnamese text handling shared by every value type: normalisation of input (Unicode NFC, tidy whitespace),
//! folding for diacritic-insensitive search, and `NonEmptyText`, the type of free-text fields such as titles and
//! report summaries. `document_ref.rs`, `deadline.rs` and `measure.rs` build their parsers on these functions.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize};
use unicode_normalization::char::{decompose_canonical, is_combining_mark};
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
    let mut folded = String::with_capacity(input.len());
    for_each_folded_char(input, |character| folded.push(character));
    folded
}

/// Whether `input` folds to `folded` (`fold_for_search(input) == folded`), without building the folded text:
/// for the parsers' keywords, "ngày" and "NGAY" fold to "ngay".
pub(crate) fn folds_to(input: &str, folded: &str) -> bool {
    let mut expected = folded.chars();
    let mut matches = true;
    for_each_folded_char(input, |character| matches &= expected.next() == Some(character));
    matches && expected.next().is_none()
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
/// beyond the copy: NFC for certain (see [`is_composed_starter`], else by the quick check), whitespace only single
/// spaces (and newlines, when allowed) inside lines, no line starting or ending with a space, no newline first or
/// last.
fn is_normalized(input: &str, newlines: bool) -> bool {
    let mut after = After::Start;
    let mut composed_starters_only = true;
    for character in input.chars() {
        composed_starters_only &= is_composed_starter(character);
        if !character.is_whitespace() {
            after = After::Other;
            continue;
        }
        after = match (character, after) {
            (' ', After::Other) => After::Space,
            ('\n', After::Other | After::Newline) if newlines => After::Newline,
            _ => return false,
        };
    }
    matches!(after, After::Start | After::Other)
        && (composed_starters_only || is_nfc_quick(input.chars()) == IsNormalized::Yes)
}

/// What [`is_normalized`] has seen last.
#[derive(Debug, Clone, Copy)]
enum After {
    /// Nothing yet.
    Start,
    Space,
    Newline,
    /// A character other than whitespace.
    Other,
}

/// Whether `character` is below U+0300 or in Latin Extended Additional (U+1E00 to U+1EFF), where every character
/// has canonical combining class 0 and is allowed in NFC: a text made only of them, such as most Vietnamese text,
/// is NFC without looking anything up.
fn is_composed_starter(character: char) -> bool {
    character < '\u{0300}' || ('\u{1E00}'..='\u{1EFF}').contains(&character)
}

/// Feeds the characters of [`fold_for_search`]`(input)` to `emit`, in order.
///
/// The folded text is the lowercase of `input` (as `str::to_lowercase`) in canonical decomposition (NFD), without
/// combining marks, with 'đ' and 'ð' as 'd' and with whitespace collapsed. Characters are lowercased and
/// decomposed one at a time: that gives NFD but for the canonical ordering of combining marks, which are all
/// dropped, since every character that canonical ordering moves is a combining mark.
fn for_each_folded_char(input: &str, emit: impl FnMut(char)) {
    let mut folder = Folder { emit, at_start: true, space_pending: false };
    if input.chars().any(|character| character == 'Σ') {
        // Only `str::to_lowercase` knows that a capital sigma ending a word becomes 'ς' rather than 'σ'.
        for lowercase in input.to_lowercase().chars() {
            fold_lowercase_char(lowercase, |folded| folder.push(folded));
        }
        return;
    }
    for character in input.chars() {
        if character.is_ascii() {
            folder.push(character.to_ascii_lowercase());
            continue;
        }
        match common_char_fold(character) {
            Some(CharFold::Nothing) => {}
            Some(CharFold::One(folded)) => folder.push(folded),
            Some(CharFold::Several) | None => fold_char(character, |folded| folder.push(folded)),
        }
    }
}

/// Collapses whitespace in the folded characters of [`for_each_folded_char`] and hands the rest on.
struct Folder<F> {
    emit: F,
    /// No character handed on yet: leading whitespace is dropped.
    at_start: bool,
    /// Whitespace came after the last character handed on; one space goes out before the next one.
    space_pending: bool,
}

impl<F: FnMut(char)> Folder<F> {
    /// Takes the next folded character.
    fn push(&mut self, folded: char) {
        if folded.is_whitespace() {
            self.space_pending = !self.at_start;
            return;
        }
        if self.space_pending {
            (self.emit)(' ');
            self.space_pending = false;
        }
        self.at_start = false;
        (self.emit)(folded);
    }
}

/// What one character folds to, whitespace not yet collapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharFold {
    /// Nothing: a combining mark.
    Nothing,
    One(char),
    /// Several characters, as a Hangul syllable gives: fold the character with [`fold_char`].
    Several,
}

/// Lowercases `character` and folds the result with [`fold_lowercase_char`]. Not for 'Σ', whose lowercase depends
/// on its neighbours.
fn fold_char(character: char, mut push: impl FnMut(char)) {
    for lowercase in character.to_lowercase() {
        fold_lowercase_char(lowercase, &mut push);
    }
}

/// Decomposes a lowercase character, drops the combining marks and reads 'đ' and 'ð' as 'd'.
fn fold_lowercase_char(lowercase: char, mut push: impl FnMut(char)) {
    decompose_canonical(lowercase, |decomposed| {
        if !is_combining_mark(decomposed) {
            push(match decomposed {
                // 'ð' is the lowercase of the look-alike 'Ð' (U+00D0) sometimes typed for 'Đ'.
                'đ' | 'ð' => 'd',
                other => other,
            });
        }
    });
}

/// What [`fold_char`] gives for `character`, from a table filled on first use, when the character has a place in
/// it (see [`common_table_index`]): the letters of Vietnamese text then cost no lookup in the case mapping and
/// decomposition tables.
fn common_char_fold(character: char) -> Option<CharFold> {
    static TABLE: OnceLock<Vec<CharFold>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let in_table = |character: &char| common_table_index(*character).is_some();
        ('\u{0080}'..='\u{1EFF}').filter(in_table).map(char_fold).collect()
    });
    common_table_index(character).map(|index| table[index])
}

/// The place of `character` in the table of [`common_char_fold`], which holds, in order, the characters most
/// folded texts are made of besides ASCII: U+0080 to U+036F (Latin letters with diacritics, combining marks),
/// then U+1E00 to U+1EFF (Latin Extended Additional, which holds the Vietnamese letters with two diacritics).
fn common_table_index(character: char) -> Option<usize> {
    let index = match u32::from(character) {
        code @ 0x0080..=0x036F => code - 0x0080,
        code @ 0x1E00..=0x1EFF => code - 0x1E00 + (0x0370 - 0x0080),
        _ => return None,
    };
    Some(index as usize)
}

/// What `character` folds to (see [`fold_char`]).
fn char_fold(character: char) -> CharFold {
    let mut folded = CharFold::Nothing;
    fold_char(character, |one| {
        folded = match folded {
            CharFold::Nothing => CharFold::One(one),
            CharFold::One(_) | CharFold::Several => CharFold::Several,
        }
    });
    folded
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
