//! The notification service's configuration: the rule file (TOML) that says which reminders to send, when, through
//! which channels and to whom, with the connection settings of the channels.
//!
//! Every key has a default, so the service runs with no file at all ([`NotificationConfig::default`]), sending
//! deadline, overdue and quarterly-or-longer report reminders to the in-app feed. A file only says what differs;
//! `config/notification.example.toml` shows and explains every key. Parsing is strict: an unknown key, a malformed
//! value or a reference to something undefined is an error that names the line and the field
//! (``notification.toml:12: field `rules.deadline.send_at`: expected a time of day as HH:MM …``), so that a typo is
//! found when the service starts and not when a reminder fails to go out.
//!
//! Times of day are Vietnam's civil time (`calendar.rs`); "working days" are those of the holiday calendar, to which
//! `holidays` adds operators' files. Values are parsed into their types while deserialising (`rules/values.rs`), so
//! a [`NotificationConfig`] obtained from [`NotificationConfig::parse`] holds only valid values.
//!
//! Defaults, and why:
//! - deadline reminders 14, 7, 3 and 1 working days before and on the day, at 08:00: the cadence of a department's
//!   weekly meeting, then the last days;
//! - overdue reminders on the first working day after the deadline, then every 7 days, from the 2nd one also to
//!   the unit's approver, never stopping (a task stays overdue until it is done or extended);
//! - report reminders 3 and 1 working days before the cut-offs of quarters, half-years and years, and of ad-hoc
//!   report requests. Monthly cut-offs are off by default: few plans ask for monthly reports, and every quarter's
//!   cut-off is also a month's, so monthly reminders would mostly repeat;
//! - catch-up, for a reminder whose time passed while the service was down: deadline and report reminders are
//!   skipped when more than 3 days late (long enough to cover a weekend's outage; later ones are superseded by the
//!   next reminder or by the overdue ones), overdue reminders are sent late since they stay true;
//! - delivery within 08:00–17:00 on working days, except critical messages (escalations);
//! - a claim lease of 60 s for an occurrence being sent; no digest; Vietnamese;
//! - a reminder is late (its catch-up policy applies) when found due more than 15 minutes after its time: several
//!   poll intervals and a full round of a busy replica, well under a working hour;
//! - a webhook endpoint is disabled after 5 failures in a row (one delivery's whole retry ladder would take two
//!   days; 5 failures across deliveries is an endpoint that is down, not a message it refuses);
//! - an idle dispatcher looks for due deliveries every 200 ms, so a reminder goes out well within a second.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::unit_code::UnitCode;
use serde::Deserialize;
use time::macros::time;
use time::Time;
use toml::Spanned;

use crate::calendar::{CalendarError, HolidayCalendar, WorkingHours};
use crate::channel::{ChannelKind, Language};
use crate::periods::PeriodKind;

mod values;

pub use values::{
    check_email_address, check_mailbox, check_subject_prefix, check_webhook_url, decode_webhook_secret,
    format_duration, format_time_of_day, parse_duration, parse_time_of_day, WEBHOOK_SECRET_PREFIX,
};

/// The default NATS subject prefix of notifications.
pub const DEFAULT_SUBJECT_PREFIX: &str = "taskledger.notifications";

/// The whole configuration of the notification service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationConfig {
    pub rules: RuleSet,
    pub directory: Directory,
    /// `None`: no email is sent.
    pub smtp: Option<SmtpSettings>,
    pub webhooks: Vec<WebhookEndpointSettings>,
    /// `None`: nothing is published on NATS.
    pub nats: Option<NatsSettings>,
    /// Holiday calendar files added to the shipped one, in order (a later file wins where two disagree). Relative
    /// paths are relative to the configuration file when it is read by [`NotificationConfig::load_file`].
    pub holidays: Vec<PathBuf>,
}

