//! The notification service: deadline and reporting reminders, sent once per occurrence across replicas.
//!
//! [`channel`] is the boundary between deciding what to send (rules, the civil calendar, occurrences derived
//! from events, claims and catch-up) and sending it (email, webhooks, NATS, the in-app feed): the dispatcher
//! hands each channel a [`channel::Delivery`] already rendered, and a channel answers whether the far side took
//! it, or why not, as a [`channel::DeliveryError`] that says whether trying again can help.

pub mod calendar;
pub mod channel;
pub mod periods;
pub mod rules;
