//! `slatenfs snapshot create|list|delete` and `slatenfs clone`.
//!
//! The snapshot commands are sent to the server of the storage over its admin
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
use crate::store::{ReadOnlyView, StorageUrl, Store};

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
    let store_config = config.command_store_config(&config.storage);
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

/// `slatenfs clone --from-snapshot NAME --storage DESTINATION`: a new writable filesystem at
/// `destination` that starts as snapshot `name` of the storage of `config`, sharing its
/// tables (nothing is copied), with a filesystem id and handle secret of its own. The parent
/// is only read (and given one more checkpoint, which keeps the clone's tables): its server,
/// if one runs, goes on.
pub fn clone(config: &ServeConfig, name: &str, destination: &StorageUrl) -> CommandOutcome {
    let started = std::time::Instant::now();
    let result = block_on(async {
        let parent = Store::open_read_only(
            config.command_store_config(&config.storage),
            ReadOnlyView::Latest,
        )
        .await?;
        let snapshot = match SnapshotCatalog::new(parent.clone()).find(name).await {
            Ok(s) => s,
            Err(e) => {
                parent.close().await?;
                return Ok(Err(e.to_string()));
            }
        };
        let cloned = parent
            .clone_checkpoint(snapshot.id, &config.storage, destination)
            .await;
        parent.close().await?;
        if let Err(e) = cloned {
            return Ok(Err(e.to_string()));
        }
        let fs = Fs::open(
            Store::open(config.command_store_config(destination)).await?,
            FsOptions::default(),
        )
        .await?;
        let fsid = fs.assign_new_identity().await?;
        fs.close().await?;
        Ok::<_, crate::fs::FsError>(Ok((snapshot, fsid)))
    });
    match result {
        Ok(Ok((snapshot, fsid))) => CommandOutcome {
            text: format!(
                "cloned snapshot {} (id {}) of {} to {destination} in {} ms: a new filesystem \
                 (id {fsid:#x}); serve it with: slatenfs serve --storage {destination}\n",
                snapshot.name,
                snapshot.id,
                config.storage,
                started.elapsed().as_millis()
            ),
            status: 0,
        },
        Ok(Err(refused)) => CommandOutcome {
            text: format!("{refused}\n"),
            status: 1,
        },
        Err(e) => CommandOutcome {
            text: format!("cannot clone from {}: {e}", config.storage),
            status: 2,
        },
    }
}
