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

/// Blocks until SIGINT/SIGTERM arrives or `done` fires (the executors ended by themselves).
pub fn wait_for_signal_or(done: &Receiver<()>) {
    let got_signal = Arc::new(AtomicBool::new(false));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            warn!("cannot install signal handlers ({e}); stop with SIGKILL");
            let _ = done.recv();
            return;
        }
    };
    let flag = got_signal.clone();
    runtime.spawn(async move {
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
        flag.store(true, Ordering::SeqCst);
    });
    // Poll both conditions: the signal task runs on `runtime`'s thread while we wait here.
    runtime.block_on(async {
        loop {
            if got_signal.load(Ordering::SeqCst) {
                return;
            }
            match done.recv_timeout(Duration::from_millis(0)) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}
