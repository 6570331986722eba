//! HTTP tests of the command service: the router called in-process over a real SQLite file or a fresh
//! PostgreSQL database.

mod support;

mod audit;
mod commands;
mod demo;
mod errors;
mod reads;
mod reminders;
