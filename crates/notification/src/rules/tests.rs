use proptest::prelude::*;
use time::macros::{date, time};

use super::*;

const EXAMPLE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/notification.example.toml");

fn parse(text: &str) -> Result<NotificationConfig, ConfigError> {
    NotificationConfig::parse(text, "notification.toml")
}

/// Parses a text that must fail, checks that the message names the line and the field, and returns the rule.
fn rule_broken(text: &str, expected_line: usize, expected_field: &str) -> String {
    let error = parse(text).expect_err("the text is invalid");
    let message = error.to_string();
    let ConfigError::Invalid { source_name, line, field, rule } = error else {
        panic!("expected an invalid-configuration error, got {message}");
    };
    assert_eq!(source_name, "notification.toml");
    assert_eq!(line, Some(expected_line), "{message}");
    assert_eq!(field.as_deref(), Some(expected_field), "{message}");
    assert!(
        message.starts_with(&format!("notification.toml:{expected_line}: field `{expected_field}`: ")),
        "{message}"
    );
    rule
}

#[test]
fn an_empty_file_gives_the_defaults() {
    assert_eq!(parse("").unwrap(), NotificationConfig::default());
    let defaults = NotificationConfig::default();
    let rules = &defaults.rules;
    assert_eq!(rules.deadline.before_working_days, [14, 7, 3, 1]);
    assert!(rules.deadline.on_the_day);
    assert_eq!(rules.deadline.send_at, time!(08:00));
    assert_eq!(rules.deadline.catch_up, CatchUp::SkipOlderThan(Duration::from_secs(3 * 86_400)));
    assert_eq!(rules.overdue.first_after_working_days, 1);
    assert_eq!(rules.overdue.repeat_every_days, 7);
    assert_eq!(rules.overdue.escalate_from_reminder, 2);
    assert!(rules.overdue.escalation_critical);
    assert_eq!(rules.overdue.stop_after_days, None);
    assert_eq!(rules.overdue.catch_up, CatchUp::SendLate);
    assert_eq!(rules.reports.periodic, [PeriodKind::Quarter, PeriodKind::HalfYear, PeriodKind::Year]);
    assert_eq!(rules.reports.before_working_days, [3, 1]);
    assert!(rules.reports.ad_hoc);
    assert_eq!(rules.quiet_hours, WorkingHours { start: time!(08:00), end: time!(17:00) });
    assert_eq!(rules.language, Language::Vi);
    assert_eq!(rules.digest, DigestRule { enabled: false, send_at: time!(07:30) });
    assert_eq!(rules.lease, Duration::from_secs(60));
    assert_eq!(rules.retry_ladder, None);
    assert_eq!(rules.late_after, Duration::from_secs(15 * 60));
    assert_eq!(rules.disable_endpoint_after, 5);
    assert_eq!(rules.poll_interval, Duration::from_millis(200));
    assert_eq!(defaults.smtp, None);
    assert_eq!(defaults.nats, None);
    assert!(defaults.webhooks.is_empty() && defaults.directory.units.is_empty() && defaults.holidays.is_empty());
}

#[test]
fn the_example_file_parses_and_documents_the_defaults() {
    let config = NotificationConfig::load_file(Path::new(EXAMPLE_PATH)).unwrap();
    let defaults = RuleSet::default();
    assert_eq!(config.rules.deadline, defaults.deadline);
    assert_eq!(config.rules.overdue, defaults.overdue);
    assert_eq!(config.rules.reports, defaults.reports);
    assert_eq!(config.rules.quiet_hours, defaults.quiet_hours);
    assert_eq!(config.rules.digest, defaults.digest);
    assert_eq!(config.rules.lease, defaults.lease);
    assert_eq!(config.rules.language, defaults.language);
    assert_eq!(config.rules.late_after, defaults.late_after);
    assert_eq!(config.rules.disable_endpoint_after, defaults.disable_endpoint_after);
    assert_eq!(config.rules.poll_interval, defaults.poll_interval);
    let minutes = |count: u64| Duration::from_secs(count * 60);
    assert_eq!(config.rules.retry_ladder, Some(vec![minutes(1), minutes(5), minutes(30), minutes(120), minutes(720)]));

    let science = &config.directory.units["KHCN"];
    assert_eq!(science.name, "Sở Khoa học và Công nghệ");
    assert_eq!(science.webhooks, ["ioffice"]);
    assert!(science.nats);
    assert_eq!(science.approver.as_ref().unwrap().id, "giamdoc-khcn");
    assert_eq!(config.directory.units["VP-UBND"].emails.len(), 2);

    let smtp = config.smtp.as_ref().unwrap();
    assert_eq!((smtp.port, smtp.tls, smtp.timeout), (587, SmtpTls::Starttls, Duration::from_secs(30)));
    assert_eq!(smtp.password.as_ref().unwrap().expose(), "change-me");
    let endpoint = config.webhook("ioffice").unwrap();
    assert_eq!(endpoint.signing_key().unwrap().len(), 24);
    assert!(endpoint.serves_unit("KHCN") && !endpoint.serves_unit("VP-UBND"));
    assert_eq!(config.nats, Some(NatsSettings::default()));
    assert!(config.holidays.is_empty());
    assert_eq!(config.calendar().unwrap(), HolidayCalendar::shipped());
}

