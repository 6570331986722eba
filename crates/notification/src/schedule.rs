//! Which occurrences a task or a reporting cut-off gives rise to, and who receives each: the rules of the rule file
//! (`rules`) applied on the working-day calendar (`calendar`), to the directory of units. Pure: no I/O, no clock;
//! the caller says from when on occurrences are wanted (`horizon`).
//!
//! Occurrence keys (unique; the store ignores one it already has, so deriving twice changes nothing):
//! - `deadline:<task_id>:<due date>:before-<n>` — `n` working days before the deadline (`on-the-day` on the day,
//!   or the last working day before it when it is not one);
//! - `overdue:<task_id>:<due date>:<k>` — the `k`-th reminder after the deadline passed (`k` from 1), generated
//!   one at a time: the next is derived when one is done with ([`Scheduler::overdue_occurrence`]);
//! - `report:<plan_id>:<cut-off>:<unit>:before-<n>` — a periodic cut-off of Nghị định 09/2019, and
//!   `report:<plan_id>:<cut-off>:<unit>:request-<request_id>:before-<n>` for an ad-hoc report request.
//!
//! A deadline's occurrences and its overdue ones form one series (`task:<task_id>:<due date>`), a cut-off's one
//! unit's another: when several of a series are found due at once (after an outage), only the latest is sent.
//! Since the due date is in every key, a deadline extension leaves the old occurrences behind (the dispatcher
//! records them skipped, `deadline_changed`) and derives new ones.

use std::time::Duration;

use domain::deadline::{format_date_iso, Deadline};
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use crate::calendar::{vietnam_instant, HolidayCalendar};
use crate::channel::{ChannelKind, Language, Recipient};
use crate::channels::nats::notification_subject;
use crate::feed::feed_address;
use crate::rules::{CatchUp, NotificationConfig, UnitContacts};
use crate::store::{Audience, CatchUpPolicy, Occurrence, OccurrenceKind, PlannedDelivery, PlannedOccurrence};

/// The rule names recorded with occurrences.
pub const DEADLINE_RULE: &str = "deadline";
pub const OVERDUE_RULE: &str = "overdue";
pub const REPORT_RULE: &str = "reports";

/// Derives occurrences from the configuration.
#[derive(Debug, Clone)]
pub struct Scheduler {
    config: NotificationConfig,
    calendar: HolidayCalendar,
}

/// What a task's deadline occurrences depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFacts {
    pub task_id: Uuid,
    pub plan_id: Uuid,
    pub lead_unit: String,
    pub deadline: Option<Deadline>,
}

/// A reporting cut-off of a plan, for one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportCutOff {
    pub plan_id: Uuid,
    pub unit: String,
    /// The first day a report counts for (`as_of` from it to `cut_off`).
    pub period_start: Date,
    pub cut_off: Date,
    /// The day reminders count back from: the cut-off of a periodic report, the due day of a requested one.
    pub reminded_before: Date,
    /// "Quý I/2024", "Báo cáo đến 15/04/2024".
    pub period_label: String,
    /// The report request, for an ad-hoc cut-off.
    pub request_id: Option<Uuid>,
}

impl Scheduler {
    pub fn new(config: NotificationConfig, calendar: HolidayCalendar) -> Scheduler {
        Scheduler { config, calendar }
    }

    pub fn config(&self) -> &NotificationConfig {
        &self.config
    }

    pub fn calendar(&self) -> &HolidayCalendar {
        &self.calendar
    }

