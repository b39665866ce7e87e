//! MOUNT v3 and portmap v2 codecs: round trips (proptest), truncation, bounds, and the
//! portmap table.

mod common;

use common::leak;
use proptest::collection::vec;
use proptest::prelude::*;

use slatenfs::proto::mount::*;
use slatenfs::proto::nfs3::DecodeError;
use slatenfs::proto::portmap::*;
use slatenfs::proto::xdr::encode_to_vec;

fn bytes(max: usize) -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        8 => vec(any::<u8>(), 0..=16.min(max)),
        1 => vec(any::<u8>(), 0..=max),
    ]
    .prop_map(leak)
}

fn mount_call() -> impl Strategy<Value = MountCall<'static>> {
    prop_oneof![
        Just(MountCall::Null),
        bytes(MNTPATHLEN).prop_map(MountCall::Mnt),
        Just(MountCall::Dump),
        bytes(MNTPATHLEN).prop_map(MountCall::Umnt),
        Just(MountCall::Umntall),
        Just(MountCall::Export),
    ]
}

fn mount_reply() -> impl Strategy<Value = MountReply<'static>> {
    let mnt = prop_oneof![
        (bytes(FHSIZE3), vec(any::<u32>(), 0..4)).prop_map(|(fhandle, auth_flavors)| {
            Mountres3::Ok(Mountres3Ok {
                fhandle,
                auth_flavors,
            })
        }),
        prop::sample::select(&Mountstat3::ALL[1..]).prop_map(Mountres3::Err),
    ];
    let body = (bytes(MNTNAMLEN), bytes(MNTPATHLEN)).prop_map(|(hostname, directory)| Mountbody {
        hostname,
        directory,
    });
    let export = (bytes(MNTPATHLEN), vec(bytes(MNTNAMLEN), 0..4))
        .prop_map(|(dir, groups)| Exportnode { dir, groups });
    prop_oneof![
        Just(MountReply::Null),
        mnt.prop_map(MountReply::Mnt),
        vec(body, 0..5).prop_map(MountReply::Dump),
        Just(MountReply::Umnt),
        Just(MountReply::Umntall),
        vec(export, 0..5).prop_map(MountReply::Export),
    ]
}

fn mapping() -> impl Strategy<Value = Mapping> {
    any::<[u32; 4]>().prop_map(|[prog, vers, prot, port]| Mapping {
        prog,
        vers,
        prot,
        port,
    })
}

fn pmap_call() -> impl Strategy<Value = PortmapCall> {
    prop_oneof![
        Just(PortmapCall::Null),
        mapping().prop_map(PortmapCall::Set),
        mapping().prop_map(PortmapCall::Unset),
        mapping().prop_map(PortmapCall::Getport),
        Just(PortmapCall::Dump),
    ]
}

