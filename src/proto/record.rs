//! Record marking for ONC-RPC over TCP (RFC 5531 §11).
//!
//! A record is a sequence of fragments; each fragment is a four-byte big-endian header — the
//! last-fragment bit (`0x8000_0000`) and a 31-bit length — followed by that many bytes.
//!
//! [`RecordDecoder`] is a streaming state machine. It checks every fragment header against the
//! maximum record size *before* it buffers a byte of the fragment, so a forged 2 GiB length is a
//! [`RecordError`] and never an allocation. Fragment bodies are appended to one reused buffer,
//! headers skipped, so a multi-fragment record is reassembled with no copy beyond the one from the
//! caller's slice; each complete record is split off that buffer as a [`Bytes`] (a refcount, not a
//! copy). Input given as [`Bytes`] is not copied at all when whole single-fragment records lie in
//! it: they come out as slices of the input.
//!
//! [`RecordWriter`] frames outgoing messages as one fragment each and queues them for
//! transmission, keeping zero-copy payload segments (from [`XdrSink::put_payload`]) intact.

use bytes::{Buf, Bytes, BytesMut};

use super::xdr::XdrSink;

/// The last-fragment bit of a fragment header.
pub const LAST_FRAGMENT: u32 = 0x8000_0000;
/// The largest length a fragment header can carry.
pub const MAX_FRAGMENT_LEN: usize = 0x7fff_ffff;

/// Smallest allocation made for the receive buffer, so that many small records share one.
const RECV_CHUNK: usize = 64 * 1024;
/// Largest part of an announced (but not yet received) fragment that is reserved in advance.
const EAGER_RESERVE: usize = 256 * 1024;
/// Capacity kept free in the send buffer so that small replies share one allocation.
const SEND_CHUNK: usize = 32 * 1024;

/// A framing error: the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A fragment header announced a record larger than allowed. Nothing of it was buffered.
    #[error("record of at least {size} bytes exceeds the maximum record size of {max} bytes")]
    TooLarge {
        /// Bytes already buffered for the record plus the announced fragment length.
        size: u64,
        /// The configured maximum.
        max: usize,
    },
    /// An outgoing message does not fit in one fragment.
    #[error("outgoing message of {size} bytes does not fit in one fragment")]
    MessageTooLarge { size: usize },
}

/// The header of a fragment of `len` bytes, or `None` when `len` needs more than 31 bits.
pub fn fragment_header(len: usize, last: bool) -> Option<u32> {
    if len > MAX_FRAGMENT_LEN {
        return None;
    }
    let len = len as u32;
    Some(if last { len | LAST_FRAGMENT } else { len })
}

