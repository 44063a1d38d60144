//! Pages sent while they are rendered.
//!
//! `/status` is megabytes on a farm of thousands of recipes. Rendered into
//! one buffer, and that buffer redacted into a second, each request made
//! the daemon's memory jump by several times the page. Here the document
//! is serialized twice from the same snapshot: once into a counter, for an
//! exact `Content-Length` (the reply stays byte for byte what it was, not
//! chunked), then in pieces of about 64 KiB into the connection. Redaction
//! runs on whole lines: pretty-printed JSON escapes every newline inside a
//! string, so a secret never spans two lines.

use std::convert::Infallible;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame};
use serde::Serialize;
use tokio::sync::mpsc;

const PIECE: usize = 64 * 1024;

/// Buffers output and hands it on in redacted runs of whole lines.
struct RedactedLines<F: FnMut(&[u8]) -> io::Result<()>> {
    buf: Vec<u8>,
    emit: F,
}

impl<F: FnMut(&[u8]) -> io::Result<()>> RedactedLines<F> {
    fn pass(&mut self, upto: usize) -> io::Result<()> {
        let rest = self.buf.split_off(upto);
        (self.emit)(&crate::redact::redact_bytes(&self.buf))?;
        self.buf = rest;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        let n = self.buf.len();
        self.pass(n)
    }
}

impl<F: FnMut(&[u8]) -> io::Result<()>> Write for RedactedLines<F> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            if let Some(nl) = self.buf.iter().rposition(|&b| b == b'\n') {
                self.pass(nl + 1)?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Renders `value` as pretty JSON plus a newline, redacted, into `emit`.
fn render(value: &impl Serialize, emit: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut w = RedactedLines {
        buf: Vec::with_capacity(PIECE + 4096),
        emit,
    };
    serde_json::to_writer_pretty(&mut w, value)?;
    w.write_all(b"\n")?;
    w.finish()
}

/// The length of what [`send`] will send.
pub(crate) fn length(value: &impl Serialize) -> io::Result<u64> {
    let mut n = 0u64;
    render(value, |piece| {
        n += piece.len() as u64;
        Ok(())
    })?;
    Ok(n)
}

/// Renders the document piece by piece into `deliver`; stops at the
/// first piece it refuses (the connection is gone or stalled).
pub(crate) fn send(value: &impl Serialize, deliver: &dyn Fn(Bytes) -> Result<(), ()>) {
    let _ = render(value, |piece| {
        deliver(Bytes::copy_from_slice(piece))
            .map_err(|()| io::Error::from(io::ErrorKind::BrokenPipe))
    });
}

/// A response body fed by [`send`], of a length known in advance.
pub(crate) struct Pieces {
    rx: mpsc::Receiver<Bytes>,
    len: u64,
}

impl Pieces {
    pub(crate) fn new(rx: mpsc::Receiver<Bytes>, len: u64) -> Pieces {
        Pieces { rx, len }
    }
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|p| p.map(|b| Ok(Frame::data(b))))
    }

    /// Exact, so hyper writes `Content-Length` rather than chunks.
    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces joined are the whole document redacted at once, and the
    /// counted length is theirs.
    #[test]
    fn pieces_are_the_whole_redacted_document() {
        let doc: Vec<String> = (0..20_000)
            .map(|i| format!("recipe-{i} https://user:tok{i}@example.org/x.git key={i}"))
            .collect();
        let whole = {
            let mut s = serde_json::to_string_pretty(&doc).unwrap();
            s.push('\n');
            crate::redact::redact(&s).into_owned()
        };
        let mut joined = Vec::new();
        let mut pieces = 0;
        render(&doc, |p| {
            joined.extend_from_slice(p);
            pieces += 1;
            Ok(())
        })
        .unwrap();
        assert!(pieces > 5, "{pieces}");
        assert_eq!(String::from_utf8(joined).unwrap(), whole);
        assert_eq!(length(&doc).unwrap(), whole.len() as u64);
        assert!(!whole.contains("tok1@"));
    }
}
