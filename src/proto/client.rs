//! The client side of an ONC-RPC-over-TCP connection (sans-IO), for the load generator, tools and
//! tests that drive a [`ClientConnection`] against a
//! [`ServerConnection`](super::connection::ServerConnection) in memory.
//!
//! Xids are assigned by the connection. Replies whose xid is not outstanding are dropped and
//! counted; a message that is not a well-formed reply closes the connection.

use std::collections::{HashSet, VecDeque};

use bytes::Bytes;

use super::auth::Credential;
use super::connection::ConnectionError;
use super::record::{RecordDecoder, RecordError, RecordWriter};
use super::rpc::{self, ReplyMsg};
use super::xdr::XdrEncode;

/// Client connection settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// Largest reply record accepted (fragment headers excluded).
    pub max_record_size: usize,
    /// Xid of the first call; later calls count up (wrapping).
    pub first_xid: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            max_record_size: 4 << 20,
            first_xid: 1,
        }
    }
}

/// Counters of the client connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub calls: u64,
    pub replies: u64,
    /// Replies whose xid was not outstanding (duplicates, or not ours).
    pub unexpected_replies: u64,
}

/// One client connection.
#[derive(Debug)]
pub struct ClientConnection {
    decoder: RecordDecoder,
    writer: RecordWriter,
    next_xid: u32,
    outstanding: HashSet<u32>,
    replies: VecDeque<ReplyMsg>,
    /// Reused list of records completed by one `handle_input`.
    scratch: Vec<Bytes>,
    failed: Option<ConnectionError>,
    stats: ClientStats,
}

impl ClientConnection {
    pub fn new(config: ClientConfig) -> Self {
        Self {
            decoder: RecordDecoder::new(config.max_record_size),
            writer: RecordWriter::new(),
            next_xid: config.first_xid,
            outstanding: HashSet::new(),
            replies: VecDeque::new(),
            scratch: Vec::new(),
            failed: None,
            stats: ClientStats::default(),
        }
    }

    /// Queues a call and returns its xid. Payloads the arguments add with
    /// `XdrSink::put_payload` (WRITE data) are not copied. Fails only for a message over 2 GiB.
    pub fn send_call(
        &mut self,
        prog: u32,
        vers: u32,
        procedure: u32,
        cred: &Credential,
        args: &dyn XdrEncode,
    ) -> Result<u32, RecordError> {
        let xid = self.next_xid;
        self.writer.write_record(|sink| {
            rpc::encode_call_header(sink, xid, prog, vers, procedure, cred);
            args.encode(sink);
        })?;
        self.next_xid = self.next_xid.wrapping_add(1);
        self.outstanding.insert(xid);
        self.stats.calls += 1;
        Ok(xid)
    }

    /// Feeds bytes read from the socket. An error means close the connection.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<(), ConnectionError> {
        let mut records = std::mem::take(&mut self.scratch);
        let framed = self.decoder.decode(input, |r| records.push(r));
        self.accept_records(records, framed)
    }

    /// Like [`ClientConnection::handle_input`], without copying whole records found in `input`.
    pub fn handle_input_bytes(&mut self, input: Bytes) -> Result<(), ConnectionError> {
        let mut records = std::mem::take(&mut self.scratch);
        let framed = self.decoder.decode_bytes(input, |r| records.push(r));
        self.accept_records(records, framed)
    }

    fn accept_records(
        &mut self,
        mut records: Vec<Bytes>,
        framed: Result<(), RecordError>,
    ) -> Result<(), ConnectionError> {
        let result = self.accept_drained(&mut records, framed);
        records.clear();
        self.scratch = records;
        result
    }

    fn accept_drained(
        &mut self,
        records: &mut Vec<Bytes>,
        framed: Result<(), RecordError>,
    ) -> Result<(), ConnectionError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        for record in records.drain(..) {
            match rpc::decode_reply(&record) {
                Ok(reply) => {
                    if self.outstanding.remove(&reply.xid) {
                        self.stats.replies += 1;
                        self.replies.push_back(reply);
                    } else {
                        self.stats.unexpected_replies += 1;
                    }
                }
                Err(err) => {
                    let err = ConnectionError::from(err);
                    self.failed = Some(err.clone());
                    return Err(err);
                }
            }
        }
        framed.map_err(ConnectionError::from)
    }

    /// The next reply received, in arrival order.
    pub fn poll_reply(&mut self) -> Option<ReplyMsg> {
        self.replies.pop_front()
    }

    /// The next piece of output to write.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.writer.poll()
    }

    /// Moves up to `max_segments` pieces of output into `out`; returns their total length.
    pub fn poll_transmit_vectored(&mut self, out: &mut Vec<Bytes>, max_segments: usize) -> usize {
        self.writer.poll_vectored(out, max_segments)
    }

    pub fn wants_write(&self) -> bool {
        self.writer.has_pending()
    }

    pub fn pending_output_bytes(&self) -> usize {
        self.writer.pending_bytes()
    }

    /// Calls sent and not yet answered.
    pub fn calls_in_flight(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether a reply to `xid` is still awaited.
    pub fn is_outstanding(&self, xid: u32) -> bool {
        self.outstanding.contains(&xid)
    }

    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }
}
