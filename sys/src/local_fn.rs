//! [`LocalFn`]: a `FnOnce()` stored inline when it is small, so queueing a callback does not
//! allocate.
//!
//! The reactor's timers and call-soon queue hold user closures. `Box<dyn FnOnce()>` allocates
//! once per closure that captures anything, which would put an allocation on every
//! `call_later`. A `LocalFn` keeps closures of up to [`LocalFn::INLINE_BYTES`] bytes (say an
//! `Rc` handle and a couple of integers) in place, and boxes only larger ones.
//!
//! Tests: unit tests below (also meant for Miri where it is installed).

use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, MaybeUninit};
use std::ptr;

/// Inline storage: four machine words, aligned as a word.
type Storage = [MaybeUninit<usize>; 4];

/// The two operations a stored closure supports, made per closure type.
struct VTable {
    /// Moves the closure out of the storage and calls it.
    call: unsafe fn(*mut Storage),
    /// Drops the closure in place without calling it.
    drop: unsafe fn(*mut Storage),
    /// False when the storage holds a `Box` of the real closure.
    inline: bool,
}

/// The vtable for closures of type `F`, stored inline.
struct InlineVTable<F>(PhantomData<F>);

impl<F: FnOnce() + 'static> InlineVTable<F> {
    const VTABLE: VTable = VTable {
        call: call_inline::<F>,
        drop: drop_inline::<F>,
        inline: true,
    };
}

/// The vtable for closures of type `F` too big to store inline: the storage holds a
/// `Box<F>`.
struct BoxedVTable<F>(PhantomData<F>);

impl<F: FnOnce() + 'static> BoxedVTable<F> {
    const VTABLE: VTable = VTable {
        call: call_inline::<Box<F>>,
        drop: drop_inline::<Box<F>>,
        inline: false,
    };
}

/// # Safety
///
/// `storage` must hold a live `F` written by [`LocalFn::new`]; it is moved out, so the
/// caller must not use or drop it again.
unsafe fn call_inline<F: FnOnce()>(storage: *mut Storage) {
    // SAFETY: the caller guarantees the storage holds an initialised F that nobody else will
    // read again; `new` checked that F's size and alignment fit the storage.
    let f = unsafe { ptr::read(storage.cast::<F>()) };
    f();
}

/// # Safety
///
/// `storage` must hold a live `F` written by [`LocalFn::new`]; it is dropped, so the caller
/// must not use or drop it again.
unsafe fn drop_inline<F>(storage: *mut Storage) {
    // SAFETY: as for `call_inline`: an initialised F that is never touched again.
    unsafe { ptr::drop_in_place(storage.cast::<F>()) }
}

/// A `FnOnce()` callback, stored inline when small, boxed otherwise. Not `Send`: it lives on
/// the reactor thread (use `Box<dyn FnOnce() + Send>` to cross threads).
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use torsion_sys::LocalFn;
///
/// let hits = Rc::new(Cell::new(0));
/// let h = hits.clone();
/// let f = LocalFn::new(move || h.set(h.get() + 1));
/// assert!(f.is_inline());
/// f.call();
/// assert_eq!(hits.get(), 1);
/// ```
pub struct LocalFn {
    /// INVARIANT: holds an initialised closure of the type `vtable` was made for, until
    /// `call` or `drop` consumes it exactly once.
    storage: Storage,
    vtable: &'static VTable,
    /// Closures may hold `Rc`s: keep the type `!Send` and `!Sync`.
    _not_send: PhantomData<*const ()>,
}

impl LocalFn {
    /// Closures up to this many bytes (with at most word alignment) are stored inline.
    pub const INLINE_BYTES: usize = size_of::<Storage>();

