//! [`SendQueue`]: the datagrams a port was asked to write and has not sent yet, packed into
//! chunks from the reactor's [`BufferPool`].
//!
//! Each datagram is copied whole into the current chunk (a new one is taken when it does not
//! fit) and remembered as (chunk, offset, length, destination) in a ring that keeps its
//! capacity. Once the queue empties every chunk goes back to the pool, so in steady state
//! queueing and sending allocate nothing. A datagram larger than a chunk is the one case
//! that is copied into its own allocation.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::buffer::{BufferPool, CHUNK_SIZE};

/// Where a queued datagram's bytes are.
enum Bytes {
    /// In chunk number `chunk` (counted since the queue was last empty) at `offset`.
    Pooled { chunk: usize, offset: usize },
    /// Too big for a chunk: its own copy.
    Owned(Box<[u8]>),
}

struct Entry {
    bytes: Bytes,
    len: usize,
    addr: Option<SocketAddr>,
}

/// Queued outgoing datagrams.
pub(super) struct SendQueue {
    chunks: VecDeque<Box<[u8]>>,
    /// Number of the first chunk in `chunks`.
    first_chunk: usize,
    /// Bytes used in the last chunk.
    fill: usize,
    entries: VecDeque<Entry>,
    bytes: usize,
}

impl SendQueue {
    pub(super) fn new() -> SendQueue {
        SendQueue {
            chunks: VecDeque::new(),
            first_chunk: 0,
            fill: 0,
            entries: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Datagrams queued.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Payload bytes queued.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Copies `data` in as one datagram to `addr`.
    pub(super) fn push(&mut self, pool: &BufferPool, data: &[u8], addr: Option<SocketAddr>) {
        let bytes = if data.len() > CHUNK_SIZE {
            Bytes::Owned(data.into())
        } else {
            if self.chunks.is_empty() || self.fill + data.len() > CHUNK_SIZE {
                self.chunks.push_back(pool.take());
                self.fill = 0;
            }
            let chunk = self.first_chunk + self.chunks.len() - 1;
            let offset = self.fill;
            if let Some(last) = self.chunks.back_mut() {
                last[offset..offset + data.len()].copy_from_slice(data);
            }
            self.fill += data.len();
            Bytes::Pooled { chunk, offset }
        };
        self.bytes += data.len();
        self.entries.push_back(Entry {
            bytes,
            len: data.len(),
            addr,
        });
    }

    /// The queued datagrams, oldest first, as (payload, destination).
    pub(super) fn iter(&self) -> impl Iterator<Item = (&[u8], Option<SocketAddr>)> + '_ {
        self.entries.iter().map(|e| {
            let data: &[u8] = match &e.bytes {
                Bytes::Pooled { chunk, offset } => {
                    &self.chunks[chunk - self.first_chunk][*offset..*offset + e.len]
                }
                Bytes::Owned(b) => b,
            };
            (data, e.addr)
        })
    }

    /// Forgets the `n` oldest datagrams (sent or dropped), returning chunks nobody needs
    /// any more to the pool.
    pub(super) fn consume(&mut self, pool: &BufferPool, n: usize) {
        for _ in 0..n {
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= e.len;
        }
        if self.entries.is_empty() {
            self.clear(pool);
            return;
        }
        // Chunks before the oldest remaining pooled datagram's are done with.
        let keep_from = self
            .entries
            .iter()
            .find_map(|e| match e.bytes {
                Bytes::Pooled { chunk, .. } => Some(chunk),
                Bytes::Owned(_) => None,
            })
            .unwrap_or(self.first_chunk + self.chunks.len().saturating_sub(1));
        while self.first_chunk < keep_from {
            if let Some(c) = self.chunks.pop_front() {
                pool.give(c);
            }
            self.first_chunk += 1;
        }
    }

    /// Drops everything queued and gives the chunks back.
    pub(super) fn clear(&mut self, pool: &BufferPool) {
        self.entries.clear();
        self.bytes = 0;
        for c in self.chunks.drain(..) {
            pool.give(c);
        }
        self.first_chunk = 0;
        self.fill = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_datagrams_and_returns_chunks() {
        let pool = BufferPool::new(8);
        let mut q = SendQueue::new();
        let a: SocketAddr = "127.0.0.1:9".parse().unwrap();
        q.push(&pool, b"hello", Some(a));
        q.push(&pool, b"", None);
        q.push(&pool, &vec![1u8; CHUNK_SIZE - 5], Some(a));
        q.push(&pool, &[2u8; 10], Some(a));
        q.push(&pool, &vec![3u8; CHUNK_SIZE + 1], Some(a));
        assert_eq!(q.len(), 5);
        assert_eq!(pool.allocated(), 2);
        let got: Vec<_> = q.iter().map(|(d, ad)| (d.len(), ad)).collect();
        assert_eq!(
            got,
            [
                (5, Some(a)),
                (0, None),
                (CHUNK_SIZE - 5, Some(a)),
                (10, Some(a)),
                (CHUNK_SIZE + 1, Some(a))
            ]
        );
        assert_eq!(q.iter().next().unwrap().0, b"hello");
        q.consume(&pool, 3);
        assert_eq!(pool.idle(), 1, "the first chunk is done with");
        assert_eq!(q.iter().next().unwrap().0, &[2u8; 10][..]);
        q.consume(&pool, 2);
        assert!(q.is_empty());
        assert_eq!((pool.idle(), q.bytes()), (2, 0));
    }
}