#[test]
fn holiday_files_extend_the_shipped_calendar_relative_to_the_configuration() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("local.txt"), "years 2031\n2031-01-02  Nghỉ hoán đổi\n").unwrap();
    let config_path = folder.path().join("notification.toml");
    std::fs::write(&config_path, "holidays = [\"local.txt\"]\n").unwrap();
    let config = NotificationConfig::load_file(&config_path).unwrap();
    let calendar = config.calendar().unwrap();
    assert!(calendar.covers_year(2024) && calendar.covers_year(2031));
    assert!(!calendar.is_working_day(date!(2031 - 01 - 02)));

    std::fs::write(&config_path, "holidays = [\"missing.txt\"]\n").unwrap();
    let config = NotificationConfig::load_file(&config_path).unwrap();
    assert!(matches!(config.calendar(), Err(CalendarError::Read { .. })));
    let missing = folder.path().join("absent.toml");
    assert!(matches!(NotificationConfig::load_file(&missing), Err(ConfigError::Read { .. })));
}

#[test]
fn partial_sections_keep_the_other_defaults() {
    let config = parse("[rules.deadline]\nbefore_working_days = [1, 5, 10]\n\n[nats]\n").unwrap();
    assert_eq!(config.rules.deadline.before_working_days, [10, 5, 1]);
    assert!(config.rules.deadline.on_the_day);
    assert_eq!(config.rules.overdue, OverdueRule::default());
    assert_eq!(config.nats.unwrap().subject_prefix, DEFAULT_SUBJECT_PREFIX);
    let config = parse("[smtp]\nhost = \"localhost\"\ntls = \"tls\"\nfrom = \"a@b.vn\"\n").unwrap();
    assert_eq!(config.smtp.unwrap().port, 465);
}

#[test]
fn catch_up_takes_its_three_forms() {
    let catch_up = |value: &str| {
        parse(&format!("[rules.deadline]\ncatch_up = {value}\n")).map(|config| config.rules.deadline.catch_up)
    };
    assert_eq!(catch_up("\"send_late\"").unwrap(), CatchUp::SendLate);
    assert_eq!(catch_up("\"digest\"").unwrap(), CatchUp::Digest);
    assert_eq!(catch_up("{ skip_older_than = \"2h\" }").unwrap(), CatchUp::SkipOlderThan(Duration::from_secs(7200)));
    let rule = rule_broken("[rules.deadline]\ncatch_up = \"later\"\n", 2, "rules.deadline.catch_up");
    assert!(rule.contains("expected \"send_late\", \"digest\" or { skip_older_than = \"3d\" }"), "{rule}");
    let rule = rule_broken("[rules.deadline]\ncatch_up = { skip = \"2h\" }\n", 2, "rules.deadline.catch_up");
    assert!(rule.contains("unknown key `skip`"), "{rule}");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let config = parse(
        "[smtp]\nhost = \"localhost\"\nfrom = \"a@b.vn\"\npassword = \"hunter2\"\n\n[[webhooks]]\nname = \"x\"\n\
         url = \"https://x.example\"\nsecret = \"whsec_xum/1zoc/h3EjdoDg09VRdnPh0wbqzdK\"\n",
    )
    .unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2") && !debug.contains("xum/1zoc"), "{debug}");
    assert!(debug.contains("Secret(***)"));
}

