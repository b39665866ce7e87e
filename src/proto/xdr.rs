//! XDR (RFC 4506) primitives.
//!
//! Decoding is done with `nom` over borrowed input: variable-length opaque data and strings come
//! back as slices of the input (zero-copy), and every length is checked against its bound *before*
//! anything is taken, so a forged length never causes an allocation. Decoders never panic: short or
//! malformed input is a `nom` error, which the RPC layer turns into `GARBAGE_ARGS`.
//!
//! Encoding appends to a caller-owned [`BytesMut`], which the connection reuses between replies, so
//! the common path performs no per-call allocation.

use bytes::{BufMut, Bytes, BytesMut};
use nom::bytes::complete::take;
use nom::error::{Error, ErrorKind};
use nom::number::complete::{be_i32, be_i64, be_u32, be_u64};
use nom::{Err, IResult, Parser};

/// Result of an XDR decoder: the remaining input and the decoded value.
pub type XdrResult<'a, T> = IResult<&'a [u8], T>;

/// Number of zero bytes that pad `len` bytes of opaque data to a multiple of four.
#[inline]
pub const fn padding(len: usize) -> usize {
    (4 - (len % 4)) % 4
}

/// `len` rounded up to a multiple of four: the wire size of `len` bytes of opaque data.
#[inline]
pub const fn padded_len(len: usize) -> usize {
    len + padding(len)
}

#[inline]
fn failure<T>(input: &[u8], kind: ErrorKind) -> XdrResult<'_, T> {
    Err(Err::Error(Error::new(input, kind)))
}

/// unsigned int
#[inline]
pub fn u32(input: &[u8]) -> XdrResult<'_, u32> {
    be_u32(input)
}

/// int
#[inline]
pub fn i32(input: &[u8]) -> XdrResult<'_, i32> {
    be_i32(input)
}

/// unsigned hyper
#[inline]
pub fn u64(input: &[u8]) -> XdrResult<'_, u64> {
    be_u64(input)
}

/// hyper
#[inline]
pub fn i64(input: &[u8]) -> XdrResult<'_, i64> {
    be_i64(input)
}

/// bool: only 0 and 1 are valid encodings (RFC 4506 §4.4).
#[inline]
pub fn bool(input: &[u8]) -> XdrResult<'_, bool> {
    let (rest, v) = be_u32(input)?;
    match v {
        0 => Ok((rest, false)),
        1 => Ok((rest, true)),
        _ => failure(input, ErrorKind::Verify),
    }
}

/// Fixed-length opaque data of `N` bytes, followed by its padding.
#[inline]
pub fn opaque_fixed<const N: usize>(input: &[u8]) -> XdrResult<'_, &[u8; N]> {
    let (rest, data) = take(padded_len(N)).parse(input)?;
    match data[..N].try_into() {
        Ok(array) => Ok((rest, array)),
        Err(_) => failure(input, ErrorKind::LengthValue),
    }
}

/// Variable-length opaque data with at most `max` bytes (`opaque<max>`), borrowed from the input.
///
/// The length is validated against `max` and against the remaining input before anything is taken.
/// Padding bytes are skipped without checking that they are zero, as most implementations do.
pub fn opaque_var(max: usize) -> impl Fn(&[u8]) -> XdrResult<'_, &[u8]> {
    move |input: &[u8]| {
        let (rest, len) = be_u32(input)?;
        let len = len as usize;
        if len > max {
            return failure(input, ErrorKind::TooLarge);
        }
        let (rest, data) = take(padded_len(len)).parse(rest)?;
        Ok((rest, &data[..len]))
    }
}

/// `string<max>`: like [`opaque_var`]; XDR strings are bytes, not UTF-8 (NFS names are bytes).
pub fn string(max: usize) -> impl Fn(&[u8]) -> XdrResult<'_, &[u8]> {
    opaque_var(max)
}

