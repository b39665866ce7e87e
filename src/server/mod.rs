//! The thread-per-core runtime: it moves bytes and messages, and holds no filesystem logic.
//!
//! ```text
//!  TCP ─▶ core k: conn task ─▶ proto::ServerConnection ─▶ Call ──┐ Service::route ▶ core j
//!                                                                ▼
//!                                   core j: Service::handle(core j's state, call)
//!  TCP ◀─ core k ◀── encoded reply ◀─────────────────────────────┘
//! ```
//!
//! Each core runs one glommio executor with its own SO_REUSEPORT listener, so the kernel spreads
//! connections across cores. A call that the [`Service`] routes to another core is forwarded
//! over a glommio channel mesh and its encoded reply comes back the same way; the owner core
//! therefore sees every call about what it owns, which lets services keep per-core state (a
//! chunk cache) coherent without locks.
mod budget;
mod conn;
mod core;
mod limits;
mod service;
mod shutdown;

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;

use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{LocalExecutorPoolBuilder, PoolPlacement};
use log::{error, info};
use thiserror::Error;

pub use self::core::{owner_core, MAX_CALLS_PER_CORE};
pub use conn::MAX_CALLS_IN_FLIGHT;
pub use limits::{Limits, DEFAULT_MAX_CONNECTIONS};
pub use service::Service;
pub use shutdown::{handle_signals, StopSignal};

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("--listen {addr}: {source} (another server may be using the port: stop it or pick another with --listen ADDR:PORT)")]
    Listen { addr: SocketAddr, source: io::Error },
    #[error("runtime: {0}")]
    Runtime(String),
}

/// Fails if `listen` cannot be served: someone holds the port, or the address is not ours.
/// The executors bind with SO_REUSEPORT, which would quietly share the port with another
/// SO_REUSEPORT server, so this probes with a plain bind.
pub fn check_listen(listen: SocketAddr) -> Result<(), ServeError> {
    drop(
        StdListener::bind(listen).map_err(|source| ServeError::Listen {
            addr: listen,
            source,
        })?,
    );
    Ok(())
}

/// Serves `service` on `listen` with `cores` executors within `limits` until `stop` is
/// triggered (or an executor fails), then lets every connection finish its calls (for
/// `limits.drain_timeout` at most) and returns.
pub fn serve<S: Service>(
    listen: SocketAddr,
    cores: usize,
    service: Arc<S>,
    stop: StopSignal,
    limits: Limits,
) -> Result<(), ServeError> {
    check_listen(listen)?;
    let mesh = MeshBuilder::full(cores, 1024);
    let pool = {
        let stop = stop.clone();
        LocalExecutorPoolBuilder::new(PoolPlacement::Unbound(cores))
            .name("slatenfs-core")
            .on_all_shards(move || {
                let (service, stop, mesh) = (service.clone(), stop.clone(), mesh.clone());
                async move { self::core::run(listen, service, mesh, stop, limits).await }
            })
            .map_err(|e| ServeError::Runtime(e.to_string()))?
    };
    info!("serving on {listen} with {cores} cores");

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
