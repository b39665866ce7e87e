//! The server side of one ONC-RPC-over-TCP connection, as a sans-IO state machine.
//!
//! ```text
//! bytes ──handle_input──▶ [record decoder] ──▶ records ──poll_call──▶ Call { xid, cred, args }
//!                                                  │ (answered here: NULL, PROG_UNAVAIL, ...)
//!                                                  ▼
//! bytes ◀──poll_transmit── [record writer] ◀──send_reply(xid, ReplyBody)
//! ```
//!
//! The driver loop: feed what the socket read to [`ServerConnection::handle_input`] (an error
//! means close the connection), take calls with [`ServerConnection::poll_call`] until it returns
//! `None`, answer each one (in any order, at any later time) with
//! [`ServerConnection::send_reply`], and write what [`ServerConnection::poll_transmit`] hands out
//! whenever [`ServerConnection::wants_write`]. Backpressure: stop reading from the socket while
//! [`ServerConnection::calls_in_flight`] or [`ServerConnection::pending_output_bytes`] is too high;
//! records already received stay queued (undecoded) until `poll_call` is called.
//!
//! Decisions where RFC 5531 leaves room:
//! - A record too short to hold an xid and a message type cannot be answered: it is dropped.
//! - A REPLY (or unknown message type) on a server connection is dropped, not fatal, as Linux's
//!   server does: the xid space of a backchannel is not ours.
//! - Checks follow the order of Linux's `svc_process`: rpcvers (RPC_MISMATCH 2..2), credential and
//!   verifier (AUTH_ERROR), program (PROG_UNAVAIL), version (PROG_MISMATCH with the lowest and
//!   highest served versions), procedure (PROC_UNAVAIL), then NULL is answered here.
//! - Missing prog/vers/proc fields: GARBAGE_ARGS. A credential that is not a well-formed
//!   `opaque_auth` or a malformed AUTH_SYS body: AUTH_BADCRED; a malformed or non-AUTH_NONE
//!   verifier: AUTH_BADVERF; AUTH_SHORT: AUTH_REJECTEDCRED; any other flavor: AUTH_TOOWEAK.
//! - Only a framing error (a record over the size limit) closes the connection.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::auth::{check_verifier, AuthStat, Credential};
use super::record::{RecordDecoder, RecordError, RecordWriter};
use super::rpc::{self, CallError, ReplyBody, Void, RPC_VERSION};
use super::xdr::{XdrEncode, XdrSink};

/// One program served on the connection: versions `low_vers..=high_vers`, procedures
/// `0..=max_proc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramSpec {
    pub prog: u32,
    pub low_vers: u32,
    pub high_vers: u32,
    pub max_proc: u32,
}

/// Configuration shared by the connections of a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Largest record accepted, fragment headers excluded. Larger ones close the connection.
    pub max_record_size: usize,
    /// Programs served. A program may appear several times with disjoint version ranges (and
    /// different `max_proc`).
    pub programs: Vec<ProgramSpec>,
}

impl ServerConfig {
    pub fn new(max_record_size: usize) -> Self {
        Self {
            max_record_size,
            programs: Vec::new(),
        }
    }

    /// Adds a program (builder style).
    pub fn program(mut self, prog: u32, low_vers: u32, high_vers: u32, max_proc: u32) -> Self {
        self.programs.push(ProgramSpec {
            prog,
            low_vers,
            high_vers,
            max_proc,
        });
        self
    }