// ---- each error names its line and field ----

#[test]
fn an_unknown_key_is_refused() {
    let rule = rule_broken(
        "[rules]\nlease = \"30s\"\n\n[rules.deadline]\nsend_att = \"08:00\"\n",
        5,
        "rules.deadline.send_att",
    );
    assert!(rule.contains("unknown field `send_att`"), "{rule}");
    let rule = rule_broken("colour = \"blue\"\n", 1, "colour");
    assert!(rule.contains("unknown field `colour`"), "{rule}");
}

#[test]
fn a_malformed_duration_is_refused() {
    let rule = rule_broken("[rules]\nlease = \"5 minutes\"\n", 2, "rules.lease");
    assert!(rule.contains("expected a duration such as \"30s\""), "{rule}");
    let rule = rule_broken("[rules]\nlease = \"0s\"\n", 2, "rules.lease");
    assert!(rule.contains("must be positive"), "{rule}");
    let rule = rule_broken("[rules]\n\nretry_ladder = [\"1m\", \"2x\"]\n", 3, "rules.retry_ladder");
    assert!(rule.contains("\"2x\""), "{rule}");
    let rule = rule_broken("[rules]\nretry_ladder = []\n", 2, "rules.retry_ladder");
    assert!(rule.contains("must not be empty"), "{rule}");
}

#[test]
fn the_dispatchers_settings_are_read_and_checked() {
    let config = NotificationConfig::parse(
        "[rules]\nlate_after = \"30m\"\ndisable_endpoint_after = 3\npoll_interval = \"50ms\"\n",
        "notification.toml",
    )
    .unwrap();
    assert_eq!(config.rules.late_after, Duration::from_secs(30 * 60));
    assert_eq!(config.rules.disable_endpoint_after, 3);
    assert_eq!(config.rules.poll_interval, Duration::from_millis(50));
    let rule = rule_broken("[rules]\nlate_after = \"15 min\"\n", 2, "rules.late_after");
    assert!(rule.contains("expected a duration such as"), "{rule}");
    let rule = rule_broken("[rules]\n\ndisable_endpoint_after = 0\n", 3, "rules.disable_endpoint_after");
    assert!(rule.contains("must be at least 1"), "{rule}");
    let rule = rule_broken("[rules]\npoll_interval = \"0ms\"\n", 2, "rules.poll_interval");
    assert!(rule.contains("must be positive"), "{rule}");
    assert_eq!(format_duration(Duration::from_millis(200)), "200ms");
    assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
}

#[test]
fn a_malformed_time_is_refused() {
    let rule = rule_broken("[rules.overdue]\nsend_at = \"8h\"\n", 2, "rules.overdue.send_at");
    assert!(rule.contains("expected a time of day as HH:MM"), "{rule}");
    let rule = rule_broken("[rules.digest]\nsend_at = \"24:00\"\n", 2, "rules.digest.send_at");
    assert!(rule.contains("hours 00-23"), "{rule}");
}

#[test]
fn negative_repeated_or_empty_lists_are_refused() {
    let rule =
        rule_broken("[rules.deadline]\nbefore_working_days = [7, -1]\n", 2, "rules.deadline.before_working_days[1]");
    assert!(rule.contains("-1"), "{rule}");
    let rule = rule_broken("[rules.deadline]\nbefore_working_days = [7, 7]\n", 2, "rules.deadline.before_working_days");
    assert!(rule.contains("7 is listed twice"), "{rule}");
    let rule = rule_broken("[rules.deadline]\nbefore_working_days = [3, 0]\n", 2, "rules.deadline.before_working_days");
    assert!(rule.contains("use on_the_day"), "{rule}");
    let rule = rule_broken("[rules.reports]\nchannels = []\n", 2, "rules.reports.channels");
    assert!(rule.contains("at least one channel"), "{rule}");
    let rule = rule_broken("[rules.reports]\nchannels = [\"email\", \"sms\"]\n", 2, "rules.reports.channels[1]");
    assert!(rule.contains("unknown variant `sms`"), "{rule}");
    let rule = rule_broken("[rules.reports]\nperiodic = [\"year\", \"year\"]\n", 2, "rules.reports.periodic");
    assert!(rule.contains("listed twice"), "{rule}");
    let rule = rule_broken("[rules.overdue]\nrepeat_every_days = 0\n", 2, "rules.overdue.repeat_every_days");
    assert!(rule.contains("at least 1"), "{rule}");
}