/// What to send and when.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleSet {
    pub deadline: DeadlineRule,
    pub overdue: OverdueRule,
    pub reports: ReportRule,
    /// The window in which messages are delivered; outside it are the quiet hours, when only critical messages go
    /// out. TOML: `[rules.quiet_hours] start = "08:00"  end = "17:00"`, the start of the window before its end.
    #[serde(deserialize_with = "working_hours")]
    pub quiet_hours: WorkingHours,
    /// The language of messages to recipients who do not choose one.
    pub language: Language,
    pub digest: DigestRule,
    /// How long a replica holds its claim on an occurrence being sent before another may take it over.
    #[serde(deserialize_with = "values::duration")]
    pub lease: Duration,
    /// The waits between attempts of a failed delivery; the delivery is given up after the last one (so there are
    /// `len() + 1` attempts). `None`: the dispatcher's own ladder.
    #[serde(deserialize_with = "values::optional_duration_list")]
    pub retry_ladder: Option<Vec<Duration>>,
    /// A reminder found due later than this after its time is late: its rule's catch-up policy applies.
    #[serde(deserialize_with = "values::duration")]
    pub late_after: Duration,
    /// A webhook endpoint failing this many deliveries in a row is disabled until an operator enables it.
    #[serde(deserialize_with = "values::positive_u32")]
    pub disable_endpoint_after: u32,
    /// How often an idle dispatcher looks for due deliveries: the most a reminder waits after falling due.
    #[serde(deserialize_with = "values::duration")]
    pub poll_interval: Duration,
}

/// Reminders before a task's deadline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadlineRule {
    pub enabled: bool,
    /// How many working days before the deadline a reminder goes out: at least 1, no repeats, kept in decreasing
    /// order.
    #[serde(deserialize_with = "values::working_day_counts_before_the_day")]
    pub before_working_days: Vec<u32>,
    /// Also a reminder on the day the deadline falls due (or the last working day before it).
    pub on_the_day: bool,
    #[serde(deserialize_with = "values::time_of_day")]
    pub send_at: Time,
    pub catch_up: CatchUp,
    #[serde(deserialize_with = "values::channels")]
    pub channels: Vec<ChannelKind>,
}

/// Reminders after a deadline passed without the task being done.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverdueRule {
    pub enabled: bool,
    /// The first overdue reminder goes out this many working days after the day the deadline fell due.
    #[serde(deserialize_with = "values::positive_u32")]
    pub first_after_working_days: u32,
    /// Then one every this many calendar days.
    #[serde(deserialize_with = "values::positive_u32")]
    pub repeat_every_days: u32,
    /// The n-th overdue reminder and every later one also go to the unit's approver (1: from the first).
    #[serde(deserialize_with = "values::positive_u32")]
    pub escalate_from_reminder: u32,
    /// Escalations are critical: they may be delivered in quiet hours.
    pub escalation_critical: bool,
    /// No overdue reminder after this many days overdue; `None`: until the task is done, cancelled or extended.
    #[serde(deserialize_with = "values::optional_positive_u32")]
    pub stop_after_days: Option<u32>,
    #[serde(deserialize_with = "values::time_of_day")]
    pub send_at: Time,
    pub catch_up: CatchUp,
    #[serde(deserialize_with = "values::channels")]
    pub channels: Vec<ChannelKind>,
}

/// Reminders before the cut-off of a report: periodic (Nghị định 09/2019, see `periods.rs`) or requested ad hoc.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportRule {
    pub enabled: bool,
    /// The periods whose cut-offs are reminded of, no repeats.
    #[serde(deserialize_with = "values::distinct")]
    pub periodic: Vec<PeriodKind>,
    /// How many working days before the cut-off a reminder goes out (0: on the cut-off day), no repeats, kept in
    /// decreasing order.
    #[serde(deserialize_with = "values::working_day_counts")]
    pub before_working_days: Vec<u32>,
    /// Also remind of the cut-offs of ad-hoc report requests.
    pub ad_hoc: bool,
    #[serde(deserialize_with = "values::time_of_day")]
    pub send_at: Time,
    pub catch_up: CatchUp,
    #[serde(deserialize_with = "values::channels")]
    pub channels: Vec<ChannelKind>,
}

/// A daily summary of what is due, instead of separate messages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DigestRule {
    pub enabled: bool,
    #[serde(deserialize_with = "values::time_of_day")]
    pub send_at: Time,
}

/// What to do with a reminder whose time passed while the service could not send it.
///
/// TOML: `catch_up = "send_late"`, `catch_up = { skip_older_than = "3d" }` or `catch_up = "digest"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Send it, marked late.
    SendLate,
    /// Send it, marked late, unless it is more than this late; then drop it.
    SkipOlderThan(Duration),
    /// Fold it into the recipient's next digest.
    Digest,
}

/// Who receives what, per unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// By unit code, normalised as the domain's `UnitCode` (uppercase).
    pub units: BTreeMap<String, UnitContacts>,
}

