//! `DocumentRef`: a reference to an official document, as plans cite their legal basis and reports their
//! evidence ("Kế hoạch số 409/KH-UBND ngày 30/8/2021", "Nghị định 09/2019/NĐ-CP"), and `TypeCode`, the document
//! type codes of Nghị định 30/2020/NĐ-CP (Phụ lục III) and of legal-normative documents.
//!
//! Three shapes of reference are read, each with an optional type name before it, an optional "số", an optional
//! issue date after "ngày", and any trailing words ("của UBND tỉnh") ignored:
//! - administrative, `number/CODE-ISSUER`: "409/KH-UBND"; a công văn has no type code, so its whole symbol is the
//!   issuer: "1941/UBND-TH";
//! - party, `number-CODE/ISSUER`: "26-CT/TU", "113-TB/UBND" (and "123-CV/TU" for a party công văn);
//! - legal-normative, `number/year/CODE-ISSUER`: "09/2019/NĐ-CP", or `number/year/ISSUER` for laws: "22/2023/QH15".
//!
//! The parser tolerates loose spacing ("409 / KH - UBND", "số409"), en and em dashes for hyphens, the look-alike
//! 'Ð' (U+00D0) for 'Đ', unpadded dates and "ngày 06 tháng 3 năm 2023". A fraction such as "25/25 doanh nghiệp"
//! is not a reference: a symbol must start with an uppercase letter. Texts are normalised with `text.rs`; dates
//! are formatted with `deadline.rs`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

use crate::deadline::{format_date_iso, format_date_vn, MAX_YEAR, MIN_YEAR};
use crate::text::{fold_for_search, folds_to, normalize_single_line};

/// The longest reference accepted, in characters, trailing words included.
pub const MAX_DOCUMENT_REF_CHARS: usize = 1_000;

/// A parsed reference to a document.
///
/// Invariant: the value is what [`DocumentRef::parse`] makes of `original`, so the parts always agree with the
/// text; deserialisation re-parses the text for the same reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocumentRef {
    original: String,
    type_code: Option<TypeCode>,
    type_name: Option<String>,
    number: String,
    year: Option<i32>,
    issuer: String,
    form: ReferenceForm,
    issued_on: Option<Date>,
}

/// The shape of the number and symbol of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceForm {
    /// `409/KH-UBND`, and `1941/UBND-TH` for a công văn.
    Administrative,
    /// `26-CT/TU`, used by documents of the Communist Party.
    Party,
    /// `09/2019/NĐ-CP`, the number, the year and the symbol of a legal-normative document.
    LegalNormative,
}

/// The document type codes of Nghị định 30/2020/NĐ-CP, Phụ lục III, and of legal-normative documents.
///
/// Codes are case-sensitive ("QyĐ", "CTr", "TTr", "TrS") and 'Đ' differs from 'D': "HĐ" (Hợp đồng) is not "HD"
/// (Hướng dẫn), "ĐA" (Đề án) is not "DA" (Dự án). Serialised as the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeCode {
    NghiQuyet,
    QuyetDinh,
    ChiThi,
    QuyChe,
    QuyDinh,
    ThongCao,
    ThongBao,
    HuongDan,
    ChuongTrinh,
    KeHoach,
    PhuongAn,
    DeAn,
    DuAn,
    BaoCao,
    BienBan,
    ToTrinh,
    HopDong,
    CongDien,
    BanGhiNho,
    BanThoaThuan,
    GiayUyQuyen,
    GiayMoi,
    GiayGioiThieu,
    GiayNghiPhep,
    PhieuGui,
    PhieuChuyen,
    PhieuBao,
    SaoY,
    TrichSao,
    SaoLuc,
    NghiDinh,
    ThongTu,
    ThongTuLienTich,
}

