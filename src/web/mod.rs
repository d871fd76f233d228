//! The HTTP layer's foundations, below both the handlers (`api`) and the identity extractor
//! (`auth`): the error envelope, the shared application state with its database gate, the
//! response cache and small request helpers. Nothing here knows a route.

pub mod cache;
pub mod error;
pub mod input;
pub mod request;
pub mod state;
