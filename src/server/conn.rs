//! One TCP connection: bytes from the socket into the sans-IO engine, calls out to their owner
//! cores (many in flight), replies back into the engine and its bytes onto the socket.
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::{select, Either};
use futures::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use glommio::net::TcpStream;
use glommio::sync::Semaphore;
use thiserror::Error;

use crate::proto::connection::{Call, CallReply, ConnectionError, ServerConfig, ServerConnection};

use super::budget::{ConnReplyBudget, CoreReplyBudget};
use super::limits::Limits;
use super::service::Peer;
use super::shutdown::StopSignal;

/// Where a connection sends the calls it reads: the core it runs on.
pub(super) trait Dispatch: 'static {
    /// The runtime's limits.
    fn limits(&self) -> &Limits;
    /// Calls admitted from all of this core's connections and not yet answered: with the
    /// per-connection bound, this caps the memory a crowd of clients can pin.
    fn admission(&self) -> &Rc<Semaphore>;
    /// Reply bytes held by all of this core's connections.
    fn reply_budget(&self) -> &Rc<CoreReplyBudget>;
    /// The most bytes `call`'s reply may take (the service's estimate).
    fn reply_size_hint(&self, call: &Call) -> usize;
    /// Runs `call` (on whichever core must) and returns its reply.
    fn dispatch(self: Rc<Self>, call: Call, peer: Peer) -> impl Future<Output = CallReply>;
}

/// Calls one connection may have in flight; the reader stops reading (TCP backpressure) at this
/// bound, so a client that floods cannot exhaust memory.
pub const MAX_CALLS_IN_FLIGHT: u64 = 128;
/// Segments at least this large are written as they are; smaller ones are coalesced.
const COALESCE_LIMIT: usize = 16 << 10;
const READ_BUFFER: usize = 256 << 10;
/// A connection starts reading into a buffer this small and moves to [`READ_BUFFER`] once a
/// read fills it: idle connections (thousands of them, say) then hold a page, not 256 KiB.
const FIRST_READ_BUFFER: usize = 4 << 10;
/// How often a connection that is waiting for its calls or its writes looks at its state.
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Error)]
pub enum ConnError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Protocol(#[from] ConnectionError),
    #[error("idle for {0:?} with nothing in flight")]
    Idle(Duration),
    #[error("a record arrived only in part within {0:?}")]
    RecordStalled(Duration),
    #[error("the client read no reply bytes for {0:?}")]
    WriteStalled(Duration),
}

#[derive(Debug, Default)]
pub struct ConnStats {
    pub calls: u64,
}

/// The clock a connection's reader runs while it waits for input.
enum Clock {
    /// Calls in flight or replies to send: no timeout here (the writer has its own).
    Busy,
    /// Nothing going on since `since`.
    Idle(Instant),
    /// A record began arriving at `since` and has not been completed.
    PartialRecord(Instant),
}

/// Serves one TCP connection, admitting the calls `programs` allows, until the client
/// closes it or `stop`.
pub(super) async fn serve_connection<D: Dispatch>(
    stream: TcpStream,
    peer: Peer,
    programs: Arc<ServerConfig>,
    core: Rc<D>,
    stop: StopSignal,
) -> Result<ConnStats, ConnError> {
    let limits = *core.limits();
    let (mut reader, writer) = stream.split();
    let conn = Rc::new(RefCell::new(ServerConnection::new(programs)));
    let budget = Rc::new(ConnReplyBudget::new(
        core.reply_budget().clone(),
        limits.connection_reply_bytes,
    ));
    let permits = Rc::new(Semaphore::new(MAX_CALLS_IN_FLIGHT));
    let wake = Rc::new(LocalNotify::default());
    let closing = Rc::new(Cell::new(false));
    let writer_task = glommio::spawn_local(write_loop(
        writer,
        Output {
            conn: conn.clone(),
            budget: budget.clone(),
            closing: closing.clone(),
            timeout: limits.write_timeout,
        },
        wake.clone(),
    ));

    let mut stats = ConnStats::default();
    let mut buf = vec![0u8; FIRST_READ_BUFFER];
    let mut clock = Clock::Idle(Instant::now());
    let outcome: Result<(), ConnError> = async {
        loop {
            // `closing` is set early only when the writer has failed.
            if closing.get() {
                return Ok(());
            }
            if conn.borrow().calls_in_flight() > 0 || budget.holds_bytes() {
                clock = Clock::Busy;
            } else if matches!(clock, Clock::Busy) {
                clock = Clock::Idle(Instant::now());
            }
            let deadline = match clock {
                Clock::Busy => None,
                Clock::Idle(since) => Some((
                    since + limits.idle_timeout,
                    ConnError::Idle(limits.idle_timeout),
                )),
                Clock::PartialRecord(since) => Some((
                    since + limits.record_timeout,
                    ConnError::RecordStalled(limits.record_timeout),
                )),
            };
            let wait = deadline
                .as_ref()
                .map_or(TICK, |(at, _)| at.saturating_duration_since(Instant::now()));
            let n = {
                let read = Box::pin(reader.read(&mut buf));
                let stopped = Box::pin(stop.wait());
                let timer = Box::pin(glommio::timer::sleep(wait));
                match select(read, select(stopped, timer)).await {
                    Either::Left((r, _)) => r?,
                    Either::Right((Either::Left(_), _)) => return Ok(()),
                    Either::Right((Either::Right(_), _)) => match deadline {
                        Some((at, timeout)) if Instant::now() >= at => return Err(timeout),
                        _ => continue,
                    },
                }
            };
            if n == 0 {
                return Ok(());
            }
            conn.borrow_mut().handle_input(&buf[..n])?;
            if n == buf.len() && buf.len() < READ_BUFFER {
                buf = vec![0u8; READ_BUFFER];
            }
            clock = if conn.borrow().at_record_boundary() {
                Clock::Idle(Instant::now())
            } else {
                match clock {
                    Clock::PartialRecord(since) => Clock::PartialRecord(since),
                    _ => Clock::PartialRecord(Instant::now()),
                }
            };
            loop {
                let call = {
                    let mut c = conn.borrow_mut();
                    let before = c.pending_output_bytes();
                    let call = c.poll_call();
                    // Replies the engine made by itself (NULL, RPC-level rejections).
                    budget.charge(c.pending_output_bytes().saturating_sub(before));
                    call
                };
                let Some(call) = call else { break };
                stats.calls += 1;
                while budget.must_wait() && !closing.get() && !stop.is_stopped() {
                    wake.notify();
                    glommio::timer::sleep(Duration::from_millis(1)).await;
                }
                if closing.get() || stop.is_stopped() {
                    return Ok(());
                }
                let permit = permits
                    .acquire_static_permit(1)
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let core_permit = core
                    .admission()
                    .acquire_static_permit(1)
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let hint = core.reply_size_hint(&call);
                budget.charge(hint);
                let (core, conn, wake, budget) =
                    (core.clone(), conn.clone(), wake.clone(), budget.clone());
                glommio::spawn_local(async move {
                    let xid = call.xid;
                    let reply = core.dispatch(call, peer).await;
                    log::trace!("reply ready for xid {xid:#x} to {}", peer.remote);
                    {
                        let mut c = conn.borrow_mut();
                        let before = c.pending_output_bytes();
                        c.answer(xid, reply);
                        budget.charge(c.pending_output_bytes().saturating_sub(before));
                    }
                    budget.release(hint);
                    wake.notify();
                    drop(core_permit);
                    drop(permit);
                })
                .detach();
            }
            wake.notify();
        }
    }
    .await;

    // Let the calls already running finish and their replies go out, then close; after a stop,
    // only until the drain deadline.
    let deadline = Box::pin(stop.drain_deadline(limits.drain_timeout));
    let finish = Box::pin(async {
        let _ = permits.acquire(MAX_CALLS_IN_FLIGHT).await;
        closing.set(true);
        wake.notify();
        writer_task.await
    });
    let write_result = match select(finish, deadline).await {
        Either::Left((r, _)) => r,
        Either::Right(_) => Ok(()),
    };
    outcome?;
    write_result?;
    Ok(stats)
}

