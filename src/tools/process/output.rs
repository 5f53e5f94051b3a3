//! Bounded output buffers: [`HeadTail`] keeps the beginning and the end of a
//! `shell` call's output, [`Ring`] keeps the latest output of a background job.
//! Both count what they dropped so the text can say so; bytes are turned
//! into text lossily (invalid UTF-8 becomes U+FFFD, never an error).

use std::collections::VecDeque;

/// Keeps the first half and the last half of at most `cap` bytes.
#[derive(Debug, Clone)]
pub struct HeadTail {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl HeadTail {
    /// A buffer keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        HeadTail {
            head_cap,
            tail_cap: cap - head_cap,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    /// Append bytes.
    pub fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.head.len() < self.head_cap {
            let n = (self.head_cap - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if data.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.tail_cap..]);
        } else {
            self.tail.extend(data);
            let excess = self.tail.len().saturating_sub(self.tail_cap);
            self.tail.drain(..excess);
        }
    }

    /// Bytes received in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes dropped from the middle.
    pub fn cut(&self) -> u64 {
        self.total - (self.head.len() + self.tail.len()) as u64
    }

    /// The kept text, with a marker where bytes were cut.
    pub fn render(&self) -> String {
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        let cut = self.cut();
        if cut == 0 {
            let mut all = self.head.clone();
            all.extend_from_slice(&tail);
            return String::from_utf8_lossy(&all).into_owned();
        }
        format!(
            "{}\n[... {cut} bytes cut ...]\n{}",
            String::from_utf8_lossy(&self.head),
            String::from_utf8_lossy(&tail)
        )
    }
}

/// The latest `cap` bytes of a stream, addressed by absolute offsets
/// (bytes since the stream began).
#[derive(Debug, Clone)]
pub struct Ring {
    cap: usize,
    buf: VecDeque<u8>,
    total: u64,
}

/// A slice read from a [`Ring`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingRead {
    /// The bytes read.
    pub data: Vec<u8>,
    /// Bytes asked for that the ring had already dropped.
    pub dropped: u64,
    /// The offset to read from next time.
    pub next: u64,
}

impl Ring {
    /// A ring keeping the last `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Ring {
            cap: cap.max(1),
            buf: VecDeque::new(),
            total: 0,
        }
    }

    /// Append bytes, dropping the oldest beyond the capacity.
    pub fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        if data.len() >= self.cap {
            self.buf.clear();
            self.buf.extend(&data[data.len() - self.cap..]);
        } else {
            self.buf.extend(data);
            let excess = self.buf.len().saturating_sub(self.cap);
            self.buf.drain(..excess);
        }
    }

    /// Offset just past the newest byte.
    pub fn end(&self) -> u64 {
        self.total
    }

    /// Offset of the oldest byte still kept.
    pub fn start(&self) -> u64 {
        self.total - self.buf.len() as u64
    }

    /// Up to `max` bytes from `offset` on.
    pub fn read_from(&self, offset: u64, max: usize) -> RingRead {
        let from = offset.clamp(self.start(), self.total);
        let dropped = self.start().saturating_sub(offset);
        let skip = (from - self.start()) as usize;
        let data: Vec<u8> = self.buf.iter().skip(skip).take(max).copied().collect();
        let next = from + data.len() as u64;
        RingRead {
            data,
            dropped,
            next,
        }
    }

    /// The last `lines` lines kept (a final newline does not start a line),
    /// with `dropped` set when older output was lost before them.
    pub fn tail_lines(&self, lines: usize) -> RingRead {
        let mut seen = 0;
        let mut from = 0;
        let len = self.buf.len();
        for i in (0..len).rev() {
            if self.buf[i] == b'\n' && i + 1 < len {
                seen += 1;
                if seen == lines {
                    from = i + 1;
                    break;
                }
            }
        }
        if lines == 0 {
            from = len;
        }
        let data: Vec<u8> = self.buf.iter().skip(from).copied().collect();
        RingRead {
            dropped: if from == 0 { self.start() } else { 0 },
            next: self.total,
            data,
        }
    }
}

/// `data` as text, invalid UTF-8 replaced, with a marker for dropped bytes.
pub fn text_with_marker(read: &RingRead) -> String {
    let text = String::from_utf8_lossy(&read.data);
    if read.dropped > 0 {
        format!("[... {} earlier bytes dropped ...]\n{text}", read.dropped)
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_tail_keeps_both_ends_and_counts_the_cut() {
        let mut h = HeadTail::new(10);
        h.push(b"0123456789");
        assert_eq!(h.cut(), 0);
        assert_eq!(h.render(), "0123456789");
        h.push(b"abcdefghij");
        assert_eq!(h.total(), 20);
        assert_eq!(h.cut(), 10);
        assert_eq!(h.render(), "01234\n[... 10 bytes cut ...]\nfghij");
        for b in b"XYZ" {
            h.push(&[*b]);
        }
        assert_eq!(h.render(), "01234\n[... 13 bytes cut ...]\nijXYZ");
    }

    #[test]
    fn head_tail_is_lossy_on_invalid_utf8() {
        let mut h = HeadTail::new(100);
        h.push(&[b'a', 0xff, 0xfe, b'b']);
        assert_eq!(h.render(), "a\u{fffd}\u{fffd}b");
    }

    #[test]
    fn ring_reads_by_offset_and_reports_drops() {
        let mut r = Ring::new(8);
        r.push(b"hello ");
        r.push(b"world!");
        assert_eq!((r.start(), r.end()), (4, 12));
        let read = r.read_from(0, 100);
        assert_eq!(read.data, b"o world!");
        assert_eq!(read.dropped, 4);
        assert_eq!(read.next, 12);
        assert_eq!(
            text_with_marker(&read),
            "[... 4 earlier bytes dropped ...]\no world!"
        );
        let read = r.read_from(6, 3);
        assert_eq!(
            (read.data.as_slice(), read.dropped, read.next),
            (&b"wor"[..], 0, 9)
        );
        assert!(r.read_from(12, 10).data.is_empty());
        r.push(&[b'x'; 20]);
        assert_eq!(r.read_from(0, 100).data, vec![b'x'; 8]);
    }

    #[test]
    fn ring_tail_lines() {
        let mut r = Ring::new(100);
        r.push(b"one\ntwo\nthree\nfour\n");
        assert_eq!(r.tail_lines(2).data, b"three\nfour\n");
        assert_eq!(r.tail_lines(10).data, b"one\ntwo\nthree\nfour\n");
        assert_eq!(r.tail_lines(0).data, b"");
        r.push(b"partial");
        assert_eq!(r.tail_lines(1).data, b"partial");
    }
}
