//! composed: an on-demand compose service, wire-compatible with ODCS REST API v1.
//! See ARCHITECTURE.md for the map.

pub mod api;
pub mod app;
pub mod auth;
pub mod bus;
pub mod cleanup;
pub mod compose_diff;
pub mod compose_log;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod iso9660;
pub mod koji;
pub mod layout;
pub mod leader;
pub mod mbs;
pub mod modulemd;
pub mod notify;
pub mod queue;
pub mod reuse;
pub mod schedule;
pub mod ui;
pub mod views;
pub mod web;
pub mod worker;

/// mimalloc for every binary (service, tests, benches): glibc malloc's arena locking showed as
/// ~15% of the API's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