/// How a unit is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitContacts {
    /// The unit's name in messages: "Sở Khoa học và Công nghệ".
    pub name: String,
    /// Structurally valid addresses, no repeats.
    pub emails: Vec<String>,
    /// Who approves the unit's reports; escalated overdue reminders go to them too.
    pub approver: Option<Contact>,
    /// Names of endpoints in the configuration's `webhooks`, each defined there.
    pub webhooks: Vec<String>,
    /// Publish the unit's notifications on NATS (when NATS is configured).
    pub nats: bool,
    /// The language of the unit's messages; `None`: the rules' language.
    pub language: Option<Language>,
}

/// A person to notify.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The user id, as in tokens: their in-app feed.
    #[serde(deserialize_with = "values::non_empty_text")]
    pub id: String,
    #[serde(deserialize_with = "values::non_empty_text")]
    pub name: String,
    #[serde(default, deserialize_with = "values::optional_email_address")]
    pub email: Option<String>,
}

/// The SMTP relay that email goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    /// Default: 587 with STARTTLS, 465 with TLS, 25 without.
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The `From` mailbox: "taskledger <noreply@example.gov.vn>".
    pub from: String,
    /// How long to wait for the relay before giving up on an attempt (default 30 s).
    pub timeout: Duration,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same host or network.
    None,
    /// Upgrade with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// A webhook endpoint: where to POST, and the key to sign with (Standard Webhooks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointSettings {
    /// Unique among the endpoints; units refer to it.
    pub name: String,
    /// An http:// or https:// URL.
    pub url: String,
    /// `whsec_` and the base64 of a 24- to 64-byte key; [`WebhookEndpointSettings::signing_key`] decodes it.
    pub secret: Secret,
    /// The units whose notifications go to this endpoint (normalised unit codes); empty: every unit's.
    pub units: Vec<String>,
    /// How long to wait for an answer (default 10 s).
    pub timeout: Duration,
}

/// Publishing notifications on NATS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSettings {
    /// The prefix of the subjects notifications are published on: dot-separated tokens, without wildcards.
    #[serde(deserialize_with = "values::subject_prefix")]
    pub subject_prefix: String,
}

/// A secret (a password, a signing key) that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// Why a configuration could not be read or is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the notification configuration: {reason}")]
    Read { path: String, reason: String },
    /// Displayed as "source:LINE: field `x.y`: rule", without the parts that are unknown.
    #[error("{source_name}{}: {rule}", location(.line, .field))]
    Invalid { source_name: String, line: Option<usize>, field: Option<String>, rule: String },
}

impl NotificationConfig {
    /// Parses a rule file; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<NotificationConfig, ConfigError> {
        let invalid_at =
            |span: Option<std::ops::Range<usize>>, field: Option<String>, rule: String| ConfigError::Invalid {
                source_name: source.to_owned(),
                line: span.map(|span| line_of_offset(text, span.start)),
                field,
                rule,
            };
        let deserializer = toml::de::Deserializer::parse(text)
            .map_err(|error| invalid_at(error.span(), None, error.message().to_owned()))?;
        let raw: RawNotificationConfig = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let field = field_of_error(&error.path().to_string(), error.inner().message());
            invalid_at(error.inner().span(), field, error.inner().message().to_owned())
        })?;
        raw.into_config()
            .map_err(|problem| invalid_at(SpanIndex::span_of(text, &problem.place), Some(problem.field), problem.rule))
    }

    /// Reads and parses a rule file; errors name it by its path. Relative `holidays` paths are resolved against the
    /// file's folder.
    pub fn load_file(path: &Path) -> Result<NotificationConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigError::Read { path: path.display().to_string(), reason: error.to_string() })?;
        let mut config = NotificationConfig::parse(&text, &path.display().to_string())?;
        let folder = path.parent().unwrap_or(Path::new(""));
        for holiday_file in &mut config.holidays {
            if holiday_file.is_relative() {
                *holiday_file = folder.join(&*holiday_file);
            }
        }
        Ok(config)
    }

    /// The shipped holiday calendar extended with the `holidays` files, in order.
    pub fn calendar(&self) -> Result<HolidayCalendar, CalendarError> {
        let mut calendar = HolidayCalendar::shipped();
        for holiday_file in &self.holidays {
            calendar.extend(HolidayCalendar::load_file(holiday_file)?);
        }
        Ok(calendar)
    }

    /// The webhook endpoint of that name.
    pub fn webhook(&self, name: &str) -> Option<&WebhookEndpointSettings> {
        self.webhooks.iter().find(|endpoint| endpoint.name == name)
    }
}

