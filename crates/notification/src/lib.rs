//! The notification service: deadline and reporting reminders, sent once per occurrence across replicas.
//!
//! [`channel`] is the boundary between deciding what to send (rules, the civil calendar, occurrences derived
//! from events, claims and catch-up) and sending it (email, webhooks, NATS, the in-app feed): the dispatcher
//! hands each channel a [`channel::Delivery`] already rendered, and a channel answers whether the far side took
//! it, or why not, as a [`channel::DeliveryError`] that says whether trying again can help.
//!
//! Map of the crate:
//! - [`clock`]: the injected business clock (a test clock, and `TASKLEDGER_CLOCK` for a separate process);
//! - [`store`]: the `notify_*` tables — occurrences, deliveries and their claims, the feed, endpoints' health,
//!   dead letters.
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