/// Why a text is not a document reference. Each message names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentRefError {
    #[error("document reference is empty")]
    Empty,
    #[error("document reference must be at most {max_chars} characters, got {actual_chars}")]
    TooLong { max_chars: usize, actual_chars: usize },
    #[error(
        "unknown document type {name:?}: expected a type such as Kế hoạch, Quyết định or Công văn before the number"
    )]
    UnknownTypeName { name: String },
    #[error("missing document number: expected a reference such as 409/KH-UBND")]
    MissingNumber,
    #[error(
        "missing symbol after number {number}: expected a reference such as {number}/KH-UBND \
         (a fraction such as 25/25 is not a document reference)"
    )]
    MissingSymbol { number: String },
    #[error("unknown type code {code:?}: expected one of {}", known_codes())]
    UnknownTypeCode { code: String },
    #[error("a {type_name} needs a type code in its symbol, such as 409/KH-UBND")]
    MissingTypeCode { type_name: String },
    #[error("type name {type_name:?} does not match type code {type_code}")]
    TypeNameMismatch { type_name: String, type_code: String },
    #[error("missing issuer after type code {type_code}: expected a symbol such as {type_code}-UBND")]
    MissingIssuer { type_code: String },
    #[error("expected the issue date after \"ngày\" as dd/mm/yyyy or \"dd tháng mm năm yyyy\", got {text:?}")]
    MalformedDate { text: String },
    #[error("date {day:02}/{month:02}/{year} does not exist")]
    ImpossibleDate { day: u32, month: u32, year: i32 },
    #[error("year must be 1900 to 2200, got {year}")]
    YearOutOfRange { year: i64 },
}

impl DocumentRef {
    /// Parses a reference (see the module documentation for the shapes and tolerances).
    pub fn parse(input: &str) -> Result<DocumentRef, DocumentRefError> {
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

    /// The text as given, NFC-normalised, with whitespace collapsed and trimmed.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The type code of the symbol; `None` for a công văn and for a law ("22/2023/QH15").
    pub fn type_code(&self) -> Option<TypeCode> {
        self.type_code
    }

    /// The type name as written before the number ("Kế hoạch", "Thông báo kết luận", "Công văn"), the full name
    /// when an abbreviation was written ("QĐ" gives "Quyết định"), or the name of the type code when no name was
    /// written. `None` for a bare công văn reference such as "1941/UBND-TH".
    pub fn type_name(&self) -> Option<&str> {
        self.type_name.as_deref()
    }

    /// The number as written, leading zeros kept: "409", "09".
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The year of a legal-normative reference: 2019 in "09/2019/NĐ-CP".
    pub fn year(&self) -> Option<i32> {
        self.year
    }

    /// The issuing body: "UBND" in "409/KH-UBND", "CP" in "09/2019/NĐ-CP", "TU" in "26-CT/TU", and the whole
    /// symbol of a công văn: "UBND-TH" in "1941/UBND-TH".
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn form(&self) -> ReferenceForm {
        self.form
    }

    /// The symbol (ký hiệu) in canonical spelling: "KH-UBND", "UBND-TH" (công văn), "NĐ-CP" (without the year,
    /// see [`DocumentRef::year`]), "QH15", and for party documents the part after the number: "CT/TU".
    pub fn symbol(&self) -> String {
        match (self.form, self.type_code) {
            (ReferenceForm::Party, Some(type_code)) => {
                format!("{}/{}", type_code.code(), self.issuer)
            }
            (ReferenceForm::Party, None) => format!("{PARTY_CONG_VAN_CODE}/{}", self.issuer),
            (_, Some(type_code)) => format!("{}-{}", type_code.code(), self.issuer),
            (_, None) => self.issuer.clone(),
        }
    }

    pub fn issued_on(&self) -> Option<Date> {
        self.issued_on
    }

    /// The number, symbol and date in canonical spelling, without the type name: "409/KH-UBND ngày 30/08/2021",
    /// "26-CT/TU ngày 02/06/2023", "09/2019/NĐ-CP". Parsing it gives back the same parts, except the type name
    /// and, for a công văn whose symbol starts with a type code, the type code (use [`DocumentRef::citation`]).
    pub fn canonical(&self) -> String {
        let body = match self.form {
            ReferenceForm::Administrative => format!("{}/{}", self.number, self.symbol()),
            ReferenceForm::Party => format!("{}-{}", self.number, self.symbol()),
            ReferenceForm::LegalNormative => {
                format!("{}/{}/{}", self.number, self.year.unwrap_or_default(), self.symbol())
            }
        };
        match self.issued_on {
            Some(issued_on) => format!("{body} ngày {}", format_date_vn(issued_on)),
            None => body,
        }
    }

    /// The canonical text with the type name in front, as documents cite each other: "Kế hoạch số 409/KH-UBND
    /// ngày 30/08/2021", "Công văn số 1941/UBND-TH ngày 06/03/2023". Parsing it gives back every part.
    pub fn citation(&self) -> String {
        match &self.type_name {
            Some(type_name) => format!("{type_name} số {}", self.canonical()),
            None => self.canonical(),
        }
    }
}

impl fmt::Display for DocumentRef {
    /// The text as given (see [`DocumentRef::original`]).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.original)
    }
}

