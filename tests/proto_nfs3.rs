//! NFSv3 codec: round trips of every procedure's arguments and results (proptest), truncation
//! and bound checks, zero-copy checks, and the READDIR / READDIRPLUS page builders.

mod common;

use bytes::Bytes;
use common::leak;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

use slatenfs::proto::nfs3::*;
use slatenfs::proto::xdr::{encode_to_vec, XdrEncode, XdrSink};

fn fh() -> impl Strategy<Value = NfsFh3<'static>> {
    vec(any::<u8>(), 0..=NFS3_FHSIZE).prop_map(|v| NfsFh3(leak(v)))
}

fn name() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        8 => vec(any::<u8>(), 0..=20),
        1 => vec(any::<u8>(), 0..=NFS3_NAME_DECODE_MAX),
    ]
    .prop_map(leak)
}

fn path() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        8 => vec(any::<u8>(), 0..=40),
        1 => vec(any::<u8>(), 0..=NFS3_PATH_DECODE_MAX),
    ]
    .prop_map(leak)
}

fn time() -> impl Strategy<Value = Nfstime3> {
    (any::<u32>(), any::<u32>()).prop_map(|(seconds, nseconds)| Nfstime3 { seconds, nseconds })
}

fn ftype() -> impl Strategy<Value = Ftype3> {
    prop::sample::select(Ftype3::ALL)
}

fn stable() -> impl Strategy<Value = StableHow> {
    prop::sample::select(StableHow::ALL)
}

fn error_status() -> impl Strategy<Value = Nfsstat3> {
    prop::sample::select(&Nfsstat3::ALL[1..])
}

fn fattr() -> impl Strategy<Value = Fattr3> {
    (
        (
            ftype(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        ),
        (
            any::<u64>(),
            any::<u64>(),
            any::<(u32, u32)>(),
            any::<u64>(),
            any::<u64>(),
        ),
        (time(), time(), time()),
    )
        .prop_map(
            |(
                (ftype, mode, nlink, uid, gid),
                (size, used, (s1, s2), fsid, fileid),
                (atime, mtime, ctime),
            )| Fattr3 {
                ftype,
                mode,
                nlink,
                uid,
                gid,
                size,
                used,
                rdev: Specdata3 {
                    specdata1: s1,
                    specdata2: s2,
                },
                fsid,
                fileid,
                atime,
                mtime,
                ctime,
            },
        )
}

fn post_op_attr() -> impl Strategy<Value = PostOpAttr> {
    prop::option::of(fattr())
}

fn wcc_attr() -> impl Strategy<Value = WccAttr> {
    (any::<u64>(), time(), time()).prop_map(|(size, mtime, ctime)| WccAttr { size, mtime, ctime })
}

fn wcc() -> impl Strategy<Value = WccData> {
    (prop::option::of(wcc_attr()), post_op_attr())
        .prop_map(|(before, after)| WccData { before, after })
}

fn set_time() -> impl Strategy<Value = SetTime> {
    prop_oneof![
        Just(SetTime::DontChange),
        Just(SetTime::ServerTime),
        time().prop_map(SetTime::ClientTime),
    ]
}

fn sattr() -> impl Strategy<Value = Sattr3> {
    (
        any::<Option<u32>>(),
        any::<Option<u32>>(),
        any::<Option<u32>>(),
        any::<Option<u64>>(),
        set_time(),
        set_time(),
    )
        .prop_map(|(mode, uid, gid, size, atime, mtime)| Sattr3 {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
        })
}

fn dirop() -> impl Strategy<Value = Diropargs3<'static>> {
    (fh(), name()).prop_map(|(dir, name)| Diropargs3 { dir, name })
}

fn createhow() -> impl Strategy<Value = Createhow3> {
    prop_oneof![
        sattr().prop_map(Createhow3::Unchecked),
        sattr().prop_map(Createhow3::Guarded),
        any::<[u8; 8]>().prop_map(Createhow3::Exclusive),
    ]
}

fn mknoddata() -> impl Strategy<Value = Mknoddata3> {
    let dev = || {
        (sattr(), any::<(u32, u32)>()).prop_map(|(dev_attributes, (a, b))| Devicedata3 {
            dev_attributes,
            spec: Specdata3 {
                specdata1: a,
                specdata2: b,
            },
        })
    };
    prop_oneof![
        dev().prop_map(Mknoddata3::Chr),
        dev().prop_map(Mknoddata3::Blk),
        sattr().prop_map(Mknoddata3::Sock),
        sattr().prop_map(Mknoddata3::Fifo),
        Just(Mknoddata3::Reg),
        Just(Mknoddata3::Dir),
        Just(Mknoddata3::Lnk),
    ]
}

