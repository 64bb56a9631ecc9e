//! Producers: the source side of Twisted's producer / consumer backpressure.

use std::fmt;
use std::rc::Rc;

/// A producer that writes on its own and must be told to pause and resume (Twisted's
/// `IPushProducer`). Its methods take `&self`: keep the state they change in `Cell`s.
pub trait PushProducer {
    /// Stop writing for now: the consumer's buffer is above its high-water mark.
    fn pause_producing(&self);
    /// Write again: the buffer has drained to its low-water mark.
    fn resume_producing(&self);
    /// Stop for good: the consumer is gone.
    fn stop_producing(&self);
}

/// A producer that writes one piece each time it is asked (Twisted's `IPullProducer`).
pub trait PullProducer {
    /// Write the next piece (the consumer's buffer is empty).
    fn resume_producing(&self);
    /// Stop for good: the consumer is gone.
    fn stop_producing(&self);
}

/// A registered producer: streaming (push) or not (pull).
#[derive(Clone)]
pub enum Producer {
    /// Paused and resumed by the consumer (`streaming=True` in Twisted).
    Push(Rc<dyn PushProducer>),
    /// Asked for more each time the consumer's buffer empties (`streaming=False`).
    Pull(Rc<dyn PullProducer>),
}

impl Producer {
    /// Tells the producer to stop for good.
    pub fn stop_producing(&self) {
        match self {
            Producer::Push(p) => p.stop_producing(),
            Producer::Pull(p) => p.stop_producing(),
        }
    }
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Producer::Push(_) => "Producer::Push",
            Producer::Pull(_) => "Producer::Pull",
        })
    }
}

/// Why a producer could not be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerError {
    /// A producer is registered already (Twisted raises `RuntimeError`).
    AlreadyRegistered,
    /// The transport is closed.
    Closed,
}

impl fmt::Display for ProducerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProducerError::AlreadyRegistered => "a producer is already registered",
            ProducerError::Closed => "the transport is closed",
        })
    }
}

impl std::error::Error for ProducerError {}
