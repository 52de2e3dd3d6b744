//! The integration tests of the `lianlog` command, one binary with a module per area (one link
//! step instead of one per file). `common` is the shared fixture.

mod bad_input;
mod batches;
mod bench;
mod browser;
mod common;
mod crash;
mod decisions;
mod docs;
mod faults;
mod independent;
mod json_output;
mod keys;
mod kinds;
mod messages;
mod monitor;
mod openssl_keys;
mod paging;
mod progress;
mod proofs;
mod reads;
mod receipts;
mod serve;
mod snapshot;
mod spreadsheet;
mod tamper;
mod tiles;
mod web;
mod webdriver;
mod witness;
mod witnessed;
