use proptest::prelude::*;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

use super::*;

/// `fold_for_search` by its definition, one step after the other on the whole text: the reference that the
/// one-pass fold must agree with on every input.
fn fold_by_steps(input: &str) -> String {
    let lowercase = input.to_lowercase();
    let without_marks: String = lowercase
        .nfd()
        .filter(|character| !is_combining_mark(*character))
        .map(|character| match character {
            'đ' | 'ð' => 'd',
            other => other,
        })
        .collect();
    collapse_whitespace(&without_marks)
}

/// Every Unicode scalar value.
fn every_char() -> impl Iterator<Item = char> {
    ('\0'..=char::MAX).filter(|character| !(0xD800..=0xDFFF).contains(&u32::from(*character)))
}

#[test]
fn normalize_composes_to_nfc() {
    let decomposed: String = "Khảo sát đo lường".nfd().collect();
    assert_ne!(decomposed, "Khảo sát đo lường");
    assert_eq!(normalize(&decomposed), "Khảo sát đo lường");
}

#[test]
fn normalize_collapses_spaces_and_tabs_but_keeps_newlines() {
    assert_eq!(normalize("  Nhiệm vụ \t 1:   Hỗ trợ  "), "Nhiệm vụ 1: Hỗ trợ");
    assert_eq!(
        normalize("- Kiểm tra   tiến độ  \r\n- Nghiệm thu\t05 nhiệm vụ\n\n\nKết quả"),
        "- Kiểm tra tiến độ\n- Nghiệm thu 05 nhiệm vụ\n\n\nKết quả"
    );
    assert_eq!(normalize("\n\n  đầu  \n\n"), "đầu");
    assert_eq!(normalize("a\u{00A0}\u{00A0}b"), "a b");
    assert_eq!(normalize("   "), "");
}

#[test]
fn normalize_single_line_joins_lines() {
    assert_eq!(normalize_single_line(" Kế hoạch\nsố  409/KH-UBND \r\n"), "Kế hoạch số 409/KH-UBND");
}

#[test]
fn fold_for_search_examples() {
    assert_eq!(fold_for_search("Khảo sát"), "khao sat");
    assert_eq!(fold_for_search("hoà"), "hoa");
    assert_eq!(fold_for_search("hòa"), "hoa");
    assert_eq!(fold_for_search("uỷ"), "uy");
    assert_eq!(fold_for_search("ủy"), "uy");
    assert_eq!(fold_for_search("Đo lường"), "do luong");
    assert_eq!(fold_for_search("ĐỔI MỚI  SÁNG TẠO\n(ĐMST)"), "doi moi sang tao (dmst)");
    assert_eq!(fold_for_search("\u{00D0}o"), "do");
}

#[test]
fn contains_folded_ignores_case_diacritics_and_spacing() {
    let title = "Hỗ trợ 03 doanh nghiệp triển khai   xây dựng, áp dụng chương trình đảm bảo đo lường";
    assert!(contains_folded(title, "dam bao do luong"));
    assert!(contains_folded(title, "TRIỂN KHAI XÂY DỰNG"));
    assert!(contains_folded(title, "trien khai xay"));
    assert!(contains_folded(title, ""));
    assert!(!contains_folded(title, "thanh tra"));
    assert!(contains_folded("Ủy ban nhân dân tỉnh", "uỷ ban"));
}

#[test]
fn non_empty_text_parses_and_normalises() {
    let text = NonEmptyText::parse("  Nâng cao   chất lượng  ", 100).unwrap();
    assert_eq!(text.as_str(), "Nâng cao chất lượng");
    assert_eq!(text.n_chars(), 19);
    assert_eq!(text.to_string(), "Nâng cao chất lượng");
}

#[test]
fn non_empty_text_rejects_empty() {
    assert_eq!(NonEmptyText::parse("", 10), Err(TextError::Empty));
    assert_eq!(NonEmptyText::parse(" \n\t ", 10), Err(TextError::Empty));
}

