//! The sans-IO protocol engine: ONC-RPC v2 over TCP record marking, XDR, MOUNT v3, NFSv3 and
//! portmap v2. Bytes in, decoded calls out; typed replies in, bytes out. No sockets, no clocks,
//! no executor.
pub mod auth;
pub mod client;
pub mod connection;
pub mod mount;
pub mod nfs3;
pub mod portmap;
pub mod record;
pub mod rpc;
pub mod xdr;