fn write_args() -> impl Strategy<Value = Write3Args<'static>> {
    (fh(), any::<u64>(), stable(), vec(any::<u8>(), 0..300)).prop_map(
        |(file, offset, stable, d)| {
            let data = leak(d);
            Write3Args {
                file,
                offset,
                count: data.len() as u32,
                stable,
                data,
            }
        },
    )
}

fn call() -> impl Strategy<Value = Nfs3Call<'static>> {
    Union::new(vec![
        Just(Nfs3Call::Null).boxed(),
        fh().prop_map(|object| Nfs3Call::Getattr(Getattr3Args { object }))
            .boxed(),
        (fh(), sattr(), prop::option::of(time()))
            .prop_map(|(object, new_attributes, guard)| {
                Nfs3Call::Setattr(Setattr3Args {
                    object,
                    new_attributes,
                    guard,
                })
            })
            .boxed(),
        dirop()
            .prop_map(|what| Nfs3Call::Lookup(Lookup3Args { what }))
            .boxed(),
        (fh(), any::<u32>())
            .prop_map(|(object, access)| Nfs3Call::Access(Access3Args { object, access }))
            .boxed(),
        fh().prop_map(|symlink| Nfs3Call::Readlink(Readlink3Args { symlink }))
            .boxed(),
        (fh(), any::<u64>(), any::<u32>())
            .prop_map(|(file, offset, count)| {
                Nfs3Call::Read(Read3Args {
                    file,
                    offset,
                    count,
                })
            })
            .boxed(),
        write_args().prop_map(Nfs3Call::Write).boxed(),
        (dirop(), createhow())
            .prop_map(|(where_, how)| Nfs3Call::Create(Create3Args { where_, how }))
            .boxed(),
        (dirop(), sattr())
            .prop_map(|(where_, attributes)| Nfs3Call::Mkdir(Mkdir3Args { where_, attributes }))
            .boxed(),
        (dirop(), sattr(), path())
            .prop_map(|(where_, symlink_attributes, symlink_data)| {
                Nfs3Call::Symlink(Symlink3Args {
                    where_,
                    symlink: Symlinkdata3 {
                        symlink_attributes,
                        symlink_data,
                    },
                })
            })
            .boxed(),
        (dirop(), mknoddata())
            .prop_map(|(where_, what)| Nfs3Call::Mknod(Mknod3Args { where_, what }))
            .boxed(),
        dirop()
            .prop_map(|object| Nfs3Call::Remove(Remove3Args { object }))
            .boxed(),
        dirop()
            .prop_map(|object| Nfs3Call::Rmdir(Rmdir3Args { object }))
            .boxed(),
        (dirop(), dirop())
            .prop_map(|(from, to)| Nfs3Call::Rename(Rename3Args { from, to }))
            .boxed(),
        (fh(), dirop())
            .prop_map(|(file, link)| Nfs3Call::Link(Link3Args { file, link }))
            .boxed(),
        (fh(), any::<u64>(), any::<[u8; 8]>(), any::<u32>())
            .prop_map(|(dir, cookie, cookieverf, count)| {
                Nfs3Call::Readdir(Readdir3Args {
                    dir,
                    cookie,
                    cookieverf,
                    count,
                })
            })
            .boxed(),
        (
            fh(),
            any::<u64>(),
            any::<[u8; 8]>(),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(|(dir, cookie, cookieverf, dircount, maxcount)| {
                Nfs3Call::Readdirplus(Readdirplus3Args {
                    dir,
                    cookie,
                    cookieverf,
                    dircount,
                    maxcount,
                })
            })
            .boxed(),
        fh().prop_map(|fsroot| Nfs3Call::Fsstat(Fsstat3Args { fsroot }))
            .boxed(),
        fh().prop_map(|fsroot| Nfs3Call::Fsinfo(Fsinfo3Args { fsroot }))
            .boxed(),
        fh().prop_map(|object| Nfs3Call::Pathconf(Pathconf3Args { object }))
            .boxed(),
        (fh(), any::<u64>(), any::<u32>())
            .prop_map(|(file, offset, count)| {
                Nfs3Call::Commit(Commit3Args {
                    file,
                    offset,
                    count,
                })
            })
            .boxed(),
    ])
}

