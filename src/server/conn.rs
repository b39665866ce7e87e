//! One TCP connection: bytes from the socket into the sans-IO engine, calls out to their owner
//! cores (many in flight), replies back into the engine and its bytes onto the socket.
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures::future::{select, Either};
use futures::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use glommio::net::TcpStream;
use glommio::sync::Semaphore;
use thiserror::Error;

use crate::proto::connection::{Call, CallReply, ConnectionError, ServerConfig, ServerConnection};

use super::service::Peer;
use super::shutdown::StopSignal;

/// Where a connection sends the calls it reads: the core it runs on.
pub(super) trait Dispatch: 'static {
    /// Calls admitted from all of this core's connections and not yet answered: with the
    /// per-connection bound, this caps the memory a crowd of clients can pin.
    fn admission(&self) -> &Rc<Semaphore>;
    /// Runs `call` (on whichever core must) and returns its reply.
    fn dispatch(self: Rc<Self>, call: Call, peer: Peer) -> impl Future<Output = CallReply>;
}

/// Calls one connection may have in flight; the reader stops reading (TCP backpressure) at this
/// bound, so a client that floods cannot exhaust memory.
pub const MAX_CALLS_IN_FLIGHT: u64 = 128;
/// Encoded replies waiting for the socket beyond which the reader pauses.
const MAX_PENDING_OUTPUT: usize = 16 << 20;
/// Segments at least this large are written as they are; smaller ones are coalesced.
const COALESCE_LIMIT: usize = 16 << 10;
const READ_BUFFER: usize = 256 << 10;

#[derive(Debug, Error)]
pub enum ConnError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Protocol(#[from] ConnectionError),
}

#[derive(Debug, Default)]
pub struct ConnStats {
    pub calls: u64,
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
    let (mut reader, writer) = stream.split();
    let conn = Rc::new(RefCell::new(ServerConnection::new(programs)));
    let permits = Rc::new(Semaphore::new(MAX_CALLS_IN_FLIGHT));
    let wake = Rc::new(LocalNotify::default());
    let closing = Rc::new(Cell::new(false));
    let writer_task = glommio::spawn_local(write_loop(
        writer,
        conn.clone(),
        wake.clone(),
        closing.clone(),
    ));

    let mut stats = ConnStats::default();
    let mut buf = vec![0u8; READ_BUFFER];
    let outcome: Result<(), ConnError> = async {
        loop {
            // Backpressure on output as well: a client that does not read its replies stops
            // being read from.
            // (`closing` is set early only when the writer has failed.)
            while conn.borrow().pending_output_bytes() > MAX_PENDING_OUTPUT && !closing.get() {
                wake.notify();
                glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
            }
            let n = {
                let read = Box::pin(reader.read(&mut buf));
                let stopped = Box::pin(stop.wait());
                match select(read, stopped).await {
                    Either::Left((r, _)) => r?,
                    Either::Right(_) => return Ok(()),
                }
            };
            if n == 0 {
                return Ok(());
            }
            conn.borrow_mut().handle_input(&buf[..n])?;
            loop {
                let call = conn.borrow_mut().poll_call();
                let Some(call) = call else { break };
                stats.calls += 1;
                let permit = permits
                    .acquire_static_permit(1)
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let core_permit = core
                    .admission()
                    .acquire_static_permit(1)
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let (core, conn, wake) = (core.clone(), conn.clone(), wake.clone());
                glommio::spawn_local(async move {
                    let xid = call.xid;
                    let reply = core.dispatch(call, peer).await;
                    log::trace!("reply ready for xid {xid:#x} to {}", peer.remote);
                    conn.borrow_mut().answer(xid, reply);
                    wake.notify();
                    drop(core_permit);
                    drop(permit);
                })
                .detach();
            }
            // Replies the engine produced by itself (NULL, RPC-level rejections).
            wake.notify();
        }
    }
    .await;

    // Let the calls already running finish and their replies go out, then close.
    let _ = permits.acquire(MAX_CALLS_IN_FLIGHT).await;
    closing.set(true);
    wake.notify();
    let write_result = writer_task.await;
    outcome?;
    write_result?;
    Ok(stats)
}

async fn write_loop(
    mut writer: WriteHalf<TcpStream>,
    conn: Rc<RefCell<ServerConnection>>,
    wake: Rc<LocalNotify>,
    closing: Rc<Cell<bool>>,
) -> Result<(), ConnError> {
    let mut small: Vec<u8> = Vec::with_capacity(COALESCE_LIMIT * 4);
    let mut segments: Vec<Bytes> = Vec::new();
    loop {
        loop {
            segments.clear();
            {
                let mut c = conn.borrow_mut();
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
                        write_or_close(&mut writer, &small, &closing).await?;
                        small.clear();
                    }
                    write_or_close(&mut writer, seg, &closing).await?;
                } else {
                    small.extend_from_slice(seg);
                    if small.len() >= COALESCE_LIMIT * 4 {
                        write_or_close(&mut writer, &small, &closing).await?;
                        small.clear();
                    }
                }
            }
            if !small.is_empty() {
                write_or_close(&mut writer, &small, &closing).await?;
                small.clear();
            }
        }
        if closing.get() {
            let _ = writer.close().await;
            return Ok(());
        }
        wake.notified().await;
    }
}

async fn write_or_close(
    writer: &mut WriteHalf<TcpStream>,
    data: &[u8],
    closing: &Cell<bool>,
) -> Result<(), ConnError> {
    match writer.write_all(data).await {
        Ok(()) => Ok(()),
        Err(e) => {
            // The peer is gone: stop reading too.
            closing.set(true);
            Err(e.into())
        }
    }
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