impl Default for NotificationConfig {
    /// The rules' defaults, no directory, no channel but the in-app feed configured, the shipped calendar alone.
    fn default() -> NotificationConfig {
        NotificationConfig {
            rules: RuleSet::default(),
            directory: Directory::default(),
            smtp: None,
            webhooks: Vec::new(),
            nats: None,
            holidays: Vec::new(),
        }
    }
}

impl Default for RuleSet {
    fn default() -> RuleSet {
        RuleSet {
            deadline: DeadlineRule::default(),
            overdue: OverdueRule::default(),
            reports: ReportRule::default(),
            quiet_hours: WorkingHours::default(),
            language: Language::Vi,
            digest: DigestRule::default(),
            lease: Duration::from_secs(60),
            retry_ladder: None,
            late_after: Duration::from_secs(15 * 60),
            disable_endpoint_after: 5,
            poll_interval: Duration::from_millis(200),
        }
    }
}

impl Default for DeadlineRule {
    fn default() -> DeadlineRule {
        DeadlineRule {
            enabled: true,
            before_working_days: vec![14, 7, 3, 1],
            on_the_day: true,
            send_at: time!(08:00),
            catch_up: CatchUp::SkipOlderThan(DEFAULT_CATCH_UP_WINDOW),
            channels: all_channels(),
        }
    }
}

impl Default for OverdueRule {
    fn default() -> OverdueRule {
        OverdueRule {
            enabled: true,
            first_after_working_days: 1,
            repeat_every_days: 7,
            escalate_from_reminder: 2,
            escalation_critical: true,
            stop_after_days: None,
            send_at: time!(08:00),
            catch_up: CatchUp::SendLate,
            channels: all_channels(),
        }
    }
}

impl Default for ReportRule {
    fn default() -> ReportRule {
        ReportRule {
            enabled: true,
            periodic: vec![PeriodKind::Quarter, PeriodKind::HalfYear, PeriodKind::Year],
            before_working_days: vec![3, 1],
            ad_hoc: true,
            send_at: time!(08:00),
            catch_up: CatchUp::SkipOlderThan(DEFAULT_CATCH_UP_WINDOW),
            channels: all_channels(),
        }
    }
}

impl Default for DigestRule {
    fn default() -> DigestRule {
        DigestRule { enabled: false, send_at: time!(07:30) }
    }
}

impl Default for CatchUp {
    /// Skip what is more than 3 days late.
    fn default() -> CatchUp {
        CatchUp::SkipOlderThan(DEFAULT_CATCH_UP_WINDOW)
    }
}

impl Default for NatsSettings {
    fn default() -> NatsSettings {
        NatsSettings { subject_prefix: DEFAULT_SUBJECT_PREFIX.to_owned() }
    }
}

impl SmtpTls {
    /// The port usually used with this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

impl WebhookEndpointSettings {
    /// The key that signs requests: the secret's base64 decoded. Never fails on a value from the parser.
    pub fn signing_key(&self) -> Result<Vec<u8>, String> {
        decode_webhook_secret(self.secret.expose())
    }