#[test]
fn non_empty_text_counts_characters_not_bytes() {
    assert!(NonEmptyText::parse("Đề án", 5).is_ok());
    assert_eq!(NonEmptyText::parse("Đề án!", 5), Err(TextError::TooLong { max_chars: 5, actual_chars: 6 }));
    let decomposed: String = "Đề án".nfd().collect();
    assert!(NonEmptyText::parse(&decomposed, 5).is_ok(), "length is measured after NFC");
}

#[test]
fn non_empty_text_rejects_control_characters_but_not_newline_or_tab() {
    assert_eq!(NonEmptyText::parse("a\u{0}b", 10), Err(TextError::ControlCharacter));
    assert_eq!(NonEmptyText::parse("a\u{1b}[31m", 10), Err(TextError::ControlCharacter));
    assert_eq!(NonEmptyText::parse("a\tb\r\nc", 10).unwrap().as_str(), "a b\nc");
}

#[test]
fn text_errors_read_well() {
    assert_eq!(TextError::Empty.to_string(), "text is empty");
    assert_eq!(
        TextError::TooLong { max_chars: 5, actual_chars: 6 }.to_string(),
        "text must be at most 5 characters, got 6"
    );
}

#[test]
fn non_empty_text_serde_is_a_plain_string_parsed_on_the_way_in() {
    let text = NonEmptyText::parse("Báo cáo", 100).unwrap();
    assert_eq!(serde_json::to_string(&text).unwrap(), "\"Báo cáo\"");
    let back: NonEmptyText = serde_json::from_str("\"  Báo   cáo \"").unwrap();
    assert_eq!(back, text);
    assert!(serde_json::from_str::<NonEmptyText>("\"   \"").is_err());
    let too_long = format!("\"{}\"", "a".repeat(DEFAULT_MAX_CHARS + 1));
    assert!(serde_json::from_str::<NonEmptyText>(&too_long).is_err());
}

/// Vietnamese-looking text: letters with and without diacritics, spaces, tabs and newlines.
fn vietnamese_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "ă", "â", "á", "ả", "ạ", "ầ", "ẫ", "đ", "Đ", "e", "ề", "ệ", "i", "ỉ", "o", "ô", "ơ", "ợ", "ổ", "u",
            "ư", "ữ", "ủ", "ỷ", "y", "K", "H", "C", "N", "Ư", "Ờ", " ", "  ", "\t", "\n", "\r\n", "/", "1", "0", "-",
        ]),
        0..40,
    )
    .prop_map(|pieces| pieces.concat())
}

#[test]
fn fold_for_search_agrees_with_the_steps_on_every_single_character() {
    for character in every_char() {
        let text = character.to_string();
        assert_eq!(fold_for_search(&text), fold_by_steps(&text), "U+{:04X}", u32::from(character));
    }
}

#[test]
fn fold_for_search_agrees_with_the_steps_on_tricky_examples() {
    let examples = [
        "ΣΑΣ",
        "ΟΔΟΣ ΟΔΟΣ.",
        "Σ",
        "aΣ",
        "Σa",
        "a'Σ'",
        "a\u{0301}Σ b",
        "ΌΣΟΣ",
        "İstanbul",
        "I\u{0307}",
        "ß ẞ",
        "Ω Ω K Å",
        "\u{0344}\u{0340}\u{0341}\u{0343}",
        "a\u{0345}\u{0301}b",
        "Ǆ ǅ ǆ",
        "한국어 ㄱ",
        "ﬁ ﬃ",
        "\u{1E9B}\u{0323}",
        "\u{00A0}x\u{2003}\u{3000}y\u{0085}z\u{1680}\u{202F}\u{205F}\u{2028}\u{2029}",
        "\u{200B}a\u{FEFF}b\u{180E}",
        " \u{0301} a \u{0301} ",
        "Đ đ Ð ð",
        "ĐỔI MỚI  SÁNG TẠO\n(ĐMST)",
    ];
    for example in examples {
        assert_eq!(fold_for_search(example), fold_by_steps(example), "{example:?}");
        let decomposed: String = example.nfd().collect();
        assert_eq!(fold_for_search(&decomposed), fold_by_steps(&decomposed), "NFD of {example:?}");
    }
}

