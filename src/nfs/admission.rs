//! Per-call enforcement of the export rules, before any filesystem call: which export the call's
//! file handle was issued under, whether the peer is one of its clients, from which port, as
//! whom (squashing) and whether it may change anything.
//!
//! The first file handle of the call decides (every NFSv3 call starts with one); a second one
//! (RENAME, LINK) must belong to the same export, else NFS3ERR_XDEV as in knfsd. Refusals:
//! a handle that is not ours is BADHANDLE/STALE, an export no longer exported STALE, a peer that
//! is not a client of the export ACCES (logged, rate-limited), a non-privileged port under
//! `secure` an RPC AUTH_ERROR / AUTH_TOOWEAK, a modifying call on a read-only export ROFS.
//!
//! The first handle also names the view the call runs in (see [`super::views`]): a snapshot
//! that no longer exists is STALE, a modifying call in a snapshot or in `.snapshot` ROFS, and
//! a second handle of another view XDEV.
use std::net::SocketAddr;
use std::sync::Arc;

use crate::exports::{ExportId, ExportOptions, ExportTable};
use crate::fs::{Credentials, Fs, FsError, FsResult, InodeId, ObjectId};
use crate::proto::auth::{AuthStat, Credential};
use crate::proto::nfs3::{Nfs3Call, NfsFh3};
use crate::proto::xdr::XdrDecode;
use crate::rate_limited_log::RateLimitedLog;
use crate::snapshot::LIVE_VIEW;

use super::handle::{FileHandle, HandleCodec, HandleContent, HANDLE_LEN};
use super::views::{ViewFs, Views};

/// Refused calls logged per second, at most.
static REFUSALS: RateLimitedLog = RateLimitedLog::new(10);

/// Why a call does not run.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Answered with this NFS status (the procedure's failure arm, no attributes).
    Status(FsError),
    /// Answered at the RPC level: MSG_DENIED / AUTH_ERROR.
    Auth(AuthStat),
}

/// What an admitted call may do, and as whom.
pub(crate) struct CallContext<'a> {
    /// The filesystem of the call's view (the live one for the `.snapshot` directory).
    pub fs: Fs,
    /// The call's view.
    pub view: ViewFs,
    view_id: u32,
    pub views: &'a Views,
    codec: &'a HandleCodec,
    table: Arc<ExportTable>,
    export: ExportId,
    /// The options the peer gets on the export.
    pub options: ExportOptions,
    /// The caller, squashed as the options say.
    pub cred: Credentials,
    /// The first handle, already verified.
    first: [u8; HANDLE_LEN],
    first_content: HandleContent,
}

/// Decides whether `args`, a call from `peer` with credential `cred`, may run.
pub(crate) async fn admit<'a>(
    views: &'a Views,
    codec: &'a HandleCodec,
    table: Arc<ExportTable>,
    args: &Nfs3Call<'_>,
    body: &[u8],
    cred: &Credential,
    peer: SocketAddr,
) -> Result<CallContext<'a>, Refusal> {
    let (_, fh) = NfsFh3::decode(body).map_err(|_| Refusal::Status(FsError::BadHandle))?;
    let content = codec.decode(fh.as_bytes()).map_err(Refusal::Status)?;
    let mut first = [0u8; HANDLE_LEN];
    first.copy_from_slice(fh.as_bytes());
    let Some(export) = table.by_id(content.export) else {
        log::debug!(
            "{} from {peer}: its handle's export is no longer exported",
            args.name()
        );
        return Err(Refusal::Status(FsError::Stale));
    };
    let Some(options) = export.admit(peer.ip()).copied() else {
        REFUSALS.warn(|| {
            format!(
                "refused {} from {peer}: not a client of export {}",
                args.name(),
                export.path
            )
        });
        return Err(Refusal::Status(FsError::Access));
    };
    if !options.port_allowed(peer.port()) {
        REFUSALS.warn(|| {
            format!(
                "refused {} from {peer}: export {} is secure and port {} is not privileged \
                 (the client may use a port below 1024, or the rule may say insecure)",
                args.name(),
                export.path,
                peer.port()
            )
        });
        return Err(Refusal::Auth(AuthStat::TooWeak));
    }
    if options.read_only && args.modifies() {
        return Err(Refusal::Status(FsError::RoFs));
    }
    let export = export.id;
    let view = views.resolve(content.view).await.map_err(Refusal::Status)?;
    let fs = match &view {
        ViewFs::Snapshot(fs) => fs.clone(),
        ViewFs::Live | ViewFs::SnapshotDir => views.live().clone(),
    };
    if !matches!(view, ViewFs::Live) && args.modifies() {
        return Err(Refusal::Status(FsError::RoFs));
    }
    Ok(CallContext {
        fs,
        view,
        view_id: content.view,
        views,
        codec,
        table,
        export,
        options,
        cred: options.credentials(cred),
        first,
        first_content: content,
    })
}

impl CallContext<'_> {
    /// The live object a handle of this call names: verified, of this call's export (else
    /// `XDev`), and still existing with its generation (else `Stale`).
    pub async fn inode(&self, fh: NfsFh3<'_>) -> FsResult<InodeId> {
        let content = if fh.as_bytes() == self.first {
            self.first_content
        } else {
            let c = self.codec.decode(fh.as_bytes())?;
            if c.export != self.export || c.view != self.view_id {
                return Err(FsError::XDev);
            }
            c
        };
        self.fs.resolve(content.object).await
    }

    /// The handle of `object` in this call's view, issued under this call's export.
    pub fn handle(&self, object: ObjectId) -> FileHandle {
        self.codec.encode(self.view_id, object, self.export)
    }

    /// The handle of `object` in view `view`, issued under this call's export (LOOKUP from
    /// one view into another: into `.snapshot`, a snapshot, or back).
    pub fn handle_in(&self, view: u32, object: ObjectId) -> FileHandle {
        self.codec.encode(view, object, self.export)
    }

    /// The attributes to answer with for an object of this call whose own are `attr`: the
    /// `.snapshot` directory's in that view (its handle names the live root, which answers
    /// every call on it but with its own attributes).
    pub fn shown(&self, attr: crate::fs::Attr) -> crate::fs::Attr {
        match self.view {
            ViewFs::SnapshotDir => self.views.snapshot_dir_attr(),
            _ => attr,
        }
    }

    /// Whether the call is in the live filesystem.
    pub fn is_live(&self) -> bool {
        self.view_id == LIVE_VIEW
    }

    /// The directory the export makes the client's root (LOOKUP of `..` stops there).
    pub fn export_path(&self) -> &str {
        self.table
            .by_id(self.export)
            .map_or("/", |e| e.path.as_str())
    }
}
