//! One connection with up to `depth` calls in flight: the driver that keeps a workload's calls
//! pipelined on one socket, matches replies to calls, and counts what completed in the window.

use std::collections::HashMap;
use std::fmt::Display;
use std::time::Instant;

use bytes::Bytes;

use slatenfs::netclient::{accepted, ClientError, Connection, Request};

use crate::calls::write_ok;
use crate::report::{Stats, MESSAGES_PER_CONNECTION};

/// A workload on one connection: hands out calls and consumes their replies.
pub trait Load: Send {
    /// The next call to send (with a tag the reply is handed back with), or `None` when nothing
    /// can be sent until a reply arrives.
    fn next(&mut self) -> Option<(u64, Request)>;
    /// The reply (results of an accepted call, or the error) to the call tagged `tag`.
    fn reply(&mut self, tag: u64, sent: Instant, result: Result<Bytes, ClientError>, cx: &mut Ctx);
    /// Untimed work after the window (commits, cleanup), synchronous.
    fn finish(&mut self, _conn: &mut Connection, _cx: &mut Ctx) {}
}

/// What a workload sees when a reply arrives.
pub struct Ctx {
    /// When the reply being handed over arrived.
    now: Instant,
    deadline: Instant,
    pub stats: Stats,
}

impl Ctx {
    pub fn new(deadline: Instant) -> Ctx {
        Ctx {
            now: Instant::now(),
            deadline,
            stats: Stats::new(),
        }
    }

    /// An op that started at `started` is complete; counts if it completed in the window.
    pub fn op_done(&mut self, started: Instant, bytes: u64) {
        if self.now <= self.deadline {
            self.stats.ops += 1;
            self.stats.bytes += bytes;
            self.stats
                .hist
                .record(self.now.saturating_duration_since(started));
        }
    }

    /// The outcome of a one-call op: its data bytes when it succeeded, else the error.
    pub fn op_result(&mut self, started: Instant, result: Result<u64, impl Display>) {
        match result {
            Ok(bytes) => self.op_done(started, bytes),
            Err(e) => self.error(e),
        }
    }

    pub fn error(&mut self, what: impl Display) {
        self.errors(1, what);
    }

    /// `count` failed calls with one message for all of them.
    fn errors(&mut self, count: u64, what: impl Display) {
        self.stats.errors += count;
        if self.stats.messages.len() < MESSAGES_PER_CONNECTION {
            self.stats.messages.push(what.to_string());
        }
    }

    /// Checks a WRITE reply of `len` bytes; what the server acknowledged counts as written,
    /// in the window or not.
    pub fn write_acknowledged(
        &mut self,
        result: Result<Bytes, ClientError>,
        len: usize,
    ) -> Result<u64, ClientError> {
        let n = write_ok(result, len)?;
        self.stats.written += n;
        Ok(n)
    }
}

/// Runs `load` with up to `depth` calls in flight until `cx.deadline`, then waits for the
/// calls in flight. Also ends when nothing is in flight and the load has nothing to send.
/// A transport failure ends the connection; every call in flight on it counts as an error.
pub fn drive(conn: &mut Connection, load: &mut dyn Load, depth: usize, cx: &mut Ctx) {
    let mut inflight: HashMap<u32, (u64, Instant)> = HashMap::with_capacity(depth * 2);
    loop {
        let now = Instant::now();
        if now < cx.deadline {
            let mut queued = false;
            while inflight.len() < depth {
                let Some((tag, req)) = load.next() else { break };
                match conn.queue(&req) {
                    Ok(xid) => {
                        inflight.insert(xid, (tag, now));
                        queued = true;
                    }
                    Err(e) => {
                        cx.error(format!("{}: {e}", req.name()));
                        return;
                    }
                }
            }
            if queued {
                if let Err(e) = conn.flush() {
                    cx.errors(1 + inflight.len() as u64, format!("send: {e}"));
                    return;
                }
            }
        }
        if inflight.is_empty() {
            return;
        }
        match conn.recv() {
            Ok(reply) => {
                cx.now = Instant::now();
                match inflight.remove(&reply.xid) {
                    Some((tag, sent)) => load.reply(tag, sent, accepted(reply.status), cx),
                    None => cx.error(format!("reply to unknown xid {:#x}", reply.xid)),
                }
            }
            Err(e) => {
                let calls = inflight.len();
                cx.errors(
                    calls as u64,
                    format!("receive ({calls} calls in flight): {e}"),
                );
                return;
            }
        }
    }
}
