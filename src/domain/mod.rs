//! Validated domain types: enumerations of the ODCS wire format (`codes.rs`) and the POST
//! validation pipeline of contract §1.6.2 (`validate.rs`, one step per stage, on the readers of
//! `values.rs`), which turns a JSON body into a [`ComposeRequest`].
//! Nothing here touches HTTP or the database.

mod codes;
mod validate;
mod values;

pub use codes::{
    Flag, MultilibMethod, ResultKind, SourceType, State, flag_names, result_names, state_name,
};
pub use validate::{ComposeRequest, allowed_repo_dir, parse_compose_request};
pub use values::{
    ALLOWED_PUNCTUATION, ValidationError, dedup_join, effective_seconds_to_live, is_falsy, limits,
    requested_seconds_to_live, show, string_list, ttl_bounds, validate_generic,
};