    /// Decides what to do with one record. Pure: this is the whole call-admission policy.
    pub fn classify<'a>(&self, record: &'a [u8]) -> Disposition<'a> {
        let header = match rpc::decode_call(record) {
            Ok(h) => h,
            Err(CallError::Truncated) => return Disposition::Drop(DropReason::Truncated),
            Err(CallError::NotACall { .. }) => return Disposition::Drop(DropReason::NotACall),
            Err(CallError::RpcVersion { xid, .. }) => {
                return Disposition::Reply(
                    xid,
                    AutoReply::RpcMismatch {
                        low: RPC_VERSION,
                        high: RPC_VERSION,
                    },
                )
            }
            Err(CallError::Garbage { xid }) => {
                return Disposition::Reply(xid, AutoReply::GarbageArgs)
            }
            Err(CallError::BadCred { xid }) => {
                return Disposition::Reply(xid, AutoReply::AuthError(AuthStat::BadCred))
            }
            Err(CallError::BadVerf { xid }) => {
                return Disposition::Reply(xid, AutoReply::AuthError(AuthStat::BadVerf))
            }
        };
        let xid = header.xid;
        let cred = match Credential::from_opaque(header.cred) {
            Ok(cred) => cred,
            Err(stat) => return Disposition::Reply(xid, AutoReply::AuthError(stat)),
        };
        if let Err(stat) = check_verifier(header.verf) {
            return Disposition::Reply(xid, AutoReply::AuthError(stat));
        }
        let mut known = false;
        let (mut low, mut high) = (u32::MAX, 0);
        let mut spec = None;
        for p in self.programs.iter().filter(|p| p.prog == header.prog) {
            known = true;
            low = low.min(p.low_vers);
            high = high.max(p.high_vers);
            if (p.low_vers..=p.high_vers).contains(&header.vers) {
                spec = Some(p);
                break;
            }
        }
        let Some(spec) = spec else {
            return Disposition::Reply(
                xid,
                if known {
                    AutoReply::ProgMismatch { low, high }
                } else {
                    AutoReply::ProgUnavail
                },
            );
        };
        if header.procedure > spec.max_proc {
            return Disposition::Reply(xid, AutoReply::ProcUnavail);
        }
        if header.procedure == 0 {
            return Disposition::Reply(xid, AutoReply::Null);
        }
        Disposition::Call {
            xid,
            prog: header.prog,
            vers: header.vers,
            procedure: header.procedure,
            cred,
            args: header.args,
        }
    }
}

/// What [`ServerConfig::classify`] decided for a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition<'a> {
    /// A call for the application; `args` borrows from the record.
    Call {
        xid: u32,
        prog: u32,
        vers: u32,
        procedure: u32,
        cred: Credential,
        args: &'a [u8],
    },
    /// Answered by the connection itself.
    Reply(u32, AutoReply),
    /// Not answerable: dropped.
    Drop(DropReason),
}

/// The replies the connection makes on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoReply {
    /// Empty SUCCESS to procedure 0 of a served program.
    Null,
    ProgUnavail,
    ProgMismatch {
        low: u32,
        high: u32,
    },
    ProcUnavail,
    GarbageArgs,
    RpcMismatch {
        low: u32,
        high: u32,
    },
    AuthError(AuthStat),
}

impl AutoReply {
    /// The reply message's body.
    pub fn body(self) -> ReplyBody<'static> {
        match self {
            Self::Null => ReplyBody::Success(&Void),
            Self::ProgUnavail => ReplyBody::ProgUnavail,
            Self::ProgMismatch { low, high } => ReplyBody::ProgMismatch { low, high },
            Self::ProcUnavail => ReplyBody::ProcUnavail,
            Self::GarbageArgs => ReplyBody::GarbageArgs,
            Self::RpcMismatch { low, high } => ReplyBody::RpcMismatch { low, high },
            Self::AuthError(stat) => ReplyBody::AuthError(stat),
        }
    }
}

/// Why a record was dropped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Too short for an xid and a message type.
    Truncated,
    /// A REPLY or unknown message type.
    NotACall,
}

/// A call for the application. `args` is the undecoded argument body: a zero-copy slice of the
/// received record, which the program's decoders borrow from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub xid: u32,
    pub prog: u32,
    pub vers: u32,
    pub procedure: u32,
    pub cred: Credential,
    pub args: Bytes,
}