    /// Whether this endpoint receives the notifications of `unit_code` (a normalised unit code).
    pub fn serves_unit(&self, unit_code: &str) -> bool {
        self.units.is_empty() || self.units.iter().any(|unit| unit == unit_code)
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, to hand to the protocol that needs it; never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(***)")
    }
}

/// The catch-up window of deadline and report reminders: 3 days, to cover an outage over a weekend.
const DEFAULT_CATCH_UP_WINDOW: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// The default timeout of an SMTP attempt.
const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The default timeout of a webhook attempt.
const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

fn all_channels() -> Vec<ChannelKind> {
    vec![ChannelKind::Email, ChannelKind::Webhook, ChannelKind::Nats, ChannelKind::Feed]
}

// ---- the file as written, before the checks that span several sections ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotificationConfig {
    #[serde(default)]
    rules: RuleSet,
    #[serde(default)]
    directory: RawDirectory,
    smtp: Option<RawSmtpSettings>,
    #[serde(default)]
    webhooks: Vec<RawWebhookEndpoint>,
    nats: Option<NatsSettings>,
    #[serde(default)]
    holidays: Vec<PathBuf>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    #[serde(default)]
    units: BTreeMap<String, RawUnitContacts>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnitContacts {
    #[serde(deserialize_with = "values::non_empty_text")]
    name: String,
    #[serde(default, deserialize_with = "values::email_addresses")]
    emails: Vec<String>,
    approver: Option<Contact>,
    #[serde(default)]
    webhooks: Vec<String>,
    #[serde(default)]
    nats: bool,
    language: Option<Language>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtpSettings {
    #[serde(deserialize_with = "values::non_empty_text")]
    host: String,
    port: Option<u16>,
    #[serde(default)]
    tls: SmtpTls,
    #[serde(default, deserialize_with = "values::optional_non_empty_text")]
    username: Option<String>,
    #[serde(default, deserialize_with = "values::optional_secret")]
    password: Option<Secret>,
    #[serde(deserialize_with = "values::mailbox")]
    from: String,
    #[serde(default = "default_smtp_timeout", deserialize_with = "values::duration")]
    timeout: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhookEndpoint {
    name: String,
    #[serde(deserialize_with = "values::webhook_url")]
    url: String,
    #[serde(deserialize_with = "values::webhook_secret")]
    secret: Secret,
    #[serde(default, deserialize_with = "values::unit_codes")]
    units: Vec<String>,
    #[serde(default = "default_webhook_timeout", deserialize_with = "values::duration")]
    timeout: Duration,
}

/// A rule broken across sections, found after deserialisation.
struct Problem {
    place: Place,
    field: String,
    rule: String,
}

/// Where a [`Problem`] is in the file, found by [`SpanIndex`] only when there is a problem to report.
enum Place {
    UnitCode { written_code: String },
    UnitWebhookReference { written_code: String, index: usize },
    WebhookName { index: usize },
}

/// The spans of the values that the checks across sections look at. A second, lenient reading of a file that
/// the first reading accepted: serde's path of a field is lost under a spanned map key, so the first reading has
/// plain keys and this one has the spans.
#[derive(Default, Deserialize)]
struct SpanIndex {
    #[serde(default)]
    directory: DirectorySpans,
    #[serde(default)]
    webhooks: Vec<WebhookSpans>,
}

#[derive(Default, Deserialize)]
struct DirectorySpans {
    #[serde(default)]
    units: BTreeMap<Spanned<String>, UnitSpans>,
}

#[derive(Deserialize)]
struct UnitSpans {
    #[serde(default)]
    webhooks: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
struct WebhookSpans {
    name: Option<Spanned<String>>,
}

impl SpanIndex {
    fn span_of(text: &str, place: &Place) -> Option<std::ops::Range<usize>> {
        let index: SpanIndex = toml::from_str(text).ok()?;
        let unit = |written_code: &str| {
            index
                .directory
                .units
                .iter()
                .find(|(code, _)| code.get_ref() == written_code)
                .map(|(code, unit)| (code.span(), unit))
        };
        match place {
            Place::UnitCode { written_code } => unit(written_code).map(|(span, _)| span),
            Place::UnitWebhookReference { written_code, index } => {
                unit(written_code).and_then(|(_, unit)| unit.webhooks.get(*index)).map(Spanned::span)
            }
            Place::WebhookName { index: webhook_index } => {
                index.webhooks.get(*webhook_index).and_then(|webhook| webhook.name.as_ref()).map(Spanned::span)
            }
        }
    }
}

impl RawNotificationConfig {
    fn into_config(self) -> Result<NotificationConfig, Problem> {
        let webhooks = convert_webhooks(self.webhooks)?;
        let directory = convert_directory(self.directory, &webhooks)?;
        let smtp = self.smtp.map(|raw| SmtpSettings {
            host: raw.host,
            port: raw.port.unwrap_or(raw.tls.default_port()),
            tls: raw.tls,
            username: raw.username,
            password: raw.password,
            from: raw.from,
            timeout: raw.timeout,
        });
        Ok(NotificationConfig {
            rules: self.rules,
            directory,
            smtp,
            webhooks,
            nats: self.nats,
            holidays: self.holidays,
        })
    }
}

fn convert_webhooks(raw_webhooks: Vec<RawWebhookEndpoint>) -> Result<Vec<WebhookEndpointSettings>, Problem> {
    let mut webhooks: Vec<WebhookEndpointSettings> = Vec::with_capacity(raw_webhooks.len());
    for (index, raw) in raw_webhooks.into_iter().enumerate() {
        let name = raw.name;
        let problem = |rule: String| Problem {
            place: Place::WebhookName { index },
            field: format!("webhooks[{index}].name"),
            rule,
        };
        if name.trim().is_empty() || name.trim() != name {
            return Err(problem("must not be empty nor start or end with spaces".to_owned()));
        }
        if webhooks.iter().any(|endpoint| endpoint.name == name) {
            return Err(problem(format!("a webhook endpoint named {name:?} is already defined")));
        }
        webhooks.push(WebhookEndpointSettings {
            name,
            url: raw.url,
            secret: raw.secret,
            units: raw.units,
            timeout: raw.timeout,
        });
    }
    Ok(webhooks)
}

fn convert_directory(raw: RawDirectory, webhooks: &[WebhookEndpointSettings]) -> Result<Directory, Problem> {
    let mut units = BTreeMap::new();
    for (written_code, raw_contacts) in raw.units {
        let field = format!("directory.units.{written_code}");
        let unit_problem = |rule: String| Problem {
            place: Place::UnitCode { written_code: written_code.clone() },
            field: field.clone(),
            rule,
        };
        let code = UnitCode::parse(&written_code).map_err(|error| unit_problem(error.to_string()))?.into_string();
        if units.contains_key(&code) {
            return Err(unit_problem(format!("unit {code} is already defined (unit codes ignore case)")));
        }
        let mut unit_webhooks: Vec<String> = Vec::with_capacity(raw_contacts.webhooks.len());
        for (index, name) in raw_contacts.webhooks.into_iter().enumerate() {
            let reference_problem = |rule: String| Problem {
                place: Place::UnitWebhookReference { written_code: written_code.clone(), index },
                field: format!("{field}.webhooks"),
                rule,
            };
            if webhooks.iter().all(|endpoint| endpoint.name != name) {
                let rule = format!("webhook endpoint {name:?} is not defined: add a [[webhooks]] entry with that name");
                return Err(reference_problem(rule));
            }
            if unit_webhooks.contains(&name) {
                return Err(reference_problem(format!("{name:?} is listed twice")));
            }
            unit_webhooks.push(name);
        }
        let contacts = UnitContacts {
            name: raw_contacts.name,
            emails: raw_contacts.emails,
            approver: raw_contacts.approver,
            webhooks: unit_webhooks,
            nats: raw_contacts.nats,
            language: raw_contacts.language,
        };
        units.insert(code, contacts);
    }
    Ok(Directory { units })
}

fn default_smtp_timeout() -> Duration {
    DEFAULT_SMTP_TIMEOUT
}

fn default_webhook_timeout() -> Duration {
    DEFAULT_WEBHOOK_TIMEOUT
}

/// `[rules.quiet_hours]`: the delivery window, its start before its end.
fn working_hours<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<WorkingHours, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawWorkingHours {
        #[serde(default = "default_start", deserialize_with = "values::time_of_day")]
        start: Time,
        #[serde(default = "default_end", deserialize_with = "values::time_of_day")]
        end: Time,
    }
    fn default_start() -> Time {
        WorkingHours::DEFAULT.start
    }
    fn default_end() -> Time {
        WorkingHours::DEFAULT.end
    }
    let raw = RawWorkingHours::deserialize(deserializer)?;
    WorkingHours::new(raw.start, raw.end).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "start {} must be before end {}: these are the hours messages are delivered in",
            format_time_of_day(raw.start),
            format_time_of_day(raw.end)
        ))
    })
}

/// The line (from 1) that a byte offset of `text` is on.
fn line_of_offset(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|byte| **byte == b'\n').count() + 1
}

/// The field an error is about: the path serde followed, completed with the name of a missing field. `None` at the
/// top of the file.
fn field_of_error(path: &str, message: &str) -> Option<String> {
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    let path = (path != ".").then_some(path);
    match (path, missing) {
        (Some(path), Some(missing)) => Some(format!("{path}.{missing}")),
        (None, Some(missing)) => Some(missing.to_owned()),
        (path, None) => path.map(str::to_owned),
    }
}

fn location(line: &Option<usize>, field: &Option<String>) -> String {
    let line_part = line.as_ref().map(|line| format!(":{line}")).unwrap_or_default();
    let field_part = field.as_ref().map(|field| format!(": field `{field}`")).unwrap_or_default();
    format!("{line_part}{field_part}")
}

#[cfg(test)]
mod tests;
