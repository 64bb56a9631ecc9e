//! Design notes, rendered with the API docs (no code here).
//!
//! - [`twisted`]: Twisted names and their torsion spelling.
//! - [`programming_model`]: how a protocol reaches its transport and other connections, and
//!   why no callback can panic a `RefCell`.
//! - [`reactor_design`]: why the reactor looks the way it does, and what we did differently
//!   from the models we studied.

pub mod programming_model;
pub mod reactor_design;
pub mod twisted;
