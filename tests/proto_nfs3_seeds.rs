//! The fuzz seed corpora: real call bodies as a Linux client sends them.
//!
//! `SLATENFS_WRITE_SEEDS=1 cargo test --test proto_nfs3_seeds` (re)writes
//! `fuzz/corpus/seeds/{nfs3_args,mount_args,nfs3_roundtrip}/`; the test always checks that every
//! seed there decodes, so the corpora start from the interesting (accepted) paths.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use slatenfs::proto::mount::MountCall;
use slatenfs::proto::nfs3::*;
use slatenfs::proto::portmap::{Mapping, PortmapCall, IPPROTO_TCP};
use slatenfs::proto::xdr::encode_to_vec;

/// A 28-byte handle laid out like the gateway's: version 1, kind 0, fsid, inode, generation.
const FH: [u8; 28] = [
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 1,
];
const DIR: [u8; 28] = [
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
];

fn sattr_mode(mode: u32) -> Sattr3 {
    Sattr3 {
        mode: Some(mode),
        ..Sattr3::default()
    }
}

fn nfs3_calls(write_data: &'static [u8]) -> Vec<(&'static str, Nfs3Call<'static>)> {
    let fh = NfsFh3(&FH);
    let dir = NfsFh3(&DIR);
    let at = |name: &'static [u8]| Diropargs3 { dir, name };
    let now = Nfstime3 {
        seconds: 1_700_000_000,
        nseconds: 123_456_789,
    };
    vec![
        ("null", Nfs3Call::Null),
        ("getattr", Nfs3Call::Getattr(Getattr3Args { object: fh })),
        (
            "setattr_truncate_guarded",
            Nfs3Call::Setattr(Setattr3Args {
                object: fh,
                new_attributes: Sattr3 {
                    size: Some(0),
                    mtime: SetTime::ServerTime,
                    ..Sattr3::default()
                },
                guard: Some(now),
            }),
        ),
        (
            "setattr_times",
            Nfs3Call::Setattr(Setattr3Args {
                object: fh,
                new_attributes: Sattr3 {
                    mode: Some(0o600),
                    uid: Some(1000),
                    gid: Some(1000),
                    size: None,
                    atime: SetTime::ClientTime(now),
                    mtime: SetTime::ClientTime(now),
                },
                guard: None,
            }),
        ),
        (
            "lookup",
            Nfs3Call::Lookup(Lookup3Args {
                what: at(b"file.txt"),
            }),
        ),
        (
            "lookup_dotdot",
            Nfs3Call::Lookup(Lookup3Args { what: at(b"..") }),
        ),
        (
            "access",
            Nfs3Call::Access(Access3Args {
                object: fh,
                access: access3::READ
                    | access3::LOOKUP
                    | access3::MODIFY
                    | access3::EXTEND
                    | access3::DELETE,
            }),
        ),
        (
            "readlink",
            Nfs3Call::Readlink(Readlink3Args { symlink: fh }),
        ),
        (
            "read",
            Nfs3Call::Read(Read3Args {
                file: fh,
                offset: 1 << 20,
                count: 1 << 20,
            }),
        ),
        (
            "write_unstable",
            Nfs3Call::Write(Write3Args {
                file: fh,
                offset: 4096,
                count: write_data.len() as u32,
                stable: StableHow::Unstable,
                data: write_data,
            }),
        ),
        (
            "write_file_sync_odd",
            Nfs3Call::Write(Write3Args {
                file: fh,
                offset: 7,
                count: 5,
                stable: StableHow::FileSync,
                data: b"hello",
            }),
        ),
        (
            "create_unchecked",
            Nfs3Call::Create(Create3Args {
                where_: at(b"new.txt"),
                how: Createhow3::Unchecked(sattr_mode(0o644)),
            }),
        ),
        (
            "create_guarded",
            Nfs3Call::Create(Create3Args {
                where_: at(b"new.txt"),
                how: Createhow3::Guarded(sattr_mode(0o644)),
            }),
        ),
        (
            "create_exclusive",
            Nfs3Call::Create(Create3Args {
                where_: at(b".nfs000000000000002a00000001"),
                how: Createhow3::Exclusive(*b"\x65\x53\xf1\x00\x00\x00\x30\x39"),
            }),
        ),
        (
            "mkdir",
            Nfs3Call::Mkdir(Mkdir3Args {
                where_: at(b"subdir"),
                attributes: sattr_mode(0o755),
            }),
        ),
        (
            "symlink",
            Nfs3Call::Symlink(Symlink3Args {
                where_: at(b"link"),
                symlink: Symlinkdata3 {
                    symlink_attributes: sattr_mode(0o777),
                    symlink_data: b"../target/file.txt",
                },
            }),
        ),
        (
            "mknod_fifo",
            Nfs3Call::Mknod(Mknod3Args {
                where_: at(b"fifo"),
                what: Mknoddata3::Fifo(sattr_mode(0o644)),
            }),
        ),
        (
            "mknod_chr",
            Nfs3Call::Mknod(Mknod3Args {
                where_: at(b"null"),
                what: Mknoddata3::Chr(Devicedata3 {
                    dev_attributes: sattr_mode(0o666),
                    spec: Specdata3 {
                        specdata1: 1,
                        specdata2: 3,
                    },
                }),
            }),
        ),
        (
            "remove",
            Nfs3Call::Remove(Remove3Args {
                object: at(b"old.txt"),
            }),
        ),
        (
            "rmdir",
            Nfs3Call::Rmdir(Rmdir3Args {
                object: at(b"subdir"),
            }),
        ),
        (
            "rename",
            Nfs3Call::Rename(Rename3Args {
                from: at(b"a.tmp"),
                to: Diropargs3 {
                    dir: fh,
                    name: b"a",
                },
            }),
        ),
        (
            "link",
            Nfs3Call::Link(Link3Args {
                file: fh,
                link: at(b"hardlink"),
            }),
        ),
        (
            "readdir",
            Nfs3Call::Readdir(Readdir3Args {
                dir,
                cookie: 0,
                cookieverf: [0; 8],
                count: 32768,
            }),
        ),
        (
            "readdirplus_resume",
            Nfs3Call::Readdirplus(Readdirplus3Args {
                dir,
                cookie: 512,
                cookieverf: *b"verifier",
                dircount: 131072,
                maxcount: 1048576,
            }),
        ),
        ("fsstat", Nfs3Call::Fsstat(Fsstat3Args { fsroot: dir })),
        ("fsinfo", Nfs3Call::Fsinfo(Fsinfo3Args { fsroot: dir })),
        (
            "pathconf",
            Nfs3Call::Pathconf(Pathconf3Args { object: dir }),
        ),
        (
            "commit",
            Nfs3Call::Commit(Commit3Args {
                file: fh,
                offset: 0,
                count: 0,
            }),
        ),
    ]
}

