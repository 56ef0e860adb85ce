//! The limit on open files.

/// Raises the soft limit on open files to the hard one: each container being read holds a
/// connection to the engine, and 1000 containers would not fit under the 1024 a service often starts
/// with. Failure only means the old limit stays.
pub fn raise_open_files_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    // `None` is unlimited: above any number.
    let below = match (limit.current, limit.maximum) {
        (Some(current), Some(maximum)) => current < maximum,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if below {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::process::{getrlimit, Resource};

    #[test]
    fn the_soft_limit_rises_to_the_hard_one() {
        raise_open_files_limit();
        let limit = getrlimit(Resource::Nofile);
        // An unlimited hard limit cannot be the soft one for open files (the kernel caps it at
        // nr_open), so the old limit stays: nothing to check then.
        if limit.maximum.is_some() {
            assert_eq!(limit.current, limit.maximum);
        }
    }
}
