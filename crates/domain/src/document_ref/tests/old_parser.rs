//! `DocumentRef::parse` as it was when it worked on a `Vec<char>`, built a `String` for every word and scanned
//! lists for type codes and names: the reference that the parser must agree with on every input, value and error
//! alike. Folding goes through `fold_for_search`, whose agreement with its former definition is tested in
//! `text/tests.rs`; the table of type names is the parser's own (`known_type_names`), data both share.

use time::{Date, Month};

use super::super::{
    checked_year, known_type_names, DocumentRef, DocumentRefError, ParsedParts, ReferenceForm, TypeCode, WrittenType,
    MAX_DOCUMENT_REF_CHARS, PARTY_CONG_VAN_CODE,
};
use crate::text::{fold_for_search, normalize_single_line};

/// `DocumentRef::parse` as it was.
pub(super) fn parse(input: &str) -> Result<DocumentRef, DocumentRefError> {
    let original = normalize_single_line(input);
    if original.is_empty() {
        return Err(DocumentRefError::Empty);
    }
    let actual_chars = original.chars().count();
    if actual_chars > MAX_DOCUMENT_REF_CHARS {
        return Err(DocumentRefError::TooLong { max_chars: MAX_DOCUMENT_REF_CHARS, actual_chars });
    }
    let parsed = parse_cleaned(&clean_look_alikes(&original))?;
    Ok(DocumentRef {
        original,
        type_code: parsed.type_code,
        type_name: parsed.type_name,
        number: parsed.number,
        year: parsed.year,
        issuer: parsed.issuer,
        form: parsed.form,
        issued_on: parsed.issued_on,
    })
}

/// `TypeCode::from_code` as it was.
fn from_code(code: &str) -> Option<TypeCode> {
    TypeCode::ALL.into_iter().find(|type_code| type_code.code() == code)
}

/// Replaces the characters that people type for '-', '/' and 'Đ'.
fn clean_look_alikes(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}' => '-',
            '\u{FF0F}' => '/',
            '\u{00D0}' => 'Đ',
            '\u{00F0}' => 'đ',
            other => other,
        })
        .collect()
}

fn parse_cleaned(text: &str) -> Result<ParsedParts, DocumentRefError> {
    let chars: Vec<char> = text.chars().collect();
    let number_start = chars
        .iter()
        .position(|character| character.is_ascii_digit() || *character == '/')
        .ok_or(DocumentRefError::MissingNumber)?;
    if chars[number_start] == '/' {
        return Err(DocumentRefError::MissingNumber);
    }
    let prefix: String = chars[..number_start].iter().collect();
    let (written_type, type_name) = match type_name_before_number(&prefix) {
        "" => (None, None),
        written => {
            let (written_type, display_name) = classify_type_name(written)?;
            (Some(written_type), Some(display_name))
        }
    };

    let mut cursor = Cursor { chars, position: number_start };
    let number = cursor.take_while(|character| character.is_ascii_digit());
    let missing_symbol = || DocumentRefError::MissingSymbol { number: number.clone() };
    cursor.skip_spaces();
    let (form, year, type_code, issuer) = if cursor.eat('/') {
        cursor.skip_spaces();
        let year = cursor.legal_year().map(|year| checked_year(&year)).transpose()?;
        let segments = cursor.symbol_segments().ok_or_else(missing_symbol)?;
        let (type_code, issuer) = interpret_symbol(&segments, written_type, type_name.as_deref())?;
        let form = match year {
            Some(_) => ReferenceForm::LegalNormative,
            None => ReferenceForm::Administrative,
        };
        (form, year, type_code, issuer)
    } else if cursor.eat('-') {
        cursor.skip_spaces();
        let code = cursor.word();
        cursor.skip_spaces();
        if code.is_empty() || !cursor.eat('/') {
            return Err(missing_symbol());
        }
        cursor.skip_spaces();
        let segments = cursor.symbol_segments().ok_or_else(missing_symbol)?;
        let type_code = interpret_party_code(&code, written_type, type_name.as_deref())?;
        (ReferenceForm::Party, None, type_code, segments.join("-"))
    } else {
        return Err(missing_symbol());
    };

    let issued_on = cursor.issue_date()?;
    let type_name = type_name.or_else(|| type_code.map(|type_code| type_code.name().to_owned()));
    Ok(ParsedParts { type_code, type_name, number, year, issuer, form, issued_on })
}