/// Folding one character at a time matches NFD once the marks are dropped only because canonical ordering, the
/// one step of NFD that looks at neighbours, moves nothing but combining marks.
#[test]
fn canonical_ordering_moves_only_combining_marks() {
    for character in every_char() {
        if canonical_combining_class(character) != 0 {
            assert!(is_combining_mark(character), "U+{:04X}", u32::from(character));
        }
    }
}

#[test]
fn the_common_fold_table_holds_its_characters_in_order() {
    let indexes: Vec<usize> = every_char().filter_map(common_table_index).collect();
    assert_eq!(indexes, (0..indexes.len()).collect::<Vec<_>>());
    for character in every_char().filter(|character| common_table_index(*character).is_some()) {
        assert_eq!(common_char_fold(character), Some(char_fold(character)));
    }
}

/// The characters that `is_normalized` takes as NFC without asking `is_nfc_quick`.
#[test]
fn composed_starters_are_nfc_starters() {
    for character in every_char().filter(|character| is_composed_starter(*character)) {
        assert_eq!(canonical_combining_class(character), 0, "U+{:04X}", u32::from(character));
        assert_eq!(is_nfc_quick(std::iter::once(character)), IsNormalized::Yes, "U+{:04X}", u32::from(character));
    }
}

/// Text made to trip the fold: Vietnamese letters composed and decomposed, the look-alikes of 'Đ', Greek capital
/// sigma (whose lowercase depends on its neighbours), characters whose lowercase has several characters, lone
/// combining marks, every kind of whitespace and some characters that are not whitespace but look it.
fn text_to_fold() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a", "A", "ă", "Â", "á", "ả", "Ạ", "ầ", "ẫ", "ế", "Ế", "ệ", "ồ", "Ổ", "ợ", "ư", "Ữ", "ủ", "ỷ", "Ỹ", "y", "đ",
        "Đ", "Ð", "ð", "d", "D", "Σ", "σ", "ς", "Ο", "ο", "Ά", "ΐ", "İ", "I", "ı", "ß", "ẞ", "ǅ", "ŉ", "ﬁ", "Ω", "K",
        "Å", "한", "\u{0301}", "\u{0300}", "\u{0303}", "\u{0309}", "\u{0323}", "\u{0302}", "\u{031B}", "\u{0306}",
        "\u{0345}", "\u{0344}", "\u{0340}", "'", ".", "-", "1", "/", " ", "  ", "\t", "\n", "\r\n", "\u{000B}",
        "\u{000C}", "\u{0085}", "\u{00A0}", "\u{1680}", "\u{2000}", "\u{2003}", "\u{200A}", "\u{2028}", "\u{2029}",
        "\u{202F}", "\u{205F}", "\u{3000}", "\u{200B}", "\u{FEFF}", "\u{180E}", "\u{001F}",
    ]);
    prop::collection::vec(
        prop_oneof![4 => pieces.prop_map(str::to_owned), 1 => any::<char>().prop_map(String::from)],
        0..24,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn fold_for_search_agrees_with_the_steps(input in any::<String>()) {
        prop_assert_eq!(fold_for_search(&input), fold_by_steps(&input));
    }

    #[test]
    fn fold_for_search_agrees_with_the_steps_on_tricky_text(input in text_to_fold()) {
        prop_assert_eq!(fold_for_search(&input), fold_by_steps(&input));
        let decomposed: String = input.nfd().collect();
        prop_assert_eq!(fold_for_search(&decomposed), fold_by_steps(&decomposed));
    }

    #[test]
    fn the_quick_path_agrees_with_full_normalisation_on_tricky_text(input in text_to_fold()) {
        prop_assert_eq!(normalize(&input), super::normalize_fully(&input));
        prop_assert_eq!(normalize_single_line(&input), super::normalize_single_line_fully(&input));
        let decomposed: String = input.nfd().collect();
        prop_assert_eq!(normalize(&decomposed), super::normalize_fully(&decomposed));
    }

    #[test]
    fn fold_for_search_agrees_with_the_steps_on_vietnamese(input in vietnamese_text()) {
        prop_assert_eq!(fold_for_search(&input), fold_by_steps(&input));
    }

    #[test]
    fn folds_to_is_comparing_the_fold(input in text_to_fold(), other in text_to_fold()) {
        let folded = fold_by_steps(&input);
        prop_assert!(folds_to(&input, &folded));
        for keyword in ["so", "ngay", "thang", "nam", "", "d", "a", " "] {
            prop_assert_eq!(folds_to(&input, keyword), folded == keyword, "{:?} {:?}", input, keyword);
        }
        prop_assert_eq!(folds_to(&input, &fold_by_steps(&other)), folded == fold_by_steps(&other));
        let shorter: String = folded.chars().take(folded.chars().count().saturating_sub(1)).collect();
        prop_assert_eq!(folds_to(&input, &shorter), folded == shorter);
    }
}

