//! [`WriteQueue`]: a connection's outgoing bytes, in pooled chunks.

use std::collections::VecDeque;
use std::fmt;
use std::io::IoSlice;

use super::{BufferPool, CHUNK_SIZE};

/// Outgoing bytes waiting to be written, kept in chunks from a [`BufferPool`].
///
/// Writing copies into the last chunk (taking new chunks as needed); a flush hands the
/// chunks to one vectored write with [`io_slices`](WriteQueue::io_slices) and then
/// [`consume`](WriteQueue::consume)s what the kernel took. The queue never holds an empty
/// chunk: emptied chunks go back to the pool at once.
#[derive(Default)]
pub struct WriteQueue {
    chunks: VecDeque<Box<[u8]>>,
    /// Read position in the first chunk.
    head: usize,
    /// Write position in the last chunk.
    tail: usize,
    len: usize,
}

impl WriteQueue {
    /// An empty queue (it allocates nothing until written to).
    pub fn new() -> WriteQueue {
        WriteQueue::default()
    }

    /// Bytes queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a copy of `data`.
    pub fn write(&mut self, pool: &BufferPool, mut data: &[u8]) {
        while !data.is_empty() {
            if self.chunks.is_empty() || self.tail == CHUNK_SIZE {
                self.chunks.push_back(pool.take());
                self.tail = 0;
                if self.chunks.len() == 1 {
                    self.head = 0;
                }
            }
            let chunk = self.chunks.back_mut().expect("a chunk was just ensured");
            let n = data.len().min(CHUNK_SIZE - self.tail);
            chunk[self.tail..self.tail + n].copy_from_slice(&data[..n]);
            self.tail += n;
            self.len += n;
            data = &data[n..];
        }
    }

    /// The queued bytes, chunk by chunk, in order.
    fn runs(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let last = self.chunks.len().saturating_sub(1);
        self.chunks.iter().enumerate().map(move |(i, chunk)| {
            let start = if i == 0 { self.head } else { 0 };
            let end = if i == last { self.tail } else { CHUNK_SIZE };
            &chunk[start..end]
        })
    }

    /// The queued bytes when they lie in one chunk (the common case of a small reply):
    /// one plain `send`, with no slice array to fill.
    pub fn single_run(&self) -> Option<&[u8]> {
        match self.chunks.len() {
            1 => Some(&self.chunks[0][self.head..self.tail]),
            _ => None,
        }
    }

    /// Fills `slices` with the queued bytes, in order, and returns how many it used.
    pub fn io_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, run) in slices.iter_mut().zip(self.runs()) {
            *slot = IoSlice::new(run);
            n += 1;
        }
        n
    }

    /// The first contiguous run of queued bytes.
    pub fn first_slice(&self) -> &[u8] {
        match self.chunks.front() {
            None => &[],
            Some(chunk) => {
                let end = if self.chunks.len() == 1 {
                    self.tail
                } else {
                    CHUNK_SIZE
                };
                &chunk[self.head..end]
            }
        }
    }

    /// Drops the first `n` queued bytes (what a write took), returning emptied chunks to
    /// the pool.
    pub fn consume(&mut self, pool: &BufferPool, mut n: usize) {
        assert!(n <= self.len, "consume({n}) of a {}-byte queue", self.len);
        self.len -= n;
        while n > 0 {
            let end = if self.chunks.len() == 1 {
                self.tail
            } else {
                CHUNK_SIZE
            };
            let available = end - self.head;
            if n < available {
                self.head += n;
                return;
            }
            n -= available;
            let chunk = self.chunks.pop_front().expect("len says there is data");
            pool.give(chunk);
            self.head = 0;
        }
        if self.len == 0 {
            // The last chunk may be fully read: give it back too.
            if let Some(chunk) = self.chunks.pop_front() {
                pool.give(chunk);
            }
            self.head = 0;
            self.tail = 0;
        }
    }

    /// Drops everything queued, returning the chunks to the pool.
    pub fn clear(&mut self, pool: &BufferPool) {
        for chunk in self.chunks.drain(..) {
            pool.give(chunk);
        }
        self.head = 0;
        self.tail = 0;
        self.len = 0;
    }

    /// A copy of the queued bytes (for tests and diagnostics).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for run in self.runs() {
            out.extend_from_slice(run);
        }
        out
    }
}

impl fmt::Debug for WriteQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteQueue")
            .field("len", &self.len)
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn writes_and_consumes_across_chunk_boundaries() {
        let pool = BufferPool::new(8);
        let mut q = WriteQueue::new();
        let data = pattern(3 * CHUNK_SIZE + 123);
        for piece in data.chunks(1000) {
            q.write(&pool, piece);
        }
        assert_eq!(q.len(), data.len());
        assert_eq!(q.to_vec(), data);
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(q.io_slices(&mut slices), 4);
        let mut seen = 0;
        for step in [1, CHUNK_SIZE - 1, 5, CHUNK_SIZE, 2 * CHUNK_SIZE] {
            let n = step.min(q.len());
            q.consume(&pool, n);
            seen += n;
            assert_eq!(q.to_vec(), data[seen..]);
        }
        assert!(q.is_empty());
        assert_eq!(pool.idle(), 4, "every chunk went back");
    }

    #[test]
    fn a_queue_in_one_chunk_is_a_single_run() {
        let pool = BufferPool::new(8);
        let mut q = WriteQueue::new();
        assert_eq!(q.single_run(), None);
        q.write(&pool, b"hello ");
        q.write(&pool, b"world");
        assert_eq!(q.single_run(), Some(&b"hello world"[..]));
        q.consume(&pool, 6);
        assert_eq!(q.single_run(), Some(&b"world"[..]));
        q.write(&pool, &vec![1u8; CHUNK_SIZE]);
        assert_eq!(q.single_run(), None, "two chunks need the vectored write");
    }

    #[test]
    fn steady_state_reuses_one_chunk() {
        let pool = BufferPool::new(8);
        let mut q = WriteQueue::new();
        for _ in 0..1000 {
            q.write(&pool, b"ping");
            q.write(&pool, b"pong");
            assert_eq!(q.first_slice(), b"pingpong");
            q.consume(&pool, 8);
        }
        assert_eq!(pool.allocated(), 1);
    }

    #[test]
    fn clear_returns_chunks_and_the_pool_is_bounded() {
        let pool = BufferPool::new(2);
        let mut q = WriteQueue::new();
        q.write(&pool, &pattern(5 * CHUNK_SIZE));
        q.clear(&pool);
        assert!(q.is_empty());
        assert_eq!(pool.idle(), 2, "the pool keeps at most max_idle chunks");
        assert_eq!(q.io_slices(&mut [IoSlice::new(&[]); 4]), 0);
        assert_eq!(q.first_slice(), b"");
    }

    #[test]
    fn io_slices_respects_the_slice_count() {
        let pool = BufferPool::new(8);
        let mut q = WriteQueue::new();
        q.write(&pool, &pattern(3 * CHUNK_SIZE));
        let mut slices = [IoSlice::new(&[]); 2];
        assert_eq!(q.io_slices(&mut slices), 2);
        assert_eq!(slices[0].len() + slices[1].len(), 2 * CHUNK_SIZE);
    }
}