impl std::str::FromStr for DocumentRef {
    type Err = DocumentRefError;

    fn from_str(input: &str) -> Result<DocumentRef, DocumentRefError> {
        DocumentRef::parse(input)
    }
}

impl TypeCode {
    pub const ALL: [TypeCode; 33] = [
        TypeCode::NghiQuyet,
        TypeCode::QuyetDinh,
        TypeCode::ChiThi,
        TypeCode::QuyChe,
        TypeCode::QuyDinh,
        TypeCode::ThongCao,
        TypeCode::ThongBao,
        TypeCode::HuongDan,
        TypeCode::ChuongTrinh,
        TypeCode::KeHoach,
        TypeCode::PhuongAn,
        TypeCode::DeAn,
        TypeCode::DuAn,
        TypeCode::BaoCao,
        TypeCode::BienBan,
        TypeCode::ToTrinh,
        TypeCode::HopDong,
        TypeCode::CongDien,
        TypeCode::BanGhiNho,
        TypeCode::BanThoaThuan,
        TypeCode::GiayUyQuyen,
        TypeCode::GiayMoi,
        TypeCode::GiayGioiThieu,
        TypeCode::GiayNghiPhep,
        TypeCode::PhieuGui,
        TypeCode::PhieuChuyen,
        TypeCode::PhieuBao,
        TypeCode::SaoY,
        TypeCode::TrichSao,
        TypeCode::SaoLuc,
        TypeCode::NghiDinh,
        TypeCode::ThongTu,
        TypeCode::ThongTuLienTich,
    ];

    /// The code as written in symbols: "KH", "QĐ", "QyĐ".
    pub fn code(self) -> &'static str {
        self.code_and_name().0
    }

    /// The Vietnamese name: "Kế hoạch", "Quyết định", "Quy định".
    pub fn name(self) -> &'static str {
        self.code_and_name().1
    }

    /// The type with exactly this code (case-sensitive); the inverse of [`TypeCode::code`].
    pub fn from_code(code: &str) -> Option<TypeCode> {
        TypeCode::ALL.into_iter().find(|type_code| type_code.code() == code)
    }

    /// Nghị định, Thông tư and Thông tư liên tịch, which are numbered `number/year/CODE-ISSUER`.
    pub fn is_legal_normative(self) -> bool {
        matches!(self, TypeCode::NghiDinh | TypeCode::ThongTu | TypeCode::ThongTuLienTich)
    }

    fn code_and_name(self) -> (&'static str, &'static str) {
        match self {
            TypeCode::NghiQuyet => ("NQ", "Nghị quyết"),
            TypeCode::QuyetDinh => ("QĐ", "Quyết định"),
            TypeCode::ChiThi => ("CT", "Chỉ thị"),
            TypeCode::QuyChe => ("QC", "Quy chế"),
            TypeCode::QuyDinh => ("QyĐ", "Quy định"),
            TypeCode::ThongCao => ("TC", "Thông cáo"),
            TypeCode::ThongBao => ("TB", "Thông báo"),
            TypeCode::HuongDan => ("HD", "Hướng dẫn"),
            TypeCode::ChuongTrinh => ("CTr", "Chương trình"),
            TypeCode::KeHoach => ("KH", "Kế hoạch"),
            TypeCode::PhuongAn => ("PA", "Phương án"),
            TypeCode::DeAn => ("ĐA", "Đề án"),
            TypeCode::DuAn => ("DA", "Dự án"),
            TypeCode::BaoCao => ("BC", "Báo cáo"),
            TypeCode::BienBan => ("BB", "Biên bản"),
            TypeCode::ToTrinh => ("TTr", "Tờ trình"),
            TypeCode::HopDong => ("HĐ", "Hợp đồng"),
            TypeCode::CongDien => ("CĐ", "Công điện"),
            TypeCode::BanGhiNho => ("BGN", "Bản ghi nhớ"),
            TypeCode::BanThoaThuan => ("BTT", "Bản thỏa thuận"),
            TypeCode::GiayUyQuyen => ("GUQ", "Giấy ủy quyền"),
            TypeCode::GiayMoi => ("GM", "Giấy mời"),
            TypeCode::GiayGioiThieu => ("GGT", "Giấy giới thiệu"),
            TypeCode::GiayNghiPhep => ("GNP", "Giấy nghỉ phép"),
            TypeCode::PhieuGui => ("PG", "Phiếu gửi"),
            TypeCode::PhieuChuyen => ("PC", "Phiếu chuyển"),
            TypeCode::PhieuBao => ("PB", "Phiếu báo"),
            TypeCode::SaoY => ("SY", "Sao y"),
            TypeCode::TrichSao => ("TrS", "Trích sao"),
            TypeCode::SaoLuc => ("SL", "Sao lục"),
            TypeCode::NghiDinh => ("NĐ", "Nghị định"),
            TypeCode::ThongTu => ("TT", "Thông tư"),
            TypeCode::ThongTuLienTich => ("TTLT", "Thông tư liên tịch"),
        }
    }
}

