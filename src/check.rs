//! `slatenfs fsck`: the consistency check of a filesystem's storage, for operators, with the
//! storage and cache settings of `slatenfs serve`.
//!
//! It reads through a read-only view of the latest durable state (`store::ReadOnlyView`),
//! which writes nothing and fences nobody, and prints a summary with counts. It refuses to
//! run beside a server that uses the same cache directory ([`crate::instance_lock`]) unless
//! forced: a live server moves the state under it, so problems it reports may be passing.
//! `--repair` opens the storage as its writer instead (fencing any server still using it),
//! fixes what can be fixed safely ([`crate::fs::repair`]) and says what it did.

use std::fmt::Write as _;

use futures::executor::block_on;

use crate::config::ServeConfig;
use crate::fs::{Fs, FsOptions, FsckReport};
use crate::instance_lock::{InstanceLock, LockError};
use crate::store::{ReadOnlyView, Store};

/// What the command was asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsckMode {
    /// Run even if a server holds the cache directory.
    pub force: bool,
    /// Fix what can be fixed safely.
    pub repair: bool,
}

/// How `slatenfs fsck` ended: the text for stdout and the exit status (0 consistent, 1
/// problems remain, 2 did not run).
#[derive(Debug)]
pub struct FsckOutcome {
    pub text: String,
    pub status: u8,
}

/// Problems listed in the summary; the rest are counted.
const LISTED: usize = 50;

/// Runs `slatenfs fsck` on the storage of `config`.
pub fn run(config: &ServeConfig, mode: FsckMode) -> FsckOutcome {
    let refused = |text: String| FsckOutcome { text, status: 2 };
    if let Err(e) = std::fs::create_dir_all(&config.cache_dir) {
        return refused(format!(
            "SLATEDB_CACHE_DIR {}: {e}",
            config.cache_dir.display()
        ));
    }
    let _lock = match InstanceLock::acquire(&config.cache_dir) {
        Ok(lock) => Some(lock),
        Err(e @ LockError::Busy { .. }) if !mode.force => {
            return refused(format!(
                "{e}: a server is using this storage; stop it first, or pass --force to check \
                 a moving state{}",
                if mode.repair {
                    " (--repair then fences the server: it stops serving)"
                } else {
                    ""
                }
            ))
        }
        Err(LockError::Busy { .. }) => None,
        Err(e) => return refused(e.to_string()),
    };
    let store_config = config.command_store_config(&config.storage);
    let result = block_on(async {
        if mode.repair {
            // Opening as the writer would format storage that holds no filesystem (a mistyped
            // --storage, say) and call it clean: it must hold one before anything is written.
            let probe = Store::open_read_only(store_config.clone(), ReadOnlyView::Latest).await?;
            Fs::open(probe, FsOptions::default()).await?.close().await?;
            let store = Store::open(store_config).await?;
            let fs = Fs::open(store, FsOptions::default()).await?;
            let before = fs.fsck().await?;
            let repaired = fs.repair().await?;
            fs.close().await?;
            Ok::<_, crate::fs::FsError>((before, Some(repaired)))
        } else {
            let store = Store::open_read_only(store_config, ReadOnlyView::Latest).await?;
            let fs = Fs::open(store, FsOptions::default()).await?;
            let report = fs.fsck().await?;
            fs.close().await?;
            Ok((report, None))
        }
    });
    let (before, repaired) = match result {
        Ok(r) => r,
        Err(e) => return refused(format!("cannot check {}: {e}", config.storage)),
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "slatenfs fsck of {} ({})",
        config.storage,
        if mode.repair {
            "as its writer, repairing"
        } else {
            "read-only view of the latest durable state"
        }
    );
    summarize(&mut text, &before);
    let after = match repaired {
        None => before,
        Some(r) => {
            if r.done.is_empty() {
                let _ = writeln!(text, "repaired: nothing");
            }
            for line in &r.done {
                let _ = writeln!(text, "repaired: {line}");
            }
            let _ = writeln!(text, "after the repair:");
            summarize(&mut text, &r.after);
            r.after
        }
    };
    FsckOutcome {
        text,
        status: if after.is_clean() { 0 } else { 1 },
    }
}

fn summarize(text: &mut String, r: &FsckReport) {
    let _ = writeln!(
        text,
        "  {} inodes ({} directories, {} files, {} other), {} entries, {} chunks, {} files \
         awaiting reclaim",
        r.inodes,
        r.directories,
        r.files,
        r.inodes - r.directories - r.files,
        r.entries,
        r.chunks,
        r.pending_reclaim
    );
    if r.is_clean() {
        let _ = writeln!(text, "  clean: every invariant holds");
        return;
    }
    let _ = writeln!(text, "  {} problems:", r.errors.len());
    for p in r.errors.iter().take(LISTED) {
        let _ = writeln!(text, "    {p}");
    }
    if r.errors.len() > LISTED {
        let _ = writeln!(text, "    ... and {} more", r.errors.len() - LISTED);
    }
}
