//! The thread-per-core runtime: it moves bytes and messages, and holds no filesystem logic.
//!
//! ```text
//!  TCP ─▶ core k: conn task ─▶ proto::ServerConnection ─▶ Call ──┐ Service::route ▶ core j
//!                                                                ▼
//!                                   core j: Service::handle(core j's state, call)
//!  TCP ◀─ core k ◀── encoded reply ◀─────────────────────────────┘
//! ```
//!
//! Each core runs one glommio executor with its own SO_REUSEPORT socket per [`Listener`] (TCP
//! or UDP), so the kernel spreads connections and datagrams across cores. A call that the
//! [`Service`] routes to another core is forwarded over a glommio channel mesh and its encoded
//! reply comes back the same way; the owner core therefore sees every call about what it owns,
//! which lets services keep per-core state (a chunk cache) coherent without locks.
//!
//! The runtime also makes calls to other hosts for a service ([`outgoing`]: a lock manager's
//! callbacks), on a thread of its own.
mod budget;
mod conn;
mod core;
mod datagram;
mod limits;
pub mod outgoing;
pub mod registration;
mod service;
mod shutdown;

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{LocalExecutorPoolBuilder, PoolPlacement};
use log::{error, info};
use thiserror::Error;

use crate::proto::connection::ServerConfig;

/// One address the service is served on, and the programs admitted there.
#[derive(Debug, Clone)]
pub struct Listener {
    pub addr: SocketAddr,
    pub transport: Transport,
    pub programs: Arc<ServerConfig>,
}

pub use self::core::{owner_core, MAX_CALLS_PER_CORE};
pub use conn::MAX_CALLS_IN_FLIGHT;
pub use limits::{Limits, DEFAULT_MAX_CONNECTIONS};
pub use service::{Peer, Service, Transport};
pub use shutdown::{handle_signals, StopSignal};

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("--listen {addr} ({transport}): {source} (another server may be using the port: stop it or pick another with --listen ADDR:PORT)")]
    Listen {
        addr: SocketAddr,
        transport: Transport,
        source: io::Error,
    },
    #[error("runtime: {0}")]
    Runtime(String),
}

/// How long [`check_listen`] waits for the listener of a server that just died to go away.
const DEAD_LISTENER_GRACE: Duration = Duration::from_secs(3);

/// Fails if `listen` cannot be served over `transport`: someone holds the port, or the address
/// is not ours. The executors bind with SO_REUSEPORT, which would quietly share the port with
/// another SO_REUSEPORT server, so this probes with a plain bind. A listener that is still
/// there is retried for a moment: the kernel closes a killed server's io_uring (and the
/// listening socket an accept in flight held) asynchronously, some milliseconds after the
/// process is gone, and a supervisor restarts it at once.
pub fn check_listen(listen: SocketAddr, transport: Transport) -> Result<(), ServeError> {
    let deadline = Instant::now() + DEAD_LISTENER_GRACE;
    loop {
        match probe(listen, transport) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(source) => {
                return Err(ServeError::Listen {
                    addr: listen,
                    transport,
                    source,
                })
            }
        }
    }
}

/// Binds `addr` without SO_REUSEPORT and lets it go: whether it could be served.
///
/// Connections of an earlier run that the server closed linger on a TCP port for a while
/// (FIN_WAIT, TIME_WAIT). They carry the listener's SO_REUSEPORT, not SO_REUSEADDR, so a plain
/// bind fails while the executors' SO_REUSEPORT binds would not: a port nobody accepts
/// connections on counts as free.
pub fn probe(addr: SocketAddr, transport: Transport) -> io::Result<()> {
    match transport {
        Transport::Tcp => match StdListener::bind(addr) {
            Ok(l) => {
                drop(l);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && !accepting(addr) => Ok(()),
            Err(e) => Err(e),
        },
        Transport::Udp => StdUdpSocket::bind(addr).map(drop),
    }
}

/// Whether something accepts TCP connections at `addr` (a wildcard address: on loopback).
fn accepting(addr: SocketAddr) -> bool {
    let target = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        }
        ip if ip.is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    };
    std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_secs(1)).is_ok()
}

/// Serves `service` on `listeners` with `cores` executors within `limits` until `stop` is
/// triggered (or an executor fails), then lets every connection finish its calls (for
/// `limits.drain_timeout` at most) and returns.
pub fn serve<S: Service>(
    listeners: Vec<Listener>,
    cores: usize,
    service: Arc<S>,
    stop: StopSignal,
    limits: Limits,
) -> Result<(), ServeError> {
    for l in &listeners {
        check_listen(l.addr, l.transport)?;
    }
    let listeners = Arc::new(listeners);
    let mesh = MeshBuilder::full(cores, 1024);
    let pool = {
        let stop = stop.clone();
        LocalExecutorPoolBuilder::new(PoolPlacement::Unbound(cores))
            .name("slatenfs-core")
            .on_all_shards(move || {
                let (service, stop, mesh) = (service.clone(), stop.clone(), mesh.clone());
                let listeners = listeners.clone();
                async move { self::core::run(&listeners, service, mesh, stop, limits).await }
            })
            .map_err(|e| ServeError::Runtime(e.to_string()))?
    };
    info!("serving with {cores} cores");

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let joiner = std::thread::Builder::new()
        .name("slatenfs-join".into())
        .spawn(move || {
            let results = pool.join_all();
            let _ = done_tx.send(());
            results
        })
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    shutdown::wait_for_stop_or(&stop, &done_rx);
    info!("shutting down: draining in-flight calls");
    stop.trigger();
    let results = joiner
        .join()
        .map_err(|_| ServeError::Runtime("executor pool panicked".into()))?;
    let mut first_error = None;
    for r in results {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                error!("core stopped with error: {e}");
                first_error.get_or_insert(e);
            }
            Err(e) => {
                error!("core failed: {e}");
                first_error.get_or_insert(ServeError::Runtime(e.to_string()));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
