//! End-to-end tests of the `taskledger` binary: real processes, real stores, killed with SIGKILL.

mod support;

mod cli;
mod cluster;
mod crash;
mod notify;