/// Appends `record` to `out` as fragments of at most `max_fragment` bytes (at least one fragment,
/// so an empty record is one empty last fragment). Used by tests and tools; the connections send
/// one fragment per message.
pub fn encode_record(record: &[u8], max_fragment: usize, out: &mut BytesMut) {
    let max_fragment = max_fragment.clamp(1, MAX_FRAGMENT_LEN);
    let mut chunks = record.chunks(max_fragment).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&LAST_FRAGMENT.to_be_bytes());
        return;
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        // `chunk.len() <= max_fragment <= MAX_FRAGMENT_LEN`, so the header always exists.
        let header = fragment_header(chunk.len(), last).unwrap_or(LAST_FRAGMENT);
        out.extend_from_slice(&header.to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

/// Streaming decoder of record-marked input.
#[derive(Debug)]
pub struct RecordDecoder {
    max_record_size: usize,
    /// Header bytes collected so far (meaningful while `header_len > 0`).
    header: [u8; 4],
    header_len: usize,
    /// Bytes of the current fragment's body still to come; 0 when a header is expected next.
    frag_remaining: usize,
    /// Whether the current fragment is the record's last.
    last: bool,
    /// Bodies of the current record's fragments received so far; its spare capacity is reused
    /// for the records that follow.
    buf: BytesMut,
    failed: Option<RecordError>,
}

impl RecordDecoder {
    /// A decoder accepting records of at most `max_record_size` bytes (fragment headers excluded).
    pub fn new(max_record_size: usize) -> Self {
        Self {
            max_record_size,
            header: [0; 4],
            header_len: 0,
            frag_remaining: 0,
            last: false,
            buf: BytesMut::new(),
            failed: None,
        }
    }

    /// The configured maximum record size.
    pub fn max_record_size(&self) -> usize {
        self.max_record_size
    }

    /// Feeds `input`, calling `on_record` with every record it completes, in order.
    ///
    /// Empty records carry no message and are skipped. After an error the decoder stays failed:
    /// every later call returns the same error.
    pub fn decode(
        &mut self,
        input: &[u8],
        mut on_record: impl FnMut(Bytes),
    ) -> Result<(), RecordError> {
        self.feed(input, false, &mut on_record).map(|_| ())
    }

    /// Like [`RecordDecoder::decode`], but single-fragment records that lie whole in `input` are
    /// yielded as slices of it, without copying.
    pub fn decode_bytes(
        &mut self,
        mut input: Bytes,
        mut on_record: impl FnMut(Bytes),
    ) -> Result<(), RecordError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        loop {
            if self.at_record_boundary() {
                while let Some(header) = input.get(..4) {
                    let mut h = [0; 4];
                    h.copy_from_slice(header);
                    let h = u32::from_be_bytes(h);
                    let len = (h & !LAST_FRAGMENT) as usize;
                    if h & LAST_FRAGMENT == 0 || len > self.max_record_size || input.len() - 4 < len
                    {
                        break;
                    }
                    let record = input.slice(4..4 + len);
                    input.advance(4 + len);
                    if !record.is_empty() {
                        on_record(record);
                    }
                }
            }
            if input.is_empty() {
                return Ok(());
            }
            let used = self.feed(&input, true, &mut on_record)?;
            input.advance(used);
        }
    }

    /// True between records: no header bytes, fragment or partial record pending.
    pub fn at_record_boundary(&self) -> bool {
        self.header_len == 0 && self.frag_remaining == 0 && self.buf.is_empty()
    }

    /// Capacity of the receive buffer (for tests that check that nothing was allocated).
    pub fn buffered_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The error that failed the decoder, if any.
    pub fn error(&self) -> Option<&RecordError> {
        self.failed.as_ref()
    }

    /// Core of the state machine. Returns how many bytes of `input` were consumed: all of them,
    /// unless `stop_after_record` is set and a record was completed first.
    fn feed(
        &mut self,
        input: &[u8],
        stop_after_record: bool,
        on_record: &mut impl FnMut(Bytes),
    ) -> Result<usize, RecordError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let mut rest = input;
        while !rest.is_empty() {
            if self.frag_remaining == 0 {
                // Collect the fragment header.
                let take = (4 - self.header_len).min(rest.len());
                let (head, tail) = rest.split_at(take);
                if let Some(dst) = self.header.get_mut(self.header_len..self.header_len + take) {
                    dst.copy_from_slice(head);
                }
                self.header_len += take;
                rest = tail;
                if self.header_len < 4 {
                    break;
                }
                self.header_len = 0;
                if self.start_fragment(u32::from_be_bytes(self.header), on_record)?
                    && stop_after_record
                {
                    break;
                }
                continue;
            }
            let take = self.frag_remaining.min(rest.len());
            let (body, tail) = rest.split_at(take);
            self.reserve(take);
            self.buf.extend_from_slice(body);
            self.frag_remaining -= take;
            rest = tail;
            if self.frag_remaining == 0
                && self.last
                && self.finish_record(on_record)
                && stop_after_record
            {
                break;
            }
        }
        Ok(input.len() - rest.len())
    }

    /// Validates a fragment header and enters its body. Returns whether a record was completed
    /// (an empty last fragment ends the record at once).
    fn start_fragment(
        &mut self,
        header: u32,
        on_record: &mut impl FnMut(Bytes),
    ) -> Result<bool, RecordError> {
        let len = (header & !LAST_FRAGMENT) as usize;
        let total = self.buf.len() as u64 + len as u64;
        if total > self.max_record_size as u64 {
            let err = RecordError::TooLarge {
                size: total,
                max: self.max_record_size,
            };
            self.failed = Some(err.clone());
            // Release what was buffered for the record: the connection is going away.
            self.buf = BytesMut::new();
            return Err(err);
        }
        self.last = header & LAST_FRAGMENT != 0;
        self.frag_remaining = len;
        if len == 0 && self.last {
            return Ok(self.finish_record(on_record));
        }
        Ok(false)
    }

    /// Makes room for `need` more bytes of the current fragment.
    fn reserve(&mut self, need: usize) {
        if self.buf.capacity() - self.buf.len() >= need {
            return;
        }
        // Reserve the rest of the fragment up to a limit (a header alone does not pin a large
        // buffer), and at least one chunk so that small records that follow share it.
        let want = need
            .max(self.frag_remaining.min(EAGER_RESERVE))
            .max(RECV_CHUNK);
        self.buf.reserve(want);
    }

    /// Hands the assembled record over. Returns whether a (non-empty) record was produced.
    fn finish_record(&mut self, on_record: &mut impl FnMut(Bytes)) -> bool {
        self.last = false;
        if self.buf.is_empty() {
            return false;
        }
        on_record(self.buf.split().freeze());
        true
    }
}