fn res<T: std::fmt::Debug, F: std::fmt::Debug>(
    ok: impl Strategy<Value = T>,
    fail: impl Strategy<Value = F>,
) -> impl Strategy<Value = Nfs3Res<T, F>> {
    prop_oneof![
        ok.prop_map(Nfs3Res::Ok),
        (error_status(), fail).prop_map(|(s, f)| Nfs3Res::Fail(s, f)),
    ]
}

fn create_res() -> impl Strategy<Value = Create3Res<'static>> {
    res(
        (prop::option::of(fh()), post_op_attr(), wcc()).prop_map(
            |(obj, obj_attributes, dir_wcc)| Create3ResOk {
                obj,
                obj_attributes,
                dir_wcc,
            },
        ),
        wcc(),
    )
}

fn entry() -> impl Strategy<Value = Entry3<'static>> {
    (any::<u64>(), name(), any::<u64>()).prop_map(|(fileid, name, cookie)| Entry3 {
        fileid,
        name,
        cookie,
    })
}

fn entryplus() -> impl Strategy<Value = Entryplus3<'static>> {
    (
        any::<u64>(),
        name(),
        any::<u64>(),
        post_op_attr(),
        prop::option::of(fh()),
    )
        .prop_map(
            |(fileid, name, cookie, name_attributes, name_handle)| Entryplus3 {
                fileid,
                name,
                cookie,
                name_attributes,
                name_handle,
            },
        )
}

fn rename_wcc() -> impl Strategy<Value = Rename3Wcc> {
    (wcc(), wcc()).prop_map(|(fromdir_wcc, todir_wcc)| Rename3Wcc {
        fromdir_wcc,
        todir_wcc,
    })
}

fn link_wcc() -> impl Strategy<Value = Link3Wcc> {
    (post_op_attr(), wcc()).prop_map(|(file_attributes, linkdir_wcc)| Link3Wcc {
        file_attributes,
        linkdir_wcc,
    })
}

