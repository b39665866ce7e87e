//! The sans-IO protocol engine: ONC-RPC v2 over TCP record marking and over UDP datagrams, XDR,
//! MOUNT v3, NFSv3, portmap v2 and rpcbind v3/v4, NLM v4 and NSM. Bytes in, decoded calls out;
//! typed replies in, bytes out. No sockets, no clocks, no executor.
pub mod auth;
pub mod client;
pub mod connection;
pub mod datagram;
pub mod mount;
pub mod nfs3;
pub mod nlm4;
pub mod nsm;
pub mod outbound;
pub mod portmap;
pub mod record;
pub mod rpc;
pub mod rpcbind;
pub mod xdr;
