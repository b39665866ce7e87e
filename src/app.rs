//! The composition root of `slatenfs serve`: the one place that opens the store, the filesystem
//! and the caches, gives the cache budget to them, starts the lock manager, decides what
//! listens where (the NFS port over TCP and UDP, port 111), and hands the service to the
//! runtime.
mod locking;
pub mod replica;
pub mod snapshot_cmd;
mod snapshots;

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use futures::executor::block_on;
use log::{error, info, warn};
use thiserror::Error;

use crate::config::ServeConfig;
use crate::datapath::DataPathConfig;
use crate::exports::{ExportTable, RuleSources, SharedExports};
use crate::fs::{Fs, FsOptions};
use crate::instance_lock::InstanceLock;
use crate::metrics::{self, SampledValue};
use crate::nfs::NfsService;
use crate::server::{self, Listener, ServeError, StopSignal, Transport};
use crate::store::fault::FaultInjector;
use crate::store::{preflight, StorageUrl, Store, StoreConfig, StoreError};

/// Why `slatenfs serve` stopped with an error.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("SLATEDB_CACHE_DIR {path}: {source} (point SLATEDB_CACHE_DIR or --cache-dir at a writable directory)")]
    CacheDir {
        path: String,
        source: std::io::Error,
    },
    #[error("storage: {0}")]
    Storage(String),
    /// A setting that does not work (the message names it).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The server lost the storage while serving: another server fenced it, or the store
    /// failed for good.
    #[error("stopped serving: {0}")]
    StoreLost(String),
}

/// Exit status when another server fenced this one: a supervisor may choose not to restart
/// it (systemd `RestartPreventExitStatus=3`), since the storage has a new owner.
pub const EXIT_FENCED: u8 = 3;

impl AppError {
    /// Whether the error was logged when it happened (the loss of the store: one line), so
    /// the exit need not say it again.
    pub fn already_logged(&self) -> bool {
        matches!(self, AppError::StoreLost(_))
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::StoreLost(why) if why.starts_with("fenced") => EXIT_FENCED,
            _ => 1,
        }
    }
}

/// Bytes of chunk cache each core gets: all of `SLATEDB_CACHE_SIZE_GB`, split between cores.
///
/// SlateDB's own object-store cache stays off. It keeps copies of table files on local disk
/// in parts of 4 MiB by default: a cold 4 KiB READ then moved 4 MiB (60 ms at 100 MB/s per
/// request, where the 64 KiB chunk it needs takes 21 ms), and every chunk it held was a second
/// copy of one the chunk cache holds. With 64 KiB parts a chunk's table block straddles two
/// parts and each miss took two dependent requests. Without it, a miss is one ranged GET of its
/// chunk (see `Fs::read_chunks`), tables' indexes and filters stay in SlateDB's in-memory block
/// cache, and the local disk holds each chunk once (README "Performance on object storage" has
/// the three measured side by side).
fn chunk_cache_per_core(config: &ServeConfig) -> u64 {
    let total = (config.cache_size_gb * (1u64 << 30) as f64) as u64;
    total / config.cores.max(1) as u64
}

/// File descriptors kept for everything but client connections (the store, caches, logs).
const RESERVED_FDS: u64 = 256;