/// Optional data (`*T`): a bool discriminant, then the value when present.
pub fn optional<'a, T, F>(mut item: F) -> impl FnMut(&'a [u8]) -> XdrResult<'a, Option<T>>
where
    F: FnMut(&'a [u8]) -> XdrResult<'a, T>,
{
    move |input: &'a [u8]| {
        let (rest, present) = bool(input)?;
        if present {
            let (rest, value) = item(rest)?;
            Ok((rest, Some(value)))
        } else {
            Ok((rest, None))
        }
    }
}

/// Variable-length array (`T<max>`) of at most `max` items.
///
/// The count is checked against `max` and against a lower bound of the input still available (each
/// item takes at least four bytes on the wire) before the vector is allocated.
pub fn array<'a, T, F>(max: usize, mut item: F) -> impl FnMut(&'a [u8]) -> XdrResult<'a, Vec<T>>
where
    F: FnMut(&'a [u8]) -> XdrResult<'a, T>,
{
    move |input: &'a [u8]| {
        let (mut rest, count) = be_u32(input)?;
        let count = count as usize;
        if count > max || count > rest.len() / 4 {
            return failure(input, ErrorKind::TooLarge);
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let (next, value) = item(rest)?;
            items.push(value);
            rest = next;
        }
        Ok((rest, items))
    }
}

/// Why a message body could not be decoded. The RPC layer answers `UnknownProcedure` with
/// `PROC_UNAVAIL` and every other kind with `GARBAGE_ARGS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The procedure number is not one the program defines (or serves).
    #[error("procedure {0} is not available")]
    UnknownProcedure(u32),
    /// The input ends inside a value.
    #[error("truncated XDR input")]
    Truncated,
    /// A length or count exceeds its bound (`opaque<N>`, `string<N>`, array size).
    #[error("XDR length over its bound")]
    TooLong,
    /// An enum value, bool or union discriminant outside its definition, or fields that
    /// contradict each other (WRITE `count` differing from the data length).
    #[error("invalid XDR value")]
    Invalid,
}

impl DecodeError {
    /// Classifies a `nom` error from the decoders of this module.
    pub fn from_nom(err: Err<Error<&[u8]>>) -> Self {
        match err {
            Err::Incomplete(_) => DecodeError::Truncated,
            Err::Error(e) | Err::Failure(e) => match e.code {
                ErrorKind::Eof | ErrorKind::Complete => DecodeError::Truncated,
                ErrorKind::TooLarge => DecodeError::TooLong,
                _ => DecodeError::Invalid,
            },
        }
    }
}

impl From<Err<Error<&[u8]>>> for DecodeError {
    fn from(err: Err<Error<&[u8]>>) -> Self {
        DecodeError::from_nom(err)
    }
}

/// An XDR enum value or union discriminant that is not defined: a decoding error.
#[inline]
pub fn invalid<T>(input: &[u8]) -> XdrResult<'_, T> {
    failure(input, ErrorKind::Switch)
}

/// A value with an XDR decoding that borrows variable-length data from the input.
pub trait XdrDecode<'a>: Sized {
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self>;
}

/// Decodes one `T` from the start of `input`. Bytes after the value are ignored (RPC practice:
/// Linux's and most servers' argument decoders do not reject trailing bytes).
pub fn decode_prefix<'a, T: XdrDecode<'a>>(input: &'a [u8]) -> Result<T, DecodeError> {
    T::decode(input)
        .map(|(_, v)| v)
        .map_err(DecodeError::from_nom)
}

impl<'a> XdrDecode<'a> for u32 {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        u32(input)
    }
}

impl<'a> XdrDecode<'a> for u64 {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        u64(input)
    }
}

impl<'a> XdrDecode<'a> for bool {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        bool(input)
    }
}

impl<'a> XdrDecode<'a> for () {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        Ok((input, ()))
    }
}

impl<'a, const N: usize> XdrDecode<'a> for [u8; N] {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        let (rest, v) = opaque_fixed::<N>(input)?;
        Ok((rest, *v))
    }
}

/// Optional data (`*T`, and the bool-discriminated unions of NFS such as `post_op_attr`).
impl<'a, T: XdrDecode<'a>> XdrDecode<'a> for Option<T> {
    #[inline]
    fn decode(input: &'a [u8]) -> XdrResult<'a, Self> {
        optional(T::decode)(input)
    }
}