#[test]
fn quiet_hours_must_start_before_they_end() {
    let rule = rule_broken("[rules.quiet_hours]\nstart = \"18:00\"\nend = \"08:00\"\n", 1, "rules.quiet_hours");
    assert!(rule.contains("start 18:00 must be before end 08:00"), "{rule}");
    let rule = rule_broken("[rules]\nquiet_hours = { start = \"17:00\" }\n", 2, "rules.quiet_hours");
    assert!(rule.contains("start 17:00 must be before end 17:00"), "{rule}");
}

#[test]
fn an_invalid_unit_code_is_refused() {
    let rule = rule_broken("[directory.units.\"KH&CN\"]\nname = \"Sở\"\n", 1, "directory.units.KH&CN");
    assert!(rule.contains("unit code may only contain"), "{rule}");
    let text = "[directory.units.khcn]\nname = \"Sở\"\n\n[directory.units.KHCN]\nname = \"Sở\"\n";
    let error = parse(text).unwrap_err().to_string();
    assert!(error.contains("field `directory.units.") && error.contains("already defined"), "{error}");
    let rule = rule_broken("[directory.units.KHCN]\nemails = []\n", 1, "directory.units.KHCN.name");
    assert!(rule.contains("missing field `name`"), "{rule}");
}

#[test]
fn an_email_without_at_is_refused() {
    let text = "[directory.units.KHCN]\nname = \"Sở\"\nemails = [\"vanthu.skhcn.gov.vn\"]\n";
    let rule = rule_broken(text, 3, "directory.units.KHCN.emails");
    assert!(rule.contains("is not an email address: it has no @"), "{rule}");
    let text = "[directory.units.KHCN]\nname = \"Sở\"\napprover = { id = \"gd\", name = \"A\", email = \"a@b\" }\n";
    let rule = rule_broken(text, 3, "directory.units.KHCN.approver.email");
    assert!(rule.contains("with a dot"), "{rule}");
    let rule = rule_broken("[smtp]\nhost = \"localhost\"\nfrom = \"taskledger <noreply>\"\n", 3, "smtp.from");
    assert!(rule.contains("no @"), "{rule}");
}

#[test]
fn a_webhook_secret_that_is_not_base64_is_refused() {
    let text = "[[webhooks]]\nname = \"x\"\nurl = \"https://x.example\"\nsecret = \"whsec_not base64!\"\n";
    let rule = rule_broken(text, 4, "webhooks[0].secret");
    assert!(rule.contains("is not base64"), "{rule}");
    let text = "[[webhooks]]\nname = \"x\"\nurl = \"https://x.example\"\nsecret = \"c2VjcmV0\"\n";
    let rule = rule_broken(text, 4, "webhooks[0].secret");
    assert!(rule.contains("must start with \"whsec_\""), "{rule}");
    let text = "[[webhooks]]\nname = \"x\"\nurl = \"https://x.example\"\nsecret = \"whsec_c2VjcmV0\"\n";
    let rule = rule_broken(text, 4, "webhooks[0].secret");
    assert!(rule.contains("24 to 64 bytes, got 6"), "{rule}");
    let text =
        "[[webhooks]]\nname = \"x\"\nurl = \"ftp://x.example\"\nsecret = \"whsec_xum/1zoc/h3EjdoDg09VRdnPh0wbqzdK\"\n";
    let rule = rule_broken(text, 3, "webhooks[0].url");
    assert!(rule.contains("http:// or https://"), "{rule}");
}