/// The words before the number, without "số" / "Số:" and without opening brackets or quotes.
fn type_name_before_number(prefix: &str) -> &str {
    let name = prefix.trim_start_matches(['(', '[', '*', '"', '“', '\'', ' ']);
    let name = name.trim_end_matches([' ', ':', '.']);
    let (before_last_word, last_word) = name.rsplit_once(' ').unwrap_or(("", name));
    if fold_for_search(last_word) == "so" {
        before_last_word.trim_end()
    } else {
        name
    }
}

/// Recognises a type name ("Kế hoạch", "Thông báo kết luận", "Ke hoach") or a type code written as a name ("QĐ").
/// Returns what it says about the type and the name to show.
fn classify_type_name(written: &str) -> Result<(WrittenType, String), DocumentRefError> {
    if let Some(type_code) = from_code(written) {
        return Ok((WrittenType::Coded(type_code), type_code.name().to_owned()));
    }
    if written == PARTY_CONG_VAN_CODE {
        return Ok((WrittenType::CongVan, "Công văn".to_owned()));
    }
    let folded = fold_for_search(written);
    known_type_names()
        .iter()
        .filter(|(name, _)| {
            folded == **name || folded.strip_prefix(name.as_str()).is_some_and(|rest| rest.starts_with(' '))
        })
        .max_by_key(|(name, _)| name.len())
        .map(|(_, written_type)| (*written_type, written.to_owned()))
        .ok_or_else(|| DocumentRefError::UnknownTypeName { name: written.to_owned() })
}

/// Splits the symbol of an administrative or legal-normative reference into type code and issuer.
fn interpret_symbol(
    segments: &[String],
    written_type: Option<WrittenType>,
    type_name: Option<&str>,
) -> Result<(Option<TypeCode>, String), DocumentRefError> {
    let first = segments[0].as_str();
    let after_first = &segments[1..];
    let whole_symbol = || segments.join("-");
    if written_type == Some(WrittenType::CongVan) {
        return Ok((None, whole_symbol()));
    }
    if let Some(type_code) = from_code(first) {
        if let Some(WrittenType::Coded(written_code)) = written_type {
            if written_code != type_code {
                return Err(DocumentRefError::TypeNameMismatch {
                    type_name: type_name.unwrap_or_default().to_owned(),
                    type_code: type_code.code().to_owned(),
                });
            }
        }
        if after_first.is_empty() {
            return Err(DocumentRefError::MissingIssuer { type_code: type_code.code().to_owned() });
        }
        return Ok((Some(type_code), after_first.join("-")));
    }
    let Some(WrittenType::Coded(written_code)) = written_type else {
        return Ok((None, whole_symbol()));
    };
    // "Kế hoạch số 408/KHUBND": the hyphen after the code was left out. Only tried when the written type name
    // says which code to look for, since a công văn symbol such as "HĐND" or "KHCN" also starts with a code.
    let issuer_after_code = first
        .strip_prefix(written_code.code())
        .filter(|rest| rest.chars().count() >= 2 && rest.starts_with(|character: char| character.is_uppercase()));
    if let Some(issuer_start) = issuer_after_code {
        let issuer = std::iter::once(issuer_start).chain(after_first.iter().map(String::as_str)).collect::<Vec<_>>();
        return Ok((Some(written_code), issuer.join("-")));
    }
    if after_first.is_empty() {
        Err(DocumentRefError::MissingTypeCode { type_name: type_name.unwrap_or_default().to_owned() })
    } else {
        Err(DocumentRefError::UnknownTypeCode { code: first.to_owned() })
    }
}

/// The type code of a party reference, "CT" in "26-CT/TU"; "CV" is a công văn, which has none.
fn interpret_party_code(
    code: &str,
    written_type: Option<WrittenType>,
    type_name: Option<&str>,
) -> Result<Option<TypeCode>, DocumentRefError> {
    let mismatch = || DocumentRefError::TypeNameMismatch {
        type_name: type_name.unwrap_or_default().to_owned(),
        type_code: code.to_owned(),
    };
    if code == PARTY_CONG_VAN_CODE {
        return match written_type {
            Some(WrittenType::Coded(_)) => Err(mismatch()),
            _ => Ok(None),
        };
    }
    let type_code = from_code(code).ok_or_else(|| DocumentRefError::UnknownTypeCode { code: code.to_owned() })?;
    match written_type {
        Some(WrittenType::Coded(written_code)) if written_code != type_code => Err(mismatch()),
        Some(WrittenType::CongVan) => Err(mismatch()),
        _ => Ok(Some(type_code)),
    }
}

