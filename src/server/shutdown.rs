//! Graceful stop: SIGINT/SIGTERM stop the accept loops, connections finish their in-flight calls
//! and close, then the storage is flushed.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use log::{info, warn};

/// A stop flag that async tasks on any executor can wait for (tokio's `watch` is runtime-agnostic).
#[derive(Clone)]
pub struct StopSignal {
    stopped: Arc<AtomicBool>,
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
            tx: Arc::new(tx),
            rx,
            open_connections: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn trigger(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = self.tx.send(true);
    }

    pub fn connection_opened(&self) -> ConnectionGuard {
        self.open_connections.fetch_add(1, Ordering::SeqCst);
        ConnectionGuard(self.open_connections.clone())
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
}

impl Default for StopSignal {
    fn default() -> Self {
        Self::new()
    }
}

/// Triggers `stop` when SIGINT or SIGTERM arrives (on a thread of its own).
pub fn stop_on_signals(stop: StopSignal) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("slatenfs-signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) else {
                    warn!("cannot install signal handlers; stop with SIGKILL");
                    return;
                };
                tokio::select! {
                    _ = term.recv() => info!("SIGTERM received"),
                    _ = int.recv() => info!("SIGINT received"),
                }
                stop.trigger();
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