fn reply() -> impl Strategy<Value = Nfs3Reply<'static>> {
    Union::new(vec![
        Just(Nfs3Reply::Null).boxed(),
        res(
            fattr().prop_map(|obj_attributes| Getattr3ResOk { obj_attributes }),
            Just(()),
        )
        .prop_map(Nfs3Reply::Getattr)
        .boxed(),
        res(wcc(), wcc()).prop_map(Nfs3Reply::Setattr).boxed(),
        res(
            (fh(), post_op_attr(), post_op_attr()).prop_map(
                |(object, obj_attributes, dir_attributes)| Lookup3ResOk {
                    object,
                    obj_attributes,
                    dir_attributes,
                },
            ),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Lookup)
        .boxed(),
        res(
            (post_op_attr(), any::<u32>()).prop_map(|(obj_attributes, access)| Access3ResOk {
                obj_attributes,
                access,
            }),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Access)
        .boxed(),
        res(
            (post_op_attr(), path()).prop_map(|(symlink_attributes, data)| Readlink3ResOk {
                symlink_attributes,
                data,
            }),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Readlink)
        .boxed(),
        res(
            (post_op_attr(), any::<bool>(), vec(any::<u8>(), 0..300)).prop_map(
                |(file_attributes, eof, d)| Read3ResOk {
                    file_attributes,
                    count: d.len() as u32,
                    eof,
                    data: Bytes::from(d),
                },
            ),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Read)
        .boxed(),
        res(
            (wcc(), any::<u32>(), stable(), any::<[u8; 8]>()).prop_map(
                |(file_wcc, count, committed, verf)| Write3ResOk {
                    file_wcc,
                    count,
                    committed,
                    verf,
                },
            ),
            wcc(),
        )
        .prop_map(Nfs3Reply::Write)
        .boxed(),
        create_res().prop_map(Nfs3Reply::Create).boxed(),
        create_res().prop_map(Nfs3Reply::Mkdir).boxed(),
        create_res().prop_map(Nfs3Reply::Symlink).boxed(),
        create_res().prop_map(Nfs3Reply::Mknod).boxed(),
        res(wcc(), wcc()).prop_map(Nfs3Reply::Remove).boxed(),
        res(wcc(), wcc()).prop_map(Nfs3Reply::Rmdir).boxed(),
        res(rename_wcc(), rename_wcc())
            .prop_map(Nfs3Reply::Rename)
            .boxed(),
        res(link_wcc(), link_wcc())
            .prop_map(Nfs3Reply::Link)
            .boxed(),
        res(
            (
                post_op_attr(),
                any::<[u8; 8]>(),
                vec(entry(), 0..8),
                any::<bool>(),
            )
                .prop_map(|(dir_attributes, cookieverf, entries, eof)| Readdir3ResOk {
                    dir_attributes,
                    cookieverf,
                    reply: Dirlist3 { entries, eof },
                }),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Readdir)
        .boxed(),
        res(
            (
                post_op_attr(),
                any::<[u8; 8]>(),
                vec(entryplus(), 0..8),
                any::<bool>(),
            )
                .prop_map(|(dir_attributes, cookieverf, entries, eof)| {
                    Readdirplus3ResOk {
                        dir_attributes,
                        cookieverf,
                        reply: Dirlistplus3 { entries, eof },
                    }
                }),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Readdirplus)
        .boxed(),
        res(
            (post_op_attr(), any::<[u64; 6]>(), any::<u32>()).prop_map(
                |(obj_attributes, [tbytes, fbytes, abytes, tfiles, ffiles, afiles], invarsec)| {
                    Fsstat3ResOk {
                        obj_attributes,
                        tbytes,
                        fbytes,
                        abytes,
                        tfiles,
                        ffiles,
                        afiles,
                        invarsec,
                    }
                },
            ),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Fsstat)
        .boxed(),
        res(
            (
                post_op_attr(),
                any::<[u32; 7]>(),
                any::<u64>(),
                time(),
                any::<u32>(),
            )
                .prop_map(
                    |(
                        obj_attributes,
                        [rtmax, rtpref, rtmult, wtmax, wtpref, wtmult, dtpref],
                        maxfilesize,
                        time_delta,
                        properties,
                    )| Fsinfo3ResOk {
                        obj_attributes,
                        rtmax,
                        rtpref,
                        rtmult,
                        wtmax,
                        wtpref,
                        wtmult,
                        dtpref,
                        maxfilesize,
                        time_delta,
                        properties,
                    },
                ),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Fsinfo)
        .boxed(),
        res(
            (
                post_op_attr(),
                any::<u32>(),
                any::<u32>(),
                any::<[bool; 4]>(),
            )
                .prop_map(
                    |(
                        obj_attributes,
                        linkmax,
                        name_max,
                        [no_trunc, chown_restricted, case_insensitive, case_preserving],
                    )| Pathconf3ResOk {
                        obj_attributes,
                        linkmax,
                        name_max,
                        no_trunc,
                        chown_restricted,
                        case_insensitive,
                        case_preserving,
                    },
                ),
            post_op_attr(),
        )
        .prop_map(Nfs3Reply::Pathconf)
        .boxed(),
        res(
            (wcc(), any::<[u8; 8]>()).prop_map(|(file_wcc, verf)| Commit3ResOk { file_wcc, verf }),
            wcc(),
        )
        .prop_map(Nfs3Reply::Commit)
        .boxed(),
    ])
}

