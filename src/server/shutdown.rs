//! Stopping: SIGINT/SIGTERM stop the accept loops; connections get a bounded time to finish the
//! calls they have in flight and send the replies, then whatever is left is closed, and the
//! storage is flushed. A second SIGINT/SIGTERM exits at once. SIGHUP asks for a reload (of the
//! export rules: the composition root says what to do).
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use log::{info, warn};

/// A stop flag that async tasks on any executor can wait for (tokio's `watch` is runtime-agnostic).
#[derive(Clone)]
pub struct StopSignal {
    stopped: Arc<AtomicBool>,
    /// When the stop was triggered (the drain deadline counts from it).
    stopped_at: Arc<OnceLock<Instant>>,
    tx: Arc<tokio::sync::watch::Sender<bool>>,
    rx: tokio::sync::watch::Receiver<bool>,
    open_connections: Arc<AtomicUsize>,
}

/// Counts an open connection (on any core) until dropped.
pub struct ConnectionGuard(Arc<AtomicUsize>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl StopSignal {
    pub fn new() -> Self {
        let (tx, rx) = tokio::sync::watch::channel(false);
        Self {
            stopped: Arc::new(AtomicBool::new(false)),
            stopped_at: Arc::new(OnceLock::new()),
            tx: Arc::new(tx),
            rx,
            open_connections: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn trigger(&self) {
        self.stopped_at.get_or_init(Instant::now);
        self.stopped.store(true, Ordering::SeqCst);
        let _ = self.tx.send(true);
    }

    /// Counts a new connection unless `max` are open already (`None`: refuse it).
    pub fn try_connection_opened(&self, max: usize) -> Option<ConnectionGuard> {
        let before = self.open_connections.fetch_add(1, Ordering::SeqCst);
        let guard = ConnectionGuard(self.open_connections.clone());
        (before < max).then_some(guard)
    }

    /// Connections open on all cores.
    pub fn open_connections(&self) -> usize {
        self.open_connections.load(Ordering::SeqCst)
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Completes once `trigger` has been called.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means the sender is gone, which only happens at teardown: stop as well.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// Completes `drain` after the stop was triggered (on a glommio executor).
    pub(super) async fn drain_deadline(&self, drain: Duration) {
        self.wait().await;
        let since = self
            .stopped_at
            .get()
            .map_or(Duration::ZERO, |t| t.elapsed());
        glommio::timer::sleep(drain.saturating_sub(since)).await;
    }
}

impl Default for StopSignal {
    fn default() -> Self {
        Self::new()
    }
}

/// Exit status after a second SIGINT/SIGTERM: 128 + the signal, as a shell reports it.
fn exit_status(signal: libc::c_int) -> i32 {
    128 + signal
}

/// On a thread of its own: the first SIGINT or SIGTERM triggers `stop`, a second one exits the
/// process at once; each SIGHUP calls `on_hangup`.
pub fn handle_signals(
    stop: StopSignal,
    on_hangup: impl Fn() + Send + 'static,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("slatenfs-signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::hangup()),
                ) else {
                    warn!("cannot install signal handlers; stop with SIGKILL");
                    return;
                };
                loop {
                    let (name, number) = tokio::select! {
                        _ = term.recv() => ("SIGTERM", libc::SIGTERM),
                        _ = int.recv() => ("SIGINT", libc::SIGINT),
                        _ = hup.recv() => {
                            info!("SIGHUP received: reloading");
                            on_hangup();
                            continue;
                        }
                    };
                    if stop.is_stopped() {
                        warn!("second {name}: exiting at once, without waiting for the drain");
                        std::process::exit(exit_status(number));
                    }
                    info!("{name} received: draining (a second {name} exits at once)");
                    stop.trigger();
                }
            })
        })?;
    Ok(())
}

/// Blocks until `stop` is triggered or `done` fires (the executors ended by themselves).
pub(super) fn wait_for_stop_or(stop: &StopSignal, done: &Receiver<()>) {
    while !stop.is_stopped() {
        match done.recv_timeout(Duration::from_millis(50)) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_beyond_the_limit_are_refused_and_freed_slots_reused() {
        let stop = StopSignal::new();
        let a = stop.try_connection_opened(2).unwrap();
        let _b = stop.try_connection_opened(2).unwrap();
        assert!(stop.try_connection_opened(2).is_none());
        assert_eq!(stop.open_connections(), 2);
        drop(a);
        assert!(stop.try_connection_opened(2).is_some());
    }
}
