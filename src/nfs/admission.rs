//! Per-call enforcement of the export rules, before any filesystem call: which export the call's
//! file handle was issued under, whether the peer is one of its clients, from which port, as
//! whom (squashing) and whether it may change anything.
//!
//! The first file handle of the call decides (every NFSv3 call starts with one); a second one
//! (RENAME, LINK) must belong to the same export, else NFS3ERR_XDEV as in knfsd. Refusals:
//! a handle that is not ours is BADHANDLE/STALE, an export no longer exported STALE, a peer that
//! is not a client of the export ACCES (logged, rate-limited), a non-privileged port under
//! `secure` an RPC AUTH_ERROR / AUTH_TOOWEAK, a modifying call on a read-only export ROFS.
use std::net::SocketAddr;
use std::sync::Arc;

use crate::exports::{ExportId, ExportOptions, ExportTable};
use crate::fs::{Credentials, Fs, FsError, FsResult, InodeId, ObjectId};
use crate::proto::auth::{AuthStat, Credential};
use crate::proto::nfs3::{Nfs3Call, NfsFh3};
use crate::proto::xdr::XdrDecode;
use crate::rate_limited_log::RateLimitedLog;

use super::handle::{FileHandle, HandleCodec, HandleContent, HANDLE_LEN};

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
    pub fs: &'a Fs,
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
pub(crate) fn admit<'a>(
    fs: &'a Fs,
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
    Ok(CallContext {
        fs,
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
            if c.export != self.export {
                return Err(FsError::XDev);
            }
            c
        };
        self.fs.resolve(content.object).await
    }

    /// The handle of `object`, issued under this call's export.
    pub fn handle(&self, object: ObjectId) -> FileHandle {
        self.codec.encode(object, self.export)
    }

    /// The directory the export makes the client's root (LOOKUP of `..` stops there).
    pub fn export_path(&self) -> &str {
        self.table
            .by_id(self.export)
            .map_or("/", |e| e.path.as_str())
    }
}