fn encode<T: XdrEncode>(v: &T) -> Vec<u8> {
    encode_to_vec(v)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// encode → decode is the identity, and decode → encode gives back the same bytes.
    #[test]
    fn call_round_trip(call in call()) {
        let wire = encode(&call);
        let decoded = Nfs3Call::decode(call.proc_num(), &wire).unwrap();
        prop_assert_eq!(decoded, call);
        prop_assert_eq!(encode(&decoded), wire);
    }

    /// Every strict prefix of a call body is rejected as truncated (NULL has no body).
    #[test]
    fn call_truncated_everywhere(call in call()) {
        let wire = encode(&call);
        for len in 0..wire.len() {
            let err = Nfs3Call::decode(call.proc_num(), &wire[..len]).unwrap_err();
            prop_assert_eq!(err, DecodeError::Truncated, "{} at {}", call.name(), len);
        }
    }

    /// Trailing bytes after the arguments are tolerated (documented choice).
    #[test]
    fn call_trailing_bytes_tolerated(call in call(), tail in vec(any::<u8>(), 1..16)) {
        let mut wire = encode(&call);
        wire.extend_from_slice(&tail);
        prop_assert_eq!(Nfs3Call::decode(call.proc_num(), &wire).unwrap(), call);
    }

    #[test]
    fn reply_round_trip(reply in reply()) {
        let wire = Bytes::from(encode(&reply));
        let decoded = Nfs3Reply::decode(reply.proc_num(), &wire).unwrap();
        prop_assert_eq!(&decoded, &reply);
        prop_assert_eq!(encode(&decoded), wire.to_vec());
        let copied = Nfs3Reply::decode_slice(reply.proc_num(), &wire).unwrap();
        prop_assert_eq!(&copied, &reply);
    }

    #[test]
    fn reply_truncated_everywhere(reply in reply()) {
        let wire = encode(&reply);
        for len in 0..wire.len() {
            prop_assert_eq!(
                Nfs3Reply::decode_slice(reply.proc_num(), &wire[..len]).unwrap_err(),
                DecodeError::Truncated
            );
        }
    }

    /// Arbitrary bytes never panic a decoder; whatever decodes re-encodes to a value that
    /// decodes to itself.
    #[test]
    fn arbitrary_bytes_decode_encode_decode(proc in 0u32..24, body in vec(any::<u8>(), 0..256)) {
        if let Ok(call) = Nfs3Call::decode(proc, &body) {
            let wire = encode(&call);
            prop_assert_eq!(Nfs3Call::decode(proc, &wire).unwrap(), call);
        }
        if let Ok(reply) = Nfs3Reply::decode_slice(proc, &body) {
            let wire = encode(&reply);
            prop_assert_eq!(Nfs3Reply::decode_slice(proc, &wire).unwrap(), reply);
        }
    }

    /// Mostly-valid bytes: mutate one byte of a valid call body.
    #[test]
    fn mutated_call_decode_encode_decode(call in call(), at in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut wire = encode(&call);
        if !wire.is_empty() {
            let i = at.index(wire.len());
            wire[i] = b;
        }
        if let Ok(decoded) = Nfs3Call::decode(call.proc_num(), &wire) {
            let again = encode(&decoded);
            prop_assert_eq!(Nfs3Call::decode(call.proc_num(), &again).unwrap(), decoded);
        }
    }
}

#[test]
fn unknown_procedure_is_its_own_error() {
    for proc in [22, 23, 100, u32::MAX] {
        assert_eq!(
            Nfs3Call::decode(proc, &[]).unwrap_err(),
            DecodeError::UnknownProcedure(proc)
        );
        assert_eq!(
            Nfs3Reply::decode_slice(proc, &[]).unwrap_err(),
            DecodeError::UnknownProcedure(proc)
        );
    }
    assert_eq!(Nfs3Call::decode(0, &[1, 2, 3]).unwrap(), Nfs3Call::Null);
}

fn opaque(len: u32, fill: u8) -> Vec<u8> {
    let mut v = len.to_be_bytes().to_vec();
    v.extend(std::iter::repeat_n(fill, len as usize));
    v.resize(4 + (len as usize).div_ceil(4) * 4, 0);
    v
}

#[test]
fn handle_over_64_bytes_rejected() {
    assert!(matches!(
        Nfs3Call::decode(proc3::GETATTR, &opaque(64, 7)),
        Ok(Nfs3Call::Getattr(Getattr3Args { object })) if object.0 == [7; 64]
    ));
    assert_eq!(
        Nfs3Call::decode(proc3::GETATTR, &opaque(65, 7)).unwrap_err(),
        DecodeError::TooLong
    );
    // A forged length far beyond the input.
    assert_eq!(
        Nfs3Call::decode(proc3::GETATTR, &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).unwrap_err(),
        DecodeError::TooLong
    );
}

#[test]
fn name_and_path_bounds() {
    let mut ok = opaque(8, 1);
    ok.extend(opaque(NFS3_NAME_DECODE_MAX as u32, b'a'));
    assert!(Nfs3Call::decode(proc3::LOOKUP, &ok).is_ok());
    let mut long = opaque(8, 1);
    long.extend(opaque(NFS3_NAME_DECODE_MAX as u32 + 1, b'a'));
    assert_eq!(
        Nfs3Call::decode(proc3::LOOKUP, &long).unwrap_err(),
        DecodeError::TooLong
    );
    // A 256-byte name decodes: the filesystem answers NAMETOOLONG, not GARBAGE_ARGS.
    let mut nametoolong = opaque(8, 1);
    nametoolong.extend(opaque(256, b'a'));
    assert!(Nfs3Call::decode(proc3::REMOVE, &nametoolong).is_ok());

    // SYMLINK target over 4096 bytes.
    let mut sym = opaque(8, 1);
    sym.extend(opaque(1, b'l'));
    sym.extend([0u8; 4 * 6]); // sattr3 with nothing set
    sym.extend(opaque(NFS3_PATH_DECODE_MAX as u32 + 1, b'p'));
    assert_eq!(
        Nfs3Call::decode(proc3::SYMLINK, &sym).unwrap_err(),
        DecodeError::TooLong
    );
}

