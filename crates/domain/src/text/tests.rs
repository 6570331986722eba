use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

use super::*;

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
