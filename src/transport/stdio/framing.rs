//! Splitting stdin into lines under the size limit, and decoding each line
//! into what the session is asked: one message, a batch, or an error to
//! answer at once.

use crate::jsonrpc::{nesting_exceeds, ErrorObject, Limits, Message, Response};
use serde_json::Value;

/// One unit read from the input.
#[derive(Debug)]
pub enum Frame {
    /// A complete line (without its newline or a trailing `\r`).
    Line(Vec<u8>),
    /// A line longer than the limit; its bytes were discarded.
    TooLong(usize),
}

/// Splits a byte stream into lines, never holding more than `max` bytes of
/// one line: a longer line is skipped and reported as [`Frame::TooLong`].
#[derive(Debug)]
pub struct Framer {
    pending: Vec<u8>,
    max: usize,
    skipped: usize,
}

impl Framer {
    /// A framer refusing lines longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Framer {
            pending: Vec::new(),
            max,
            skipped: 0,
        }
    }

    /// Feed a chunk of input; complete lines are appended to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Frame>) {
        while let Some(i) = chunk.iter().position(|&b| b == b'\n') {
            let piece = &chunk[..i];
            let total = self.skipped + self.pending.len() + piece.len();
            if self.skipped > 0 || total > self.max {
                out.push(Frame::TooLong(total));
                self.pending = Vec::new();
                self.skipped = 0;
            } else {
                self.pending.extend_from_slice(piece);
                let mut line = std::mem::take(&mut self.pending);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                out.push(Frame::Line(line));
            }
            chunk = &chunk[i + 1..];
        }
        if self.skipped > 0 {
            self.skipped += chunk.len();
        } else if self.pending.len() + chunk.len() > self.max {
            self.skipped = self.pending.len() + chunk.len();
            self.pending = Vec::new();
        } else {
            self.pending.extend_from_slice(chunk);
        }
    }

    /// End of input: the last line if it had no newline.
    pub fn finish(&mut self) -> Option<Frame> {
        if self.skipped > 0 {
            let n = self.skipped;
            self.skipped = 0;
            return Some(Frame::TooLong(n));
        }
        if self.pending.is_empty() {
            return None;
        }
        let mut line = std::mem::take(&mut self.pending);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(Frame::Line(line))
    }
}

/// What one input line asks of the session.
pub(super) enum Inbound {
    One(Message),
    Batch(Vec<Value>),
    Fail(Response),
}

/// Decode one frame into what to do with it; `None` for a blank line.
pub(super) fn decode(frame: Frame, limits: &Limits) -> Option<Inbound> {
    let line = match frame {
        Frame::Line(l) => l,
        Frame::TooLong(n) => {
            return Some(Inbound::Fail(Response::err(
                None,
                ErrorObject::invalid_request(format!(
                    "Message of {n} bytes exceeds the limit of {} bytes",
                    limits.max_message_bytes
                )),
            )))
        }
    };
    let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
    if line[start] == b'[' {
        if nesting_exceeds(&line, limits.max_depth) {
            let e = ErrorObject::invalid_request(format!(
                "Message nests deeper than the limit of {} levels",
                limits.max_depth
            ));
            return Some(Inbound::Fail(Response::err(None, e)));
        }
        return Some(match serde_json::from_slice::<Value>(&line) {
            Ok(Value::Array(items)) => Inbound::Batch(items),
            Ok(_) | Err(_) => Inbound::Fail(Response::err(
                None,
                ErrorObject::new(
                    crate::jsonrpc::code::PARSE_ERROR,
                    "Parse error: invalid JSON array",
                ),
            )),
        });
    }
    Some(match Message::parse(&line, limits) {
        Ok(m) => Inbound::One(m),
        Err(f) => Inbound::Fail(f.into_response()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max: usize) -> Vec<String> {
        let mut fr = Framer::new(max);
        let mut frames = Vec::new();
        for chunk in input.chunks(7) {
            fr.feed(chunk, &mut frames);
        }
        frames.extend(fr.finish());
        let mut out = Vec::new();
        for f in frames {
            out.push(match f {
                Frame::Line(l) => String::from_utf8_lossy(&l).into_owned(),
                Frame::TooLong(n) => format!("<too long {n}>"),
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_caps_length() {
        assert_eq!(frames(b"a\nbb\r\n\nccc", 10), ["a", "bb", "", "ccc"]);
        let long = format!("{}\nok\n", "x".repeat(100));
        assert_eq!(frames(long.as_bytes(), 10), ["<too long 100>", "ok"]);
    }

    #[test]
    fn huge_line_is_discarded_without_buffering() {
        let long = format!("{}\n{{}}\n", "y".repeat(5_000_000));
        assert_eq!(frames(long.as_bytes(), 1024), ["<too long 5000000>", "{}"]);
    }
}
