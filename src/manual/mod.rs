//! Design notes, rendered with the API docs (no code here).
//!
//! - [`twisted`]: Twisted names and their torsion spelling.
//! - [`reactor_design`]: why the reactor looks the way it does, and what we did differently
//!   from the models we studied.

pub mod reactor_design;
pub mod twisted;