fn write_body(count: u32, data_len: u32) -> Vec<u8> {
    let mut v = opaque(8, 1);
    v.extend(5u64.to_be_bytes());
    v.extend(count.to_be_bytes());
    v.extend(2u32.to_be_bytes());
    v.extend(opaque(data_len, 0xab));
    v
}

#[test]
fn write_count_must_match_data_length() {
    assert!(Nfs3Call::decode(proc3::WRITE, &write_body(5, 5)).is_ok());
    assert_eq!(
        Nfs3Call::decode(proc3::WRITE, &write_body(6, 5)).unwrap_err(),
        DecodeError::Invalid
    );
    assert_eq!(
        Nfs3Call::decode(proc3::WRITE, &write_body(4, 5)).unwrap_err(),
        DecodeError::Invalid
    );
    // Data length beyond the input: truncated, whatever count says.
    let mut short = write_body(100, 100);
    short.truncate(short.len() - 8);
    assert_eq!(
        Nfs3Call::decode(proc3::WRITE, &short).unwrap_err(),
        DecodeError::Truncated
    );
}

#[test]
fn write_decode_is_zero_copy() {
    let body = Bytes::from(write_body(65536, 65536));
    let Nfs3Call::Write(w) = Nfs3Call::decode(proc3::WRITE, &body).unwrap() else {
        panic!("not a WRITE");
    };
    // The data is a slice of the input: 4+8 (fh) + 8 + 4 + 4 + 4 (length) bytes in.
    assert_eq!(w.data.as_ptr(), body[32..].as_ptr());
    assert_eq!(w.data.len(), 65536);
    let shared = w.data_bytes(&body).unwrap();
    assert_eq!(shared.as_ptr(), w.data.as_ptr());
    assert_eq!(shared.len(), 65536);
    // A buffer the data does not come from is refused, not a panic.
    assert!(w.data_bytes(&Bytes::from(vec![0u8; 10])).is_none());
}

#[test]
fn write_encode_with_payload_is_zero_copy() {
    let data = Bytes::from(vec![9u8; 4097]);
    let mut sink = XdrSink::new();
    Write3Args::encode_with_payload(
        NfsFh3(&[1; 8]),
        77,
        StableHow::Unstable,
        data.clone(),
        &mut sink,
    );
    let wire = sink.to_vec();
    let mut segs = Vec::new();
    sink.take_segments(&mut segs);
    assert!(segs.iter().any(|s| s.as_ptr() == data.as_ptr()));
    let Nfs3Call::Write(w) = Nfs3Call::decode(proc3::WRITE, &wire).unwrap() else {
        panic!("not a WRITE");
    };
    assert_eq!((w.offset, w.count, w.data), (77, 4097, &data[..]));
}

#[test]
fn read_reply_is_zero_copy_both_ways() {
    let data = Bytes::from(vec![3u8; 65536]);
    let reply = Nfs3Reply::Read(Nfs3Res::Ok(Read3ResOk {
        file_attributes: None,
        count: 65536,
        eof: false,
        data: data.clone(),
    }));
    let mut sink = XdrSink::new();
    reply.encode(&mut sink);
    let mut segs = Vec::new();
    sink.take_segments(&mut segs);
    assert!(segs.iter().any(|s| s.as_ptr() == data.as_ptr()));

    let wire = Bytes::from(encode(&reply));
    let Nfs3Reply::Read(Nfs3Res::Ok(ok)) = Nfs3Reply::decode(proc3::READ, &wire).unwrap() else {
        panic!("not a READ ok");
    };
    // status 4, post_op_attr FALSE 4, count 4, eof 4, length 4: the data starts at 20.
    assert_eq!(ok.data.as_ptr(), wire[20..].as_ptr());
}