#[test]
fn folds_to_recognises_the_keywords() {
    for (input, keyword) in [("số", "so"), ("Số", "so"), ("SỐ", "so"), ("so", "so"), ("ngày", "ngay"), ("NGÀY", "ngay")]
    {
        assert!(folds_to(input, keyword), "{input:?}");
        let decomposed: String = input.nfd().collect();
        assert!(folds_to(&decomposed, keyword), "NFD of {input:?}");
    }
    for (input, keyword) in [("sổ", "sô"), ("s", "so"), ("sos", "so"), ("ngàyy", "ngay"), ("", "so"), ("nam", "năm")]
    {
        assert!(!folds_to(input, keyword), "{input:?}");
    }
}

proptest! {
    #[test]
    fn the_quick_path_agrees_with_full_normalisation(input in any::<String>()) {
        prop_assert_eq!(normalize(&input), super::normalize_fully(&input));
        prop_assert_eq!(normalize_single_line(&input), super::normalize_single_line_fully(&input));
    }

    #[test]
    fn the_quick_path_agrees_with_full_normalisation_on_vietnamese(input in vietnamese_text()) {
        prop_assert_eq!(normalize(&input), super::normalize_fully(&input));
        prop_assert_eq!(normalize_single_line(&input), super::normalize_single_line_fully(&input));
        let once = normalize(&input);
        prop_assert_eq!(super::normalize_fully(&once), once);
    }

    #[test]
    fn normalize_is_idempotent(input in any::<String>()) {
        let once = normalize(&input);
        prop_assert_eq!(normalize(&once), once);
    }

    #[test]
    fn normalize_is_idempotent_on_vietnamese(input in vietnamese_text()) {
        let once = normalize(&input);
        prop_assert_eq!(normalize(&once), once);
    }

    #[test]
    fn normalize_single_line_is_idempotent_and_has_no_newline(input in any::<String>()) {
        let once = normalize_single_line(&input);
        prop_assert!(!once.contains('\n'));
        prop_assert_eq!(normalize_single_line(&once), once);
    }

    #[test]
    fn normalize_composes_what_is_not_composed(input in vietnamese_text(), any_text in any::<String>()) {
        for input in [input, any_text] {
            let decomposed: String = input.nfd().collect();
            let composed_first: String = input.nfc().collect();
            prop_assert_eq!(normalize(&decomposed), normalize(&composed_first));
            prop_assert_eq!(normalize(&input), normalize(&composed_first));
            prop_assert_eq!(normalize_single_line(&decomposed), normalize_single_line(&composed_first));
        }
    }

    #[test]
    fn fold_for_search_is_idempotent(input in any::<String>()) {
        let once = fold_for_search(&input);
        prop_assert_eq!(fold_for_search(&once), once);
    }

    #[test]
    fn fold_for_search_is_the_same_for_nfc_and_nfd(input in vietnamese_text()) {
        let composed: String = input.nfc().collect();
        let decomposed: String = input.nfd().collect();
        prop_assert_eq!(fold_for_search(&composed), fold_for_search(&decomposed));
        prop_assert!(fold_for_search(&composed).is_ascii());
    }

    #[test]
    fn text_contains_itself_folded(input in vietnamese_text()) {
        let decomposed: String = input.nfd().collect();
        prop_assert!(contains_folded(&input, &decomposed));
    }

    #[test]
    fn non_empty_text_parse_output_is_a_fixed_point(input in vietnamese_text()) {
        if let Ok(text) = NonEmptyText::parse(&input, 1_000) {
            prop_assert_eq!(NonEmptyText::parse(text.as_str(), 1_000), Ok(text.clone()));
        }
    }
}
