//! [`SimulatedObjectStore`]: a local or in-memory object store that takes as long as S3 would.
//!
//! Every figure measured on a local disk hides what object storage costs: a PUT that takes
//! 20–50 ms, a GET whose first byte comes after 10–30 ms, a LIST of 30–100 ms, and a bandwidth
//! per request of 50–100 MB/s. This wrapper adds those delays to every request it forwards, so
//! that benchmarks show what the round trips allow (moto, the S3 server the tests use, is far
//! too slow to measure bandwidth with). It is for benchmarks only: the server enables it through
//! a hidden flag and logs a warning that says so.
//!
//! A GET waits for its first byte and then for its transfer at the per-request bandwidth before
//! its data is handed out; a PUT is acknowledged after its latency and transfer. GETs and PUTs
//! take their simulated time or the local store's own time, whichever is longer, not the sum:
//! S3's latency already includes its own work, and adding the local disk's (a PUT's fsync is
//! 2-3 ms on the development machine) would make every round trip some 10% longer than the
//! latency it simulates. A request the
//! inner store refuses because it lacks a feature S3 has (the local store's answer to a PUT with
//! attributes, which SlateDB then retries without them) is answered at once: on S3 it would
//! have succeeded the first time, so charging it a round trip would simulate a second PUT S3
//! never sees. Delete requests are batched by 1,000 objects, as S3's DeleteObjects does.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, UploadPart,
};

/// How long each kind of request takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreTiming {
    /// Until the first byte of a GET (and a HEAD).
    pub get_first_byte: Duration,
    /// A PUT (and each part of a multipart upload, and a copy).
    pub put: Duration,
    /// A LIST.
    pub list: Duration,
    /// A delete request (up to 1,000 objects).
    pub delete: Duration,
    /// Bandwidth of one request in bytes per second (`None`: unlimited).
    pub bytes_per_sec: Option<u64>,
}

impl StoreTiming {
    /// Every request kind takes `latency`, with unlimited bandwidth.
    pub fn uniform(latency: Duration) -> Self {
        StoreTiming {
            get_first_byte: latency,
            put: latency,
            list: latency,
            delete: latency,
            bytes_per_sec: None,
        }
    }

    /// How long `bytes` take to move at the per-request bandwidth.
    fn transfer(&self, bytes: u64) -> Duration {
        match self.bytes_per_sec {
            Some(bw) if bw > 0 => Duration::from_secs_f64(bytes as f64 / bw as f64),
            _ => Duration::ZERO,
        }
    }
}

/// Parses `20ms` (every kind of request) or a comma-separated list of `get=`, `put=`, `list=`,
/// `delete=` latencies and `bandwidth=N` (MB/s, 10^6 bytes) per request, e.g.
/// `get=20ms,put=30ms,list=50ms,delete=20ms,bandwidth=80`.
impl FromStr for StoreTiming {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let duration = |v: &str| {
            humantime::parse_duration(v.trim()).map_err(|e| format!("{v:?}: {e} (e.g. 20ms)"))
        };
        if !s.contains('=') {
            return Ok(StoreTiming::uniform(duration(s)?));
        }
        let mut t = StoreTiming::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected KIND=VALUE"))?;
            match key.trim() {
                "get" => t.get_first_byte = duration(value)?,
                "put" => t.put = duration(value)?,
                "list" => t.list = duration(value)?,
                "delete" => t.delete = duration(value)?,
                "bandwidth" => {
                    let mb: f64 = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("bandwidth={value}: expected MB/s, e.g. 80"))?;
                    if !(mb.is_finite() && mb > 0.0) {
                        return Err(format!("bandwidth={value}: must be positive"));
                    }
                    t.bytes_per_sec = Some((mb * 1e6) as u64);
                }
                other => {
                    return Err(format!(
                        "{other:?}: expected get, put, list, delete or bandwidth"
                    ))
                }
            }
        }
        Ok(t)
    }
}

impl fmt::Display for StoreTiming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "get={:?},put={:?},list={:?},delete={:?}",
            self.get_first_byte, self.put, self.list, self.delete
        )?;
        if let Some(bw) = self.bytes_per_sec {
            write!(f, ",bandwidth={}", bw as f64 / 1e6)?;
        }
        Ok(())
    }
}

/// Forwards every request to an inner object store after the delay [`StoreTiming`] gives it.
#[derive(Debug)]
pub struct SimulatedObjectStore {
    inner: Arc<dyn ObjectStore>,
    timing: Arc<StoreTiming>,
}

impl SimulatedObjectStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, timing: StoreTiming) -> Self {
        SimulatedObjectStore {
            inner,
            timing: Arc::new(timing),
        }
    }
}

impl fmt::Display for SimulatedObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Simulated({}, {})", self.inner, self.timing)
    }
}

/// Whether the inner store refused a request for lacking a feature that S3 has.
fn is_missing_feature<T>(r: &object_store::Result<T>) -> bool {
    matches!(r, Err(object_store::Error::NotImplemented { .. }))
}

async fn wait(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// Waits until `d` has passed since `start` (at once if it has).
async fn wait_since(start: tokio::time::Instant, d: Duration) {
    tokio::time::sleep_until(start + d).await;
}

/// A stream that starts after `delay`.
fn delayed<T: Send + 'static>(
    delay: Duration,
    stream: BoxStream<'static, T>,
) -> BoxStream<'static, T> {
    futures::stream::once(async move {
        wait(delay).await;
        stream
    })
    .flatten()
    .boxed()
}

#[derive(Debug)]
struct SimulatedUpload {
    inner: Box<dyn MultipartUpload>,
    timing: Arc<StoreTiming>,
}

