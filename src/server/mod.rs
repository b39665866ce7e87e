//! The thread-per-core runtime: it moves bytes and messages, and holds no filesystem logic.
//!
//! ```text
//!  TCP ─▶ core k: conn task ─▶ proto::ServerConnection ─▶ Call ──┐ owner(inode) = core j
//!                                                                ▼
//!                       core j: nfs::Handler (fs + per-core chunk cache) ─▶ Store (tokio bridge)
//!  TCP ◀─ core k ◀── encoded reply ◀─────────────────────────────┘
//! ```
//!
//! Each core runs one glommio executor with its own SO_REUSEPORT listener, so the kernel spreads
//! connections across cores. A call whose file handle names an inode owned by another core is
//! forwarded over a glommio channel mesh and its encoded reply comes back the same way; the owner
//! core therefore sees every access to its inodes' data, which keeps its chunk cache coherent
//! without locks.
mod conn;
mod preflight;
mod shard;
mod shutdown;

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::sync::Arc;

use futures::executor::block_on;
use glommio::{LocalExecutorPoolBuilder, PoolPlacement};
use log::{error, info};
use thiserror::Error;

use crate::config::ServeConfig;
use crate::fs::{Fs, FsOptions};
use crate::nfs::Handler;
use crate::store::{StorageUrl, Store, StoreConfig};

pub use shutdown::StopSignal;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("--listen {addr}: {source} (another server may be using the port: stop it or pick another with --listen ADDR:PORT)")]
    Listen { addr: SocketAddr, source: io::Error },
    #[error("SLATEDB_CACHE_DIR {path}: {source} (point SLATEDB_CACHE_DIR or --cache-dir at a writable directory)")]
    CacheDir { path: String, source: io::Error },
    #[error("storage: {0}")]
    Storage(String),
    /// A setting that does not work (the message names it).
    #[error("{0}")]
    Config(String),
    #[error("runtime: {0}")]
    Runtime(String),
}

/// Fraction of `SLATEDB_CACHE_SIZE_GB` given to the per-core chunk caches; SlateDB's own
/// object-store cache gets the rest.
const CHUNK_CACHE_SHARE: f64 = 0.5;

/// Serves until SIGINT or SIGTERM, then drains in-flight calls, flushes and returns.
pub fn serve(config: ServeConfig) -> Result<(), ServeError> {
    check_cache_dir(&config.cache_dir)?;
    // Refuse a port that anyone holds. The executors bind with SO_REUSEPORT, which would quietly
    // share the port with another SO_REUSEPORT server, so probe with a plain bind first.
    drop(
        StdListener::bind(config.listen).map_err(|source| ServeError::Listen {
            addr: config.listen,
            source,
        })?,
    );

    preflight::check_s3(&config).map_err(ServeError::Config)?;

    let cache_bytes = (config.cache_size_gb * (1u64 << 30) as f64) as u64;
    // SlateDB's object-store cache keeps copies of table files on local disk. When the object
    // store *is* a local directory that copy buys nothing, so the chunk caches get it all.
    let chunk_share = match config.storage {
        StorageUrl::File(_) => 1.0,
        _ => CHUNK_CACHE_SHARE,
    };
    let store_config = StoreConfig {
        url: config.storage.clone(),
        s3: config.s3.clone(),
        cache_dir: (chunk_share < 1.0).then(|| config.cache_dir.join("slatedb")),
        cache_max_bytes: Some(((1.0 - chunk_share) * cache_bytes as f64) as usize),
        ..StoreConfig::new(config.storage.clone())
    };
    // The store runs on its own tokio runtime; its futures can be awaited from any executor.
    let store =
        block_on(Store::open(store_config)).map_err(|e| ServeError::Storage(e.to_string()))?;
    let fs_options = FsOptions {
        async_metadata: config.async_metadata,
        anon_uid: config.anon_uid,
        anon_gid: config.anon_gid,
        ..FsOptions::default()
    };
    let fs = block_on(Fs::open(store.clone(), fs_options))
        .map_err(|e| ServeError::Storage(e.to_string()))?;
    let handler = Arc::new(Handler::new(fs.clone(), config.listen.port()));

    let stop = StopSignal::new();
    let cores = config.cores;
    let shard_config = shard::ShardConfig {
        listen: config.listen,
        cache_dir: config.cache_dir.join("chunks"),
        chunk_cache_bytes_per_core: (chunk_share * cache_bytes as f64) as u64 / cores as u64,
    };
    let mesh = glommio::channels::channel_mesh::MeshBuilder::full(cores, 1024);
    let pool = {
        let handler = handler.clone();
        let stop = stop.clone();
        LocalExecutorPoolBuilder::new(PoolPlacement::Unbound(cores))
            .name("slatenfs-core")
            .on_all_shards(move || {
                let (handler, stop, mesh, config) = (
                    handler.clone(),
                    stop.clone(),
                    mesh.clone(),
                    shard_config.clone(),
                );
                async move { shard::run(config, handler, mesh, stop).await }
            })
            .map_err(|e| ServeError::Runtime(e.to_string()))?
    };
    info!(
        "serving NFSv3 + MOUNTv3 on {} with {} cores; storage {:?}",
        config.listen, cores, config.storage
    );

    // Wait for a signal, or for the executors to stop on their own (a fatal error).
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let joiner = std::thread::Builder::new()
        .name("slatenfs-join".into())
        .spawn(move || {
            let results = pool.join_all();
            let _ = done_tx.send(());
            results
        })
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    shutdown::wait_for_signal_or(&done_rx);
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
    info!("flushing storage");
    block_on(fs.close()).map_err(|e| ServeError::Storage(e.to_string()))?;
    let io = store.io_stats();
    // One parseable line for write-amplification measurements (scripts/bench-compare.sh).
    info!(
        "object store totals: puts={} put_bytes={} wal_put_bytes={} gets={} get_bytes={} other={}",
        io.puts, io.put_bytes, io.wal_put_bytes, io.gets, io.get_bytes, io.other
    );
    let (ic, dc) = (fs.inode_cache_stats(), fs.dir_cache_stats());
    info!(
        "inode cache: {} hits, {} misses; directory cache: {} hits, {} misses, {} listings read",
        ic.hits, ic.misses, dc.hits, dc.misses, dc.fills
    );
    let (batches, writes) = store.group_stats();
    info!("group writes: {batches} operation batches in {writes} SlateDB writes");
    info!("stopped cleanly");
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn check_cache_dir(path: &Path) -> Result<(), ServeError> {
    let err = |source| ServeError::CacheDir {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    let probe = path.join(".slatenfs-write-probe");
    std::fs::write(&probe, b"ok").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)?;
    Ok(())
}
