//! The notification service: deadline and reporting reminders, sent once per occurrence across replicas.
//!
//! [`channel`] is the boundary between deciding what to send (rules, the civil calendar, occurrences derived
//! from events, claims and catch-up) and sending it (email, webhooks, NATS, the in-app feed): the dispatcher
//! hands each channel a [`channel::Delivery`] already rendered, and a channel answers whether the far side took
//! it, or why not, as a [`channel::DeliveryError`] that says whether trying again can help.
//!
//! Time and rules: [`calendar`] (working days and hours in Vietnam), [`periods`] (reporting periods of Nghị định
//! 09/2019), [`rules`] (the rule file, every key defaulted, errors naming the line).
//!
//! The deciding side:
//! - [`schedule`]: the occurrences a deadline or a reporting cut-off gives, their keys and their deliveries;
//! - [`model`]: the consumer of plan and task events (a read model of the projection runtime, so exactly once);
//! - [`store`]: the `notify_*` tables — occurrences, deliveries and their claims, the feed, endpoints' health,
//!   dead letters;
//! - [`dispatcher`]: claims due deliveries, re-reads the tasks, decides (skips, catch-up, quiet hours, digests),
//!   sends, records and marks;
//! - [`audit`]: the reminder events on each task's `reminders-<task_id>` stream;
//! - [`feed`]: the in-app channel and `GET /v1/notifications`;
//! - [`service`]: everything assembled from the rule file, run until cancelled;
//! - [`clock`]: the injected business clock (a test clock, and `TASKLEDGER_CLOCK` for a separate process).
//!
//! The sending side: [`message`] renders reminders into the words every channel carries; [`channels`] holds the
//! email, webhook and NATS channels, the JSON they publish and the retry schedule; `testing` (feature `testing`)
//! runs real SMTP and webhook servers on loopback for tests and benchmarks.

pub mod audit;
pub mod calendar;
pub mod channel;
pub mod channels;
pub mod clock;
pub mod dispatcher;
pub mod feed;
pub mod message;
pub mod model;
pub mod periods;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