fn pmap_reply() -> impl Strategy<Value = PortmapReply> {
    prop_oneof![
        Just(PortmapReply::Null),
        any::<bool>().prop_map(PortmapReply::Set),
        any::<bool>().prop_map(PortmapReply::Unset),
        any::<u32>().prop_map(PortmapReply::Getport),
        vec(mapping(), 0..6).prop_map(PortmapReply::Dump),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mount_call_round_trip(call in mount_call()) {
        let wire = encode_to_vec(&call);
        let decoded = MountCall::decode(call.proc_num(), &wire).unwrap();
        prop_assert_eq!(decoded, call);
        prop_assert_eq!(encode_to_vec(&decoded), wire.clone());
        for len in 0..wire.len() {
            prop_assert_eq!(MountCall::decode(call.proc_num(), &wire[..len]).unwrap_err(), DecodeError::Truncated);
        }
    }

    #[test]
    fn mount_reply_round_trip(reply in mount_reply()) {
        let wire = encode_to_vec(&reply);
        let decoded = MountReply::decode(reply.proc_num(), &wire).unwrap();
        prop_assert_eq!(&decoded, &reply);
        prop_assert_eq!(encode_to_vec(&decoded), wire.clone());
        for len in 0..wire.len() {
            // xdr::array reports a count beyond the remaining input as over-bound.
            let err = MountReply::decode(reply.proc_num(), &wire[..len]).unwrap_err();
            prop_assert!(matches!(err, DecodeError::Truncated | DecodeError::TooLong));
        }
    }

    #[test]
    fn pmap_call_round_trip(call in pmap_call()) {
        let wire = encode_to_vec(&call);
        let decoded = PortmapCall::decode(call.proc_num(), &wire).unwrap();
        prop_assert_eq!(decoded, call);
        prop_assert_eq!(encode_to_vec(&decoded), wire.clone());
        for len in 0..wire.len() {
            prop_assert_eq!(PortmapCall::decode(call.proc_num(), &wire[..len]).unwrap_err(), DecodeError::Truncated);
        }
    }

    #[test]
    fn pmap_reply_round_trip(reply in pmap_reply()) {
        let wire = encode_to_vec(&reply);
        let decoded = PortmapReply::decode(reply.proc_num(), &wire).unwrap();
        prop_assert_eq!(&decoded, &reply);
        prop_assert_eq!(encode_to_vec(&decoded), wire.clone());
        for len in 0..wire.len() {
            prop_assert_eq!(PortmapReply::decode(reply.proc_num(), &wire[..len]).unwrap_err(), DecodeError::Truncated);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(proc in 0u32..8, body in vec(any::<u8>(), 0..128)) {
        if let Ok(c) = MountCall::decode(proc, &body) {
            let w = encode_to_vec(&c);
            prop_assert_eq!(MountCall::decode(proc, &w).unwrap(), c);
        }
        if let Ok(r) = MountReply::decode(proc, &body) {
            let w = encode_to_vec(&r);
            prop_assert_eq!(MountReply::decode(proc, &w).unwrap(), r);
        }
        if let Ok(c) = PortmapCall::decode(proc, &body) {
            prop_assert_eq!(PortmapCall::decode(proc, &encode_to_vec(&c)).unwrap(), c);
        }
        if let Ok(r) = PortmapReply::decode(proc, &body) {
            prop_assert_eq!(PortmapReply::decode(proc, &encode_to_vec(&r)).unwrap(), r);
        }
    }
}

fn string(len: u32) -> Vec<u8> {
    let mut v = len.to_be_bytes().to_vec();
    v.extend(std::iter::repeat_n(b'/', len as usize));
    v.resize(4 + (len as usize).div_ceil(4) * 4, 0);
    v
}

#[test]
fn mount_bounds() {
    assert!(MountCall::decode(mountproc3::MNT, &string(1024)).is_ok());
    assert_eq!(
        MountCall::decode(mountproc3::MNT, &string(1025)).unwrap_err(),
        DecodeError::TooLong
    );
    assert_eq!(
        MountCall::decode(6, &[]).unwrap_err(),
        DecodeError::UnknownProcedure(6)
    );
    // A handle over 64 bytes in a MNT reply.
    let mut r = 0u32.to_be_bytes().to_vec();
    r.extend(string(65));
    r.extend(0u32.to_be_bytes());
    assert_eq!(
        MountReply::decode(mountproc3::MNT, &r).unwrap_err(),
        DecodeError::TooLong
    );
    // An unknown mountstat3.
    assert_eq!(
        MountReply::decode(mountproc3::MNT, &3u32.to_be_bytes()).unwrap_err(),
        DecodeError::Invalid
    );
}

#[test]
fn portmap_callit_and_unknown_are_unavailable() {
    assert_eq!(
        PortmapCall::decode(pmapproc::CALLIT, &[0; 32]).unwrap_err(),
        DecodeError::UnknownProcedure(5)
    );
    assert_eq!(
        PortmapCall::decode(9, &[]).unwrap_err(),
        DecodeError::UnknownProcedure(9)
    );
}

#[test]
fn portmap_table_answers() {
    let t = PortmapTable::for_gateway(2049, 20048);
    let q = |prog, vers, prot| Mapping {
        prog,
        vers,
        prot,
        port: 12345, // ignored
    };
    assert_eq!(t.getport(&q(100003, 3, IPPROTO_TCP)), 2049);
    assert_eq!(t.getport(&q(100005, 3, IPPROTO_TCP)), 20048);
    assert_eq!(t.getport(&q(100000, 2, IPPROTO_TCP)), 111);
    // Not served: UDP, other versions, NFSACL.
    assert_eq!(t.getport(&q(100003, 3, IPPROTO_UDP)), 0);
    assert_eq!(t.getport(&q(100003, 4, IPPROTO_TCP)), 0);
    assert_eq!(t.getport(&q(100005, 1, IPPROTO_TCP)), 0);
    assert_eq!(t.getport(&q(100227, 3, IPPROTO_TCP)), 0);
    assert_eq!(t.dump().len(), 3);
    assert_eq!(
        t.answer(&PortmapCall::Getport(q(100003, 3, IPPROTO_TCP))),
        PortmapReply::Getport(2049)
    );
    assert_eq!(
        t.answer(&PortmapCall::Dump),
        PortmapReply::Dump(t.dump().to_vec())
    );
    assert_eq!(
        t.answer(&PortmapCall::Set(q(1, 1, 6))),
        PortmapReply::Set(false)
    );
    assert_eq!(t.answer(&PortmapCall::Null), PortmapReply::Null);

    let mut t = t;
    t.set(Mapping {
        prog: 100003,
        vers: 3,
        prot: IPPROTO_TCP,
        port: 3049,
    });
    assert_eq!(t.getport(&q(100003, 3, IPPROTO_TCP)), 3049);
    assert_eq!(t.dump().len(), 3);
    assert!(t.unset(100003, 3));
    assert!(!t.unset(100003, 3));
    assert_eq!(t.getport(&q(100003, 3, IPPROTO_TCP)), 0);
}
