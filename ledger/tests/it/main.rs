//! The integration tests of `lianlog-ledger`, one binary with a module per area (one link step
//! instead of one per file).

mod archive;
mod authorization;
mod collective;
mod common;
mod corpus;
mod domain_separation;
mod group;
mod interrupted;
mod kinds;
mod limits;
mod privacy;
mod progress;
mod records;
mod records_doc;
mod staging;
mod submissions;
mod tidy;
mod vectors;