#[test]
fn invalid_discriminants_rejected() {
    // stable_how 3.
    let mut w = write_body(0, 0);
    w[24..28].copy_from_slice(&3u32.to_be_bytes());
    assert_eq!(
        Nfs3Call::decode(proc3::WRITE, &w).unwrap_err(),
        DecodeError::Invalid
    );
    // createmode3 3.
    let mut c = opaque(4, 1);
    c.extend(opaque(1, b'x'));
    c.extend(3u32.to_be_bytes());
    c.extend([0u8; 8]);
    assert_eq!(
        Nfs3Call::decode(proc3::CREATE, &c).unwrap_err(),
        DecodeError::Invalid
    );
    // set_mode3 bool 2.
    let mut s = opaque(4, 1);
    s.extend(2u32.to_be_bytes());
    s.extend([0u8; 64]);
    assert_eq!(
        Nfs3Call::decode(proc3::SETATTR, &s).unwrap_err(),
        DecodeError::Invalid
    );
    // time_how 3.
    let mut t = opaque(4, 1);
    t.extend([0u8; 16]);
    t.extend(3u32.to_be_bytes());
    t.extend([0u8; 16]);
    assert_eq!(
        Nfs3Call::decode(proc3::SETATTR, &t).unwrap_err(),
        DecodeError::Invalid
    );
    // mknod ftype 8.
    let mut m = opaque(4, 1);
    m.extend(opaque(1, b'x'));
    m.extend(8u32.to_be_bytes());
    m.extend([0u8; 64]);
    assert_eq!(
        Nfs3Call::decode(proc3::MKNOD, &m).unwrap_err(),
        DecodeError::Invalid
    );
    // MKNOD of a regular file decodes (void arm); the server answers BADTYPE.
    let mut m = opaque(4, 1);
    m.extend(opaque(1, b'x'));
    m.extend(1u32.to_be_bytes());
    assert!(matches!(
        Nfs3Call::decode(proc3::MKNOD, &m),
        Ok(Nfs3Call::Mknod(Mknod3Args {
            what: Mknoddata3::Reg,
            ..
        }))
    ));
    // Unknown nfsstat3 in a reply.
    assert_eq!(
        Nfs3Reply::decode_slice(proc3::GETATTR, &7u32.to_be_bytes()).unwrap_err(),
        DecodeError::Invalid
    );
}

#[test]
fn fail_with_ok_status_encodes_serverfault() {
    let r: Getattr3Res = Nfs3Res::Fail(Nfsstat3::Ok, ());
    assert_eq!(encode(&r), 10006u32.to_be_bytes());
}

#[test]
fn nfsstat3_has_every_rfc1813_code() {
    let codes: Vec<u32> = Nfsstat3::ALL.iter().map(|s| s.as_u32()).collect();
    assert_eq!(
        codes,
        [
            0, 1, 2, 5, 6, 13, 17, 18, 19, 20, 21, 22, 27, 28, 30, 31, 63, 66, 69, 70, 71, 10001,
            10002, 10003, 10004, 10005, 10006, 10007, 10008
        ]
    );
}

#[test]
fn non_idempotent_classification() {
    let guard = Nfs3Call::Setattr(Setattr3Args {
        object: NfsFh3(&[]),
        new_attributes: Sattr3::default(),
        guard: Some(Nfstime3::default()),
    });
    assert!(guard.is_non_idempotent());
    let noguard = Nfs3Call::Setattr(Setattr3Args {
        object: NfsFh3(&[]),
        new_attributes: Sattr3::default(),
        guard: None,
    });
    assert!(!noguard.is_non_idempotent());
    assert!(!Nfs3Call::Null.is_non_idempotent());
}

// ---- READDIR / READDIRPLUS page builders ----

