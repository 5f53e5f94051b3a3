//! Server-Sent Events as the HTTP client reads them: complete events split
//! off the bytes received so far.

/// Split complete SSE events off `buf`; returns their `data` payloads.
pub(super) fn take_events(buf: &mut Vec<u8>) -> Vec<String> {
    // CR LF → LF on bytes (ASCII never occurs inside a multi-byte character,
    // so a character split across network chunks stays intact).
    if buf.contains(&b'\r') {
        let mut norm = Vec::with_capacity(buf.len());
        for (i, &c) in buf.iter().enumerate() {
            if !(c == b'\r' && buf.get(i + 1) == Some(&b'\n')) {
                norm.push(c);
            }
        }
        *buf = norm;
    }
    let mut out = Vec::new();
    while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
        let event = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 2);
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let d = data.join("\n");
        if !d.trim().is_empty() {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split() {
        let mut b = b"event: message\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\ndata: {\"b\"\ndata: :2}\n\ndata: part".to_vec();
        let ev = take_events(&mut b);
        assert_eq!(ev, vec!["{\"a\":1}".to_string(), "{\"b\"\n:2}".to_string()]);
        assert_eq!(b, b"data: part");
    }
}
