//! The open-file limit: a server that holds one descriptor per connection
//! (and more per file tool call) should not run out at the conservative
//! soft limit many systems start processes with (often 1,024) while the
//! hard limit allows far more.

/// Raise the soft `RLIMIT_NOFILE` to the hard limit; the new soft limit,
/// or `None` when it cannot be read or changed (left as it was).
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let now = getrlimit(Resource::Nofile);
    if now.current == now.maximum {
        return now.current;
    }
    let raised = Rlimit {
        current: now.maximum,
        maximum: now.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => now.maximum,
        Err(e) => {
            log::debug!("cannot raise the open-file limit: {e}");
            now.current
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::process::{getrlimit, Resource};

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let raised = raise_open_file_limit();
        let now = getrlimit(Resource::Nofile);
        assert_eq!(now.current, now.maximum);
        assert_eq!(raised, now.current);
    }
}