/// Serves until SIGINT or SIGTERM, then drains in-flight calls, flushes and returns.
pub fn serve(mut config: ServeConfig) -> Result<(), AppError> {
    let table = ExportTable::load(&config.exports, config.anon_uid, config.anon_gid)
        .map_err(|e| AppError::Config(e.to_string()))?;
    fit_connections_to_fd_limit(&mut config)?;
    check_cache_dir(&config.cache_dir)?;
    // Held until the process ends: one server per cache directory, and `slatenfs fsck` sees
    // that a server runs.
    let _instance = InstanceLock::acquire(&config.cache_dir).map_err(|e| {
        AppError::Config(format!(
            "SLATEDB_CACHE_DIR {}: {e}; give each server its own cache directory",
            config.cache_dir.display()
        ))
    })?;
    // Before the store is opened: opening it fences any other writer of the same storage.
    server::check_listen(config.listen, Transport::Tcp)?;
    preflight::check_s3(&config.storage, &config.s3).map_err(AppError::Config)?;
    let portmapper = if config.lock_manager && !config.read_only {
        // NLM and NSM are served over UDP on the NFS port too.
        server::check_listen(config.listen, Transport::Udp)?;
        Some(locking::port_111(&config)?)
    } else {
        None
    };

    let faults = config.faults.clone().map(|schedule| {
        warn!(
            "OBJECT-STORE FAULT INJECTION IS ON (--inject-faults): this server fails and delays \
             storage requests on purpose ({schedule:?}); it is a test setting, never use it \
             with data you care about"
        );
        FaultInjector::new(schedule)
    });
    let store_config = StoreConfig {
        s3: config.s3.clone(),
        object_store_timeout: config.object_store_timeout,
        wait_limit: config.wait_limit,
        faults: faults.clone(),
        simulated_timing: config.simulate_object_store.clone(),
        slatedb_metrics: config.metrics_listen.is_some(),
        ..StoreConfig::new(config.storage.clone())
    };
    let fs_options = FsOptions {
        async_metadata: config.async_metadata,
        anon_uid: config.anon_uid,
        anon_gid: config.anon_gid,
        ..FsOptions::default()
    };
    // The store runs on its own tokio runtime; its futures can be awaited from any executor.
    let (store, fs) = if config.read_only {
        replica::open(store_config, fs_options, &config)?
    } else {
        let store =
            block_on(Store::open(store_config)).map_err(|e| AppError::Storage(e.to_string()))?;
        let fs = block_on(Fs::open(store.clone(), fs_options))
            .map_err(|e| AppError::Storage(e.to_string()))?;
        (store, fs)
    };
    let data_paths = DataPathConfig {
        cache_dir: Some(config.cache_dir.join("chunks")),
        cache_bytes_per_core: chunk_cache_per_core(&config),
    };
    log_exports(&table);
    let exports: SharedExports = Arc::new(ArcSwap::from_pointee(table));
    let service = NfsService::new(fs.clone(), config.listen.port(), data_paths)
        .with_exports(exports.clone())
        .panic_on_name(config.test_panic_on_name.clone().map(String::into_bytes));
    if let Some(addr) = config.metrics_listen {
        register_cache_metrics(&fs);
        metrics::http::serve(addr).map_err(|e| {
            AppError::Config(format!(
                "--metrics-listen {addr}: {e} (pick a free port, e.g. --metrics-listen 127.0.0.1:9100)"
            ))
        })?;
    }
    let stop = StopSignal::new();
    let locking = match portmapper {
        Some(p) => Some(locking::start(&config, &store, p, &stop)?),
        None if config.read_only => {
            info!("{}", replica::NO_LOCK_MANAGER);
            None
        }
        None => {
            info!("no lock manager (--no-lock-manager): clients must mount with nolock");
            None
        }
    };
    let service = Arc::new(match &locking {
        Some(l) => service.with_lock_manager(l.manager.clone(), config.listen.port()),
        None => service,
    });
    let views = service.views().clone();
    let _admin = snapshots::start_admin(&config, &views)?;
    let scheduler = config
        .snapshot_schedule
        .map(|schedule| snapshots::start_schedule(schedule, &views, &stop))
        .transpose()?;
    let mut listeners = vec![Listener {
        addr: config.listen,
        transport: Transport::Tcp,
        programs: service.connection_config(),
    }];
    if let Some(l) = &locking {
        listeners.extend(l.listeners(config.listen, &service));
    }

    let (sources, anon) = (config.exports.clone(), (config.anon_uid, config.anon_gid));
    server::handle_signals(stop.clone(), move || {
        reload_exports(&exports, &sources, anon)
    })
    .map_err(|e| ServeError::Runtime(e.to_string()))?;
    let loss = watch_for_loss(&store, &config.storage, stop.clone())?;
    info!(
        "serving NFSv3 + MOUNTv3{} on {}; storage {:?}",
        if locking.is_some() {
            " + NLMv4 + NSM"
        } else {
            ""
        },
        config.listen,
        config.storage
    );
    let served = server::serve(
        listeners,
        config.cores,
        service,
        stop.clone(),
        config.limits,
    );
    stop.trigger();
    if let Some(l) = locking {
        l.stop();
    }
    if let Some(s) = scheduler {
        let _ = s.join();
    }
    block_on(views.close());
    let lost = loss.join().ok().flatten();
    if let Some(f) = &faults {
        info!("fault injection: {}", f.stats());
    }
    if let Some(why) = lost {
        log_totals(&fs, &store);
        return Err(AppError::StoreLost(why));
    }

    info!("flushing storage");
    block_on(fs.close()).map_err(|e| AppError::Storage(e.to_string()))?;
    log_totals(&fs, &store);
    served?;
    info!("stopped cleanly");
    Ok(())
}