impl XdrEncode for u32 {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u32(*self);
    }
}

impl XdrEncode for u64 {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_u64(*self);
    }
}

impl XdrEncode for bool {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_bool(*self);
    }
}

/// `void`.
impl XdrEncode for () {
    #[inline]
    fn encode(&self, _out: &mut XdrSink) {}
}

/// Fixed-length opaque data (`opaque[N]`: verifiers).
impl<const N: usize> XdrEncode for [u8; N] {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        out.put_xdr_opaque_fixed(self);
    }
}

impl<T: XdrEncode> XdrEncode for Option<T> {
    #[inline]
    fn encode(&self, out: &mut XdrSink) {
        match self {
            Some(v) => {
                out.put_xdr_bool(true);
                v.encode(out);
            }
            None => out.put_xdr_bool(false),
        }
    }
}

/// Encodes `value` into a fresh contiguous vector (tests, fuzzing, small messages).
pub fn encode_to_vec<T: XdrEncode + ?Sized>(value: &T) -> Vec<u8> {
    let mut sink = XdrSink::new();
    value.encode(&mut sink);
    sink.to_vec()
}

/// Decodes a linked list (`struct T { ...; T *next; }` / `T *list`): a bool before each item.
///
/// Items are pushed as they are decoded, so memory grows with the input actually present, never
/// with a forged count; at most `max` items are accepted.
pub fn linked_list<'a, T, F>(
    max: usize,
    mut item: F,
) -> impl FnMut(&'a [u8]) -> XdrResult<'a, Vec<T>>
where
    F: FnMut(&'a [u8]) -> XdrResult<'a, T>,
{
    move |input: &'a [u8]| {
        let mut items = Vec::new();
        let mut rest = input;
        loop {
            let (next, follows) = bool(rest)?;
            if !follows {
                return Ok((next, items));
            }
            if items.len() >= max {
                return failure(rest, ErrorKind::TooLarge);
            }
            let (next, value) = item(next)?;
            items.push(value);
            rest = next;
        }
    }
}

/// Encodes a linked list: for each item `TRUE` then the item, then a final `FALSE`.
pub fn put_linked_list<T: XdrEncode>(out: &mut XdrSink, items: &[T]) {
    for item in items {
        out.put_xdr_bool(true);
        item.encode(out);
    }
    out.put_xdr_bool(false);
}

/// XDR encoding onto a growable buffer.
pub trait XdrWrite {
    fn put_xdr_u32(&mut self, v: u32);
    fn put_xdr_i32(&mut self, v: i32);
    fn put_xdr_u64(&mut self, v: u64);
    fn put_xdr_i64(&mut self, v: i64);
    fn put_xdr_bool(&mut self, v: bool);
    /// Fixed-length opaque data: the bytes, then padding (no length prefix).
    fn put_xdr_opaque_fixed(&mut self, data: &[u8]);
    /// Variable-length opaque data: the length, the bytes, then padding.
    fn put_xdr_opaque_var(&mut self, data: &[u8]);
    /// Zero bytes that pad `len` bytes of data to a multiple of four.
    fn put_xdr_padding(&mut self, len: usize);
}

const ZEROS: [u8; 4] = [0; 4];

impl XdrWrite for BytesMut {
    #[inline]
    fn put_xdr_u32(&mut self, v: u32) {
        self.put_u32(v);
    }
    #[inline]
    fn put_xdr_i32(&mut self, v: i32) {
        self.put_i32(v);
    }
    #[inline]
    fn put_xdr_u64(&mut self, v: u64) {
        self.put_u64(v);
    }
    #[inline]
    fn put_xdr_i64(&mut self, v: i64) {
        self.put_i64(v);
    }
    #[inline]
    fn put_xdr_bool(&mut self, v: bool) {
        self.put_u32(u32::from(v));
    }
    #[inline]
    fn put_xdr_opaque_fixed(&mut self, data: &[u8]) {
        self.put_slice(data);
        self.put_xdr_padding(data.len());
    }
    #[inline]
    fn put_xdr_opaque_var(&mut self, data: &[u8]) {
        // Lengths above u32::MAX cannot be represented; callers bound their data far below that.
        self.put_u32(data.len() as u32);
        self.put_xdr_opaque_fixed(data);
    }
    #[inline]
    fn put_xdr_padding(&mut self, len: usize) {
        self.put_slice(&ZEROS[..padding(len)]);
    }
}

/// Encoder output: a head buffer for small fields plus zero-copy payload segments.
///
/// Large payloads (READ reply data, WRITE call data) are not copied into the head: `put_payload`
/// freezes what has been written so far as one segment, appends the payload `Bytes` as the next,
/// and continues in the head's remaining capacity. The segments are written with vectored IO.
#[derive(Debug, Default)]
pub struct XdrSink {
    head: BytesMut,
    segments: Vec<Bytes>,
    /// Reused buffer for rewriting the small frozen piece that holds a late-filled slot.
    patch: BytesMut,
}

/// A four-byte placeholder reserved in an [`XdrSink`] with [`XdrSink::reserve_u32`], to be filled
/// in once its value is known (a record mark whose length depends on the body that follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XdrSlot {
    /// Number of segments when the slot was reserved: the slot lives in the head until the head
    /// is frozen into `segments[seg]`.
    seg: usize,
    /// Offset of the slot in the head (and so in `segments[seg]` once frozen).
    at: usize,
}

