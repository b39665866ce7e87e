//! An object store whose every call passes through a [`CallPolicy`]: the one place that knows
//! the `ObjectStore` trait's shape for wrappers that act *around* calls (a deadline per call,
//! injected faults, a record of what reached the store), so each of them is only its policy.
//!
//! Each call is classified by what it does to SlateDB's data ([`OpKind`]), because that is
//! what the policies care about: a WAL PUT is a durability point, an SST PUT an L0 flush or
//! compaction output, a conditional PUT a manifest change.
//!
//! Listings run to their end inside the policy (SlateDB lists small directories: the
//! manifest, the WAL), so a policy sees a LIST as one call.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream};
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    UploadPart,
};

/// What an object-store call does, as far as SlateDB's data is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// PUT of a write-ahead-log object (`<db>/wal/...`): what makes writes durable.
    PutWal,
    /// PUT of a table (an L0 flush or compaction output).
    PutSst,
    /// Any other PUT: manifests and compaction state, written conditionally
    /// (`If-None-Match` / `If-Match`).
    PutConditional,
    /// GET, ranged GET or HEAD.
    Get,
    /// LIST.
    List,
    /// DELETE (garbage collection).
    Delete,
    /// COPY or RENAME (SlateDB does not use them for a database like ours).
    Other,
}

impl OpKind {
    /// Every kind, in a fixed order.
    pub const ALL: [OpKind; 7] = [
        OpKind::PutWal,
        OpKind::PutSst,
        OpKind::PutConditional,
        OpKind::Get,
        OpKind::List,
        OpKind::Delete,
        OpKind::Other,
    ];

    /// The kind of a PUT to `location`.
    pub fn of_put(location: &Path) -> OpKind {
        if super::backend::is_wal(location) {
            OpKind::PutWal
        } else if location.extension() == Some("sst") {
            OpKind::PutSst
        } else {
            OpKind::PutConditional
        }
    }

    /// Whether calls of this kind change what the store holds.
    pub fn is_mutation(self) -> bool {
        matches!(
            self,
            OpKind::PutWal
                | OpKind::PutSst
                | OpKind::PutConditional
                | OpKind::Delete
                | OpKind::Other
        )
    }

    /// The name used in fault specifications and logs.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::PutWal => "put_wal",
            OpKind::PutSst => "put_sst",
            OpKind::PutConditional => "put_cond",
            OpKind::Get => "get",
            OpKind::List => "list",
            OpKind::Delete => "delete",
            OpKind::Other => "other",
        }
    }
}

/// One call as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// What it does.
    pub kind: OpKind,
    /// The object (the prefix for a LIST, the target for COPY/RENAME).
    pub location: Option<&'a Path>,
}

/// What a wrapper does around each call: run it (or not), wait, fail, look at the result.
pub trait CallPolicy: Send + Sync + 'static {
    /// Runs `run`, the call itself, as the policy wants.
    fn around<'a, T: Send + 'a>(
        &'a self,
        call: Call<'a>,
        run: BoxFuture<'a, object_store::Result<T>>,
    ) -> BoxFuture<'a, object_store::Result<T>>;

    /// A short name for `Display` (e.g. `Deadline(30s)`).
    fn describe(&self) -> String;
}

/// `inner` with every call passed through `policy`.
pub struct Intercepted<P: CallPolicy> {
    inner: Arc<dyn ObjectStore>,
    policy: Arc<P>,
}

impl<P: CallPolicy> Intercepted<P> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, policy: Arc<P>) -> Self {
        Intercepted { inner, policy }
    }

    /// The policy.
    pub fn policy(&self) -> &Arc<P> {
        &self.policy
    }
}

impl<P: CallPolicy> fmt::Debug for Intercepted<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:?})", self.policy.describe(), self.inner)
    }
}

impl<P: CallPolicy> fmt::Display for Intercepted<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.policy.describe(), self.inner)
    }
}