/// What the writer needs of its connection.
struct Output {
    conn: Rc<RefCell<ServerConnection>>,
    budget: Rc<ConnReplyBudget>,
    /// Set by the reader when the connection ends, and by the writer when it fails.
    closing: Rc<Cell<bool>>,
    timeout: Duration,
}

async fn write_loop(
    mut writer: WriteHalf<TcpStream>,
    out: Output,
    wake: Rc<LocalNotify>,
) -> Result<(), ConnError> {
    // Grows on the first small replies; an idle connection holds nothing here.
    let mut small: Vec<u8> = Vec::new();
    let mut segments: Vec<Bytes> = Vec::new();
    loop {
        loop {
            segments.clear();
            {
                let mut c = out.conn.borrow_mut();
                while let Some(seg) = c.poll_transmit() {
                    segments.push(seg);
                }
            }
            if segments.is_empty() {
                break;
            }
            for seg in &segments {
                if seg.len() >= COALESCE_LIMIT {
                    if !small.is_empty() {
                        write_or_close(&mut writer, &small, &out).await?;
                        small.clear();
                    }
                    write_or_close(&mut writer, seg, &out).await?;
                } else {
                    small.extend_from_slice(seg);
                    if small.len() >= COALESCE_LIMIT * 4 {
                        write_or_close(&mut writer, &small, &out).await?;
                        small.clear();
                    }
                }
            }
            if !small.is_empty() {
                write_or_close(&mut writer, &small, &out).await?;
                small.clear();
            }
        }
        if out.closing.get() {
            let _ = writer.close().await;
            return Ok(());
        }
        wake.notified().await;
    }
}

/// Writes all of `data`, releasing its bytes from the budget as they go out; a write that
/// makes no progress for the write timeout, or fails, closes the connection.
async fn write_or_close(
    writer: &mut WriteHalf<TcpStream>,
    data: &[u8],
    out: &Output,
) -> Result<(), ConnError> {
    let mut rest = data;
    while !rest.is_empty() {
        let write = Box::pin(writer.write(rest));
        let timer = Box::pin(glommio::timer::sleep(out.timeout));
        let written = match select(write, timer).await {
            Either::Left((Ok(0), _)) => Err(ConnError::Io(std::io::ErrorKind::WriteZero.into())),
            Either::Left((Ok(n), _)) => Ok(n),
            Either::Left((Err(e), _)) => Err(e.into()),
            Either::Right(_) => Err(ConnError::WriteStalled(out.timeout)),
        };
        match written {
            Ok(n) => {
                out.budget.release(n);
                rest = &rest[n..];
            }
            Err(e) => {
                // The peer is gone or does not read: stop reading too.
                out.closing.set(true);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// A single-threaded "something changed" flag with one waiter (the writer task).
#[derive(Default)]
struct LocalNotify {
    pending: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl LocalNotify {
    fn notify(&self) {
        self.pending.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    fn notified(&self) -> Notified<'_> {
        Notified(self)
    }
}

struct Notified<'a>(&'a LocalNotify);

impl Future for Notified<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.pending.replace(false) {
            Poll::Ready(())
        } else {
            *self.0.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}