impl XdrSink {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            head: BytesMut::with_capacity(capacity),
            segments: Vec::new(),
            patch: BytesMut::new(),
        }
    }

    /// Variable-length opaque `data` as length, zero-copy payload, padding.
    pub fn put_payload(&mut self, data: Bytes) {
        let len = data.len();
        self.head.put_xdr_u32(len as u32);
        if !data.is_empty() {
            self.segments.push(self.head.split().freeze());
            self.segments.push(data);
        }
        self.head.put_xdr_padding(len);
    }

    /// Appends already-encoded XDR bytes (a whole multiple of four) as a zero-copy segment, e.g.
    /// a reply body encoded on another core.
    pub fn put_segment(&mut self, encoded: Bytes) {
        if encoded.is_empty() {
            return;
        }
        if !self.head.is_empty() {
            self.segments.push(self.head.split().freeze());
        }
        self.segments.push(encoded);
    }

    /// Bytes written so far, over all segments.
    pub fn len(&self) -> usize {
        self.segments.iter().map(Bytes::len).sum::<usize>() + self.head.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The head buffer currently being written (after the last payload segment).
    pub fn head_mut(&mut self) -> &mut BytesMut {
        &mut self.head
    }

    /// Takes everything written as a list of segments, leaving the sink empty but with its head
    /// capacity ready for reuse.
    pub fn take_segments(&mut self, out: &mut Vec<Bytes>) {
        out.append(&mut self.segments);
        if !self.head.is_empty() {
            out.push(self.head.split().freeze());
        }
    }

    /// Everything written, copied into one contiguous vector (tests and small messages).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        for s in &self.segments {
            v.extend_from_slice(s);
        }
        v.extend_from_slice(&self.head);
        v
    }

    /// Reserves a four-byte placeholder (written as zero) and returns its position, to be filled
    /// with [`XdrSink::fill_u32`] once the value is known. Payloads may be added in between.
    pub fn reserve_u32(&mut self) -> XdrSlot {
        let slot = XdrSlot {
            seg: self.segments.len(),
            at: self.head.len(),
        };
        self.head.put_u32(0);
        slot
    }

    /// Bytes written since `slot` was reserved, the slot itself included.
    pub fn len_since(&self, slot: XdrSlot) -> usize {
        let frozen: usize = self.segments.iter().skip(slot.seg).map(Bytes::len).sum();
        (frozen + self.head.len()).saturating_sub(slot.at)
    }

    /// Writes `v` into a slot from [`XdrSink::reserve_u32`]. Returns false (and writes nothing)
    /// when the slot is no longer in the sink (the segments were taken in between).
    ///
    /// While no payload was added after the slot, it is patched in place. Otherwise the frozen
    /// piece holding it is split at the slot and its tail (the small header part written between
    /// the slot and the first payload) is rewritten through a reused buffer: payloads are never
    /// copied.
    pub fn fill_u32(&mut self, slot: XdrSlot, v: u32) -> bool {
        let bytes = v.to_be_bytes();
        if self.segments.len() == slot.seg {
            return match self.head.get_mut(slot.at..slot.at + 4) {
                Some(dst) => {
                    dst.copy_from_slice(&bytes);
                    true
                }
                None => false,
            };
        }
        let Some(seg) = self.segments.get_mut(slot.seg) else {
            return false;
        };
        if seg.len() < slot.at + 4 {
            return false;
        }
        let tail = seg.split_off(slot.at);
        if self.patch.capacity() - self.patch.len() < tail.len() {
            // A chunk at a time, so that successive patches share one allocation.
            self.patch.reserve(tail.len().max(4096));
        }
        self.patch.put_slice(&bytes);
        self.patch.put_slice(&tail[4..]);
        let fresh = self.patch.split().freeze();
        if seg.is_empty() {
            *seg = fresh;
        } else {
            self.segments.insert(slot.seg + 1, fresh);
        }
        true
    }

    /// Discards everything written since `slot` was reserved (the slot included), as if it had
    /// never been reserved. Returns false when the slot is no longer in the sink.
    pub fn truncate_to(&mut self, slot: XdrSlot) -> bool {
        if self.segments.len() == slot.seg {
            if self.head.len() < slot.at {
                return false;
            }
            self.head.truncate(slot.at);
            return true;
        }
        if self.segments.len() < slot.seg {
            return false;
        }
        self.segments.truncate(slot.seg + 1);
        let Some(mut first) = self.segments.pop() else {
            return false;
        };
        if first.len() < slot.at {
            self.segments.push(first);
            return false;
        }
        first.truncate(slot.at);
        if !first.is_empty() {
            self.segments.push(first);
        }
        self.head.clear();
        true
    }
}

