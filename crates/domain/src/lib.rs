//! The taskledger domain: plans, tasks and indicators, their commands and events, and the value types they are
//! made of. Pure: no I/O, no clock, no async. Time and ids are passed in by the caller.

pub mod access;
pub mod actor;
pub mod appendix;
pub mod deadline;
pub mod document_ref;
pub mod error;
pub mod ids;
pub mod measure;
pub mod numbering;
pub mod oversight;
pub mod plan;
pub mod reminder;
pub mod report_request;
pub mod status;
pub mod task;
pub mod text;
pub mod unit_code;