/// A position in the characters of a cleaned reference.
struct Cursor {
    chars: Vec<char>,
    position: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn eat(&mut self, expected: char) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.position += 1;
        }
        found
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.position += 1;
        }
    }

    fn take_while(&mut self, predicate: impl Fn(char) -> bool) -> String {
        let start = self.position;
        while self.peek().is_some_and(&predicate) {
            self.position += 1;
        }
        self.chars[start..self.position].iter().collect()
    }

    /// A run of letters and digits ('&' allowed, as in "KH&CN").
    fn word(&mut self) -> String {
        self.take_while(|character| character.is_alphanumeric() || character == '&')
    }

    /// The year of a legal-normative reference: four digits followed by '/', which is consumed too. Moves nothing
    /// when the text does not continue that way.
    fn legal_year(&mut self) -> Option<String> {
        let start = self.position;
        let digits = self.take_while(|character| character.is_ascii_digit());
        self.skip_spaces();
        if digits.len() == 4 && self.eat('/') {
            self.skip_spaces();
            return Some(digits);
        }
        self.position = start;
        None
    }

    /// The hyphen-separated words of a symbol, "KH-UBND" as ["KH", "UBND"], spaces around hyphens allowed. The
    /// first word must start with an uppercase letter, the others with an uppercase letter or a digit; `None` when
    /// there is no first word.
    fn symbol_segments(&mut self) -> Option<Vec<String>> {
        let starts_symbol = |word: &str| word.starts_with(char::is_uppercase);
        let continues_symbol =
            |word: &str| word.starts_with(|character: char| character.is_uppercase() || character.is_ascii_digit());
        let first = self.word();
        if !starts_symbol(&first) {
            return None;
        }
        let mut segments = vec![first];
        loop {
            let before_hyphen = self.position;
            self.skip_spaces();
            if !self.eat('-') {
                self.position = before_hyphen;
                return Some(segments);
            }
            self.skip_spaces();
            let segment = self.word();
            if !continues_symbol(&segment) {
                self.position = before_hyphen;
                return Some(segments);
            }
            segments.push(segment);
        }
    }

    /// The issue date after the symbol: ", ngày 30/8/2021", " ngày 06 tháng 3 năm 2023", or a date without
    /// "ngày" (" 30/8/2021"). `None` when neither "ngày" nor a digit comes next; whatever follows the date is
    /// ignored.
    fn issue_date(&mut self) -> Result<Option<Date>, DocumentRefError> {
        while matches!(self.peek(), Some(' ' | ',')) {
            self.position += 1;
        }
        let starts_with_digit = self.peek().is_some_and(|character| character.is_ascii_digit());
        if !starts_with_digit && fold_for_search(&self.word()) != "ngay" {
            return Ok(None);
        }
        let date_start = self.position;
        let malformed = |cursor: &Cursor| {
            let rest: String = cursor.chars[date_start..].iter().collect();
            DocumentRefError::MalformedDate { text: rest.trim().to_owned() }
        };
        self.skip_spaces();
        let day = self.take_while(|character| character.is_ascii_digit());
        if !(1..=2).contains(&day.len()) || !self.date_separator("thang") {
            return Err(malformed(self));
        }
        let month = self.take_while(|character| character.is_ascii_digit());
        if !(1..=2).contains(&month.len()) || !self.date_separator("nam") {
            return Err(malformed(self));
        }
        let year = self.take_while(|character| character.is_ascii_digit());
        if year.len() != 4 {
            return Err(malformed(self));
        }
        let year = checked_year(&year)?;
        let day: u32 = day.parse().expect("one or two ASCII digits");
        let month: u32 = month.parse().expect("one or two ASCII digits");
        let impossible = DocumentRefError::ImpossibleDate { day, month, year };
        let calendar_month =
            u8::try_from(month).ok().and_then(|month| Month::try_from(month).ok()).ok_or(impossible.clone())?;
        let day_of_month = u8::try_from(day).map_err(|_| impossible.clone())?;
        Date::from_calendar_date(year, calendar_month, day_of_month).map(Some).map_err(|_| impossible)
    }

    /// Consumes '/', '-' or '.', or the word (folded) `word_separator` ("tháng", "năm"), with spaces around.
    fn date_separator(&mut self, word_separator: &str) -> bool {
        self.skip_spaces();
        let separated = if matches!(self.peek(), Some('/' | '-' | '.')) {
            self.position += 1;
            true
        } else {
            let before_word = self.position;
            let found = fold_for_search(&self.word()) == word_separator;
            if !found {
                self.position = before_word;
            }
            found
        };
        self.skip_spaces();
        separated
    }
}
