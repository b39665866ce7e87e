//! Conversions between the filesystem's domain types and the NFSv3 wire types.
//!
//! The filesystem speaks `Attr`, `Timestamp`, `FsError`; the wire speaks `fattr3`, `nfstime3`,
//! `nfsstat3`. This is the only place that knows both.
use crate::fs::{
    Attr, CreateHow, Credentials, FileType, FsError, SetAttr, SetTime, StableHow, Timestamp, Wcc,
    WccAttr,
};
use crate::proto::auth::Credential;
use crate::proto::nfs3::{
    self as wire, Createhow3, Fattr3, Ftype3, Nfsstat3, Nfstime3, Sattr3, Specdata3, WccData,
};
use crate::store::StoreError;

/// The wire status of a filesystem error.
pub fn status(e: &FsError) -> Nfsstat3 {
    match e {
        FsError::Perm => Nfsstat3::Perm,
        FsError::NoEnt => Nfsstat3::Noent,
        FsError::Store(StoreError::ReadOnly) => Nfsstat3::Rofs,
        e if e.is_retry_later() => Nfsstat3::Jukebox,
        FsError::Io(_) | FsError::Store(_) => Nfsstat3::Io,
        FsError::NxIo => Nfsstat3::Nxio,
        FsError::Access => Nfsstat3::Acces,
        FsError::Exist => Nfsstat3::Exist,
        FsError::XDev => Nfsstat3::Xdev,
        FsError::NoDev => Nfsstat3::Nodev,
        FsError::NotDir => Nfsstat3::Notdir,
        FsError::IsDir => Nfsstat3::Isdir,
        FsError::Inval => Nfsstat3::Inval,
        FsError::FBig => Nfsstat3::Fbig,
        FsError::NoSpc => Nfsstat3::Nospc,
        FsError::RoFs => Nfsstat3::Rofs,
        FsError::MLink => Nfsstat3::Mlink,
        FsError::NameTooLong => Nfsstat3::Nametoolong,
        FsError::NotEmpty => Nfsstat3::Notempty,
        FsError::DQuot => Nfsstat3::Dquot,
        FsError::Stale => Nfsstat3::Stale,
        FsError::Remote => Nfsstat3::Remote,
        FsError::BadHandle => Nfsstat3::Badhandle,
        FsError::NotSync => Nfsstat3::NotSync,
        FsError::BadCookie => Nfsstat3::BadCookie,
        FsError::NotSupp => Nfsstat3::Notsupp,
        FsError::TooSmall => Nfsstat3::Toosmall,
        FsError::ServerFault(_) => Nfsstat3::Serverfault,
        FsError::BadType => Nfsstat3::Badtype,
        FsError::Jukebox => Nfsstat3::Jukebox,
    }
}

/// NFSv3 carries unsigned 32-bit seconds: times before 1970 read as 1970, after 2106 as 2106.
pub fn nfstime(t: Timestamp) -> Nfstime3 {
    Nfstime3 {
        seconds: t.secs.clamp(0, i64::from(u32::MAX)) as u32,
        nseconds: t.nanos,
    }
}

pub fn timestamp(t: Nfstime3) -> Timestamp {
    Timestamp {
        secs: i64::from(t.seconds),
        // A client may send nanoseconds >= 1e9; clamp rather than store an invalid time.
        nanos: t.nseconds.min(999_999_999),
    }
}

pub fn ftype(t: FileType) -> Ftype3 {
    match t {
        FileType::Regular => Ftype3::Reg,
        FileType::Directory => Ftype3::Dir,
        FileType::Symlink => Ftype3::Lnk,
        FileType::CharDevice => Ftype3::Chr,
        FileType::BlockDevice => Ftype3::Blk,
        FileType::Socket => Ftype3::Sock,
        FileType::Fifo => Ftype3::Fifo,
    }
}