    /// The deadline reminders of a task due at or after `horizon`, and the first overdue reminder due at or after
    /// it. Nothing for a task without a deadline.
    pub fn deadline_occurrences(&self, task: &TaskFacts, horizon: OffsetDateTime) -> Vec<PlannedOccurrence> {
        let Some(deadline) = task.deadline else { return Vec::new() };
        let rule = &self.config.rules.deadline;
        let due_date = deadline.due_date();
        let mut occurrences = Vec::new();
        if rule.enabled {
            let mut steps: Vec<(u32, Date)> = rule
                .before_working_days
                .iter()
                .map(|&n_days| (n_days, self.calendar.working_days_before(due_date, n_days)))
                .collect();
            if rule.on_the_day {
                let on_the_day = if self.calendar.is_working_day(due_date) {
                    due_date
                } else {
                    self.calendar.previous_working_day(due_date)
                };
                steps.push((0, on_the_day));
            }
            for (n_days, date) in steps {
                let due_at = vietnam_instant(date, rule.send_at);
                if due_at < horizon {
                    continue;
                }
                let step_name = if n_days == 0 { "on-the-day".to_owned() } else { format!("before-{n_days}") };
                let key = format!("deadline:{}:{}:{step_name}", task.task_id, format_date_iso(due_date));
                let deliveries = self.deliveries(&key, &task.lead_unit, &rule.channels, false);
                occurrences.push(PlannedOccurrence {
                    occurrence: Occurrence {
                        occurrence_key: key,
                        rule: DEADLINE_RULE.to_owned(),
                        kind: OccurrenceKind::Deadline,
                        series: task_series(task.task_id, due_date),
                        step: i64::from(n_days),
                        task_id: Some(task.task_id),
                        plan_id: task.plan_id,
                        unit: task.lead_unit.clone(),
                        deadline: Some(deadline.code()),
                        cut_off: None,
                        period_start: None,
                        period: None,
                        due_at,
                        critical: false,
                        catch_up: policy(rule.catch_up),
                    },
                    deliveries,
                });
            }
        }
        if let Some(first_overdue) = self.first_overdue_at_or_after(task, horizon) {
            occurrences.push(first_overdue);
        }
        occurrences
    }

    /// The first overdue reminder due at or after `horizon`: the first of the series, or for a task reopened (or
    /// assigned) after its deadline passed, the next one in the series' cadence.
    pub fn first_overdue_at_or_after(&self, task: &TaskFacts, horizon: OffsetDateTime) -> Option<PlannedOccurrence> {
        let rule = &self.config.rules.overdue;
        if !rule.enabled {
            return None;
        }
        let first = self.overdue_date(task.deadline?, 1);
        let step = if vietnam_instant(first, rule.send_at) >= horizon {
            1
        } else {
            let days_since_first = (horizon.to_offset(domain::deadline::VIETNAM_OFFSET).date() - first).whole_days();
            let repeat = i64::from(rule.repeat_every_days.max(1));
            (days_since_first / repeat + 1).max(1) as u32
        };
        (step..step + 3)
            .find_map(|step| self.overdue_occurrence(task, step).filter(|planned| planned.occurrence.due_at >= horizon))
    }

    /// The `step`-th overdue reminder of a task's deadline (from 1); `None` when the rule is off, the task has no
    /// deadline, or the series stopped (`stop_after_days`).
    pub fn overdue_occurrence(&self, task: &TaskFacts, step: u32) -> Option<PlannedOccurrence> {
        let rule = &self.config.rules.overdue;
        let deadline = task.deadline?;
        if !rule.enabled || step == 0 {
            return None;
        }
        let due_date = deadline.due_date();
        let date = self.overdue_date(deadline, step);
        if let Some(stop_after_days) = rule.stop_after_days {
            if (date - due_date).whole_days() > i64::from(stop_after_days) {
                return None;
            }
        }
        let escalated = step >= rule.escalate_from_reminder;
        let key = format!("overdue:{}:{}:{step}", task.task_id, format_date_iso(due_date));
        let deliveries = self.deliveries(&key, &task.lead_unit, &rule.channels, escalated);
        Some(PlannedOccurrence {
            occurrence: Occurrence {
                occurrence_key: key,
                rule: OVERDUE_RULE.to_owned(),
                kind: OccurrenceKind::Overdue,
                series: task_series(task.task_id, due_date),
                step: i64::from(step),
                task_id: Some(task.task_id),
                plan_id: task.plan_id,
                unit: task.lead_unit.clone(),
                deadline: Some(deadline.code()),
                cut_off: None,
                period_start: None,
                period: None,
                due_at: vietnam_instant(date, rule.send_at),
                critical: escalated && rule.escalation_critical,
                catch_up: policy(rule.catch_up),
            },
            deliveries,
        })
    }

