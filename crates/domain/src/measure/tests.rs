use proptest::prelude::*;

use super::*;

#[test]
fn parse_fraction_reads_the_seed() {
    let surveyed = Measure::parse_fraction("doanh nghiệp được khảo sát", "25/25 doanh nghiệp").unwrap();
    assert_eq!(surveyed.label(), "doanh nghiệp được khảo sát");
    assert_eq!(surveyed.achieved(), 25.0);
    assert_eq!(surveyed.target(), Some(25.0));
    assert_eq!(surveyed.unit(), Some("doanh nghiệp"));

    let contracts = Measure::parse_fraction("hợp đồng", "12/14 nhiệm vụ").unwrap();
    assert_eq!((contracts.achieved(), contracts.target(), contracts.unit()), (12.0, Some(14.0), Some("nhiệm vụ")));

    let inspections = Measure::parse_fraction("thanh tra", "02 cuộc").unwrap();
    assert_eq!((inspections.achieved(), inspections.target(), inspections.unit()), (2.0, None, Some("cuộc")));

    let index = Measure::parse_fraction("PII", "46,51 điểm").unwrap();
    assert_eq!((index.achieved(), index.target(), index.unit()), (46.51, None, Some("điểm")));

    let rank = Measure::parse_fraction("xếp hạng", "11/63 tỉnh, thành phố").unwrap();
    assert_eq!((rank.achieved(), rank.target(), rank.unit()), (11.0, Some(63.0), Some("tỉnh, thành phố")));
}

#[test]
fn parse_fraction_tolerates_spacing_and_other_number_forms() {
    let measure = Measure::parse_fraction("x", "  25 / 25   doanh  nghiệp ").unwrap();
    assert_eq!((measure.achieved(), measure.target(), measure.unit()), (25.0, Some(25.0), Some("doanh nghiệp")));
    let percent = Measure::parse_fraction("x", "85%").unwrap();
    assert_eq!((percent.achieved(), percent.unit()), (85.0, Some("%")));
    let bare = Measure::parse_fraction("x", "7").unwrap();
    assert_eq!((bare.achieved(), bare.target(), bare.unit()), (7.0, None, None));
    let thousands = Measure::parse_fraction("x", "1.234,5 triệu đồng").unwrap();
    assert_eq!((thousands.achieved(), thousands.unit()), (1234.5, Some("triệu đồng")));
}

#[test]
fn parse_fraction_rejects_text_without_a_number() {
    assert_eq!(Measure::parse_fraction("x", "Đạt"), Err(MeasureError::NoQuantity { text: "Đạt".to_owned() }));
    assert_eq!(
        Measure::parse_fraction("x", "25/ doanh nghiệp"),
        Err(MeasureError::NoQuantity { text: "25/ doanh nghiệp".to_owned() })
    );
    assert!(matches!(Measure::parse_fraction("", "02 cuộc"), Err(MeasureError::Label(TextError::Empty))));
}

#[test]
fn measure_new_rejects_invalid_numbers_and_names_the_field() {
    assert!(matches!(Measure::new("x", f64::NAN, None, None), Err(MeasureError::NotFinite { field: "achieved", .. })));
    assert!(matches!(
        Measure::new("x", 1.0, Some(f64::INFINITY), None),
        Err(MeasureError::NotFinite { field: "target", .. })
    ));
    assert_eq!(Measure::new("x", -1.0, None, None), Err(MeasureError::Negative { field: "achieved", value: -1.0 }));
    assert_eq!(
        Measure::new("x", 1.0, Some(-2.0), None).unwrap_err().to_string(),
        "target must not be negative, got -2"
    );
    assert_eq!(Measure::new("  ", 1.0, None, None).unwrap_err().to_string(), "label: text is empty");
}

#[test]
fn measure_new_normalises_and_drops_blank_units() {
    let measure = Measure::new("  doanh   nghiệp ", -0.0, Some(3.0), Some("   ")).unwrap();
    assert_eq!(measure.label(), "doanh nghiệp");
    assert_eq!(measure.unit(), None);
    assert!(measure.achieved().is_sign_positive());
    assert!(matches!(
        Measure::new("x", 1.0, None, Some(&"u".repeat(MAX_UNIT_CHARS + 1))),
        Err(MeasureError::Unit(TextError::TooLong { .. }))
    ));
}

