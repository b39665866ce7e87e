//! `slatenfs snapshot create|list|delete`: sent to the server of the storage over its admin
//! channel when one runs with the same cache directory; otherwise run here, on the storage
//! itself, holding the cache directory's instance lock meanwhile so that no server starts
//! beside it.
//!
//! Without a server, `create` opens the storage as its writer: only the writer can checkpoint
//! everything acknowledged, including the WAL written after the last manifest. Opening it
//! fences a server that writes the same storage from another machine (run the command there,
//! with that server's cache directory, instead). `list` and `delete` only read and edit the
//! manifest, and fence nobody.
use futures::executor::block_on;

use crate::admin::{self, AdminCallError};
use crate::config::ServeConfig;
use crate::fs::{Fs, FsOptions};
use crate::instance_lock::{InstanceLock, LockError};
use crate::snapshot::command::{execute, SnapshotCommand};
use crate::snapshot::SnapshotCatalog;
use crate::store::{ReadOnlyView, Store, StoreConfig};

/// How the command ended: the text for the user, and the exit status (0 done, 1 refused or
/// failed, 2 could not run).
#[derive(Debug)]
pub struct CommandOutcome {
    pub text: String,
    pub status: u8,
}

/// Runs `command` on the storage of `config`.
pub fn run(config: &ServeConfig, command: &SnapshotCommand) -> CommandOutcome {
    let cannot = |text: String| CommandOutcome { text, status: 2 };
    if let Err(e) = std::fs::create_dir_all(&config.cache_dir) {
        return cannot(format!(
            "SLATEDB_CACHE_DIR {}: {e}",
            config.cache_dir.display()
        ));
    }
    let socket = admin::socket_path(&config.cache_dir);
    match admin::call(&socket, &command.to_line()) {
        Ok(reply) => {
            return CommandOutcome {
                text: reply.text,
                status: if reply.ok { 0 } else { 1 },
            }
        }
        Err(AdminCallError::NoServer(_)) => {}
        Err(e) => return cannot(e.to_string()),
    }
    let _lock = match InstanceLock::acquire(&config.cache_dir) {
        Ok(lock) => lock,
        Err(e @ LockError::Busy { .. }) => {
            return cannot(format!(
                "{e}, but its admin channel {} does not answer: is it starting or stopping? try \
                 again in a moment",
                socket.display()
            ))
        }
        Err(e) => return cannot(e.to_string()),
    };
    let store_config = StoreConfig {
        s3: config.s3.clone(),
        object_store_timeout: config.object_store_timeout,
        wait_limit: config.wait_limit,
        ..StoreConfig::new(config.storage.clone())
    };
    let result = block_on(async {
        // The storage must hold a filesystem: a mistyped --storage is an error, not an empty
        // database created there.
        let probe = Store::open_read_only(store_config.clone(), ReadOnlyView::Latest).await?;
        let probe = Fs::open(probe, FsOptions::default()).await?;
        let store = if matches!(command, SnapshotCommand::Create(_)) {
            probe.close().await?;
            Store::open(store_config).await?
        } else {
            probe.store().clone()
        };
        let catalog = SnapshotCatalog::new(store.clone());
        let outcome = execute(&catalog, command).await;
        store.close().await?;
        Ok::<_, crate::fs::FsError>(outcome)
    });
    match result {
        Ok(Ok(text)) => CommandOutcome { text, status: 0 },
        Ok(Err(e)) => CommandOutcome {
            text: format!("{e}\n"),
            status: 1,
        },
        Err(e) => cannot(format!("cannot open {}: {e}", config.storage)),
    }
}
