//! [`ByteRange`]: a locked range of a file, as NLM v4 describes it (64-bit offset and length,
//! length 0 meaning "to the end of the file, however long it grows").

/// An inclusive range of byte offsets; `end == u64::MAX` is "to the end of the file".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    /// Everything from `start` on.
    pub const fn to_eof(start: u64) -> ByteRange {
        ByteRange {
            start,
            end: u64::MAX,
        }
    }

    /// The range of an NLM `l_offset`/`l_len` pair. A length that would run past the largest
    /// offset reaches to the end of the file, as length 0 does.
    pub fn from_wire(offset: u64, len: u64) -> ByteRange {
        let end = match len {
            0 => u64::MAX,
            n => offset.saturating_add(n - 1),
        };
        ByteRange { start: offset, end }
    }

    /// The NLM `l_offset`/`l_len` pair of this range (length 0 for a range to the end).
    pub fn to_wire(self) -> (u64, u64) {
        if self.end == u64::MAX {
            (self.start, 0)
        } else {
            (self.start, self.end - self.start + 1)
        }
    }

    pub fn overlaps(&self, other: &ByteRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// Overlapping or touching (the one ends right before the other starts): two such ranges of
    /// one owner and type are one lock.
    pub fn touches(&self, other: &ByteRange) -> bool {
        self.overlaps(other)
            || self.end.checked_add(1) == Some(other.start)
            || other.end.checked_add(1) == Some(self.start)
    }

    /// The smallest range covering both.
    pub fn union(&self, other: &ByteRange) -> ByteRange {
        ByteRange {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// What is left of `self` once `cut` is taken out: up to two pieces, before and after it.
    pub fn minus(&self, cut: &ByteRange) -> [Option<ByteRange>; 2] {
        if !self.overlaps(cut) {
            return [Some(*self), None];
        }
        let before = (self.start < cut.start).then(|| ByteRange {
            start: self.start,
            end: cut.start - 1,
        });
        let after = (cut.end < self.end).then(|| ByteRange {
            start: cut.end + 1,
            end: self.end,
        });
        [before, after]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_round_trips() {
        assert_eq!(ByteRange::from_wire(0, 0), ByteRange::to_eof(0));
        assert_eq!(ByteRange::from_wire(10, 5).to_wire(), (10, 5));
        assert_eq!(ByteRange::from_wire(7, 0).to_wire(), (7, 0));
        assert_eq!(ByteRange::from_wire(u64::MAX, 1).to_wire(), (u64::MAX, 0));
        // Past the largest offset: to the end.
        assert_eq!(
            ByteRange::from_wire(u64::MAX - 1, 10),
            ByteRange::to_eof(u64::MAX - 1)
        );
        assert_eq!(
            ByteRange::from_wire(1 << 63, 1 << 62),
            ByteRange {
                start: 1 << 63,
                end: (1 << 63) + (1 << 62) - 1
            }
        );
    }

    #[test]
    fn overlap_touch_and_cut() {
        let a = ByteRange { start: 10, end: 19 };
        let b = ByteRange { start: 20, end: 29 };
        assert!(!a.overlaps(&b) && a.touches(&b) && b.touches(&a));
        assert!(!a.touches(&ByteRange { start: 21, end: 22 }));
        assert!(ByteRange::to_eof(5).overlaps(&ByteRange::to_eof(u64::MAX)));
        assert_eq!(
            a.minus(&ByteRange { start: 12, end: 13 }),
            [
                Some(ByteRange { start: 10, end: 11 }),
                Some(ByteRange { start: 14, end: 19 })
            ]
        );
        assert_eq!(a.minus(&ByteRange::to_eof(0)), [None, None]);
        assert_eq!(a.minus(&b), [Some(a), None]);
        assert_eq!(
            ByteRange::to_eof(0).minus(&ByteRange { start: 0, end: 9 }),
            [None, Some(ByteRange::to_eof(10))]
        );
        assert_eq!(a.union(&b), ByteRange { start: 10, end: 29 });
    }
}
