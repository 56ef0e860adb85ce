//! Saying a thing once. A failure that lasts many ticks, or a condition that many containers or
//! connections meet, would fill the console if said each time; a [`Latch`] remembers what was said,
//! so it is said when it starts or changes and once when it ends, and the console stays readable
//! while every line that matters is still there.

use std::sync::{Mutex, PoisonError};

/// What was said last, while it lasts. `Latch<String>` follows a failure and its message; the
/// plain `Latch` (of `()`) is a flag said once, until [`Latch::reset`].
///
/// It takes `&self`, so tasks and threads that share it say a thing once between them.
#[derive(Debug)]
pub struct Latch<T = ()> {
    said: Mutex<Option<T>>,
}

/// What to tell the user, from [`Latch::now`].
#[derive(Debug, PartialEq, Eq)]
pub enum Say<T = ()> {
    /// Nothing new: all well, or the same as already said.
    Nothing,
    /// A failure that is new or differs from the one said last.
    Failing(T),
    /// The failure said last is over.
    Recovered(T),
}

impl<T> Latch<T> {
    /// A latch that has said nothing.
    pub const fn new() -> Latch<T> {
        Latch {
            said: Mutex::new(None),
        }
    }

    /// Whether something was said and is not over yet: for a quieter line that a lasting failure
    /// should not repeat either.
    pub fn said(&self) -> bool {
        self.said
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

impl<T> Default for Latch<T> {
    fn default() -> Latch<T> {
        Latch::new()
    }
}

impl<T: PartialEq + Clone> Latch<T> {
    /// The failure now (`None`: none), and what to say about it.
    pub fn now(&self, failure: Option<T>) -> Say<T> {
        // What was said stays right even if a holder panicked: the lock guards no invariant.
        let mut said = self.said.lock().unwrap_or_else(PoisonError::into_inner);
        match (failure, said.take()) {
            (None, None) => Say::Nothing,
            (None, Some(old)) => Say::Recovered(old),
            (Some(new), Some(old)) if new == old => {
                *said = Some(old);
                Say::Nothing
            }
            (Some(new), _) => {
                *said = Some(new.clone());
                Say::Failing(new)
            }
        }
    }
}

impl Latch {
    /// Whether this is the first time since the latch was made or reset: if so, say it now.
    pub fn first(&self) -> bool {
        self.now(Some(())) == Say::Failing(())
    }

    /// Forgets that it was said, so that [`Latch::first`] is true again; whether it had been said.
    pub fn reset(&self) -> bool {
        self.now(None) == Say::Recovered(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_said_when_it_starts_or_changes_and_once_when_it_ends() {
        let r = Latch::default();
        let f = |s: &str| Some(s.to_string());
        let ticks = [
            (None, Say::Nothing),
            (f("refused"), Say::Failing("refused".into())),
            (f("refused"), Say::Nothing),
            (f("refused"), Say::Nothing),
            (f("timeout"), Say::Failing("timeout".into())),
            (None, Say::Recovered("timeout".into())),
            (None, Say::Nothing),
            (f("refused"), Say::Failing("refused".into())),
        ];
        for (i, (failure, want)) in ticks.into_iter().enumerate() {
            assert_eq!(r.now(failure), want, "tick {i}");
        }
    }

    #[test]
    fn a_flag_is_said_the_first_time_and_again_only_after_a_reset() {
        let said = Latch::new();
        assert!(!said.reset(), "nothing said yet");
        assert!(said.first());
        assert!(!said.first());
        assert!(!said.first());
        assert!(said.reset());
        assert!(!said.reset());
        assert!(said.first());
    }

    #[test]
    fn what_was_said_can_be_asked_without_saying_it() {
        let said = Latch::new();
        assert!(!said.said());
        assert!(said.first());
        assert!(said.said());
        assert!(said.said(), "asking says nothing");
        assert!(said.reset());
        assert!(!said.said());
    }

    #[test]
    fn threads_that_share_a_flag_say_it_once_between_them() {
        let said = Latch::new();
        let firsts = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..100).filter(|_| said.first()).count()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .sum::<usize>()
        });
        assert_eq!(firsts, 1);
    }
}