#[test]
fn measure_displays_as_reports_write_it() {
    assert_eq!(Measure::parse_fraction("x", "25/25 doanh nghiệp").unwrap().to_string(), "25/25 doanh nghiệp");
    assert_eq!(Measure::parse_fraction("x", "02 cuộc").unwrap().to_string(), "2 cuộc");
    assert_eq!(Measure::parse_fraction("x", "46,51 điểm").unwrap().to_string(), "46,51 điểm");
}

#[test]
fn measure_serde_round_trips_and_validates() {
    let measure = Measure::parse_fraction("doanh nghiệp được khảo sát", "25/25 doanh nghiệp").unwrap();
    let json = serde_json::to_value(&measure).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"label": "doanh nghiệp được khảo sát", "achieved": 25.0, "target": 25.0, "unit": "doanh nghiệp"})
    );
    assert_eq!(serde_json::from_value::<Measure>(json).unwrap(), measure);

    let minimal: Measure = serde_json::from_str(r#"{"label": "cuộc thanh tra", "achieved": 2}"#).unwrap();
    assert_eq!((minimal.achieved(), minimal.target(), minimal.unit()), (2.0, None, None));
    assert_eq!(serde_json::to_string(&minimal).unwrap(), r#"{"label":"cuộc thanh tra","achieved":2.0}"#);

    let negative = serde_json::from_str::<Measure>(r#"{"label": "x", "achieved": -1}"#).unwrap_err();
    assert!(negative.to_string().contains("achieved must not be negative"), "{negative}");
    assert!(serde_json::from_str::<Measure>(r#"{"label": "", "achieved": 1}"#).is_err());
    assert!(serde_json::from_str::<Measure>(r#"{"label": "x", "achieved": 1, "extra": 1}"#).is_err());
}

#[test]
fn target_from_text_reads_the_seed() {
    let target = Target::from_text("03 doanh nghiệp được hỗ trợ").unwrap();
    assert_eq!(target.quantity(), Some(3.0));
    assert_eq!(target.unit(), Some("doanh nghiệp được hỗ trợ"));
    assert_eq!(target.text(), "03 doanh nghiệp được hỗ trợ");
    assert_eq!(target.to_string(), "03 doanh nghiệp được hỗ trợ");

    let guide = Target::from_text("01 Văn bản hướng dẫn của Hội đồng sáng kiến tỉnh").unwrap();
    assert_eq!((guide.quantity(), guide.unit()), (Some(1.0), Some("Văn bản hướng dẫn của Hội đồng sáng kiến tỉnh")));

    let tasks = Target::from_text("20 nhiệm vụ").unwrap();
    assert_eq!((tasks.quantity(), tasks.unit()), (Some(20.0), Some("nhiệm vụ")));
}

#[test]
fn target_from_text_without_a_leading_number_keeps_only_the_text() {
    let target = Target::from_text("Nâng cao thứ hạng chỉ số ĐMST").unwrap();
    assert_eq!((target.quantity(), target.unit(), target.text()), (None, None, "Nâng cao thứ hạng chỉ số ĐMST"));
    let fraction = Target::from_text("25/25 doanh nghiệp").unwrap();
    assert_eq!((fraction.quantity(), fraction.unit()), (None, None));
    let number_only = Target::from_text(" 100 ").unwrap();
    assert_eq!((number_only.quantity(), number_only.unit(), number_only.text()), (Some(100.0), None, "100"));
}

#[test]
fn target_new_validates() {
    assert_eq!(Target::new(Some(3.0), Some("doanh nghiệp"), "  "), Err(MeasureError::Text(TextError::Empty)));
    assert!(matches!(Target::new(Some(f64::NAN), None, "x"), Err(MeasureError::NotFinite { field: "quantity", .. })));
    assert_eq!(Target::new(Some(-3.0), None, "x"), Err(MeasureError::Negative { field: "quantity", value: -3.0 }));
    assert!(Target::from_text("").is_err());
}

#[test]
fn target_serde_round_trips_and_validates() {
    let target = Target::from_text("03 doanh nghiệp được hỗ trợ").unwrap();
    let json = serde_json::to_value(&target).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"quantity": 3.0, "unit": "doanh nghiệp được hỗ trợ", "text": "03 doanh nghiệp được hỗ trợ"})
    );
    assert_eq!(serde_json::from_value::<Target>(json).unwrap(), target);
    let text_only: Target = serde_json::from_str(r#"{"text": "Năm 2024 hoàn thành"}"#).unwrap();
    assert_eq!(serde_json::to_string(&text_only).unwrap(), r#"{"text":"Năm 2024 hoàn thành"}"#);
    assert!(serde_json::from_str::<Target>(r#"{"quantity": 3}"#).is_err());
    assert!(serde_json::from_str::<Target>(r#"{"quantity": -3, "text": "x"}"#).is_err());
    assert!(serde_json::from_str::<Target>(r#"{"text": "x", "note": "y"}"#).is_err());
}

#[test]
fn format_quantity_writes_vietnamese_numbers() {
    assert_eq!(format_quantity(3.0), "3");
    assert_eq!(format_quantity(25.0), "25");
    assert_eq!(format_quantity(0.0), "0");
    assert_eq!(format_quantity(-0.0), "0");
    assert_eq!(format_quantity(46.51), "46,51");
    assert_eq!(format_quantity(0.5), "0,5");
    assert_eq!(format_quantity(1234.0), "1234");
    assert_eq!(format_quantity(1e20), "100000000000000000000");
}

#[test]
fn parse_leading_quantity_reads_vietnamese_numbers() {
    assert_eq!(parse_leading_quantity("03 doanh nghiệp"), Some((3.0, " doanh nghiệp")));
    assert_eq!(parse_leading_quantity("46,51 điểm"), Some((46.51, " điểm")));
    assert_eq!(parse_leading_quantity("46.51"), Some((46.51, "")));
    assert_eq!(parse_leading_quantity("1.234 người"), Some((1234.0, " người")));
    assert_eq!(parse_leading_quantity("1.234.567,89"), Some((1234567.89, "")));
    assert_eq!(parse_leading_quantity("0.123"), Some((0.123, "")));
    assert_eq!(parse_leading_quantity("25, 30"), Some((25.0, ", 30")));
    assert_eq!(parse_leading_quantity("2."), Some((2.0, ".")));
    assert_eq!(parse_leading_quantity("1,2,3"), None);
    assert_eq!(parse_leading_quantity("1.2.3"), None);
    assert_eq!(parse_leading_quantity("x1"), None);
    assert_eq!(parse_leading_quantity(""), None);
}

fn any_quantity() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..100_000).prop_map(f64::from),
        (0u32..1_000_000).prop_map(|hundredths| f64::from(hundredths) / 100.0),
    ]
}

fn any_unit() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["doanh nghiệp", "nhiệm vụ", "cuộc", "điểm", "đơn vị", "%", "văn bản hướng dẫn"])
        .prop_map(str::to_owned)
}

proptest! {
    #[test]
    fn format_quantity_reads_back(quantity in any_quantity()) {
        let written = format_quantity(quantity);
        prop_assert_eq!(parse_leading_quantity(&written), Some((quantity, "")));
    }

    #[test]
    fn parse_fraction_inverts_display(
        achieved in any_quantity(),
        target in prop::option::of(any_quantity()),
        unit in prop::option::of(any_unit()),
    ) {
        let measure = Measure::new("nhãn", achieved, target, unit.as_deref()).unwrap();
        prop_assert_eq!(Measure::parse_fraction("nhãn", &measure.to_string()), Ok(measure));
    }

    #[test]
    fn measure_serde_round_trips(
        achieved in any_quantity(),
        target in prop::option::of(any_quantity()),
        unit in prop::option::of(any_unit()),
    ) {
        let measure = Measure::new("nhãn", achieved, target, unit.as_deref()).unwrap();
        let json = serde_json::to_string(&measure).unwrap();
        prop_assert_eq!(serde_json::from_str::<Measure>(&json).unwrap(), measure);
    }

    #[test]
    fn target_from_text_finds_the_leading_number(quantity in 0u32..1000, unit in any_unit()) {
        let text = format!("{quantity:02} {unit}");
        let target = Target::from_text(&text).unwrap();
        prop_assert_eq!(target.quantity(), Some(f64::from(quantity)));
        prop_assert_eq!(target.unit(), Some(unit.as_str()));
        prop_assert_eq!(target.text(), text.as_str());
        let json = serde_json::to_string(&target).unwrap();
        prop_assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), target);
    }

    #[test]
    fn parsers_never_panic(text in any::<String>()) {
        let _ = Measure::parse_fraction("x", &text);
        let _ = Target::from_text(&text);
    }
}
