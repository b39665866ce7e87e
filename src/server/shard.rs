//! One core: its listener, its connections, and the calls it owns (forwarded from other cores).
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use futures::StreamExt;
use glommio::channels::channel_mesh::{Full, MeshBuilder, Senders};
use glommio::net::TcpListener;
use glommio::sync::Semaphore;
use log::{debug, info, warn};

use crate::cache::ChunkCache;
use crate::nfs::{CoreContext, Handler, Reply};
use crate::proto::connection::Call;

use super::conn;
use super::shutdown::StopSignal;
use super::ServeError;

#[derive(Clone, Debug)]
pub struct ShardConfig {
    pub listen: SocketAddr,
    pub cache_dir: PathBuf,
    pub chunk_cache_bytes_per_core: u64,
}

/// A call sent to the core that owns its inode, with the way back for the reply.
pub struct Forwarded {
    pub call: Call,
    pub peer: SocketAddr,
    pub reply: oneshot::Sender<Reply>,
}

/// Everything one core needs to run calls: the shared handler, this core's context (chunk cache)
/// and the senders towards the other cores.
pub struct Shard {
    pub id: usize,
    pub cores: usize,
    pub handler: Arc<Handler>,
    pub context: CoreContext,
    senders: Senders<Forwarded>,
    /// Calls read from this core's connections and not yet answered, over all connections:
    /// with the per-connection bound, this caps the memory a crowd of clients can pin.
    pub admitted: Rc<Semaphore>,
}

/// Calls one core admits from its connections at once (each holds at most one record, ≤ 1 MiB).
pub const MAX_CALLS_PER_CORE: u64 = 1024;

impl Shard {
    /// The core that owns `ino`. Fibonacci hashing spreads sequential ids evenly; the mapping is
    /// computed at run time so the core count may change between restarts.
    pub fn owner_of(&self, ino: u64) -> usize {
        owner_core(ino, self.cores)
    }

    /// Runs `call` on its owner core and returns the reply.
    pub async fn dispatch(self: &Rc<Self>, call: Call, peer: SocketAddr) -> Reply {
        let owner = match self.handler.routing_inode(&call) {
            Some(ino) => self.owner_of(ino),
            None => self.id,
        };
        if owner == self.id {
            return self.handler.handle(call, peer, &self.context).await;
        }
        let (tx, rx) = oneshot::channel();
        let msg = Forwarded {
            call,
            peer,
            reply: tx,
        };
        if self.senders.send_to(owner, msg).await.is_err() {
            warn!("core {} unreachable from core {}", owner, self.id);
            return Reply::SystemErr;
        }
        rx.await.unwrap_or(Reply::SystemErr)
    }
}

pub fn owner_core(ino: u64, cores: usize) -> usize {
    if cores <= 1 {
        return 0;
    }
    let h = ino.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 32) % cores as u64) as usize
}

pub async fn run(
    config: ShardConfig,
    handler: Arc<Handler>,
    mesh: MeshBuilder<Forwarded, Full>,
    stop: StopSignal,
) -> Result<(), ServeError> {
    let cores = mesh.nr_peers();
    let (senders, mut receivers) = mesh
        .join()
        .await
        .map_err(|_| ServeError::Runtime("cannot join the core mesh".into()))?;
    let id = senders.peer_id();

    let cache =
        match ChunkCache::open(&config.cache_dir, id, config.chunk_cache_bytes_per_core).await {
            Ok(c) => Some(c),
            Err(e) => {
                // The cache only makes reads faster; serve without it rather than not at all.
                warn!("core {id}: chunk cache disabled: {e}");
                None
            }
        };
    let shard = Rc::new(Shard {
        id,
        cores,
        handler,
        context: CoreContext::new(id, cache),
        senders,
        admitted: Rc::new(Semaphore::new(MAX_CALLS_PER_CORE)),
    });

    // Serve calls forwarded by other cores.
    for (_, stream) in receivers.streams() {
        let shard = shard.clone();
        glommio::spawn_local(async move {
            let mut stream = stream;
            while let Some(msg) = stream.next().await {
                let shard = shard.clone();
                glommio::spawn_local(async move {
                    let reply = shard
                        .handler
                        .handle(msg.call, msg.peer, &shard.context)
                        .await;
                    let _ = msg.reply.send(reply);
                })
                .detach();
            }
        })
        .detach();
    }

    let listener = TcpListener::bind(config.listen).map_err(|e| ServeError::Listen {
        addr: config.listen,
        source: std::io::Error::other(e.to_string()),
    })?;
    debug!("core {id}: accepting on {}", config.listen);
    loop {
        let accepted = {
            let accept = Box::pin(listener.accept());
            let stopped = Box::pin(stop.wait());
            match select(accept, stopped).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => break,
            }
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                warn!("core {id}: accept failed: {e}");
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let peer = match stream.peer_addr() {
            Ok(p) => p,
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        info!("core {id}: connection from {peer}");
        let (shard, stop) = (shard.clone(), stop.clone());
        let guard = stop.connection_opened();
        glommio::spawn_local(async move {
            let outcome = conn::serve_connection(stream, peer, shard.clone(), stop).await;
            drop(guard);
            match outcome {
                Ok(stats) => info!(
                    "core {}: connection from {peer} closed ({} calls)",
                    shard.id, stats.calls
                ),
                Err(e) => info!("core {}: connection from {peer} closed: {e}", shard.id),
            }
        })
        .detach();
    }
    // Stop: connections notice the signal themselves. Wait until every core's connections are
    // closed, because their in-flight calls may still be forwarded to this core.
    while stop.open_connections() > 0 {
        glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Let forwarded calls still running on this core finish before the executor goes away.
    shard.context.drain().await;
    if let Some(cache) = shard.context.cache() {
        let s = cache.stats();
        info!(
            "core {id}: chunk cache: {} hits, {} misses, {} insertions, {} evictions, {} rejected \
             puts, {} checksum failures, {} IO errors, {} MiB resident",
            s.hits,
            s.misses,
            s.insertions,
            s.evictions,
            s.rejected_puts,
            s.checksum_failures,
            s.io_errors,
            s.bytes >> 20
        );
    }
    Ok(())
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
