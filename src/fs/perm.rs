//! AUTH_SYS permission checks (owner / group / other bits, root, owner override, sticky).

use super::error::FsError;
use super::inode::Inode;
use super::types::{access, Credentials, FileType};

/// Read permission.
pub const R: u32 = 4;
/// Write permission.
pub const W: u32 = 2;
/// Execute / search permission.
pub const X: u32 = 1;

/// Setuid bit.
pub const S_ISUID: u32 = 0o4000;
/// Setgid bit.
pub const S_ISGID: u32 = 0o2000;
/// Sticky bit.
pub const S_ISVTX: u32 = 0o1000;

/// Whether `cred` has all of `want` (R/W/X) on `inode` by the mode bits.
/// Root bypasses the bits, except that execute on a non-directory needs some x bit.
pub fn may(cred: &Credentials, inode: &Inode, want: u32) -> bool {
    if cred.uid == 0 {
        if want & X != 0 && inode.ftype != FileType::Directory && inode.mode & 0o111 == 0 {
            return false;
        }
        return true;
    }
    let bits = if cred.uid == inode.uid {
        inode.mode >> 6
    } else if cred.in_group(inode.gid) {
        inode.mode >> 3
    } else {
        inode.mode
    } & 7;
    bits & want == want
}

/// Like [`may`], with the owner override of Linux nfsd: the owner may read and write their own
/// file whatever its mode (git writes 0444 files through an open descriptor).
pub fn may_data(cred: &Credentials, inode: &Inode, want: u32) -> bool {
    may(cred, inode, want) || (cred.uid == inode.uid && want & X == 0)
}

/// Fails with `Access` unless [`may`].
pub fn check(cred: &Credentials, inode: &Inode, want: u32) -> Result<(), FsError> {
    if may(cred, inode, want) {
        Ok(())
    } else {
        Err(FsError::Access)
    }
}

/// Search permission on a directory (for LOOKUP and every path step).
pub fn check_search(cred: &Credentials, dir: &Inode) -> Result<(), FsError> {
    check(cred, dir, X)
}

/// Write and search permission on a directory (to add or remove entries).
pub fn check_dir_write(cred: &Credentials, dir: &Inode) -> Result<(), FsError> {
    check(cred, dir, W | X)
}

/// Sticky directory rule: in a sticky directory only the owner of the entry, the owner of the
/// directory, or root may remove or rename it.
pub fn check_sticky(cred: &Credentials, dir: &Inode, child: &Inode) -> Result<(), FsError> {
    if dir.mode & S_ISVTX != 0 && cred.uid != 0 && cred.uid != dir.uid && cred.uid != child.uid {
        return Err(FsError::Access);
    }
    Ok(())
}

/// Whether `cred` may set the owner of `inode` to `uid` (Linux's `chown_ok`, fs/attr.c): root
/// may; the owner may only "set" its own uid, which leaves it unchanged; nobody else may, not
/// even to the current owner.
pub fn chown_ok(cred: &Credentials, inode: &Inode, uid: u32) -> bool {
    cred.uid == 0 || (cred.uid == inode.uid && uid == inode.uid)
}

/// Whether `cred` may set the group of `inode` to `gid` (Linux's `chgrp_ok`): root may; the
/// owner may set the current group or a group it belongs to; nobody else may.
pub fn chgrp_ok(cred: &Credentials, inode: &Inode, gid: u32) -> bool {
    cred.uid == 0 || (cred.uid == inode.uid && (gid == inode.gid || cred.in_group(gid)))
}

/// The ACCESS3 bits of `requested` that `cred` is granted on `inode`.
pub fn access_mask(cred: &Credentials, inode: &Inode, requested: u32) -> u32 {
    let mut granted = 0;
    let is_dir = inode.ftype == FileType::Directory;
    if may(cred, inode, R) {
        granted |= access::READ;
    }
    if may(cred, inode, W) {
        granted |= access::MODIFY | access::EXTEND;
        if is_dir {
            granted |= access::DELETE;
        }
    }
    if may(cred, inode, X) {
        granted |= if is_dir {
            access::LOOKUP
        } else {
            access::EXECUTE
        };
    }
    granted & requested
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::types::Timestamp;

    fn node(ftype: FileType, mode: u32, uid: u32, gid: u32) -> Inode {
        Inode::new(5, ftype, mode, uid, gid, Timestamp::default())
    }

    #[test]
    fn bits() {
        let f = node(FileType::Regular, 0o640, 10, 20);
        let owner = Credentials::new(10, 99);
        let member = Credentials::with_groups(11, 99, &[20]);
        let other = Credentials::new(12, 12);
        assert!(may(&owner, &f, R | W));
        assert!(!may(&owner, &f, X));
        assert!(may(&member, &f, R));
        assert!(!may(&member, &f, W));
        assert!(!may(&other, &f, R));
        // Root: everything but execute without any x bit.
        let root = Credentials::root();
        assert!(may(&root, &f, R | W));
        assert!(!may(&root, &f, X));
        assert!(may(&root, &node(FileType::Regular, 0o001, 1, 1), X));
        assert!(may(&root, &node(FileType::Directory, 0o000, 1, 1), X));
        // Owner override for data, not execute.
        let ro = node(FileType::Regular, 0o444, 10, 20);
        assert!(!may(&owner, &ro, W));
        assert!(may_data(&owner, &ro, W));
        assert!(!may_data(&other, &ro, W));
        assert!(!may_data(
            &owner,
            &node(FileType::Regular, 0o000, 10, 20),
            X
        ));
        // Owner bits take precedence even when they deny.
        let odd = node(FileType::Regular, 0o077, 10, 20);
        assert!(!may(&owner, &odd, R));
    }

    #[test]
    fn access_and_sticky() {
        let d = node(FileType::Directory, 0o1777, 0, 0);
        let u = Credentials::new(10, 10);
        assert_eq!(access_mask(&u, &d, 0x3f), 0x1f);
        let f = node(FileType::Regular, 0o755, 0, 0);
        assert_eq!(access_mask(&u, &f, 0x3f), access::READ | access::EXECUTE);
        let mine = node(FileType::Regular, 0o644, 10, 10);
        let theirs = node(FileType::Regular, 0o666, 11, 11);
        assert!(check_sticky(&u, &d, &mine).is_ok());
        assert!(check_sticky(&u, &d, &theirs).is_err());
        assert!(check_sticky(&Credentials::root(), &d, &theirs).is_ok());
    }
}