fn encoded_len<T: XdrEncode>(v: &T) -> usize {
    encode(v).len()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn readdir_builder_respects_count(
        count in prop_oneof![0u32..200, 0u32..8192],
        dir_attributes in post_op_attr(),
        entries in vec(entry(), 0..40),
        eof in any::<bool>(),
    ) {
        let mut b = ReaddirBuilder::new(count, dir_attributes);
        let mut accepted = 0;
        for e in &entries {
            if b.push(*e) == Push::Added {
                prop_assert_eq!(accepted, b.len() - 1, "refusals are final");
                accepted += 1;
            }
        }
        let refused = accepted < entries.len();
        let r = b.finish([1; 8], eof);
        match &r {
            Nfs3Res::Ok(ok) => {
                prop_assert!(encoded_len(&r) <= count as usize);
                prop_assert_eq!(&ok.reply.entries[..], &entries[..accepted]);
                prop_assert_eq!(ok.reply.eof, eof && !refused);
                prop_assert!(!ok.reply.entries.is_empty() || ok.reply.eof || !eof || entries.is_empty());
            }
            Nfs3Res::Fail(status, attrs) => {
                prop_assert_eq!(*status, Nfsstat3::Toosmall);
                prop_assert_eq!(*attrs, dir_attributes);
                prop_assert_eq!(accepted, 0);
            }
        }
        // Never an empty page without EOF when entries were offered.
        if let Nfs3Res::Ok(ok) = &r {
            prop_assert!(!(ok.reply.entries.is_empty() && !ok.reply.eof && refused));
        }
    }

    #[test]
    fn readdirplus_builder_respects_dircount_and_maxcount(
        dircount in prop_oneof![0u32..100, 0u32..4096],
        maxcount in prop_oneof![0u32..300, 0u32..32768],
        dir_attributes in post_op_attr(),
        entries in vec(entryplus(), 0..40),
        eof in any::<bool>(),
    ) {
        let mut b = ReaddirplusBuilder::new(dircount, maxcount, dir_attributes);
        let accepted = entries.iter().take_while(|e| b.push(**e) == Push::Added).count();
        // Offering more after a refusal changes nothing.
        for e in &entries {
            if accepted < entries.len() {
                prop_assert_eq!(b.push(*e), Push::Refused);
            }
        }
        let refused = accepted < entries.len();
        let r = b.finish([2; 8], eof);
        match &r {
            Nfs3Res::Ok(ok) => {
                prop_assert!(encoded_len(&r) <= maxcount as usize);
                let dir_bytes: usize = ok.reply.entries.iter().map(|e| e.dircount_size()).sum();
                prop_assert!(dir_bytes <= dircount as usize);
                prop_assert_eq!(&ok.reply.entries[..], &entries[..accepted]);
                prop_assert_eq!(ok.reply.eof, eof && !refused);
            }
            Nfs3Res::Fail(status, _) => {
                prop_assert_eq!(*status, Nfsstat3::Toosmall);
                prop_assert_eq!(accepted, 0);
            }
        }
    }
}

#[test]
fn readdir_exact_fit_and_one_byte_short() {
    let e = Entry3 {
        fileid: 2,
        name: b"abcde",
        cookie: 1,
    };
    // status 4 + post_op_attr(false) 4 + verf 8 + entry (4+8+4+8+8 = 32) + 4 + eof 4 = 56.
    assert_eq!(e.wire_size(), 32);
    let mut b = ReaddirBuilder::new(56, None);
    assert_eq!(b.push(e), Push::Added);
    let r = b.finish([0; 8], true);
    assert_eq!(encoded_len(&r), 56);
    assert!(matches!(&r, Nfs3Res::Ok(ok) if ok.reply.eof));

    let mut b = ReaddirBuilder::new(55, None);
    assert_eq!(b.push(e), Push::Refused);
    assert!(b.is_too_small());
    assert_eq!(
        b.finish([0; 8], true),
        Nfs3Res::Fail(Nfsstat3::Toosmall, None)
    );

    // Tiny counts never underflow.
    for count in 0..24 {
        let mut b = ReaddirBuilder::new(count, None);
        assert_eq!(b.remaining(), 0);
        assert_eq!(b.push(e), Push::Refused);
        let mut b = ReaddirplusBuilder::new(count, count, None);
        assert_eq!(
            b.push(Entryplus3 {
                fileid: 1,
                name: b"",
                cookie: 1,
                name_attributes: None,
                name_handle: None
            }),
            Push::Refused
        );
    }

    // A limit that cannot hold even an empty page is TOOSMALL.
    assert!(ReaddirBuilder::new(23, None).is_too_small());
    assert!(ReaddirplusBuilder::new(0, 23, None).is_too_small());
    // An empty directory (nothing offered) is an empty page with EOF, not TOOSMALL.
    let b = ReaddirBuilder::new(24, None);
    assert!(
        matches!(b.finish([0; 8], true), Nfs3Res::Ok(ok) if ok.reply.eof && ok.reply.entries.is_empty())
    );
}

#[test]
fn readdirplus_dircount_limits_independently() {
    let e = Entryplus3 {
        fileid: 2,
        name: b"abcd",
        cookie: 1,
        name_attributes: None,
        name_handle: None,
    };
    // dircount counts 8 + (4 + 4) + 8 = 24 per entry.
    assert_eq!(e.dircount_size(), 24);
    let mut b = ReaddirplusBuilder::new(48, 1 << 20, None);
    assert_eq!(b.push(e), Push::Added);
    assert_eq!(b.push(e), Push::Added);
    assert_eq!(b.push(e), Push::Refused);
    assert_eq!(b.remaining_dircount(), 0);
    let Nfs3Res::Ok(ok) = b.finish([0; 8], true) else {
        panic!("expected a page");
    };
    assert_eq!(ok.reply.entries.len(), 2);
    assert!(!ok.reply.eof);
}
