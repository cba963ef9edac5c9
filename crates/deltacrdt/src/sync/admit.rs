//! The validation hook: application checks on a received delta, after decoding and before the
//! join.

use alloc::string::{String, ToString};
use core::convert::Infallible;
use core::fmt;

use crate::{ClockError, LWWRegister, ReplicaId, TimeBound};

/// A check on every delta a [`Session`](super::Session) receives, run by
/// [`handle_message_with`](super::Session::handle_message_with) after the message decoded and
/// passed the session's own checks, and before anything changes. An `Err` refuses the whole
/// message with [`SyncError::Refused`](super::SyncError::Refused), naming the neighbour and
/// the reason (the error's `Display`), and leaves the session exactly as it was except for its
/// refusal counters.
///
/// Implementations:
/// - `()`: no check (what [`handle_message`](super::Session::handle_message) uses);
/// - [`TimeBound`] for [`LWWRegister`]: refuses a write stamped more than `max_ahead_ms`
///   ahead of the caller's wall clock (`now_ms`, passed by the caller with each message: the
///   session reads no clock);
/// - [`AdmitFn`]: a closure;
/// - `(A, B)`: both checks, `A` first;
/// - `&A` for any check `A`.
///
/// ```
/// use deltacrdt::sync::{Session, SyncConfig, SyncError};
/// use deltacrdt::{LWWRegister, ReplicaId, TimeBound, Timestamp};
///
/// let (a_id, b_id) = (ReplicaId(1), ReplicaId(2));
/// let mut a = Session::new(a_id, 1, LWWRegister::<u32>::new(), SyncConfig::default());
/// let mut b = Session::new(b_id, 1, LWWRegister::<u32>::new(), SyncConfig::default());
/// a.add_neighbour(b_id);
/// b.add_neighbour(a_id);
/// // b's clock is far ahead (or b is hostile): its write is stamped at the end of time.
/// b.update(|r| Ok::<_, ()>(r.set(b_id, Timestamp::from_raw(u64::MAX), 7))).unwrap();
/// b.tick();
/// let t = b.poll_transmit().unwrap();
///
/// let bound = TimeBound { now_ms: 1_700_000_000_000, max_ahead_ms: 60_000 };
/// let err = a.handle_message_with(b_id, &t.bytes, &bound).unwrap_err();
/// assert!(matches!(err, SyncError::Refused { from, .. } if from == b_id));
/// assert!(err.to_string().contains("ahead of the local clock"), "{err}");
/// assert_eq!(a.state().value(), None); // nothing changed
/// ```
pub trait Admit<T> {
    /// Why a delta was refused (shown in [`SyncError::Refused`](super::SyncError::Refused)).
    type Error: fmt::Display;

    /// Accepts or refuses `delta`, received from neighbour `from`.
    ///
    /// # Errors
    /// Whatever the check finds wrong with the delta.
    fn admit(&self, from: ReplicaId, delta: &T) -> Result<(), Self::Error>;
}

impl<T> Admit<T> for () {
    type Error = Infallible;

    fn admit(&self, _: ReplicaId, _: &T) -> Result<(), Infallible> {
        Ok(())
    }
}

impl<T, A: Admit<T> + ?Sized> Admit<T> for &A {
    type Error = A::Error;

    fn admit(&self, from: ReplicaId, delta: &T) -> Result<(), A::Error> {
        (**self).admit(from, delta)
    }
}

impl<T, A: Admit<T>, B: Admit<T>> Admit<T> for (A, B) {
    type Error = String;

    fn admit(&self, from: ReplicaId, delta: &T) -> Result<(), String> {
        self.0.admit(from, delta).map_err(|e| e.to_string())?;
        self.1.admit(from, delta).map_err(|e| e.to_string())
    }
}

/// The LWW time bound as a session check: a write stamped more than `max_ahead_ms` past
/// `now_ms` is refused (see [`LWWRegister::join_bounded`] for the same check on a bare join).
impl<V: Ord + Clone> Admit<LWWRegister<V>> for TimeBound {
    type Error = ClockError;

    fn admit(&self, _: ReplicaId, delta: &LWWRegister<V>) -> Result<(), ClockError> {
        match delta.timestamp() {
            Some(ts) => self.check(ts),
            None => Ok(()),
        }
    }
}

/// A closure as a session check: `AdmitFn(|from, delta| ...)` returning `Result<(), E>`.
///
/// ```
/// use deltacrdt::sync::{AdmitFn, Admit};
/// use deltacrdt::{GCounter, ReplicaId};
/// let small = AdmitFn(|_from: ReplicaId, d: &GCounter| {
///     if d.value() <= 1_000 { Ok(()) } else { Err("too large a jump") }
/// });
/// let mut d = GCounter::new();
/// let _ = d.inc(ReplicaId(2), 5_000).unwrap();
/// assert_eq!(small.admit(ReplicaId(2), &d), Err("too large a jump"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AdmitFn<F>(pub F);

impl<T, E: fmt::Display, F: Fn(ReplicaId, &T) -> Result<(), E>> Admit<T> for AdmitFn<F> {
    type Error = E;

    fn admit(&self, from: ReplicaId, delta: &T) -> Result<(), E> {
        (self.0)(from, delta)
    }
}
