//! NFS version 3 (RFC 1813): wire types, procedure arguments and results.
//!
//! - [`Nfs3Call::decode`] turns a call's argument body into typed, borrowed arguments;
//!   [`Nfs3Call`] also encodes (client mode).
//! - [`Nfs3Reply`] (and each procedure's `XXX3Res`) encodes into an
//!   [`XdrSink`](crate::proto::xdr::XdrSink), READ data as a zero-copy payload, and decodes
//!   (client mode).
//! - [`ReaddirBuilder`] / [`ReaddirplusBuilder`] fit entries into the client's size limits.

pub mod args;
pub mod consts;
pub mod readdir;
pub mod results;
pub mod types;

pub use crate::proto::xdr::DecodeError;
pub use args::*;
pub use consts::*;
pub use readdir::*;
pub use results::*;
pub use types::*;
