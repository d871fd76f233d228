//! API area: the ODCS REST API v1 as a black box (real server on port 0), on SQLite and on
//! PostgreSQL. Numbers in test names refer to behaviours of the contract's §8.

mod support;

mod files;
mod get;
mod hardening;
mod misc;
mod odcs_client;
mod patch_delete;
mod post;
mod property;
mod schemathesis;