fn mount_calls() -> Vec<(&'static str, u32, Vec<u8>)> {
    let m = |c: MountCall<'static>| (c.proc_num(), encode_to_vec(&c));
    let p = |c: PortmapCall| (c.proc_num(), encode_to_vec(&c));
    let getport = |prog| {
        PortmapCall::Getport(Mapping {
            prog,
            vers: 3,
            prot: IPPROTO_TCP,
            port: 0,
        })
    };
    let mut v = Vec::new();
    for (name, (proc, body)) in [
        ("mount_null", m(MountCall::Null)),
        ("mnt", m(MountCall::Mnt(b"/export"))),
        ("dump", m(MountCall::Dump)),
        ("umnt", m(MountCall::Umnt(b"/export"))),
        ("umntall", m(MountCall::Umntall)),
        ("export", m(MountCall::Export)),
        ("pmap_getport_nfs", p(getport(NFS_PROGRAM))),
        ("pmap_getport_mount", p(getport(MOUNT_PROGRAM))),
        ("pmap_dump", p(PortmapCall::Dump)),
    ] {
        v.push((name, proc, body));
    }
    v
}

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/seeds")
        .join(target)
}

fn write_all(target: &str, files: &[(String, Vec<u8>)]) {
    let dir = seeds_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn read_all(target: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(seeds_dir(target)) else {
        return Vec::new();
    };
    entries
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn seed_corpora_decode() {
    let write_data: &'static [u8] = Box::leak((0..4096u32).map(|i| (i % 251) as u8).collect());
    let calls = nfs3_calls(write_data);

    if std::env::var_os("SLATENFS_WRITE_SEEDS").is_some() {
        let args: Vec<_> = calls
            .iter()
            .map(|(name, c)| {
                let mut v = c.proc_num().to_be_bytes().to_vec();
                v.extend(encode_to_vec(c));
                (name.to_string(), v)
            })
            .collect();
        write_all("nfs3_args", &args);

        let mut rt: Vec<_> = calls
            .iter()
            .map(|(name, c)| {
                let mut v = vec![0, c.proc_num() as u8];
                v.extend(encode_to_vec(c));
                (format!("call_{name}"), v)
            })
            .collect();
        // Replies: a GETATTR, a LOOKUP failure with attributes, a small READDIRPLUS.
        let attrs = Fattr3 {
            ftype: Ftype3::Reg,
            mode: 0o644,
            nlink: 1,
            uid: 1000,
            gid: 1000,
            size: 5,
            used: 4096,
            rdev: Specdata3::default(),
            fsid: 7,
            fileid: 42,
            atime: Nfstime3::default(),
            mtime: Nfstime3::default(),
            ctime: Nfstime3::default(),
        };
        let replies = [
            (
                "getattr",
                Nfs3Reply::Getattr(Nfs3Res::Ok(Getattr3ResOk {
                    obj_attributes: attrs,
                })),
            ),
            (
                "lookup_noent",
                Nfs3Reply::Lookup(Nfs3Res::Fail(Nfsstat3::Noent, Some(attrs))),
            ),
            (
                "read",
                Nfs3Reply::Read(Nfs3Res::Ok(Read3ResOk {
                    file_attributes: Some(attrs),
                    count: 5,
                    eof: true,
                    data: Bytes::from_static(b"hello"),
                })),
            ),
            (
                "readdirplus",
                Nfs3Reply::Readdirplus(Nfs3Res::Ok(Readdirplus3ResOk {
                    dir_attributes: Some(attrs),
                    cookieverf: [0; 8],
                    reply: Dirlistplus3 {
                        entries: vec![Entryplus3 {
                            fileid: 42,
                            name: b"file.txt",
                            cookie: 3,
                            name_attributes: Some(attrs),
                            name_handle: Some(NfsFh3(&FH)),
                        }],
                        eof: true,
                    },
                })),
            ),
        ];
        for (name, r) in &replies {
            let mut v = vec![1, r.proc_num() as u8];
            v.extend(encode_to_vec(r));
            rt.push((format!("reply_{name}"), v));
        }
        write_all("nfs3_roundtrip", &rt);

        let mount: Vec<_> = mount_calls()
            .into_iter()
            .map(|(name, proc, body)| {
                let mut v = proc.to_be_bytes().to_vec();
                v.extend(body);
                (name.to_string(), v)
            })
            .collect();
        write_all("mount_args", &mount);
    }

    for (name, seed) in read_all("nfs3_args") {
        let (head, body) = seed.split_at(4);
        let proc = u32::from_be_bytes(head.try_into().unwrap());
        assert!(Nfs3Call::decode(proc, body).is_ok(), "nfs3_args/{name}");
    }
    for (name, seed) in read_all("nfs3_roundtrip") {
        let proc = u32::from(seed[1] % 22);
        let ok = if seed[0] % 2 == 0 {
            Nfs3Call::decode(proc, &seed[2..]).is_ok()
        } else {
            Nfs3Reply::decode_slice(proc, &seed[2..]).is_ok()
        };
        assert!(ok, "nfs3_roundtrip/{name}");
    }
    for (name, seed) in read_all("mount_args") {
        let (head, body) = seed.split_at(4);
        let proc = u32::from_be_bytes(head.try_into().unwrap());
        let ok = MountCall::decode(proc, body).is_ok() || PortmapCall::decode(proc, body).is_ok();
        assert!(ok, "mount_args/{name}");
    }
}
