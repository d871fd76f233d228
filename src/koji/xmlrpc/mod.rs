//! XML-RPC as Koji speaks it: `<i8>` and `<nil/>` extensions, untyped `<value>` = string,
//! faults inside HTTP 200, keyword arguments as a final struct with `__starstar`.
//! Both directions (client requests/responses and, for the test hub, server side).
//!
//! `value.rs` holds the data model ([`Value`], [`Fault`], [`XmlError`]) and the keyword-argument
//! convention, `encode.rs` writes calls and responses, `decode.rs` is the pull parser that reads
//! them (with the member filter of [`decode_response_from`]). The submodules depend on `value.rs`
//! only (the decoder's tests also on `encode.rs`); this file re-exports the public API.

mod decode;
mod encode;
mod value;

pub use decode::{decode_call, decode_pair_response, decode_response, decode_response_from};
pub use encode::{encode_call, encode_response};
pub use value::{Fault, Value, XmlError, split_kwargs, with_kwargs};