    /// The day of the `step`-th overdue reminder: `first_after_working_days` working days after the due day, then
    /// every `repeat_every_days` days, moved to the next working day when it falls on a day off.
    fn overdue_date(&self, deadline: Deadline, step: u32) -> Date {
        let rule = &self.config.rules.overdue;
        let mut first = deadline.due_date();
        for _ in 0..rule.first_after_working_days.max(1) {
            first = self.calendar.next_working_day(first);
        }
        let date = first + time::Duration::days(i64::from(rule.repeat_every_days) * i64::from(step - 1));
        if self.calendar.is_working_day(date) {
            date
        } else {
            self.calendar.next_working_day(date)
        }
    }

    /// The reminders of a reporting cut-off to one unit due at or after `horizon`.
    pub fn report_occurrences(&self, cut_off: &ReportCutOff, horizon: OffsetDateTime) -> Vec<PlannedOccurrence> {
        let rule = &self.config.rules.reports;
        if !rule.enabled || (cut_off.request_id.is_some() && !rule.ad_hoc) {
            return Vec::new();
        }
        let cut_off_text = format_date_iso(cut_off.cut_off);
        let request_part = cut_off.request_id.map(|id| format!(":request-{id}")).unwrap_or_default();
        let series = format!("report:{}:{cut_off_text}:{}{request_part}", cut_off.plan_id, cut_off.unit);
        rule.before_working_days
            .iter()
            .filter_map(|&n_days| {
                let date = if n_days == 0 {
                    if self.calendar.is_working_day(cut_off.reminded_before) {
                        cut_off.reminded_before
                    } else {
                        self.calendar.previous_working_day(cut_off.reminded_before)
                    }
                } else {
                    self.calendar.working_days_before(cut_off.reminded_before, n_days)
                };
                let due_at = vietnam_instant(date, rule.send_at);
                if due_at < horizon {
                    return None;
                }
                let key = format!("{series}:before-{n_days}");
                let deliveries = self.deliveries(&key, &cut_off.unit, &rule.channels, false);
                Some(PlannedOccurrence {
                    occurrence: Occurrence {
                        occurrence_key: key,
                        rule: REPORT_RULE.to_owned(),
                        kind: OccurrenceKind::Report,
                        series: series.clone(),
                        step: i64::from(n_days),
                        task_id: None,
                        plan_id: cut_off.plan_id,
                        unit: cut_off.unit.clone(),
                        deadline: None,
                        cut_off: Some(cut_off_text.clone()),
                        period_start: Some(format_date_iso(cut_off.period_start)),
                        period: Some(cut_off.period_label.clone()),
                        due_at,
                        critical: false,
                        catch_up: policy(rule.catch_up),
                    },
                    deliveries,
                })
            })
            .collect()
    }

    /// The periodic cut-offs (of the kinds the rules name) whose cut-off falls in `year`, for one unit of a plan.
    pub fn periodic_cut_offs(&self, plan_id: Uuid, unit: &str, year: i32) -> Vec<ReportCutOff> {
        let rule = &self.config.rules.reports;
        if !rule.enabled {
            return Vec::new();
        }
        rule.periodic
            .iter()
            .flat_map(|&kind| crate::periods::periods_of_year(kind, year))
            .map(|period| ReportCutOff {
                plan_id,
                unit: unit.to_owned(),
                period_start: period.starts_on,
                cut_off: period.cut_off,
                reminded_before: period.cut_off,
                period_label: period.label_vi.clone(),
                request_id: None,
            })
            .collect()
    }

