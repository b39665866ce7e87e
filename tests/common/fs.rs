//! Filesystems on real SlateDB for the tests that drive `slatenfs::fs` directly.

use std::path::Path;

use slatenfs::fs::{CreateHow, Credentials, Fs, FsError, FsOptions, InodeId, SetAttr};
use slatenfs::store::{StorageUrl, Store, StoreConfig};

pub fn root() -> Credentials {
    Credentials::root()
}

/// A fresh filesystem with default options on an in-memory object store.
pub async fn new_fs() -> Fs {
    new_fs_with(FsOptions::default()).await
}

/// A fresh filesystem with `opts` on an in-memory object store.
pub async fn new_fs_with(opts: FsOptions) -> Fs {
    let store = Store::open_in_memory().await.unwrap();
    Fs::open(store, opts).await.unwrap()
}

/// The filesystem with default options on a local-disk store in `dir` (formatted if `dir`
/// holds none yet).
pub async fn open_file_fs(dir: &Path) -> Fs {
    let url = StorageUrl::File(dir.to_path_buf());
    let store = Store::open(StoreConfig::new(url)).await.unwrap();
    Fs::open(store, FsOptions::default()).await.unwrap()
}

/// A new empty regular file, created by root (GUARDED), which must succeed.
pub async fn mkfile(fs: &Fs, dir: InodeId, name: &str) -> InodeId {
    fs.create(
        &root(),
        dir,
        name.as_bytes(),
        &CreateHow::Guarded(SetAttr::default()),
    )
    .await
    .unwrap()
    .ino
}

/// A new directory, created by root, which must succeed.
pub async fn mkdir(fs: &Fs, dir: InodeId, name: &str) -> InodeId {
    fs.mkdir(&root(), dir, name.as_bytes(), &SetAttr::default())
        .await
        .unwrap()
        .ino
}

/// Every invariant `Fs::fsck` checks holds.
pub async fn assert_clean(fs: &Fs) {
    let rep = fs.fsck().await.unwrap();
    assert!(rep.is_clean(), "fsck: {:?}", rep.errors);
}

/// A read-only filesystem refuses CREATE, MKDIR, REMOVE and RENAME in `dir` (which holds
/// `existing`) up front, with `RoFs`.
pub async fn assert_namespace_changes_refused(fs: &Fs, dir: InodeId, existing: &[u8]) {
    let cred = root();
    let how = CreateHow::Unchecked(SetAttr::default());
    assert!(matches!(
        fs.create(&cred, dir, b"x", &how).await,
        Err(FsError::RoFs)
    ));
    assert!(matches!(
        fs.mkdir(&cred, dir, b"x", &SetAttr::default()).await,
        Err(FsError::RoFs)
    ));
    assert!(matches!(
        fs.remove(&cred, dir, existing).await,
        Err(FsError::RoFs)
    ));
    assert!(matches!(
        fs.rename(&cred, dir, existing, dir, b"y").await,
        Err(FsError::RoFs)
    ));
}
