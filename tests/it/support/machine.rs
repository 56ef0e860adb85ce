//! The machine the tests share. All the integration tests run in one process, a few threads at a
//! time; a test that measures CPU needs the machine unloaded, and a test that loads it on purpose
//! would spoil that measurement. Such a test holds the machine alone ([`alone_on_the_machine`]); every
//! collector the other tests run holds it shared while it runs, so the two never overlap.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static MACHINE: RwLock<()> = RwLock::new(());

thread_local! {
    /// The share of this test's thread, held by each of its collectors. One per thread: a thread
    /// that asked for a second share while a test waits to be alone would wait for itself.
    static SHARE: RefCell<Weak<Share>> = const { RefCell::new(Weak::new()) };
    /// Set while this thread's test holds the machine alone: its own collectors then need no share.
    static ALONE: Cell<bool> = const { Cell::new(false) };
}

/// Held by a collector of a test that does not have the machine to itself.
pub(super) struct Share {
    _guard: RwLockReadGuard<'static, ()>,
}

/// A share of the machine for a collector started on this thread, or `None` when this thread's test
/// holds the machine alone.
pub(super) fn share() -> Option<Rc<Share>> {
    if ALONE.get() {
        return None;
    }
    SHARE.with_borrow_mut(|share| {
        if let Some(held) = share.upgrade() {
            return Some(held);
        }
        let held = Rc::new(Share {
            _guard: MACHINE.read().unwrap_or_else(PoisonError::into_inner),
        });
        *share = Rc::downgrade(&held);
        Some(held)
    })
}

/// The machine to this test alone, until the value is dropped: no other test's collector runs
/// meanwhile. Take it before starting any collector of the test.
pub fn alone_on_the_machine() -> Alone {
    let guard = MACHINE.write().unwrap_or_else(PoisonError::into_inner);
    ALONE.set(true);
    Alone { _guard: guard }
}

/// See [`alone_on_the_machine`].
pub struct Alone {
    _guard: RwLockWriteGuard<'static, ()>,
}

impl Drop for Alone {
    fn drop(&mut self) {
        ALONE.set(false);
    }
}
