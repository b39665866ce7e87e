//! Helpers shared by the integration tests. Each test file is its own crate and takes this
//! module in with `mod common;`, using only some of it, hence `dead_code` is allowed here.

#![allow(dead_code)]

pub mod fs;
pub mod server;
pub mod wire;

use std::future::Future;

use bytes::Bytes;
use glommio::LocalExecutorBuilder;
use slatenfs::proto::client::ClientConnection;
use slatenfs::proto::connection::ServerConnection;
use slatenfs::proto::xdr::{XdrEncode, XdrSink, XdrWrite};

/// Marsaglia's xorshift64 (shifts 13, 7, 17): deterministic, so a failure replays from its
/// seed. A zero seed stays zero.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index into a collection of `len` items.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

/// Runs `f` on a fresh glommio executor thread (io_uring IO needs one) and waits for it.
pub fn run_in_glommio<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    LocalExecutorBuilder::default()
        .spawn(f)
        .expect("spawn executor")
        .join()
        .expect("executor thread");
}

/// `v` as a `'static` slice, for proptest strategies of borrowing protocol types.
pub fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

/// Everything a server connection has to send, in one buffer.
pub fn server_output(conn: &mut ServerConnection) -> Vec<u8> {
    concat(std::iter::from_fn(|| conn.poll_transmit()))
}

/// Everything a client connection has to send, in one buffer.
pub fn client_output(conn: &mut ClientConnection) -> Vec<u8> {
    concat(std::iter::from_fn(|| conn.poll_transmit()))
}

fn concat(segments: impl Iterator<Item = Bytes>) -> Vec<u8> {
    let mut out = Vec::new();
    for b in segments {
        out.extend_from_slice(&b);
    }
    out
}

/// A READ-like result: a status, the length, an `eof` flag, then the data as a zero-copy
/// payload.
pub struct ReadRes {
    pub eof: bool,
    pub data: Bytes,
}

impl XdrEncode for ReadRes {
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(0);
        out.put_xdr_u32(self.data.len() as u32);
        out.put_xdr_bool(self.eof);
        out.put_payload(self.data.clone());
    }
}
