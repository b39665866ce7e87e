//! A deadline for every object-store call, on every back end.
//!
//! S3's client bounds each HTTP request and its own retries (see `backend::object_store`), but
//! nothing bounds a call of the local-disk store, and a call can still outlast those bounds
//! (a body that trickles in). A call that misses the deadline fails with a transient error,
//! which SlateDB retries; so a store that stops answering turns into failed calls that are
//! retried, never into a call that waits forever. What callers of the filesystem then see is
//! bounded separately (see `durability` and `bridge`).

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::intercept::{Call, CallPolicy};

/// Fails every call that takes longer than `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub limit: Duration,
}

impl CallPolicy for Deadline {
    fn around<'a, T: Send + 'a>(
        &'a self,
        call: Call<'a>,
        run: BoxFuture<'a, object_store::Result<T>>,
    ) -> BoxFuture<'a, object_store::Result<T>> {
        let limit = self.limit;
        async move {
            match tokio::time::timeout(limit, run).await {
                Ok(r) => r,
                Err(_) => Err(object_store::Error::Generic {
                    store: "deadline",
                    source: format!(
                        "{} {} did not answer within {limit:?}",
                        call.kind.name(),
                        call.location.map(|l| l.to_string()).unwrap_or_default()
                    )
                    .into(),
                }),
            }
        }
        .boxed()
    }

    fn describe(&self) -> String {
        format!("Deadline({:?})", self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fault::{Fault, FaultInjector, FaultSchedule};
    use crate::store::intercept::Intercepted;
    use object_store::path::Path;
    use object_store::{ObjectStore, ObjectStoreExt};
    use std::sync::Arc;

    /// A call that hangs fails after the deadline instead; calls that answer pass.
    #[test]
    fn a_hanging_call_fails_at_the_deadline() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let memory: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
            let faults = FaultInjector::new(FaultSchedule::new(1));
            let store = Intercepted::new(
                faults.wrap(memory),
                Arc::new(Deadline {
                    limit: Duration::from_millis(200),
                }),
            );
            let p = Path::from("a/b");
            store.put(&p, "x".into()).await.unwrap();
            assert!(store.get(&p).await.is_ok());

            let hang = FaultInjector::new(FaultSchedule::new(1).rule(None, Fault::Hang, 1.0));
            let store = Intercepted::new(
                hang.wrap(Arc::new(object_store::memory::InMemory::new())),
                Arc::new(Deadline {
                    limit: Duration::from_millis(200),
                }),
            );
            let e = store.get(&p).await.unwrap_err();
            assert!(e.to_string().contains("did not answer"), "{e}");
            assert_eq!(hang.stats().hangs, 1);
        });
    }
}