pub fn fattr(a: &Attr) -> Fattr3 {
    Fattr3 {
        ftype: ftype(a.ftype),
        mode: a.mode,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        size: a.size,
        used: a.used,
        rdev: Specdata3 {
            specdata1: a.rdev.0,
            specdata2: a.rdev.1,
        },
        fsid: a.fsid,
        fileid: a.fileid,
        atime: nfstime(a.atime),
        mtime: nfstime(a.mtime),
        ctime: nfstime(a.ctime),
    }
}

pub fn post_op(a: &Attr) -> wire::PostOpAttr {
    Some(fattr(a))
}

fn wcc_attr(w: &WccAttr) -> wire::WccAttr {
    wire::WccAttr {
        size: w.size,
        mtime: nfstime(w.mtime),
        ctime: nfstime(w.ctime),
    }
}

pub fn wcc(w: &Wcc) -> WccData {
    WccData {
        before: w.before.as_ref().map(wcc_attr),
        after: w.after.as_ref().map(fattr),
    }
}

fn set_time(t: wire::SetTime) -> SetTime {
    match t {
        wire::SetTime::DontChange => SetTime::DontChange,
        wire::SetTime::ServerTime => SetTime::ServerTime,
        wire::SetTime::ClientTime(t) => SetTime::ClientTime(timestamp(t)),
    }
}

pub fn set_attr(s: &Sattr3) -> SetAttr {
    SetAttr {
        mode: s.mode,
        uid: s.uid,
        gid: s.gid,
        size: s.size,
        atime: set_time(s.atime),
        mtime: set_time(s.mtime),
    }
}

pub fn create_how(h: &Createhow3) -> CreateHow {
    match h {
        Createhow3::Unchecked(s) => CreateHow::Unchecked(set_attr(s)),
        Createhow3::Guarded(s) => CreateHow::Guarded(set_attr(s)),
        Createhow3::Exclusive(v) => CreateHow::Exclusive(*v),
    }
}

pub fn stable_how(s: wire::StableHow) -> StableHow {
    match s {
        wire::StableHow::Unstable => StableHow::Unstable,
        wire::StableHow::DataSync => StableHow::DataSync,
        wire::StableHow::FileSync => StableHow::FileSync,
    }
}

pub fn wire_stable(s: StableHow) -> wire::StableHow {
    match s {
        StableHow::Unstable => wire::StableHow::Unstable,
        StableHow::DataSync => wire::StableHow::DataSync,
        StableHow::FileSync => wire::StableHow::FileSync,
    }
}

/// The caller's identity: AUTH_SYS as sent, AUTH_NONE as the configured anonymous user.
pub fn credentials(c: &Credential, anonymous: &Credentials) -> Credentials {
    match c {
        Credential::Sys(s) => Credentials::with_groups(s.uid, s.gid, &s.gids),
        Credential::None => anonymous.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_clamp_to_the_wire_range() {
        let t = nfstime(Timestamp { secs: -5, nanos: 7 });
        assert_eq!(
            t,
            Nfstime3 {
                seconds: 0,
                nseconds: 7
            }
        );
        let t = nfstime(Timestamp {
            secs: 1 << 40,
            nanos: 0,
        });
        assert_eq!(t.seconds, u32::MAX);
        let back = timestamp(Nfstime3 {
            seconds: 1_700_000_000,
            nseconds: 2_000_000_000,
        });
        assert_eq!(back.secs, 1_700_000_000);
        assert_eq!(back.nanos, 999_999_999);
    }

    #[test]
    fn every_error_has_a_non_ok_status() {
        for e in [
            FsError::Perm,
            FsError::NoEnt,
            FsError::Io("x".into()),
            FsError::Stale,
            FsError::BadHandle,
            FsError::NotSync,
            FsError::ServerFault("x".into()),
            FsError::Jukebox,
        ] {
            assert_ne!(status(&e), Nfsstat3::Ok, "{e:?}");
        }
        assert_eq!(status(&FsError::NameTooLong), Nfsstat3::Nametoolong);
        assert_eq!(status(&FsError::NotEmpty), Nfsstat3::Notempty);
    }
}