/// Frames outgoing messages (one fragment each) and queues them for transmission.
///
/// Small messages written back to back share one buffer and come out of [`RecordWriter::poll`]
/// as one segment; a payload added with [`XdrSink::put_payload`] stays its own segment.
#[derive(Debug, Default)]
pub struct RecordWriter {
    sink: XdrSink,
    /// Segments taken from the sink, ready to be written, from `ready_pos` on.
    ready: Vec<Bytes>,
    ready_pos: usize,
    pending: usize,
}

impl RecordWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes one message as a single last fragment: `encode` writes the message into the sink,
    /// the fragment header is filled in afterwards. When the message does not fit in a fragment,
    /// everything `encode` wrote is discarded and an error returned.
    pub fn write_record(
        &mut self,
        encode: impl FnOnce(&mut XdrSink),
    ) -> Result<usize, RecordError> {
        let head = self.sink.head_mut();
        if head.capacity() - head.len() < 1024 {
            head.reserve(SEND_CHUNK);
        }
        let slot = self.sink.reserve_u32();
        encode(&mut self.sink);
        let size = self.sink.len_since(slot) - 4;
        match fragment_header(size, true) {
            Some(header) => {
                self.sink.fill_u32(slot, header);
                self.pending += size + 4;
                Ok(size)
            }
            None => {
                self.sink.truncate_to(slot);
                Err(RecordError::MessageTooLarge { size })
            }
        }
    }

    /// Bytes queued and not yet handed out.
    pub fn pending_bytes(&self) -> usize {
        self.pending
    }

    pub fn has_pending(&self) -> bool {
        self.pending > 0
    }

    /// The next segment to write, in order.
    pub fn poll(&mut self) -> Option<Bytes> {
        if self.ready_pos == self.ready.len() {
            self.ready.clear();
            self.ready_pos = 0;
            if self.sink.is_empty() {
                return None;
            }
            self.sink.take_segments(&mut self.ready);
        }
        let seg = std::mem::take(self.ready.get_mut(self.ready_pos)?);
        self.ready_pos += 1;
        self.pending = self.pending.saturating_sub(seg.len());
        Some(seg)
    }

    /// Moves up to `max_segments` segments into `out` (for a vectored write); returns their total
    /// length.
    pub fn poll_vectored(&mut self, out: &mut Vec<Bytes>, max_segments: usize) -> usize {
        let mut total = 0;
        for _ in 0..max_segments {
            match self.poll() {
                Some(seg) => {
                    total += seg.len();
                    out.push(seg);
                }
                None => break,
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::xdr::XdrWrite;

    fn collect(dec: &mut RecordDecoder, input: &[u8]) -> Result<Vec<Vec<u8>>, RecordError> {
        let mut out = Vec::new();
        dec.decode(input, |r| out.push(r.to_vec()))?;
        Ok(out)
    }

    #[test]
    fn single_fragment_golden() {
        // Header 0x80000003: last fragment, three bytes.
        let wire = [0x80, 0, 0, 3, b'a', b'b', b'c'];
        let mut dec = RecordDecoder::new(16);
        assert_eq!(collect(&mut dec, &wire).unwrap(), vec![b"abc".to_vec()]);
        assert!(dec.at_record_boundary());
    }

    #[test]
    fn multi_fragment_and_zero_length_fragments() {
        // "ab" (not last), empty (not last), "cd" (not last), empty last fragment.
        let wire = [
            0, 0, 0, 2, b'a', b'b', 0, 0, 0, 0, 0, 0, 0, 2, b'c', b'd', 0x80, 0, 0, 0,
        ];
        let mut dec = RecordDecoder::new(16);
        assert_eq!(collect(&mut dec, &wire).unwrap(), vec![b"abcd".to_vec()]);
        // An empty record alone is skipped.
        assert!(collect(&mut dec, &[0x80, 0, 0, 0]).unwrap().is_empty());
    }

    #[test]
    fn forged_length_fails_before_buffering() {
        let mut dec = RecordDecoder::new(1 << 20);
        let mut wire = vec![0xff, 0xff, 0xff, 0xff];
        wire.extend_from_slice(&[0u8; 1000]);
        let err = collect(&mut dec, &wire).unwrap_err();
        assert_eq!(
            err,
            RecordError::TooLarge {
                size: 0x7fff_ffff,
                max: 1 << 20
            }
        );
        assert_eq!(dec.buffered_capacity(), 0);
        // It stays failed.
        assert!(collect(&mut dec, &[0x80, 0, 0, 1, 1]).is_err());
    }

    #[test]
    fn limit_counts_all_fragments() {
        let mut dec = RecordDecoder::new(5);
        // 3 bytes, then a fragment of 3 more: 6 > 5.
        let wire = [0, 0, 0, 3, 1, 2, 3, 0x80, 0, 0, 3];
        assert!(matches!(
            collect(&mut dec, &wire),
            Err(RecordError::TooLarge { size: 6, max: 5 })
        ));
    }

    #[test]
    fn bytes_input_is_sliced_without_copy() {
        let mut wire = BytesMut::new();
        encode_record(b"hello", 100, &mut wire);
        encode_record(b"world!", 100, &mut wire);
        encode_record(b"split-me", 3, &mut wire);
        encode_record(b"tail", 100, &mut wire);
        let wire = wire.freeze();
        let base = wire.as_ptr() as usize;
        let end = base + wire.len();
        let mut dec = RecordDecoder::new(64);
        let mut out = Vec::new();
        dec.decode_bytes(wire.clone(), |r| out.push(r)).unwrap();
        let texts: Vec<&[u8]> = out.iter().map(|b| &b[..]).collect();
        assert_eq!(texts, vec![&b"hello"[..], b"world!", b"split-me", b"tail"]);
        let inside = |b: &Bytes| (base..end).contains(&(b.as_ptr() as usize));
        assert!(inside(&out[0]) && inside(&out[1]) && inside(&out[3]));
        // The multi-fragment record had to be reassembled.
        assert!(!inside(&out[2]));
    }

    #[test]
    fn writer_frames_and_keeps_payload() {
        let payload = Bytes::from(vec![9u8; 6]);
        let mut w = RecordWriter::new();
        w.write_record(|s| s.put_xdr_u32(7)).unwrap();
        w.write_record(|s| {
            s.put_xdr_u32(1);
            s.put_payload(payload.clone());
            s.put_xdr_u32(2);
        })
        .unwrap();
        assert_eq!(w.pending_bytes(), 8 + 4 + 4 + 4 + 8 + 4);
        let mut segs = Vec::new();
        w.poll_vectored(&mut segs, 16);
        assert_eq!(w.pending_bytes(), 0);
        assert!(segs.iter().any(|s| s.as_ptr() == payload.as_ptr()));
        let flat: Vec<u8> = segs.iter().flat_map(|s| s.iter().copied()).collect();
        assert_eq!(
            flat,
            [
                0x80, 0, 0, 4, 0, 0, 0, 7, // first record
                0x80, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 6, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 2
            ]
        );
        assert!(w.poll().is_none());
    }
}