impl fmt::Display for TypeCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

impl Serialize for TypeCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for TypeCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TypeCode, D::Error> {
        let code = String::deserialize(deserializer)?;
        TypeCode::from_code(&code).ok_or_else(|| de::Error::custom(DocumentRefError::UnknownTypeCode { code }))
    }
}

impl Serialize for DocumentRef {
    /// An object `{text, type_code?, type_name?, number, year?, issuer, symbol, issued_on?}`, the date as
    /// YYYY-MM-DD; the parts are there for readers, only `text` is read back.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n_optional_fields =
            [self.type_code.is_some(), self.type_name.is_some(), self.year.is_some(), self.issued_on.is_some()]
                .into_iter()
                .filter(|present| *present)
                .count();
        let n_fields = 4 + n_optional_fields;
        let mut object = serializer.serialize_struct("DocumentRef", n_fields)?;
        object.serialize_field("text", &self.original)?;
        if let Some(type_code) = self.type_code {
            object.serialize_field("type_code", &type_code)?;
        }
        if let Some(type_name) = &self.type_name {
            object.serialize_field("type_name", type_name)?;
        }
        object.serialize_field("number", &self.number)?;
        if let Some(year) = self.year {
            object.serialize_field("year", &year)?;
        }
        object.serialize_field("issuer", &self.issuer)?;
        object.serialize_field("symbol", &self.symbol())?;
        if let Some(issued_on) = self.issued_on {
            object.serialize_field("issued_on", &format_date_iso(issued_on))?;
        }
        object.end()
    }
}

impl<'de> Deserialize<'de> for DocumentRef {
    /// Either a plain string or the serialised object, of which only `text` is read and parsed.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DocumentRef, D::Error> {
        deserializer.deserialize_any(DocumentRefVisitor)
    }
}

/// The code of a công văn in party references ("123-CV/TU"); state công văn have no code.
const PARTY_CONG_VAN_CODE: &str = "CV";

struct DocumentRefVisitor;

impl<'de> Visitor<'de> for DocumentRefVisitor {
    type Value = DocumentRef;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(
            "a document reference such as \"Kế hoạch số 409/KH-UBND ngày 30/8/2021\", or an object with its `text`",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<DocumentRef, E> {
        DocumentRef::parse(text).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DocumentRef, A::Error> {
        let mut text: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "text" {
                if text.is_some() {
                    return Err(de::Error::duplicate_field("text"));
                }
                text = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let text = text.ok_or_else(|| de::Error::missing_field("text"))?;
        DocumentRef::parse(&text).map_err(de::Error::custom)
    }
}

/// The parts of a reference, before the original text is attached.
struct ParsedParts {
    type_code: Option<TypeCode>,
    type_name: Option<String>,
    number: String,
    year: Option<i32>,
    issuer: String,
    form: ReferenceForm,
    issued_on: Option<Date>,
}

/// What the words before the number say about the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WrittenType {
    /// A name or an abbreviation of a type that has a code: the symbol must carry that code.
    Coded(TypeCode),
    /// "Công văn": the symbol has no type code, whatever it starts with.
    CongVan,
    /// "Văn bản", "Luật" and the like: the symbol may or may not carry a code.
    Generic,
}

/// Replaces the characters that people type for '-', '/' and 'Đ'; borrowed when there are none.
fn clean_look_alikes(text: &str) -> Cow<'_, str> {
    if !text.contains(|character| meant_for_look_alike(character).is_some()) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|character| meant_for_look_alike(character).unwrap_or(character)).collect())
}