/// The application's answer to one [`Call`], ready to cross threads (`Send`) before
/// [`ServerConnection::answer`] turns it into a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallReply {
    /// SUCCESS with these encoded results (zero-copy segments, e.g. READ data).
    Results(Vec<Bytes>),
    /// The arguments could not be decoded.
    GarbageArgs,
    /// No such procedure.
    ProcUnavail,
    /// The server could not produce a reply.
    SystemErr,
    /// MSG_DENIED / AUTH_ERROR: the call's authentication is not acceptable (e.g. AUTH_TOOWEAK
    /// for a non-privileged port on a `secure` export).
    AuthError(AuthStat),
    /// Send nothing: a retransmission of a call that is still running (the client will
    /// retransmit again and get the finished reply from the duplicate-request cache).
    Drop,
}

impl CallReply {
    /// Runs `f` with the reply body this answer stands for; `None` (and `f` not run) for
    /// [`CallReply::Drop`].
    pub fn with_body<R>(&self, f: impl FnOnce(ReplyBody<'_>) -> R) -> Option<R> {
        Some(match self {
            CallReply::Results(segments) => f(ReplyBody::Success(&EncodedResults(segments))),
            CallReply::GarbageArgs => f(ReplyBody::GarbageArgs),
            CallReply::ProcUnavail => f(ReplyBody::ProcUnavail),
            CallReply::SystemErr => f(ReplyBody::SystemErr),
            CallReply::AuthError(stat) => f(ReplyBody::AuthError(*stat)),
            CallReply::Drop => return None,
        })
    }

    /// SUCCESS with the results encoded in `out`.
    pub fn from_sink(mut out: XdrSink) -> CallReply {
        let mut segments = Vec::with_capacity(2);
        out.take_segments(&mut segments);
        CallReply::Results(segments)
    }
}

/// Pre-encoded results, appended as zero-copy segments.
struct EncodedResults<'a>(&'a [Bytes]);

impl XdrEncode for EncodedResults<'_> {
    fn encode(&self, out: &mut XdrSink) {
        for seg in self.0 {
            out.put_segment(seg.clone());
        }
    }
}

/// A fatal connection error: close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// Framing: a record over the limit.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Client side: the server sent something that is not a reply.
    #[error("malformed reply: {0}")]
    MalformedReply(#[from] rpc::ReplyError),
}

/// Counters of what the connection did on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Records received.
    pub records: u64,
    /// Calls handed to the application.
    pub calls: u64,
    /// Replies sent by the application.
    pub replies: u64,
    /// NULL calls answered by the connection.
    pub null_calls: u64,
    /// Calls rejected by the connection (all rejections other than NULL).
    pub rejected: u64,
    /// Records dropped without an answer.
    pub dropped: u64,
}

/// One server connection.
#[derive(Debug)]
pub struct ServerConnection {
    config: Arc<ServerConfig>,
    decoder: RecordDecoder,
    /// Received records not yet looked at by `poll_call`.
    records: VecDeque<Bytes>,
    writer: RecordWriter,
    in_flight: usize,
    stats: ServerStats,
}

