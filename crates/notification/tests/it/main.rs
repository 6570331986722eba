//! Integration tests of the sending side against real servers: the email channel against the crate's own SMTP
//! server, the webhook channel against its own webhook server (both from `notification::testing`, on
//! 127.0.0.1), and the NATS channel against the real NATS server with JetStream at `nats://127.0.0.1:4222` (or
//! `TASKLEDGER_TEST_NATS_URL`). `fixtures` builds the deliveries they send.

mod catch_up;
mod channels;
mod failures;
mod feed;
mod fixtures;
mod migration;
mod nats_service;
mod quiet;
mod readiness;
mod report_requests;
mod support;
mod world;
mod year;