/// The character meant when `character` is typed: '-' for dashes and the minus sign, '/' for the fullwidth
/// solidus, 'Đ' and 'đ' for the Icelandic eth; `None` for every other character.
fn meant_for_look_alike(character: char) -> Option<char> {
    match character {
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}' => Some('-'),
        '\u{FF0F}' => Some('/'),
        '\u{00D0}' => Some('Đ'),
        '\u{00F0}' => Some('đ'),
        _ => None,
    }
}

fn parse_cleaned(text: &str) -> Result<ParsedParts, DocumentRefError> {
    let number_start = text
        .find(|character: char| character.is_ascii_digit() || character == '/')
        .ok_or(DocumentRefError::MissingNumber)?;
    if text[number_start..].starts_with('/') {
        return Err(DocumentRefError::MissingNumber);
    }
    let (written_type, type_name) = match type_name_before_number(&text[..number_start]) {
        "" => (None, None),
        written => {
            let (written_type, display_name) = classify_type_name(written)?;
            (Some(written_type), Some(display_name))
        }
    };

    let mut cursor = Cursor { text, position: number_start };
    let number = cursor.digits();
    let missing_symbol = || DocumentRefError::MissingSymbol { number: number.to_owned() };
    cursor.skip_spaces();
    let (form, year, type_code, issuer) = if cursor.eat('/') {
        cursor.skip_spaces();
        let year = cursor.legal_year().map(checked_year).transpose()?;
        let symbol = cursor.symbol().ok_or_else(missing_symbol)?;
        let (type_code, issuer) = interpret_symbol(&symbol, written_type, type_name.as_deref())?;
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
        let symbol = cursor.symbol().ok_or_else(missing_symbol)?;
        let type_code = interpret_party_code(code, written_type, type_name.as_deref())?;
        (ReferenceForm::Party, None, type_code, symbol.into_owned())
    } else {
        return Err(missing_symbol());
    };

    let issued_on = cursor.issue_date()?;
    let type_name = type_name.or_else(|| type_code.map(|type_code| type_code.name().to_owned()));
    Ok(ParsedParts { type_code, type_name, number: number.to_owned(), year, issuer, form, issued_on })
}

/// The words before the number, without "số" / "Số:" and without opening brackets or quotes.
fn type_name_before_number(prefix: &str) -> &str {
    let name = prefix.trim_start_matches(['(', '[', '*', '"', '“', '\'', ' ']);
    let name = name.trim_end_matches([' ', ':', '.']);
    let (before_last_word, last_word) = name.rsplit_once(' ').unwrap_or(("", name));
    if folds_to(last_word, "so") {
        before_last_word.trim_end()
    } else {
        name
    }
}

/// Recognises a type name ("Kế hoạch", "Thông báo kết luận", "Ke hoach") or a type code written as a name ("QĐ").
/// Returns what it says about the type and the name to show.
fn classify_type_name(written: &str) -> Result<(WrittenType, String), DocumentRefError> {
    if let Some(type_code) = TypeCode::from_code(written) {
        return Ok((WrittenType::Coded(type_code), type_code.name().to_owned()));
    }
    if written == PARTY_CONG_VAN_CODE {
        return Ok((WrittenType::CongVan, "Công văn".to_owned()));
    }
    // The usual case, a name spelt as in the table of codes, needs no folding.
    if let Some(type_code) = TypeCode::ALL.into_iter().find(|type_code| type_code.name() == written) {
        return Ok((WrittenType::Coded(type_code), written.to_owned()));
    }
    // The longest known name made of the first words of the written one: "Thông báo kết luận" is a "thong bao".
    let folded = fold_for_search(written);
    let mut word_prefixes =
        std::iter::once(folded.as_str()).chain(folded.rmatch_indices(' ').map(|(space, _)| &folded[..space]));
    word_prefixes
        .find_map(|prefix| known_type_names().get(prefix))
        .map(|written_type| (*written_type, written.to_owned()))
        .ok_or_else(|| DocumentRefError::UnknownTypeName { name: written.to_owned() })
}

