//! Golden bytes, written by hand from the XDR layouts of RFC 1813 (NFSv3 and MOUNT v3) and
//! RFC 1833 (portmap v2), not produced by the code under test. Each test decodes the bytes and
//! checks the fields, and encodes the typed value and checks it gives the same bytes.

use bytes::Bytes;

use slatenfs::proto::mount::{MountCall, MountReply, Mountres3, Mountres3Ok};
use slatenfs::proto::nfs3::*;
use slatenfs::proto::portmap::{Mapping, PortmapCall, PortmapReply, IPPROTO_TCP};
use slatenfs::proto::xdr::{encode_to_vec, XdrEncode, XdrSink};

#[rustfmt::skip]
const GETATTR_ARGS: [u8; 12] = [
    0x00, 0x00, 0x00, 0x06,             // nfs_fh3 length 6
    0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, // handle bytes
    0x00, 0x00,                         // 2 bytes of padding to a multiple of 4
];

#[test]
fn getattr_args() {
    let call = Nfs3Call::decode(1, &GETATTR_ARGS).unwrap();
    let expected = Nfs3Call::Getattr(Getattr3Args {
        object: NfsFh3(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
    });
    assert_eq!(call, expected);
    assert_eq!(encode_to_vec(&expected), GETATTR_ARGS);
}

#[rustfmt::skip]
const LOOKUP_ARGS: [u8; 24] = [
    // diropargs3.dir: nfs_fh3 of 8 bytes
    0x00, 0x00, 0x00, 0x08,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    // diropargs3.name: filename3 "foo.txt", 7 bytes + 1 pad
    0x00, 0x00, 0x00, 0x07,
    b'f', b'o', b'o', b'.', b't', b'x', b't', 0x00,
];

#[test]
fn lookup_args() {
    let expected = Nfs3Call::Lookup(Lookup3Args {
        what: Diropargs3 {
            dir: NfsFh3(&[1, 2, 3, 4, 5, 6, 7, 8]),
            name: b"foo.txt",
        },
    });
    assert_eq!(Nfs3Call::decode(3, &LOOKUP_ARGS).unwrap(), expected);
    assert_eq!(encode_to_vec(&expected), LOOKUP_ARGS);
}

#[rustfmt::skip]
const WRITE_ARGS: [u8; 36] = [
    // file: nfs_fh3 of 4 bytes
    0x00, 0x00, 0x00, 0x04,  0xde, 0xad, 0xbe, 0xef,
    // offset3 (uint64) = 4 GiB
    0x00, 0x00, 0x00, 0x01,  0x00, 0x00, 0x00, 0x00,
    // count3 = 5
    0x00, 0x00, 0x00, 0x05,
    // stable_how = FILE_SYNC (2)
    0x00, 0x00, 0x00, 0x02,
    // opaque data<>: length 5, "hello", 3 bytes of padding
    0x00, 0x00, 0x00, 0x05,
    b'h', b'e', b'l', b'l',  b'o', 0x00, 0x00, 0x00,
];

#[test]
fn write_args_with_data_and_padding() {
    let Nfs3Call::Write(w) = Nfs3Call::decode(7, &WRITE_ARGS).unwrap() else {
        panic!("not WRITE");
    };
    assert_eq!(w.file, NfsFh3(&[0xde, 0xad, 0xbe, 0xef]));
    assert_eq!(w.offset, 1 << 32);
    assert_eq!(w.count, 5);
    assert_eq!(w.stable, StableHow::FileSync);
    assert_eq!(w.data, b"hello");
    // Zero-copy: the data is the input at offset 28.
    assert_eq!(w.data.as_ptr(), WRITE_ARGS[28..].as_ptr());
    assert_eq!(encode_to_vec(&Nfs3Call::Write(w)), WRITE_ARGS);
}

#[rustfmt::skip]
const READ_REPLY: [u8; 24] = [
    0x00, 0x00, 0x00, 0x00,  // nfsstat3 NFS3_OK
    0x00, 0x00, 0x00, 0x00,  // post_op_attr: attributes_follow FALSE
    0x00, 0x00, 0x00, 0x03,  // count3 = 3
    0x00, 0x00, 0x00, 0x01,  // eof = TRUE
    0x00, 0x00, 0x00, 0x03,  // opaque data<> length 3
    b'a', b'b', b'c', 0x00,  // "abc" + 1 pad
];

#[test]
fn read_reply() {
    let reply = Nfs3Reply::Read(Nfs3Res::Ok(Read3ResOk {
        file_attributes: None,
        count: 3,
        eof: true,
        data: Bytes::from_static(b"abc"),
    }));
    let mut sink = XdrSink::new();
    reply.encode(&mut sink);
    assert_eq!(sink.to_vec(), READ_REPLY);
    let wire = Bytes::from_static(&READ_REPLY);
    assert_eq!(Nfs3Reply::decode(6, &wire).unwrap(), reply);

    // The failure arm: NFS3ERR_IO (5), post_op_attr FALSE.
    let fail = [0, 0, 0, 5, 0, 0, 0, 0];
    assert_eq!(
        Nfs3Reply::decode_slice(6, &fail).unwrap(),
        Nfs3Reply::Read(Nfs3Res::Fail(Nfsstat3::Io, None))
    );
}

/// The attributes in [`GETATTR_REPLY`].
fn sample_fattr() -> Fattr3 {
    Fattr3 {
        ftype: Ftype3::Reg,
        mode: 0o644,
        nlink: 1,
        uid: 1000,
        gid: 1000,
        size: 0x1234,
        used: 0x2000,
        rdev: Specdata3 {
            specdata1: 0,
            specdata2: 0,
        },
        fsid: 0x0102_0304_0506_0708,
        fileid: 42,
        atime: Nfstime3 {
            seconds: 1_700_000_000,
            nseconds: 500_000_000,
        },
        mtime: Nfstime3 {
            seconds: 1_700_000_001,
            nseconds: 0,
        },
        ctime: Nfstime3 {
            seconds: 1_700_000_002,
            nseconds: 1,
        },
    }
}

#[rustfmt::skip]
const GETATTR_REPLY: [u8; 4 + 84] = [
    0x00, 0x00, 0x00, 0x00,                          // nfsstat3 NFS3_OK
    // fattr3 (84 bytes)
    0x00, 0x00, 0x00, 0x01,                          // type NF3REG
    0x00, 0x00, 0x01, 0xa4,                          // mode 0644
    0x00, 0x00, 0x00, 0x01,                          // nlink 1
    0x00, 0x00, 0x03, 0xe8,                          // uid 1000
    0x00, 0x00, 0x03, 0xe8,                          // gid 1000
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34,  // size 0x1234
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00,  // used 0x2000
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // rdev (specdata1, specdata2) = (0, 0)
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // fsid
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,  // fileid 42
    0x65, 0x53, 0xf1, 0x00, 0x1d, 0xcd, 0x65, 0x00,  // atime 1700000000 s, 500000000 ns
    0x65, 0x53, 0xf1, 0x01, 0x00, 0x00, 0x00, 0x00,  // mtime 1700000001 s, 0 ns
    0x65, 0x53, 0xf1, 0x02, 0x00, 0x00, 0x00, 0x01,  // ctime 1700000002 s, 1 ns
];

#[test]
fn getattr_reply_fattr3_is_84_bytes() {
    let reply = Nfs3Reply::Getattr(Nfs3Res::Ok(Getattr3ResOk {
        obj_attributes: sample_fattr(),
    }));
    assert_eq!(encode_to_vec(&reply), GETATTR_REPLY);
    assert_eq!(encode_to_vec(&sample_fattr()).len(), 84);
    assert_eq!(Nfs3Reply::decode_slice(1, &GETATTR_REPLY).unwrap(), reply);
    // GETATTR3resfail is void: NFS3ERR_STALE alone.
    assert_eq!(
        Nfs3Reply::decode_slice(1, &[0, 0, 0, 70]).unwrap(),
        Nfs3Reply::Getattr(Nfs3Res::Fail(Nfsstat3::Stale, ()))
    );
}

#[rustfmt::skip]
const CREATE_EXCLUSIVE_ARGS: [u8; 28] = [
    0x00, 0x00, 0x00, 0x04,  0x11, 0x22, 0x33, 0x44,  // where.dir: nfs_fh3 of 4 bytes
    0x00, 0x00, 0x00, 0x01,  b'a', 0x00, 0x00, 0x00,  // where.name "a" + 3 pad
    0x00, 0x00, 0x00, 0x02,                           // createmode3 EXCLUSIVE
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,   // createverf3 (8 bytes, no length)
];

#[test]
fn create_exclusive_args() {
    let expected = Nfs3Call::Create(Create3Args {
        where_: Diropargs3 {
            dir: NfsFh3(&[0x11, 0x22, 0x33, 0x44]),
            name: b"a",
        },
        how: Createhow3::Exclusive([1, 2, 3, 4, 5, 6, 7, 8]),
    });
    assert_eq!(
        Nfs3Call::decode(8, &CREATE_EXCLUSIVE_ARGS).unwrap(),
        expected
    );
    assert_eq!(encode_to_vec(&expected), CREATE_EXCLUSIVE_ARGS);
}

#[rustfmt::skip]
const SETATTR_GUARDED_ARGS: [u8; 64] = [
    0x00, 0x00, 0x00, 0x04,  0x0a, 0x0b, 0x0c, 0x0d,  // object: nfs_fh3 of 4 bytes
    // sattr3
    0x00, 0x00, 0x00, 0x01,  0x00, 0x00, 0x01, 0xed,  // set_mode3 TRUE, mode 0755
    0x00, 0x00, 0x00, 0x00,                           // set_uid3 FALSE
    0x00, 0x00, 0x00, 0x00,                           // set_gid3 FALSE
    0x00, 0x00, 0x00, 0x01,                           // set_size3 TRUE
    0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,  //   size 0 (truncate)
    0x00, 0x00, 0x00, 0x01,                           // set_atime SET_TO_SERVER_TIME
    0x00, 0x00, 0x00, 0x02,                           // set_mtime SET_TO_CLIENT_TIME
    0x65, 0x53, 0xf1, 0x00,  0x00, 0x00, 0x00, 0x00,  //   mtime 1700000000 s, 0 ns
    // sattrguard3
    0x00, 0x00, 0x00, 0x01,                           // check TRUE
    0x65, 0x53, 0xf1, 0x00,  0x00, 0x00, 0x00, 0x07,  //   obj_ctime 1700000000 s, 7 ns
];

#[test]
fn setattr_with_guard() {
    let expected = Nfs3Call::Setattr(Setattr3Args {
        object: NfsFh3(&[0x0a, 0x0b, 0x0c, 0x0d]),
        new_attributes: Sattr3 {
            mode: Some(0o755),
            uid: None,
            gid: None,
            size: Some(0),
            atime: SetTime::ServerTime,
            mtime: SetTime::ClientTime(Nfstime3 {
                seconds: 1_700_000_000,
                nseconds: 0,
            }),
        },
        guard: Some(Nfstime3 {
            seconds: 1_700_000_000,
            nseconds: 7,
        }),
    });
    let decoded = Nfs3Call::decode(2, &SETATTR_GUARDED_ARGS).unwrap();
    assert_eq!(decoded, expected);
    assert!(decoded.is_non_idempotent());
    assert_eq!(encode_to_vec(&expected), SETATTR_GUARDED_ARGS);
}

#[rustfmt::skip]
const READDIRPLUS_REPLY: [u8; 104] = [
    0x00, 0x00, 0x00, 0x00,                           // nfsstat3 NFS3_OK
    0x00, 0x00, 0x00, 0x00,                           // dir_attributes: post_op_attr FALSE
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,   // cookieverf3
    // entry 1
    0x00, 0x00, 0x00, 0x01,                           // value follows (entries / nextentry)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,   // fileid 2
    0x00, 0x00, 0x00, 0x01,  b'.', 0x00, 0x00, 0x00,  // name "." + 3 pad
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,   // cookie 1
    0x00, 0x00, 0x00, 0x00,                           // name_attributes FALSE
    0x00, 0x00, 0x00, 0x01,                           // name_handle: handle_follows TRUE
    0x00, 0x00, 0x00, 0x04,  0x00, 0x00, 0x00, 0x02,  //   nfs_fh3 of 4 bytes
    // entry 2
    0x00, 0x00, 0x00, 0x01,                           // value follows
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,   // fileid 3
    0x00, 0x00, 0x00, 0x04,  b'f', b'i', b'l', b'e',  // name "file" (no pad)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,   // cookie 2
    0x00, 0x00, 0x00, 0x00,                           // name_attributes FALSE
    0x00, 0x00, 0x00, 0x00,                           // name_handle FALSE
    0x00, 0x00, 0x00, 0x00,                           // no more entries
    0x00, 0x00, 0x00, 0x01,                           // eof TRUE
];

fn readdirplus_entries() -> [Entryplus3<'static>; 2] {
    [
        Entryplus3 {
            fileid: 2,
            name: b".",
            cookie: 1,
            name_attributes: None,
            name_handle: Some(NfsFh3(&[0, 0, 0, 2])),
        },
        Entryplus3 {
            fileid: 3,
            name: b"file",
            cookie: 2,
            name_attributes: None,
            name_handle: None,
        },
    ]
}

#[test]
fn readdirplus_reply_with_two_entries() {
    let verf = [0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7];
    let reply = Nfs3Reply::Readdirplus(Nfs3Res::Ok(Readdirplus3ResOk {
        dir_attributes: None,
        cookieverf: verf,
        reply: Dirlistplus3 {
            entries: readdirplus_entries().to_vec(),
            eof: true,
        },
    }));
    assert_eq!(encode_to_vec(&reply), READDIRPLUS_REPLY);
    assert_eq!(
        Nfs3Reply::decode_slice(17, &READDIRPLUS_REPLY).unwrap(),
        reply
    );

    // The builder produces the same page when both entries fit exactly in maxcount = 104, and
    // dircount = 2 * (8 + 8 + 8) = 48.
    let mut b = ReaddirplusBuilder::new(48, 104, None);
    for e in readdirplus_entries() {
        assert_eq!(b.push(e), Push::Added);
    }
    assert_eq!(
        encode_to_vec(&Nfs3Reply::Readdirplus(b.finish(verf, true))),
        READDIRPLUS_REPLY
    );
    // One byte less of maxcount: the second entry is refused, EOF is cleared.
    let mut b = ReaddirplusBuilder::new(48, 103, None);
    let pushed: Vec<Push> = readdirplus_entries()
        .into_iter()
        .map(|e| b.push(e))
        .collect();
    assert_eq!(pushed, [Push::Added, Push::Refused]);
    let Nfs3Res::Ok(page) = b.finish(verf, true) else {
        panic!("expected a page");
    };
    assert_eq!(page.reply.entries.len(), 1);
    assert!(!page.reply.eof);
    // One byte less of dircount: the same.
    let mut b = ReaddirplusBuilder::new(47, 104, None);
    let pushed: Vec<Push> = readdirplus_entries()
        .into_iter()
        .map(|e| b.push(e))
        .collect();
    assert_eq!(pushed, [Push::Added, Push::Refused]);
}

#[rustfmt::skip]
const MNT_REPLY: [u8; 24] = [
    0x00, 0x00, 0x00, 0x00,                           // mountstat3 MNT3_OK
    0x00, 0x00, 0x00, 0x08,                           // fhandle3 length 8
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,   // handle bytes
    0x00, 0x00, 0x00, 0x01,                           // auth_flavors<>: one flavor
    0x00, 0x00, 0x00, 0x01,                           //   AUTH_SYS (1)
];

#[rustfmt::skip]
const MNT_ARGS: [u8; 12] = [
    0x00, 0x00, 0x00, 0x06,                           // dirpath length 6
    b'/', b'e', b'x', b'p', b'o', b'r', 0x00, 0x00,   // "/expor" + 2 pad
];

#[test]
fn mnt_call_and_reply() {
    assert_eq!(
        MountCall::decode(1, &MNT_ARGS).unwrap(),
        MountCall::Mnt(b"/expor")
    );
    assert_eq!(encode_to_vec(&MountCall::Mnt(b"/expor")), MNT_ARGS);
    let reply = MountReply::Mnt(Mountres3::Ok(Mountres3Ok {
        fhandle: &[1, 0, 0, 0, 0, 0, 0, 1],
        auth_flavors: vec![1],
    }));
    assert_eq!(encode_to_vec(&reply), MNT_REPLY);
    assert_eq!(MountReply::decode(1, &MNT_REPLY).unwrap(), reply);
    // MNT3ERR_NOENT (2): the status alone.
    assert_eq!(
        MountReply::decode(1, &[0, 0, 0, 2]).unwrap(),
        MountReply::Mnt(Mountres3::Err(slatenfs::proto::mount::Mountstat3::Noent))
    );
}

#[rustfmt::skip]
const GETPORT_ARGS: [u8; 16] = [
    0x00, 0x01, 0x86, 0xa3,  // prog 100003 (NFS)
    0x00, 0x00, 0x00, 0x03,  // vers 3
    0x00, 0x00, 0x00, 0x06,  // prot IPPROTO_TCP
    0x00, 0x00, 0x00, 0x00,  // port (ignored)
];
const GETPORT_REPLY: [u8; 4] = [0x00, 0x00, 0x08, 0x01]; // port 2049

#[test]
fn getport_call_and_reply() {
    let call = PortmapCall::Getport(Mapping {
        prog: 100_003,
        vers: 3,
        prot: IPPROTO_TCP,
        port: 0,
    });
    assert_eq!(PortmapCall::decode(3, &GETPORT_ARGS).unwrap(), call);
    assert_eq!(encode_to_vec(&call), GETPORT_ARGS);
    let table = slatenfs::proto::portmap::PortmapTable::for_gateway(2049, 2049);
    let reply = table.answer(&call);
    assert_eq!(reply, PortmapReply::Getport(2049));
    assert_eq!(encode_to_vec(&reply), GETPORT_REPLY);
    assert_eq!(PortmapReply::decode(3, &GETPORT_REPLY).unwrap(), reply);
}

#[rustfmt::skip]
const WRITE_REPLY: [u8; 36] = [
    0x00, 0x00, 0x00, 0x00,                           // NFS3_OK
    0x00, 0x00, 0x00, 0x01,                           // wcc_data.before: pre_op_attr TRUE
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   //   size 0
    0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x06,   //   mtime (5 s, 6 ns)
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08,   //   ctime (7 s, 8 ns)
    0x00, 0x00, 0x00, 0x00,                           // wcc_data.after: post_op_attr FALSE
];

#[test]
fn write_reply_wcc_prefix() {
    // Only the wcc_data part of WRITE3resok is checked here: count, committed, verf follow.
    let ok = Write3ResOk {
        file_wcc: WccData {
            before: Some(WccAttr {
                size: 0,
                mtime: Nfstime3 {
                    seconds: 5,
                    nseconds: 6,
                },
                ctime: Nfstime3 {
                    seconds: 7,
                    nseconds: 8,
                },
            }),
            after: None,
        },
        count: 5,
        committed: StableHow::Unstable,
        verf: [9; 8],
    };
    let wire = encode_to_vec(&Nfs3Reply::Write(Nfs3Res::Ok(ok)));
    assert_eq!(wire[..36], WRITE_REPLY);
    #[rustfmt::skip]
    let tail = [
        0x00, 0x00, 0x00, 0x05, // count 5
        0x00, 0x00, 0x00, 0x00, // committed UNSTABLE
        9, 9, 9, 9, 9, 9, 9, 9, // writeverf3
    ];
    assert_eq!(wire[36..], tail);
}
