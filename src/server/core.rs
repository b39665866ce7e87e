//! One core: its listeners, its connections and datagrams, and the calls it owns (forwarded
//! from other cores).
use std::any::Any;
use std::cell::Cell;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{select, Either};
use futures::{FutureExt, StreamExt};
use glommio::channels::channel_mesh::{Full, MeshBuilder, Senders};
use glommio::net::{TcpListener, UdpSocket};
use glommio::sync::Semaphore;
use log::{debug, error, info, warn};

use crate::metrics::metrics;
use crate::proto::connection::{Call, CallReply, ServerConfig};
use crate::rate_limited_log::RateLimitedLog;
use crate::sharded::part_of;

use super::budget::CoreReplyBudget;
use super::conn::{self, Dispatch};
use super::datagram;
use super::limits::Limits;
use super::service::{Peer, Service, Transport};
use super::shutdown::StopSignal;
use super::{Listener, ServeError};

/// A call sent to the core that owns it, with the way back for the reply.
pub(super) struct Forwarded {
    call: Call,
    peer: Peer,
    reply: oneshot::Sender<CallReply>,
}

/// The mesh of channels between cores.
pub(super) type CoreMesh = MeshBuilder<Forwarded, Full>;

/// Calls one core admits from its connections at once (each holds at most one record, ≤ 1 MiB).
pub const MAX_CALLS_PER_CORE: u64 = 1024;

/// Refused connections logged per second, at most.
static REFUSED_CONNECTIONS: RateLimitedLog = RateLimitedLog::new(5);

/// Everything one core needs to run calls: the service and its state on this core, and the
/// senders towards the other cores.
struct CoreRuntime<S: Service> {
    id: usize,
    cores: usize,
    service: Arc<S>,
    state: S::Core,
    senders: Senders<Forwarded>,
    limits: Limits,
    admitted: Rc<Semaphore>,
    replies: Rc<CoreReplyBudget>,
    /// Calls running on this core (its own and forwarded ones).
    running: Cell<usize>,
}

/// Counts a call running on its core until dropped.
struct Running<'a>(&'a Cell<usize>);