    /// Every delivery of an occurrence to a unit (and its approver when `escalated`), one per recipient and
    /// channel that the rule names and the configuration can reach. The unit's feed always is.
    pub fn deliveries(
        &self,
        occurrence_key: &str,
        unit: &str,
        channels: &[ChannelKind],
        escalated: bool,
    ) -> Vec<PlannedDelivery> {
        let contacts = self.config.directory.units.get(unit);
        let language = contacts.and_then(|contacts| contacts.language).unwrap_or(self.config.rules.language);
        let unit_recipient = Recipient {
            id: unit.to_owned(),
            name: contacts.map_or_else(|| unit.to_owned(), |contacts| contacts.name.clone()),
            language,
        };
        let mut deliveries = Vec::new();
        let mut add = |recipient: &Recipient, audience: Audience, channel: ChannelKind, address: String| {
            deliveries.push(PlannedDelivery::new(occurrence_key, recipient.clone(), audience, channel, address));
        };
        for &channel in channels {
            match channel {
                ChannelKind::Feed => add(&unit_recipient, Audience::Unit, channel, feed_address(Audience::Unit, unit)),
                ChannelKind::Email if self.config.smtp.is_some() => {
                    for email in contacts.map(|contacts| contacts.emails.as_slice()).unwrap_or_default() {
                        add(&unit_recipient, Audience::Unit, channel, email.clone());
                    }
                }
                ChannelKind::Webhook => {
                    for endpoint in &self.config.webhooks {
                        if endpoint_serves(endpoint, unit, contacts) {
                            add(&unit_recipient, Audience::Unit, channel, endpoint.name.clone());
                        }
                    }
                }
                ChannelKind::Nats => {
                    if let (Some(nats), Some(true)) = (&self.config.nats, contacts.map(|contacts| contacts.nats)) {
                        add(&unit_recipient, Audience::Unit, channel, notification_subject(&nats.subject_prefix, unit));
                    }
                }
                ChannelKind::Email => {}
            }
        }
        if escalated {
            self.add_approver_deliveries(&mut deliveries, occurrence_key, unit, contacts, channels, language);
        }
        deliveries
    }

    fn add_approver_deliveries(
        &self,
        deliveries: &mut Vec<PlannedDelivery>,
        occurrence_key: &str,
        unit: &str,
        contacts: Option<&UnitContacts>,
        channels: &[ChannelKind],
        language: Language,
    ) {
        let approver = contacts.and_then(|contacts| contacts.approver.as_ref());
        if channels.contains(&ChannelKind::Feed) {
            let (recipient, audience, owner) = match approver {
                Some(approver) => (
                    Recipient { id: approver.id.clone(), name: approver.name.clone(), language },
                    Audience::User,
                    approver.id.clone(),
                ),
                None => (
                    Recipient { id: format!("approvers:{unit}"), name: format!("Lãnh đạo {unit}"), language },
                    Audience::UnitApprovers,
                    unit.to_owned(),
                ),
            };
            let address = feed_address(audience, &owner);
            deliveries.push(PlannedDelivery::new(occurrence_key, recipient, audience, ChannelKind::Feed, address));
        }
        if let Some((approver, email)) =
            approver.and_then(|approver| approver.email.as_ref().map(|email| (approver, email)))
        {
            if channels.contains(&ChannelKind::Email) && self.config.smtp.is_some() {
                let recipient = Recipient { id: approver.id.clone(), name: approver.name.clone(), language };
                deliveries.push(PlannedDelivery::new(
                    occurrence_key,
                    recipient,
                    Audience::User,
                    ChannelKind::Email,
                    email.clone(),
                ));
            }
        }
    }
}

/// The series of a task's deadline: its reminders before and after that deadline.
pub fn task_series(task_id: Uuid, due_date: Date) -> String {
    format!("task:{task_id}:{}", format_date_iso(due_date))
}

/// The instant a reminder goes out on a day.
pub fn send_instant(date: Date, send_at: Time) -> OffsetDateTime {
    vietnam_instant(date, send_at)
}

fn endpoint_serves(
    endpoint: &crate::rules::WebhookEndpointSettings,
    unit: &str,
    contacts: Option<&UnitContacts>,
) -> bool {
    let named_by_unit = contacts.is_some_and(|contacts| contacts.webhooks.iter().any(|name| name == &endpoint.name));
    named_by_unit || endpoint.serves_unit(unit)
}

fn policy(catch_up: CatchUp) -> CatchUpPolicy {
    match catch_up {
        CatchUp::SendLate => CatchUpPolicy::SendLate,
        CatchUp::SkipOlderThan(window) => CatchUpPolicy::SkipOlderThan { seconds: seconds(window) },
        CatchUp::Digest => CatchUpPolicy::Digest,
    }
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