#[async_trait]
impl MultipartUpload for SimulatedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let delay = self.timing.put + self.timing.transfer(data.content_length() as u64);
        let part = self.inner.put_part(data);
        Box::pin(async move {
            let start = tokio::time::Instant::now();
            let r = part.await;
            wait_since(start, delay).await;
            r
        })
    }
    async fn complete(&mut self) -> object_store::Result<PutResult> {
        wait(self.timing.put).await;
        self.inner.complete().await
    }
    async fn abort(&mut self) -> object_store::Result<()> {
        wait(self.timing.delete).await;
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for SimulatedObjectStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let delay = self.timing.put + self.timing.transfer(payload.content_length() as u64);
        let start = tokio::time::Instant::now();
        let r = self.inner.put_opts(location, payload, opts).await;
        if !is_missing_feature(&r) {
            wait_since(start, delay).await;
        }
        r
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        wait(self.timing.put).await;
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(SimulatedUpload {
            inner,
            timing: self.timing.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let head = options.head;
        let start = tokio::time::Instant::now();
        let r = self.inner.get_opts(location, options).await;
        let bytes = match (&r, head) {
            (Ok(r), false) => r.range.end.saturating_sub(r.range.start),
            _ => 0,
        };
        wait_since(
            start,
            self.timing.get_first_byte + self.timing.transfer(bytes),
        )
        .await;
        r
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let delay = self.timing.delete;
        let batched = locations
            .chunks(1000)
            .then(move |batch| async move {
                wait(delay).await;
                futures::stream::iter(batch)
            })
            .flatten()
            .boxed();
        self.inner.delete_stream(batched)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        delayed(self.timing.list, self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        delayed(
            self.timing.list,
            self.inner.list_with_offset(prefix, offset),
        )
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        wait(self.timing.list).await;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        wait(self.timing.put).await;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        wait(self.timing.put).await;
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;
    // The runtime's clock is paused and jumps over sleeps: these durations are exact and the
    // test takes no time.
    use tokio::time::Instant;

    #[test]
    fn parses_uniform_and_per_kind_timings() {
        assert_eq!(
            "20ms".parse::<StoreTiming>().unwrap(),
            StoreTiming::uniform(Duration::from_millis(20))
        );
        let t: StoreTiming = "get=10ms, put=30ms,list=1s,delete=5ms,bandwidth=80"
            .parse()
            .unwrap();
        assert_eq!(t.get_first_byte, Duration::from_millis(10));
        assert_eq!(t.put, Duration::from_millis(30));
        assert_eq!(t.list, Duration::from_secs(1));
        assert_eq!(t.delete, Duration::from_millis(5));
        assert_eq!(t.bytes_per_sec, Some(80_000_000));
        assert_eq!(t.to_string().parse::<StoreTiming>().unwrap(), t);
        for bad in [
            "20",
            "get=x",
            "post=2ms",
            "bandwidth=0",
            "bandwidth=fast",
            "get",
        ] {
            assert!(bad.parse::<StoreTiming>().is_err(), "{bad}");
        }
    }

    /// The inner store's own time is part of the simulated latency, not added to it.
    #[tokio::test(start_paused = true)]
    async fn a_slow_inner_store_is_not_charged_twice() {
        let disk = SimulatedObjectStore::new(
            Arc::new(InMemory::new()),
            StoreTiming::uniform(Duration::from_millis(3)),
        );
        let s = SimulatedObjectStore::new(
            Arc::new(disk),
            StoreTiming::uniform(Duration::from_millis(20)),
        );
        let p = Path::from("a");
        let t = Instant::now();
        s.put(&p, PutPayload::from(vec![1u8; 10])).await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_millis(20));
        let t = Instant::now();
        s.get(&p).await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_millis(20));
        // Slower than the simulated latency: the inner store's time.
        let slow = SimulatedObjectStore::new(
            Arc::new(SimulatedObjectStore::new(
                Arc::new(InMemory::new()),
                StoreTiming::uniform(Duration::from_millis(30)),
            )),
            StoreTiming::uniform(Duration::from_millis(20)),
        );
        let t = Instant::now();
        slow.put(&p, PutPayload::from(vec![1u8; 10])).await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_millis(30));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_take_their_latency_and_transfer_time() {
        let timing = StoreTiming {
            get_first_byte: Duration::from_millis(20),
            put: Duration::from_millis(30),
            list: Duration::from_millis(50),
            delete: Duration::from_millis(7),
            bytes_per_sec: Some(1_000_000),
        };
        let s = SimulatedObjectStore::new(Arc::new(InMemory::new()), timing);
        let p = Path::from("a/b");
        let t = Instant::now();
        s.put(&p, PutPayload::from(vec![7u8; 100_000]))
            .await
            .unwrap();
        let put = t.elapsed();
        // 30 ms + 100 kB at 1 MB/s.
        assert!(put >= Duration::from_millis(130), "{put:?}");
        let t = Instant::now();
        let got = s.get_range(&p, 0..50_000).await.unwrap();
        assert_eq!(got.len(), 50_000);
        let get = t.elapsed();
        assert!(get >= Duration::from_millis(70), "{get:?}");
        let t = Instant::now();
        let listed: Vec<_> = s.list(None).collect().await;
        assert_eq!(listed.len(), 1);
        assert!(t.elapsed() >= Duration::from_millis(50));
        let t = Instant::now();
        let deleted: Vec<_> = s
            .delete_stream(futures::stream::iter(vec![Ok(p.clone())]).boxed())
            .collect()
            .await;
        assert_eq!(deleted.len(), 1);
        assert!(t.elapsed() >= Duration::from_millis(7));
        assert!(s.get(&p).await.is_err(), "deleted");
    }
}