/// SIGHUP: re-reads the rules; the next call sees the new table. A table that does not load
/// leaves the one in force.
fn reload_exports(exports: &SharedExports, sources: &RuleSources, (uid, gid): (u32, u32)) {
    match ExportTable::load(sources, uid, gid) {
        Ok(table) => {
            log_exports(&table);
            exports.store(Arc::new(table));
        }
        Err(e) => warn!("export rules not reloaded, the previous ones stay in force: {e}"),
    }
}

fn log_exports(table: &ExportTable) {
    if table.is_implicit() {
        info!("no export rules: / is served to loopback clients only (rw,no_root_squash,insecure)");
        return;
    }
    if table.exports().is_empty() {
        warn!("the export rules grant nothing: no client can mount");
    }
    for e in table.exports() {
        let clients: Vec<String> = e
            .clients
            .iter()
            .map(|(c, o)| format!("{c}({})", o.describe()))
            .collect();
        info!("export {} to {}", e.path, clients.join(" "));
    }
}

/// Raises the soft limit on open files to the hard one, and makes sure `--max-connections`
/// fits under it: a given value that does not is an error, the default is lowered.
fn fit_connections_to_fd_limit(config: &mut ServeConfig) -> Result<(), AppError> {
    let Some(fds) = raise_fd_limit() else {
        return Ok(());
    };
    let room = fds.saturating_sub(RESERVED_FDS) as usize;
    let wanted = config.limits.max_connections;
    if wanted <= room {
        return Ok(());
    }
    if wanted != server::DEFAULT_MAX_CONNECTIONS {
        return Err(AppError::Config(format!(
            "--max-connections {wanted} needs {} open files, but the limit is {fds}: raise it \
             (ulimit -n, or LimitNOFILE= in a systemd unit) or lower --max-connections",
            wanted as u64 + RESERVED_FDS
        )));
    }
    warn!("only {fds} open files allowed: accepting {room} connections at most (raise ulimit -n)");
    config.limits.max_connections = room.max(1);
    Ok(())
}

/// Sets the soft RLIMIT_NOFILE to the hard one; returns the limit in force (`None`: unknown).
fn raise_fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    Some(lim.rlim_cur)
}

/// Watches `store` while the server runs: when it is lost (another server opened the storage
/// and fenced this one, or the store failed for good) logs one line and stops the server.
/// Calls are already refused from the moment of the loss (see `NfsService`); this only ends
/// the process. Returns the reason, if the store was lost before `stop`.
fn watch_for_loss(
    store: &Store,
    storage: &StorageUrl,
    stop: StopSignal,
) -> Result<std::thread::JoinHandle<Option<String>>, AppError> {
    let (store, storage) = (store.clone(), storage.clone());
    std::thread::Builder::new()
        .name("slatenfs-fence".into())
        .spawn(move || {
            while !stop.is_stopped() {
                if let Some(reason) = store.lost() {
                    let why = match reason {
                        StoreError::Fenced => format!(
                            "fenced: another slatenfs server opened {storage}; this one no longer \
                             owns it and stops serving now"
                        ),
                        other => format!("the store of {storage} failed: {other}"),
                    };
                    error!("{why}");
                    stop.trigger();
                    return Some(why);
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            None
        })
        .map_err(|e| AppError::Config(format!("cannot start the fencing watcher: {e}")))
}

/// The inode and directory caches count under their own locks; the metrics read them there.
fn register_cache_metrics(fs: &Fs) {
    let sampled = |name, help, read: fn(&Fs) -> u64| {
        let fs = fs.clone();
        SampledValue {
            name,
            help,
            counter: true,
            read: Box::new(move || read(&fs)),
        }
    };
    metrics::metrics().register_sampled(vec![
        sampled(
            "inode_cache_hits",
            "Inode lookups answered from memory",
            |fs| fs.inode_cache_stats().hits,
        ),
        sampled(
            "inode_cache_misses",
            "Inode lookups that read the store",
            |fs| fs.inode_cache_stats().misses,
        ),
        sampled(
            "directory_cache_hits",
            "Name lookups and listing pages answered from memory",
            |fs| fs.dir_cache_stats().hits,
        ),
        sampled(
            "directory_cache_misses",
            "Name lookups and listing pages that read the store",
            |fs| fs.dir_cache_stats().misses,
        ),
    ]);
}

/// What the store and caches did during the run, for the log (and write-amplification
/// measurements, which parse the object-store line).
fn log_totals(fs: &Fs, store: &Store) {
    let io = store.io_stats();
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
}

fn check_cache_dir(path: &Path) -> Result<(), AppError> {
    let err = |source| AppError::CacheDir {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    let probe = path.join(".slatenfs-write-probe");
    std::fs::write(&probe, b"ok").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)?;
    Ok(())
}