#[test]
fn a_webhook_referenced_but_not_defined_is_refused() {
    let text = "[[webhooks]]\nname = \"ioffice\"\nurl = \"https://x.example\"\n\
                secret = \"whsec_xum/1zoc/h3EjdoDg09VRdnPh0wbqzdK\"\n\n\
                [directory.units.KHCN]\nname = \"Sở\"\nwebhooks = [\"ioffice\",\n  \"egov\"]\n";
    let rule = rule_broken(text, 9, "directory.units.KHCN.webhooks");
    assert!(rule.contains("webhook endpoint \"egov\" is not defined"), "{rule}");
    let text = "[[webhooks]]\nname = \"a\"\nurl = \"https://x.example\"\n\
                secret = \"whsec_xum/1zoc/h3EjdoDg09VRdnPh0wbqzdK\"\n\
                [[webhooks]]\nname = \"a\"\nurl = \"https://y.example\"\n\
                secret = \"whsec_xum/1zoc/h3EjdoDg09VRdnPh0wbqzdK\"\n";
    let rule = rule_broken(text, 6, "webhooks[1].name");
    assert!(rule.contains("already defined"), "{rule}");
}

#[test]
fn a_missing_required_field_names_it() {
    let rule = rule_broken("[smtp]\nfrom = \"a@b.vn\"\n", 1, "smtp.host");
    assert!(rule.contains("missing field `host`"), "{rule}");
    let rule = rule_broken("[nats]\nsubject_prefix = \"taskledger.*\"\n", 2, "nats.subject_prefix");
    assert!(rule.contains("without spaces, * or >"), "{rule}");
}

#[test]
fn a_toml_syntax_error_names_its_line() {
    let error = parse("[rules]\nlease = \"30s\n").unwrap_err();
    let ConfigError::Invalid { line, field, .. } = &error else { panic!("{error}") };
    assert_eq!((*line, field.as_deref()), (Some(2), None));
    assert!(error.to_string().starts_with("notification.toml:2: "), "{error}");
}

// ---- the value parsers ----

#[test]
fn durations_and_times_parse_strictly() {
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(259_200)));
    for text in ["", "s", "30", "30 s", " 30s", "-5m", "1.5h", "3w", "1h30m", "3650d1", "3651d", "0m"] {
        assert!(parse_duration(text).is_err(), "{text:?}");
    }
    assert_eq!(parse_time_of_day("08:00"), Ok(time!(08:00)));
    assert_eq!(parse_time_of_day("23:59"), Ok(time!(23:59)));
    for text in ["8:00", "08:0", "08:60", "24:00", "0800", "08:00:00", "", "ab:cd"] {
        assert!(parse_time_of_day(text).is_err(), "{text:?}");
    }
}

#[test]
fn addresses_are_checked_for_structure() {
    for address in ["a@b.vn", "van.thu+nhac@so-khcn.bacgiang.gov.vn"] {
        assert_eq!(check_email_address(address), Ok(()), "{address}");
    }
    for address in ["", "a", "@b.vn", "a@", "a@b", "a@@b.vn", "a@b..vn", "a b@c.vn", "<a@b.vn>"] {
        assert!(check_email_address(address).is_err(), "{address:?}");
    }
    assert_eq!(check_mailbox("taskledger <noreply@example.gov.vn>"), Ok(()));
    assert_eq!(check_mailbox("noreply@example.gov.vn"), Ok(()));
}

proptest! {
    #[test]
    fn durations_round_trip(seconds in 1u64..=3650 * 86_400) {
        let duration = Duration::from_secs(seconds);
        prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
    }

    #[test]
    fn times_of_day_round_trip(hour in 0u8..24, minute in 0u8..60) {
        let time_of_day = Time::from_hms(hour, minute, 0).unwrap();
        prop_assert_eq!(parse_time_of_day(&format_time_of_day(time_of_day)), Ok(time_of_day));
    }

    #[test]
    fn value_parsers_never_panic(text in "\\PC{0,24}") {
        let _ = parse_duration(&text);
        let _ = parse_time_of_day(&text);
        let _ = check_email_address(&text);
        let _ = check_mailbox(&text);
        let _ = check_webhook_url(&text);
        let _ = decode_webhook_secret(&text);
    }

    #[test]
    fn the_config_parser_never_panics_and_errors_name_a_line_in_the_text(text in "[\\[\\]a-z_.=\"0-9 \n{},]{0,120}") {
        if let Err(ConfigError::Invalid { line: Some(line), .. }) = parse(&text) {
            prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
        }
    }
}
