//! Process limits the servers and their tests care about: the open-descriptor limit.
//!
//! Tests: below.

use std::io;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The open-descriptor limit: (soft, hard); `None` means unlimited.
pub fn nofile_limit() -> (Option<u64>, Option<u64>) {
    let r = getrlimit(Resource::Nofile);
    (r.current, r.maximum)
}

/// Sets the soft open-descriptor limit (the hard one is kept).
///
/// # Errors
///
/// `setrlimit`'s error, e.g. `EINVAL` if `soft` is above the hard limit.
pub fn set_nofile_limit(soft: u64) -> io::Result<()> {
    let (_, hard) = nofile_limit();
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: hard,
        },
    )?;
    Ok(())
}

/// Raises the soft open-descriptor limit to the hard limit (what a server with many
/// connections wants at start-up) and returns the new soft limit (`u64::MAX` if unlimited).
///
/// # Errors
///
/// `setrlimit`'s error.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let (soft, hard) = nofile_limit();
    if soft == hard {
        return Ok(soft.unwrap_or(u64::MAX));
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: hard,
            maximum: hard,
        },
    )?;
    Ok(hard.unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_is_idempotent_and_reports_the_limit() {
        let raised = raise_nofile_limit().unwrap();
        assert_eq!(raise_nofile_limit().unwrap(), raised);
        let (soft, _) = nofile_limit();
        assert_eq!(soft.unwrap_or(u64::MAX), raised);
    }
}
