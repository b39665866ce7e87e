//! Snapshots in `slatenfs serve`: the admin channel that `slatenfs snapshot …` talks to, and
//! the scheduler of automatic snapshots (`--snapshot-every`). Both change the catalog, then
//! have the views list it again, so that `.snapshot` shows the change at once.
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use futures::executor::block_on;
use log::{info, warn};

use crate::admin::{self, AdminHandler, AdminReply, AdminServer};
use crate::config::ServeConfig;
use crate::nfs::views::Views;
use crate::server::StopSignal;
use crate::snapshot::command::{execute, SnapshotCommand};
use crate::snapshot::schedule::{next_in, take_round, SnapshotSchedule};
use crate::snapshot::{SnapshotError, SnapshotKind};

use super::AppError;

/// Starts the admin channel in the cache directory of `config`.
pub(super) fn start_admin(
    config: &ServeConfig,
    views: &Arc<Views>,
) -> Result<AdminServer, AppError> {
    let path = admin::socket_path(&config.cache_dir);
    let views = views.clone();
    let handler: AdminHandler = Arc::new(move |line: &str| {
        let command = match SnapshotCommand::parse_line(line) {
            Ok(c) => c,
            Err(e) => {
                return AdminReply {
                    ok: false,
                    text: format!("{e}\n"),
                }
            }
        };
        let result = block_on(execute(views.catalog(), &command));
        if command.changes() {
            match &result {
                Ok(text) => info!("{}", text.trim_end()),
                Err(e) => info!("{} refused: {e}", command.to_line()),
            }
            if let Err(e) = block_on(views.refresh()) {
                warn!(
                    "listing the snapshots again after {}: {e}",
                    command.to_line()
                );
            }
        }
        match result {
            Ok(text) => AdminReply { ok: true, text },
            Err(e) => AdminReply {
                ok: false,
                text: format!("{e}\n"),
            },
        }
    });
    AdminServer::start(path.clone(), handler).map_err(|e| {
        AppError::Config(format!(
            "cannot open the admin channel {}: {e} (SLATEDB_CACHE_DIR must be a local directory this user can write)",
            path.display()
        ))
    })
}

/// Takes automatic snapshots on `schedule` until `stop`, deleting the oldest automatic ones
/// beyond what it keeps.
pub(super) fn start_schedule(
    schedule: SnapshotSchedule,
    views: &Arc<Views>,
    stop: &StopSignal,
) -> Result<JoinHandle<()>, AppError> {
    let (views, stop) = (views.clone(), stop.clone());
    info!(
        "automatic snapshots every {}, keeping {}",
        humantime::format_duration(schedule.every),
        schedule.keep
    );
    std::thread::Builder::new()
        .name("slatenfs-snapshots".into())
        .spawn(move || {
            while !stop.is_stopped() {
                let wait = match block_on(views.catalog().list()) {
                    Ok(list) => {
                        let newest = list
                            .iter()
                            .filter(|s| s.kind == SnapshotKind::Automatic)
                            .map(|s| s.created)
                            .max();
                        next_in(&schedule, newest, SystemTime::now())
                    }
                    Err(e) => {
                        warn!("automatic snapshots: cannot list the snapshots: {e}");
                        Duration::from_secs(60)
                    }
                };
                if !wait.is_zero() {
                    sleep_unless_stopped(&stop, wait.min(Duration::from_secs(60)));
                    continue;
                }
                if let Err(e) = block_on(take_automatic(&views, schedule)) {
                    warn!("automatic snapshot failed: {e}");
                    sleep_unless_stopped(&stop, Duration::from_secs(60));
                }
            }
        })
        .map_err(|e| AppError::Config(format!("cannot start the snapshot scheduler: {e}")))
}

/// One automatic snapshot, then the expiry of the ones beyond `schedule.keep`.
async fn take_automatic(views: &Views, schedule: SnapshotSchedule) -> Result<(), SnapshotError> {
    let round = take_round(views.catalog(), schedule.keep, SystemTime::now()).await?;
    info!(
        "automatic snapshot {} taken (id {})",
        round.taken.name, round.taken.id
    );
    for old in &round.deleted {
        info!(
            "automatic snapshot {} deleted (beyond --snapshot-keep {})",
            old.name, schedule.keep
        );
    }
    if let Err(e) = views.refresh().await {
        warn!("listing the snapshots again: {e}");
    }
    Ok(())
}

fn sleep_unless_stopped(stop: &StopSignal, total: Duration) {
    let step = Duration::from_millis(200);
    let mut slept = Duration::ZERO;
    while slept < total && !stop.is_stopped() {
        std::thread::sleep(step);
        slept += step;
    }
}