/// Every type name a reference may be written with, folded for comparison (see [`fold_for_search`]), and what it
/// says about the type: the names of the coded types and a few others. Folded once per process.
fn known_type_names() -> &'static HashMap<String, WrittenType> {
    static NAMES: OnceLock<HashMap<String, WrittenType>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let coded_names = TypeCode::ALL
            .into_iter()
            .map(|type_code| (fold_for_search(type_code.name()), WrittenType::Coded(type_code)));
        let other_names = [
            ("ban sao y", WrittenType::Coded(TypeCode::SaoY)),
            ("ban trich sao", WrittenType::Coded(TypeCode::TrichSao)),
            ("ban sao luc", WrittenType::Coded(TypeCode::SaoLuc)),
            ("cong van", WrittenType::CongVan),
            ("van ban", WrittenType::Generic),
            ("luat", WrittenType::Generic),
            ("bo luat", WrittenType::Generic),
            ("phap lenh", WrittenType::Generic),
        ]
        .map(|(name, written_type)| (name.to_owned(), written_type));
        coded_names.chain(other_names).collect()
    })
}

/// Splits the symbol of an administrative or legal-normative reference, in canonical spelling ("KH-UBND"), into
/// type code and issuer.
fn interpret_symbol(
    symbol: &str,
    written_type: Option<WrittenType>,
    type_name: Option<&str>,
) -> Result<(Option<TypeCode>, String), DocumentRefError> {
    let (first, after_first) = match symbol.split_once('-') {
        Some((first, after_first)) => (first, Some(after_first)),
        None => (symbol, None),
    };
    if written_type == Some(WrittenType::CongVan) {
        return Ok((None, symbol.to_owned()));
    }
    if let Some(type_code) = TypeCode::from_code(first) {
        if let Some(WrittenType::Coded(written_code)) = written_type {
            if written_code != type_code {
                return Err(DocumentRefError::TypeNameMismatch {
                    type_name: type_name.unwrap_or_default().to_owned(),
                    type_code: type_code.code().to_owned(),
                });
            }
        }
        return match after_first {
            Some(issuer) => Ok((Some(type_code), issuer.to_owned())),
            None => Err(DocumentRefError::MissingIssuer { type_code: type_code.code().to_owned() }),
        };
    }
    let Some(WrittenType::Coded(written_code)) = written_type else {
        return Ok((None, symbol.to_owned()));
    };
    // "Kế hoạch số 408/KHUBND": the hyphen after the code was left out. Only tried when the written type name
    // says which code to look for, since a công văn symbol such as "HĐND" or "KHCN" also starts with a code.
    let issuer_after_code = first
        .strip_prefix(written_code.code())
        .is_some_and(|rest| rest.chars().count() >= 2 && rest.starts_with(|character: char| character.is_uppercase()));
    if issuer_after_code {
        return Ok((Some(written_code), symbol[written_code.code().len()..].to_owned()));
    }
    match after_first {
        Some(_) => Err(DocumentRefError::UnknownTypeCode { code: first.to_owned() }),
        None => Err(DocumentRefError::MissingTypeCode { type_name: type_name.unwrap_or_default().to_owned() }),
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
    let type_code =
        TypeCode::from_code(code).ok_or_else(|| DocumentRefError::UnknownTypeCode { code: code.to_owned() })?;
    match written_type {
        Some(WrittenType::Coded(written_code)) if written_code != type_code => Err(mismatch()),
        Some(WrittenType::CongVan) => Err(mismatch()),
        _ => Ok(Some(type_code)),
    }
}

fn checked_year(digits: &str) -> Result<i32, DocumentRefError> {
    let year: i64 = digits.parse().map_err(|_| DocumentRefError::YearOutOfRange { year: i64::MAX })?;
    match i32::try_from(year) {
        Ok(year) if (MIN_YEAR..=MAX_YEAR).contains(&year) => Ok(year),
        _ => Err(DocumentRefError::YearOutOfRange { year }),
    }
}

fn known_codes() -> String {
    TypeCode::ALL.map(TypeCode::code).join(", ")
}

/// A position (a byte offset, always at a character boundary) in a cleaned reference.
struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.position..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, expected: char) -> bool {
        let found = self.rest().starts_with(expected);
        if found {
            self.position += expected.len_utf8();
        }
        found
    }

    fn skip_spaces(&mut self) {
        self.take_while_ascii(|byte| byte == b' ');
    }

    /// The ASCII digits from here on: "409".
    fn digits(&mut self) -> &'a str {
        self.take_while_ascii(|byte| byte.is_ascii_digit())
    }

    fn take_while(&mut self, predicate: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let length = rest.find(|character: char| !predicate(character)).unwrap_or(rest.len());
        self.position += length;
        &rest[..length]
    }

    /// Like [`Cursor::take_while`] for a predicate that holds only for ASCII characters, which lets it look at bytes:
    /// it stops at the first byte of any other character.
    fn take_while_ascii(&mut self, predicate: impl Fn(u8) -> bool) -> &'a str {
        let rest = self.rest();
        let length = rest.bytes().position(|byte| !predicate(byte)).unwrap_or(rest.len());
        self.position += length;
        &rest[..length]
    }

    /// A run of letters and digits ('&' allowed, as in "KH&CN").
    fn word(&mut self) -> &'a str {
        self.take_while(|character| character.is_alphanumeric() || character == '&')
    }

    /// The year of a legal-normative reference: four digits followed by '/', which is consumed too. Moves nothing
    /// when the text does not continue that way.
    fn legal_year(&mut self) -> Option<&'a str> {
        let start = self.position;
        let digits = self.digits();
        self.skip_spaces();
        if digits.len() == 4 && self.eat('/') {
            self.skip_spaces();
            return Some(digits);
        }
        self.position = start;
        None
    }

    /// A symbol: hyphen-separated words, spaces around hyphens allowed, returned in canonical spelling ("KH - UBND"
    /// as "KH-UBND"). The first word must start with an uppercase letter, the others with an uppercase letter or a
    /// digit; `None` when there is no first word.
    fn symbol(&mut self) -> Option<Cow<'a, str>> {
        let starts_symbol = |word: &str| word.starts_with(char::is_uppercase);
        let continues_symbol =
            |word: &str| word.starts_with(|character: char| character.is_uppercase() || character.is_ascii_digit());
        let start = self.position;
        if !starts_symbol(self.word()) {
            return None;
        }
        loop {
            let before_hyphen = self.position;
            self.skip_spaces();
            if !self.eat('-') {
                self.position = before_hyphen;
                break;
            }
            self.skip_spaces();
            if !continues_symbol(self.word()) {
                self.position = before_hyphen;
                break;
            }
        }
        // Words hold no spaces, so the spaces in the symbol as written are the ones around hyphens.
        let written = &self.text[start..self.position];
        if written.contains(' ') {
            Some(Cow::Owned(written.replace(' ', "")))
        } else {
            Some(Cow::Borrowed(written))
        }
    }

    /// The issue date after the symbol: ", ngày 30/8/2021", " ngày 06 tháng 3 năm 2023", or a date without
    /// "ngày" (" 30/8/2021"). `None` when neither "ngày" nor a digit comes next; whatever follows the date is
    /// ignored.
    fn issue_date(&mut self) -> Result<Option<Date>, DocumentRefError> {
        self.take_while_ascii(|byte| matches!(byte, b' ' | b','));
        let starts_with_digit = self.peek().is_some_and(|character| character.is_ascii_digit());
        if !starts_with_digit && !folds_to(self.word(), "ngay") {
            return Ok(None);
        }
        let date_rest = self.rest();
        let malformed = || DocumentRefError::MalformedDate { text: date_rest.trim().to_owned() };
        self.skip_spaces();
        let day = self.digits();
        if !(1..=2).contains(&day.len()) || !self.date_separator("thang") {
            return Err(malformed());
        }
        let month = self.digits();
        if !(1..=2).contains(&month.len()) || !self.date_separator("nam") {
            return Err(malformed());
        }
        let year = self.digits();
        if year.len() != 4 {
            return Err(malformed());
        }
        let year = checked_year(year)?;
        let day: u32 = day.parse().expect("one or two ASCII digits");
        let month: u32 = month.parse().expect("one or two ASCII digits");
        let impossible = DocumentRefError::ImpossibleDate { day, month, year };
        let calendar_month =
            u8::try_from(month).ok().and_then(|month| Month::try_from(month).ok()).ok_or(impossible.clone())?;
        let day_of_month = u8::try_from(day).map_err(|_| impossible.clone())?;
        Date::from_calendar_date(year, calendar_month, day_of_month).map(Some).map_err(|_| impossible)
    }

    /// Consumes '/', '-' or '.', or a word that folds to `word_separator` ("thang", "nam"), with spaces around.
    fn date_separator(&mut self, word_separator: &str) -> bool {
        self.skip_spaces();
        let separated = if matches!(self.peek(), Some('/' | '-' | '.')) {
            self.position += 1;
            true
        } else {
            let before_word = self.position;
            let found = folds_to(self.word(), word_separator);
            if !found {
                self.position = before_word;
            }
            found
        };
        self.skip_spaces();
        separated
    }
}

#[cfg(test)]
mod tests;