impl XdrWrite for XdrSink {
    #[inline]
    fn put_xdr_u32(&mut self, v: u32) {
        self.head.put_xdr_u32(v);
    }
    #[inline]
    fn put_xdr_i32(&mut self, v: i32) {
        self.head.put_xdr_i32(v);
    }
    #[inline]
    fn put_xdr_u64(&mut self, v: u64) {
        self.head.put_xdr_u64(v);
    }
    #[inline]
    fn put_xdr_i64(&mut self, v: i64) {
        self.head.put_xdr_i64(v);
    }
    #[inline]
    fn put_xdr_bool(&mut self, v: bool) {
        self.head.put_xdr_bool(v);
    }
    #[inline]
    fn put_xdr_opaque_fixed(&mut self, data: &[u8]) {
        self.head.put_xdr_opaque_fixed(data);
    }
    #[inline]
    fn put_xdr_opaque_var(&mut self, data: &[u8]) {
        self.head.put_xdr_opaque_var(data);
    }
    #[inline]
    fn put_xdr_padding(&mut self, len: usize) {
        self.head.put_xdr_padding(len);
    }
}

/// A value with an XDR encoding.
pub trait XdrEncode {
    fn encode(&self, out: &mut XdrSink);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_rounds_to_four() {
        assert_eq!(
            [0, 3, 2, 1, 0].to_vec(),
            (0..5).map(padding).collect::<Vec<_>>()
        );
        assert_eq!(padded_len(5), 8);
    }

    #[test]
    fn opaque_var_golden_bytes() {
        // RFC 4506 §4.10: length 3, "abc", one pad byte.
        let wire = [0, 0, 0, 3, b'a', b'b', b'c', 0, 0xff];
        let (rest, data) = opaque_var(8)(&wire).unwrap();
        assert_eq!(data, b"abc");
        assert_eq!(rest, &[0xff]);
        let mut out = BytesMut::new();
        out.put_xdr_opaque_var(b"abc");
        assert_eq!(&out[..], &wire[..8]);
    }

