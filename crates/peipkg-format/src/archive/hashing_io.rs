//! Readers and writers that hash and count what passes through them, so the
//! package hash and size come out of the same single pass as the bytes.

use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};

pub struct HashingWriter<W> {
    pub inner: W,
    pub sha: Sha256,
    pub count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            sha: Sha256::new(),
            count: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes and counts compressed input; refuses to read past `limit` bytes
/// (the §3.5.4 compressed-size bound) with an error the verifier recognises.
pub struct HashingReader<R> {
    pub inner: R,
    pub sha: Sha256,
    pub count: u64,
    pub limit: Option<u64>,
}

/// Marker carried inside the io::Error when `limit` is crossed.
#[derive(Debug)]
pub struct CompressedLimit(pub u64);

impl std::fmt::Display for CompressedLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "compressed input exceeds {} bytes", self.0)
    }
}
impl std::error::Error for CompressedLimit {}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.count += n as u64;
        if let Some(limit) = self.limit {
            if self.count > limit {
                return Err(io::Error::other(CompressedLimit(limit)));
            }
        }
        Ok(n)
    }
}
