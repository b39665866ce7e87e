//! Differential tests of the XDR primitives in `proto::xdr` against `xdr-codec` (an old crate,
//! used only as an oracle): random values must encode to the same bytes and decode back the same
//! way in both, and arbitrary bytes must be accepted alike (where the oracle is right: it accepts
//! some truncated opaque data, which we reject).

use std::io::Cursor;

use bytes::BytesMut;
use proptest::prelude::*;
use slatenfs::proto::xdr::{self, XdrSink, XdrWrite};
use xdr_codec::{Opaque, Pack, Unpack};

fn theirs<T: Pack<Vec<u8>> + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let n = v.pack(&mut out).unwrap();
    assert_eq!(n, out.len());
    out
}

/// Encodes with ours, through both `XdrWrite` implementations (which must agree).
fn ours(f: impl Fn(&mut dyn XdrWrite)) -> Vec<u8> {
    let mut b = BytesMut::new();
    f(&mut b);
    let mut s = XdrSink::new();
    f(&mut s);
    assert_eq!(s.to_vec(), b.to_vec());
    b.to_vec()
}

/// Decodes with the oracle: the value and the bytes it consumed.
fn unpack<T: Unpack<Cursor<Vec<u8>>>>(bytes: &[u8]) -> Option<(T, usize)> {
    let mut cur = Cursor::new(bytes.to_vec());
    T::unpack(&mut cur).ok()
}