impl<'a> Running<'a> {
    fn enter(count: &'a Cell<usize>) -> Self {
        count.set(count.get() + 1);
        Running(count)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// The core that owns routing key `key` among `cores`. Computed at run time, so the core count
/// may change between restarts.
pub fn owner_core(key: u64, cores: usize) -> usize {
    part_of(key, cores)
}

/// What a panic carried, for the log.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

impl<S: Service> CoreRuntime<S> {
    /// Runs `call` here, counted as running. A call that panics is answered SYSTEM_ERR and
    /// logged; the core goes on serving (what the call held is released as it unwinds).
    async fn run_here(&self, call: Call, peer: Peer) -> CallReply {
        let _running = Running::enter(&self.running);
        let (xid, prog, procedure) = (call.xid, call.prog, call.procedure);
        let handled = AssertUnwindSafe(self.service.handle(&self.state, call, peer));
        match handled.catch_unwind().await {
            Ok(reply) => reply,
            Err(panic) => {
                error!(
                    "core {}: call xid {xid:#x} (program {prog}, procedure {procedure}) from \
                     {} panicked: {}; answered SYSTEM_ERR",
                    self.id,
                    peer.remote,
                    panic_message(panic.as_ref())
                );
                CallReply::SystemErr
            }
        }
    }

    /// Waits until no call runs on this core.
    async fn drain(&self) {
        while self.running.get() > 0 {
            glommio::timer::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl<S: Service> Dispatch for CoreRuntime<S> {
    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn admission(&self) -> &Rc<Semaphore> {
        &self.admitted
    }

    fn reply_budget(&self) -> &Rc<CoreReplyBudget> {
        &self.replies
    }

    fn reply_size_hint(&self, call: &Call) -> usize {
        self.service.reply_size_hint(call)
    }

    async fn dispatch(self: Rc<Self>, call: Call, peer: Peer) -> CallReply {
        let owner = match self.service.route(&call) {
            Some(key) => owner_core(key, self.cores),
            None => self.id,
        };
        if owner == self.id {
            return self.run_here(call, peer).await;
        }
        let (tx, rx) = oneshot::channel();
        let msg = Forwarded {
            call,
            peer,
            reply: tx,
        };
        if self.senders.send_to(owner, msg).await.is_err() {
            warn!("core {} unreachable from core {}", owner, self.id);
            return CallReply::SystemErr;
        }
        rx.await.unwrap_or(CallReply::SystemErr)
    }
}

/// This core's listener on `listen`: SO_REUSEPORT, so every core has one and the kernel
/// spreads connections among them, and SO_REUSEADDR, which glommio's own `bind` leaves out:
/// without it the connections of a server that was killed (`kill -9`, a crash) hold the port
/// in FIN_WAIT/TIME_WAIT for up to a minute and the restarted server cannot bind it. It lets
/// no second server listen on the port (a listener in LISTEN still conflicts).
fn bind_listener(listen: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::os::fd::{FromRawFd, IntoRawFd};
    let socket = Socket::new(
        Domain::for_address(listen),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&listen.into())?;
    socket.listen(1024)?;
    // SAFETY: the descriptor is a bound, listening TCP socket that `into_raw_fd` gives up and
    // the listener takes over (and closes).
    Ok(unsafe { TcpListener::from_raw_fd(socket.into_raw_fd()) })
}

/// Runs one core until `stop`: serves every listener (SO_REUSEPORT, one socket per core and
/// listener) and the calls forwarded by the other cores.
pub(super) async fn run<S: Service>(
    listeners: &[Listener],
    service: Arc<S>,
    mesh: CoreMesh,
    stop: StopSignal,
    limits: Limits,
) -> Result<(), ServeError> {
    let cores = mesh.nr_peers();
    let (senders, mut receivers) = mesh
        .join()
        .await
        .map_err(|_| ServeError::Runtime("cannot join the core mesh".into()))?;
    let id = senders.peer_id();
    let state = service.start_core(id).await;
    let core = Rc::new(CoreRuntime {
        id,
        cores,
        service,
        state,
        senders,
        limits,
        admitted: Rc::new(Semaphore::new(MAX_CALLS_PER_CORE)),
        replies: CoreReplyBudget::new(limits.core_reply_bytes),
        running: Cell::new(0),
    });

    for (_, stream) in receivers.streams() {
        let core = core.clone();
        glommio::spawn_local(async move {
            let mut stream = stream;
            while let Some(msg) = stream.next().await {
                let core = core.clone();
                glommio::spawn_local(async move {
                    let reply = core.run_here(msg.call, msg.peer).await;
                    let _ = msg.reply.send(reply);
                })
                .detach();
            }
        })
        .detach();
    }

    let listen_error = |l: &Listener, e: glommio::GlommioError<()>| ServeError::Listen {
        addr: l.addr,
        transport: l.transport,
        source: std::io::Error::other(e.to_string()),
    };
    let mut served = Vec::with_capacity(listeners.len());
    for l in listeners {
        let (programs, stop) = (l.programs.clone(), stop.clone());
        served.push(match l.transport {
            Transport::Tcp => {
                let listener = bind_listener(l.addr).map_err(|source| ServeError::Listen {
                    addr: l.addr,
                    transport: l.transport,
                    source,
                })?;
                glommio::spawn_local(accept(id, listener, programs, core.clone(), stop))
            }
            Transport::Udp => {
                let socket = UdpSocket::bind(l.addr).map_err(|e| listen_error(l, e))?;
                glommio::spawn_local(datagram::serve(socket, programs, core.clone(), stop))
            }
        });
        debug!("core {id}: serving {} on {}", l.transport, l.addr);
    }
    for task in served {
        task.await;
    }
    // Stop: connections notice the signal themselves. Wait until every core's connections are
    // closed, because their in-flight calls may still be forwarded to this core, and let
    // forwarded calls still running here finish; both only until the drain deadline, after which
    // the executor goes away with whatever is left.
    let drained = Box::pin(async {
        while stop.open_connections() > 0 {
            glommio::timer::sleep(Duration::from_millis(10)).await;
        }
        core.drain().await;
    });
    if let Either::Right(_) =
        select(drained, Box::pin(stop.drain_deadline(limits.drain_timeout))).await
    {
        warn!(
            "core {id}: drain took longer than {:?}: closing {} connections and {} calls",
            limits.drain_timeout,
            stop.open_connections(),
            core.running.get()
        );
    }
    core.service.stop_core(&core.state, id);
    Ok(())
}

/// Accepts connections on one TCP listener until `stop`.
async fn accept<D: Dispatch>(
    id: usize,
    listener: TcpListener,
    programs: Arc<ServerConfig>,
    core: Rc<D>,
    stop: StopSignal,
) {
    loop {
        let accepted = {
            let accept = Box::pin(listener.accept());
            let stopped = Box::pin(stop.wait());
            match select(accept, stopped).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => return,
            }
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                warn!("core {id}: accept failed: {e}");
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (Ok(remote), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            continue;
        };
        let max = core.limits().max_connections;
        let Some(guard) = stop.try_connection_opened(max) else {
            REFUSED_CONNECTIONS.warn(|| {
                format!(
                    "core {id}: refused a connection from {remote}: {max} connections are open \
                     (--max-connections)"
                )
            });
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        info!("core {id}: connection from {remote} to {local}");
        let peer = Peer::tcp(remote, local);
        let (core, stop, programs) = (core.clone(), stop.clone(), programs.clone());
        let server_metrics = &metrics().server;
        server_metrics.accepted.inc();
        server_metrics.connections.inc();
        glommio::spawn_local(async move {
            let outcome = conn::serve_connection(stream, peer, programs, core, stop).await;
            metrics().server.connections.dec();
            drop(guard);
            match outcome {
                Ok(stats) => info!(
                    "core {id}: connection from {remote} closed ({} calls)",
                    stats.calls
                ),
                Err(e) => info!("core {id}: connection from {remote} closed: {e}"),
            }
        })
        .detach();
    }
}

#[cfg(test)]
mod tests {
    use super::owner_core;

    #[test]
    fn ownership_spreads_sequential_inodes() {
        let mut counts = [0usize; 4];
        for ino in 1..=4000u64 {
            counts[owner_core(ino, 4)] += 1;
        }
        for c in counts {
            assert!((900..=1100).contains(&c), "{counts:?}");
        }
        assert_eq!(owner_core(12345, 1), 0);
    }
}