impl ServerConnection {
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            decoder: RecordDecoder::new(config.max_record_size),
            config,
            records: VecDeque::new(),
            writer: RecordWriter::new(),
            in_flight: 0,
            stats: ServerStats::default(),
        }
    }

    /// Feeds bytes read from the socket (copied once into the connection's reused buffer).
    ///
    /// An error means the connection must be closed; records completed before the error stay
    /// available to `poll_call`, and the same error is returned by every later call.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<(), ConnectionError> {
        let records = &mut self.records;
        let stats = &mut self.stats;
        self.decoder.decode(input, |r| {
            stats.records += 1;
            records.push_back(r);
        })?;
        Ok(())
    }

    /// Like [`ServerConnection::handle_input`], for input the runtime already owns as [`Bytes`]:
    /// whole single-fragment records in it become calls without any copy.
    pub fn handle_input_bytes(&mut self, input: Bytes) -> Result<(), ConnectionError> {
        let records = &mut self.records;
        let stats = &mut self.stats;
        self.decoder.decode_bytes(input, |r| {
            stats.records += 1;
            records.push_back(r);
        })?;
        Ok(())
    }

    /// The next call for the application, in arrival order. Records the connection answers
    /// itself (NULL, rejections) are handled on the way and their replies queued for output.
    pub fn poll_call(&mut self) -> Option<Call> {
        while let Some(record) = self.records.pop_front() {
            match self.config.classify(&record) {
                Disposition::Call {
                    xid,
                    prog,
                    vers,
                    procedure,
                    cred,
                    args,
                } => {
                    let offset = record.len() - args.len();
                    self.in_flight += 1;
                    self.stats.calls += 1;
                    return Some(Call {
                        xid,
                        prog,
                        vers,
                        procedure,
                        cred,
                        args: record.slice(offset..),
                    });
                }
                Disposition::Reply(xid, auto) => {
                    if auto == AutoReply::Null {
                        self.stats.null_calls += 1;
                    } else {
                        self.stats.rejected += 1;
                    }
                    self.write_reply(xid, &auto.body());
                }
                Disposition::Drop(_) => self.stats.dropped += 1,
            }
        }
        None
    }

    /// Answers a call taken from `poll_call`. Replies may be sent in any order.
    ///
    /// The reply is framed as one record fragment; payloads the body adds with
    /// `XdrSink::put_payload` are not copied. A reply too large for a fragment (over 2 GiB) is
    /// replaced by SYSTEM_ERR.
    pub fn send_reply(&mut self, xid: u32, reply: ReplyBody<'_>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.stats.replies += 1;
        self.write_reply(xid, &reply);
    }

    /// Forgets a call taken from `poll_call` without answering it (e.g. a retransmission of a
    /// call still in progress, which the duplicate-request cache drops).
    pub fn discard_call(&mut self, _xid: u32) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Answers call `xid` with what the application made of it.
    pub fn answer(&mut self, xid: u32, reply: CallReply) {
        if reply.with_body(|body| self.send_reply(xid, body)).is_none() {
            self.discard_call(xid);
        }
    }

    fn write_reply(&mut self, xid: u32, reply: &ReplyBody<'_>) {
        let written = self
            .writer
            .write_record(|sink| rpc::encode_reply(sink, xid, reply));
        if written.is_err() {
            // Only a body over 2 GiB gets here; the partial reply was discarded.
            let _ = self
                .writer
                .write_record(|sink| rpc::encode_reply(sink, xid, &ReplyBody::SystemErr));
        }
    }

    /// The next piece of output to write, in order. Payload segments come out as they were given.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.writer.poll()
    }

    /// Moves up to `max_segments` pieces of output into `out` for a vectored write; returns their
    /// total length.
    pub fn poll_transmit_vectored(&mut self, out: &mut Vec<Bytes>, max_segments: usize) -> usize {
        self.writer.poll_vectored(out, max_segments)
    }

    /// Whether there is output to write.
    pub fn wants_write(&self) -> bool {
        self.writer.has_pending()
    }

    /// Bytes of output queued and not yet handed out by `poll_transmit`.
    pub fn pending_output_bytes(&self) -> usize {
        self.writer.pending_bytes()
    }

    /// Whether the input so far ends between two records (no record has arrived in part).
    pub fn at_record_boundary(&self) -> bool {
        self.decoder.at_record_boundary()
    }

    /// Calls handed out by `poll_call` and not yet answered or discarded.
    pub fn calls_in_flight(&self) -> usize {
        self.in_flight
    }

    /// Capacity of the receive buffer (tests check that a forged length allocates nothing).
    pub fn buffered_input_capacity(&self) -> usize {
        self.decoder.buffered_capacity()
    }

    /// The fatal error, once one occurred.
    pub fn error(&self) -> Option<ConnectionError> {
        self.decoder.error().cloned().map(ConnectionError::from)
    }

    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }
}