/// A multipart upload whose parts and completion pass through the policy.
struct InterceptedUpload<P: CallPolicy> {
    inner: Box<dyn MultipartUpload>,
    policy: Arc<P>,
    kind: OpKind,
    location: Path,
}

impl<P: CallPolicy> fmt::Debug for InterceptedUpload<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Upload({})", self.policy.describe(), self.location)
    }
}

#[async_trait]
impl<P: CallPolicy> MultipartUpload for InterceptedUpload<P> {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let part = self.inner.put_part(data);
        let (policy, kind, location) = (self.policy.clone(), self.kind, self.location.clone());
        async move {
            let call = Call {
                kind,
                location: Some(&location),
            };
            policy.around(call, part).await
        }
        .boxed()
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let call = Call {
            kind: self.kind,
            location: Some(&self.location),
        };
        self.policy.around(call, self.inner.complete()).await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

#[async_trait]
impl<P: CallPolicy> ObjectStore for Intercepted<P> {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let call = Call {
            kind: OpKind::of_put(location),
            location: Some(location),
        };
        let run = self.inner.put_opts(location, payload, opts);
        self.policy.around(call, run).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let kind = OpKind::of_put(location);
        let call = Call {
            kind,
            location: Some(location),
        };
        let inner = self
            .policy
            .around(call, self.inner.put_multipart_opts(location, opts))
            .await?;
        Ok(Box::new(InterceptedUpload {
            inner,
            policy: self.policy.clone(),
            kind,
            location: location.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let call = Call {
            kind: OpKind::Get,
            location: Some(location),
        };
        self.policy
            .around(call, self.inner.get_opts(location, options))
            .await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let call = Call {
            kind: OpKind::Get,
            location: Some(location),
        };
        self.policy
            .around(call, self.inner.get_ranges(location, ranges))
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let (inner, policy) = (self.inner.clone(), self.policy.clone());
        locations
            .and_then(move |location| {
                let (inner, policy) = (inner.clone(), policy.clone());
                async move {
                    let call = Call {
                        kind: OpKind::Delete,
                        location: Some(&location),
                    };
                    policy.around(call, inner.delete(&location).boxed()).await?;
                    Ok(location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let listing = self.inner.list(prefix);
        self.listed(prefix, listing)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let listing = self.inner.list_with_offset(prefix, offset);
        self.listed(prefix, listing)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let call = Call {
            kind: OpKind::List,
            location: prefix,
        };
        self.policy
            .around(call, self.inner.list_with_delimiter(prefix))
            .await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let call = Call {
            kind: OpKind::Other,
            location: Some(to),
        };
        self.policy
            .around(call, self.inner.copy_opts(from, to, options))
            .await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        let call = Call {
            kind: OpKind::Other,
            location: Some(to),
        };
        self.policy
            .around(call, self.inner.rename_opts(from, to, options))
            .await
    }
}

impl<P: CallPolicy> Intercepted<P> {
    /// A listing read to its end as one call of the policy, then handed out entry by entry.
    fn listed(
        &self,
        prefix: Option<&Path>,
        listing: BoxStream<'static, object_store::Result<ObjectMeta>>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let policy = self.policy.clone();
        let prefix = prefix.cloned();
        stream::once(async move {
            let call = Call {
                kind: OpKind::List,
                location: prefix.as_ref(),
            };
            policy
                .around(call, listing.try_collect::<Vec<_>>().boxed())
                .await
        })
        .map(|listed| match listed {
            Ok(entries) => stream::iter(entries.into_iter().map(Ok)).boxed(),
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        })
        .flatten()
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_are_classified_by_path() {
        let p = |s: &str| OpKind::of_put(&Path::from(s));
        assert_eq!(p("slatenfs/wal/00000000000000000007.sst"), OpKind::PutWal);
        assert_eq!(p("slatenfs/compacted/01J0ABC.sst"), OpKind::PutSst);
        assert_eq!(
            p("slatenfs/manifest/00000000000000000003.manifest"),
            OpKind::PutConditional
        );
        assert!(OpKind::Delete.is_mutation() && !OpKind::Get.is_mutation());
    }
}