    #[test]
    fn opaque_var_rejects_over_bound_before_taking() {
        let wire = [0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0];
        assert!(opaque_var(8)(&wire).is_err());
        // A forged huge length with little input is an error, not an allocation.
        assert!(opaque_var(usize::MAX)(&[0xff, 0xff, 0xff, 0xff, 1]).is_err());
    }

    #[test]
    fn bool_rejects_other_values() {
        assert!(bool(&[0, 0, 0, 1]).unwrap().1);
        assert!(bool(&[0, 0, 0, 2]).is_err());
    }

    #[test]
    fn array_bounds_count_by_remaining_input() {
        let wire = [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1];
        assert!(array(usize::MAX, u32)(&wire).is_err());
        let wire = [0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        assert_eq!(array(2, u32)(&wire).unwrap().1, vec![1, 2]);
        assert!(array(1, u32)(&wire).is_err());
    }

    #[test]
    fn sink_keeps_payload_zero_copy() {
        let payload = Bytes::from(vec![7u8; 5]);
        let mut sink = XdrSink::new();
        sink.put_xdr_u32(1);
        sink.put_payload(payload.clone());
        sink.put_xdr_u32(2);
        let mut segs = Vec::new();
        sink.take_segments(&mut segs);
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[1].as_ptr(), payload.as_ptr());
        let flat: Vec<u8> = segs.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(
            flat,
            [0, 0, 0, 1, 0, 0, 0, 5, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 2]
        );
    }

    #[test]
    fn slot_filled_in_head_and_after_payload() {
        // In the head: patched in place.
        let mut sink = XdrSink::new();
        sink.put_xdr_u32(1);
        let slot = sink.reserve_u32();
        sink.put_xdr_u32(2);
        assert_eq!(sink.len_since(slot), 8);
        assert!(sink.fill_u32(slot, 0xaabbccdd));
        assert_eq!(
            sink.to_vec(),
            [0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 2]
        );

        // Frozen by a payload: the piece before the slot and the payload stay shared.
        let payload = Bytes::from(vec![5u8; 3]);
        let mut sink = XdrSink::new();
        sink.put_xdr_u32(1);
        let slot = sink.reserve_u32();
        sink.put_xdr_u32(2);
        sink.put_payload(payload.clone());
        sink.put_xdr_u32(3);
        assert_eq!(sink.len_since(slot), 4 + 4 + 4 + 4 + 4);
        assert!(sink.fill_u32(slot, 9));
        let mut segs = Vec::new();
        sink.take_segments(&mut segs);
        assert!(segs.iter().any(|s| s.as_ptr() == payload.as_ptr()));
        let flat: Vec<u8> = segs.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(
            flat,
            [0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0, 3, 5, 5, 5, 0, 0, 0, 0, 3]
        );
        // A slot taken out of the sink is not written.
        assert!(!sink.fill_u32(slot, 1));
    }

    #[test]
    fn truncate_to_slot() {
        for with_payload in [false, true] {
            let mut sink = XdrSink::new();
            sink.put_xdr_u32(1);
            let slot = sink.reserve_u32();
            sink.put_xdr_u32(2);
            if with_payload {
                sink.put_payload(Bytes::from_static(b"abcd"));
            }
            sink.put_xdr_u32(3);
            assert!(sink.truncate_to(slot));
            assert_eq!(sink.to_vec(), [0, 0, 0, 1]);
            sink.put_xdr_u32(4);
            assert_eq!(sink.to_vec(), [0, 0, 0, 1, 0, 0, 0, 4]);
        }
    }

    #[test]
    fn optional_and_fixed() {
        let wire = [0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0];
        let (rest, v) = optional(opaque_fixed::<8>)(&wire).unwrap();
        assert_eq!(v, Some(&[1, 2, 3, 4, 5, 6, 7, 8]));
        let (_, v) = optional(opaque_fixed::<8>)(rest).unwrap();
        assert_eq!(v, None);
    }
}