    /// Stores `f`.
    pub fn new<F: FnOnce() + 'static>(f: F) -> LocalFn {
        if fits::<F>() {
            Self::store(f, &InlineVTable::<F>::VTABLE)
        } else {
            Self::store(Box::new(f), &BoxedVTable::<F>::VTABLE)
        }
    }

    /// Moves `value` into the storage; `vtable` must have been made for `V`.
    fn store<V>(value: V, vtable: &'static VTable) -> LocalFn {
        assert!(fits::<V>(), "LocalFn: value does not fit inline storage");
        let mut storage: Storage = [MaybeUninit::uninit(); 4];
        // SAFETY: V fits the storage in size and alignment (asserted above) and the storage
        // is ours and uninitialised; writing moves `value` in without dropping anything.
        unsafe { ptr::write(storage.as_mut_ptr().cast::<V>(), value) };
        LocalFn {
            storage,
            vtable,
            _not_send: PhantomData,
        }
    }

    /// True if the closure is stored in place (no heap allocation was made for it).
    pub fn is_inline(&self) -> bool {
        self.vtable.inline
    }

    /// Calls the closure, consuming it.
    pub fn call(self) {
        let mut this = mem::ManuallyDrop::new(self);
        let call = this.vtable.call;
        // SAFETY: the invariant says the storage holds a live closure of the vtable's type;
        // `this` is ManuallyDrop, so `Drop` will not run on the moved-out closure.
        unsafe { call(&mut this.storage) }
    }
}

/// True if `F` can live in [`Storage`].
const fn fits<F>() -> bool {
    size_of::<F>() <= size_of::<Storage>() && align_of::<F>() <= align_of::<Storage>()
}

impl Drop for LocalFn {
    fn drop(&mut self) {
        // SAFETY: `call` consumes `self` through ManuallyDrop, so reaching Drop means the
        // closure was never called and is still live.
        unsafe { (self.vtable.drop)(&mut self.storage) }
    }
}

impl fmt::Debug for LocalFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalFn")
            .field("inline", &self.vtable.inline)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::LocalFn;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    #[test]
    fn small_closures_are_inline_and_run_once() {
        let hits = Rc::new(Cell::new(0u32));
        let h = hits.clone();
        let (a, b) = (3u32, 4u32);
        let f = LocalFn::new(move || h.set(h.get() + a + b));
        assert!(f.is_inline());
        f.call();
        assert_eq!(hits.get(), 7);
        assert_eq!(Rc::strong_count(&hits), 1, "the captured Rc was released");
    }

    #[test]
    fn large_closures_are_boxed_and_still_run() {
        let big = [7u64; 16];
        let out = Rc::new(Cell::new(0u64));
        let o = out.clone();
        let f = LocalFn::new(move || o.set(big.iter().sum()));
        assert!(!f.is_inline());
        f.call();
        assert_eq!(out.get(), 112);
    }

    #[test]
    fn dropping_without_calling_drops_captures() {
        let token = Rc::new(());
        let t = token.clone();
        let f = LocalFn::new(move || drop(t));
        assert_eq!(Rc::strong_count(&token), 2);
        drop(f);
        assert_eq!(Rc::strong_count(&token), 1);

        let t = token.clone();
        let big = [0u8; 100];
        let f = LocalFn::new(move || {
            let _ = (&t, big);
        });
        assert!(!f.is_inline());
        drop(f);
        assert_eq!(Rc::strong_count(&token), 1);
    }

    #[test]
    fn zero_sized_and_over_aligned_closures() {
        let f = LocalFn::new(|| {});
        assert!(f.is_inline());
        f.call();

        #[repr(align(64))]
        struct Aligned(u8);
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let a = Aligned(9);
        let f = LocalFn::new(move || {
            let a = a; // capture the whole over-aligned value
            l.borrow_mut().push(a.0)
        });
        assert!(!f.is_inline(), "over-aligned closures are boxed");
        f.call();
        assert_eq!(*log.borrow(), vec![9]);
    }

    #[test]
    fn a_callback_may_queue_another() {
        let queue: Rc<RefCell<Vec<LocalFn>>> = Rc::new(RefCell::new(Vec::new()));
        let hits = Rc::new(Cell::new(0));
        let (q, h) = (queue.clone(), hits.clone());
        queue.borrow_mut().push(LocalFn::new(move || {
            let h2 = h.clone();
            q.borrow_mut()
                .push(LocalFn::new(move || h2.set(h2.get() + 1)));
            h.set(h.get() + 1);
        }));
        while let Some(f) = {
            let next = queue.borrow_mut().pop();
            next
        } {
            f.call();
        }
        assert_eq!(hits.get(), 2);
    }
}