macro_rules! scalar_roundtrip {
    ($name:ident, $ty:ty, $put:ident, $get:path) => {
        proptest! {
            #[test]
            fn $name(v in any::<$ty>(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
                let mine = ours(|b| b.$put(v));
                prop_assert_eq!(&mine, &theirs(&v));
                let mut wire = mine.clone();
                wire.extend_from_slice(&tail);
                let (rest, got) = $get(&wire).unwrap();
                prop_assert_eq!(got, v);
                prop_assert_eq!(rest, &tail[..]);
                prop_assert_eq!(unpack::<$ty>(&wire), Some((v, mine.len())));
            }
        }
    };
}

scalar_roundtrip!(u32_roundtrip, u32, put_xdr_u32, xdr::u32);
scalar_roundtrip!(i32_roundtrip, i32, put_xdr_i32, xdr::i32);
scalar_roundtrip!(u64_roundtrip, u64, put_xdr_u64, xdr::u64);
scalar_roundtrip!(i64_roundtrip, i64, put_xdr_i64, xdr::i64);
scalar_roundtrip!(bool_roundtrip, bool, put_xdr_bool, xdr::bool);

proptest! {
    #[test]
    fn opaque_roundtrip(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        max in 0usize..300,
    ) {
        let mine = ours(|b| b.put_xdr_opaque_var(&data));
        prop_assert_eq!(&mine, &theirs(&Opaque::borrowed(&data)));
        let mut oracle = Vec::new();
        let limited = xdr_codec::pack_opaque_flex(&data, Some(max), &mut oracle);
        let decoded = xdr::opaque_var(max)(&mine);
        // Both enforce the bound the same way.
        prop_assert_eq!(limited.is_ok(), decoded.is_ok());
        if let Ok((rest, got)) = decoded {
            prop_assert_eq!(got, &data[..]);
            prop_assert!(rest.is_empty());
            prop_assert_eq!(&oracle, &mine);
        }
        let mut cur = Cursor::new(mine.clone());
        let oracle_dec = xdr_codec::unpack_opaque_flex(&mut cur, Some(max)).ok();
        let mine_dec = decoded.ok().map(|(_, v)| (v.to_vec(), mine.len()));
        prop_assert_eq!(oracle_dec, mine_dec);
    }

    #[test]
    fn fixed_opaque_roundtrip(data in proptest::array::uniform7(any::<u8>())) {
        let mine = ours(|b| b.put_xdr_opaque_fixed(&data));
        let mut oracle = Vec::new();
        xdr_codec::pack_opaque_array(&data, 7, &mut oracle).unwrap();
        prop_assert_eq!(&mine, &oracle);
        let (rest, got) = xdr::opaque_fixed::<7>(&mine).unwrap();
        prop_assert_eq!(got, &data);
        prop_assert!(rest.is_empty());
    }

    #[test]
    fn string_roundtrip(s in "\\PC{0,80}", max in 0usize..400) {
        let mine = ours(|b| b.put_xdr_opaque_var(s.as_bytes()));
        prop_assert_eq!(&mine, &theirs(s.as_str()));
        let decoded = xdr::string(max)(&mine).ok().map(|(_, v)| v.to_vec());
        let mut cur = Cursor::new(mine.clone());
        let oracle = xdr_codec::unpack_string(&mut cur, Some(max))
            .ok()
            .map(|(v, _)| v.into_bytes());
        prop_assert_eq!(decoded, oracle);
    }

    #[test]
    fn u32_array_roundtrip(
        items in proptest::collection::vec(any::<u32>(), 0..40),
        max in 0usize..40,
    ) {
        let mine = ours(|b| {
            b.put_xdr_u32(items.len() as u32);
            for i in &items {
                b.put_xdr_u32(*i);
            }
        });
        prop_assert_eq!(&mine, &theirs(&items));
        let decoded = xdr::array(max, xdr::u32)(&mine).ok().map(|(_, v)| v);
        let mut cur = Cursor::new(mine.clone());
        let oracle = xdr_codec::unpack_flex::<_, u32>(&mut cur, Some(max))
            .ok()
            .map(|(v, _)| v);
        prop_assert_eq!(decoded, oracle);
    }

    #[test]
    fn optional_roundtrip(v in proptest::option::of(any::<u64>())) {
        let mine = ours(|b| match v {
            Some(x) => {
                b.put_xdr_bool(true);
                b.put_xdr_u64(x);
            }
            None => b.put_xdr_bool(false),
        });
        prop_assert_eq!(&mine, &theirs(&v));
        let (_, got) = xdr::optional(xdr::u64)(&mine).unwrap();
        prop_assert_eq!(got, v);
    }

    /// Arbitrary bytes: whatever we accept the oracle accepts with the same value and size; what
    /// the oracle accepts in full we accept too.
    #[test]
    fn arbitrary_bytes_decode_alike(wire in proptest::collection::vec(any::<u8>(), 0..64)) {
        let consumed = |rest: &[u8]| wire.len() - rest.len();
        prop_assert_eq!(
            xdr::u32(&wire).ok().map(|(r, v)| (v, consumed(r))),
            unpack::<u32>(&wire)
        );
        prop_assert_eq!(
            xdr::i64(&wire).ok().map(|(r, v)| (v, consumed(r))),
            unpack::<i64>(&wire)
        );
        prop_assert_eq!(
            xdr::bool(&wire).ok().map(|(r, v)| (v, consumed(r))),
            unpack::<bool>(&wire)
        );
        let mine = xdr::opaque_var(usize::MAX)(&wire)
            .ok()
            .map(|(r, v)| (v.to_vec(), consumed(r)));
        let oracle = {
            let mut cur = Cursor::new(wire.clone());
            xdr_codec::unpack_opaque_flex(&mut cur, None).ok()
        };
        if let Some(m) = &mine {
            prop_assert_eq!(Some(m), oracle.as_ref());
        }
        if let Some((v, n)) = &oracle {
            // The oracle reads short data without complaint; count only a complete body.
            let declared = wire
                .get(..4)
                .map(|h| u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize);
            if declared == Some(v.len()) {
                prop_assert_eq!(mine, Some((v.clone(), *n)));
            }
        }
    }
}

#[test]
fn oracle_accepts_truncated_opaque_we_do_not() {
    // Declared length 8, only 4 bytes present: the oracle's `take().read_to_end()` returns 4 and
    // succeeds; we reject.
    let wire = [0, 0, 0, 8, 1, 2, 3, 4];
    let mut cur = Cursor::new(wire.to_vec());
    let oracle = xdr_codec::unpack_opaque_flex(&mut cur, None);
    assert!(oracle.is_ok());
    assert!(xdr::opaque_var(16)(&wire).is_err());
}
