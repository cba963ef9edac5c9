//! Hybrid logical clock timestamps.

use core::fmt;

/// A hybrid logical clock timestamp: milliseconds of physical time in the high 48 bits and a
/// logical counter in the low 16 bits. Timestamps order as plain `u64`s.
///
/// ```
/// use deltacrdt::Timestamp;
/// let t = Timestamp::new(1_700_000_000_000, 3);
/// assert_eq!(t.physical_ms(), 1_700_000_000_000);
/// assert_eq!(t.logical(), 3);
/// assert!(t < Timestamp::new(1_700_000_000_000, 4));
/// assert_eq!(Timestamp::from_raw(t.to_raw()), t);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The largest physical time a timestamp can hold (2^48 - 1 ms, about the year 10889).
    pub const MAX_PHYSICAL_MS: u64 = (1 << 48) - 1;
    /// The largest logical counter.
    pub const MAX_LOGICAL: u16 = u16::MAX;

    /// Builds a timestamp; `physical_ms` above [`Self::MAX_PHYSICAL_MS`] is clamped to it.
    pub const fn new(physical_ms: u64, logical: u16) -> Self {
        let p = if physical_ms > Self::MAX_PHYSICAL_MS {
            Self::MAX_PHYSICAL_MS
        } else {
            physical_ms
        };
        Timestamp((p << 16) | logical as u64)
    }

    /// The physical part, in milliseconds.
    pub const fn physical_ms(self) -> u64 {
        self.0 >> 16
    }

    /// The logical counter.
    pub const fn logical(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    /// The packed 64-bit form (what travels in the binary format).
    pub const fn to_raw(self) -> u64 {
        self.0
    }

    /// Rebuilds a timestamp from its packed form; every `u64` is a valid timestamp.
    pub const fn from_raw(raw: u64) -> Self {
        Timestamp(raw)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms+{}", self.physical_ms(), self.logical())
    }
}

/// Why a clock refused to produce or accept a timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClockError {
    /// A timestamp from a peer is further ahead of this replica's clock than allowed.
    TooFarAhead {
        /// The peer's timestamp.
        timestamp: Timestamp,
        /// This replica's wall clock, in milliseconds.
        now_ms: u64,
        /// The largest lead accepted, in milliseconds.
        max_ahead_ms: u64,
    },
    /// The clock reached the largest timestamp it can represent and cannot move on.
    Exhausted,
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockError::TooFarAhead {
                timestamp,
                now_ms,
                max_ahead_ms,
            } => write!(
                f,
                "timestamp {timestamp} is {} ms ahead of the local clock ({now_ms} ms); at most {max_ahead_ms} ms is accepted",
                timestamp.physical_ms().saturating_sub(*now_ms)
            ),
            ClockError::Exhausted => write!(f, "the hybrid logical clock reached its largest timestamp"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClockError {}

/// How far ahead of the local clock an incoming timestamp may be.
///
/// A peer with a broken clock, or a malicious one, could otherwise write with a timestamp far
/// in the future (up to `u64::MAX`) and win every later write forever.
///
/// ```
/// use deltacrdt::{TimeBound, Timestamp};
/// let bound = TimeBound { now_ms: 1_000, max_ahead_ms: 500 };
/// assert!(bound.check(Timestamp::new(1_400, 0)).is_ok());
/// assert!(bound.check(Timestamp::new(1_600, 0)).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeBound {
    /// The local wall clock, in milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// The largest lead accepted, in milliseconds.
    pub max_ahead_ms: u64,
}

impl TimeBound {
    /// Accepts `timestamp` if its physical part is at most `now_ms + max_ahead_ms`.
    ///
    /// # Errors
    /// [`ClockError::TooFarAhead`] otherwise.
    pub fn check(&self, timestamp: Timestamp) -> Result<(), ClockError> {
        if timestamp.physical_ms() <= self.now_ms.saturating_add(self.max_ahead_ms) {
            Ok(())
        } else {
            Err(ClockError::TooFarAhead {
                timestamp,
                now_ms: self.now_ms,
                max_ahead_ms: self.max_ahead_ms,
            })
        }
    }
}

/// A hybrid logical clock: timestamps that follow the wall clock when it moves forward, stay
/// monotone when it steps back, and order after every timestamp the clock has observed.
///
/// Time only enters as an argument (`wall_ms`), so the clock is deterministic and testable.
///
/// ```
/// use deltacrdt::HybridClock;
/// let mut clock = HybridClock::new();
/// let t1 = clock.now(1_000).unwrap();
/// let t2 = clock.now(900).unwrap(); // the wall clock stepped back
/// assert!(t2 > t1);
/// assert_eq!(t2.physical_ms(), 1_000);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HybridClock {
    last: Timestamp,
}

impl HybridClock {
    /// A clock that has issued and seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest timestamp issued or observed.
    pub fn last(&self) -> Timestamp {
        self.last
    }

    /// A new timestamp, greater than every one issued or observed so far.
    ///
    /// # Errors
    /// [`ClockError::Exhausted`] once the largest timestamp has been reached (only possible
    /// after observing a timestamp near the end of time; bound peers with [`TimeBound`]).
    pub fn now(&mut self, wall_ms: u64) -> Result<Timestamp, ClockError> {
        let wall = Timestamp::new(wall_ms, 0);
        let next = if wall > self.last {
            wall
        } else {
            Timestamp::from_raw(
                self.last
                    .to_raw()
                    .checked_add(1)
                    .ok_or(ClockError::Exhausted)?,
            )
        };
        self.last = next;
        Ok(next)
    }

    /// Takes a peer's timestamp into account so later local timestamps order after it.
    pub fn observe(&mut self, timestamp: Timestamp) {
        self.last = self.last.max(timestamp);
    }

    /// [`observe`](Self::observe), but only if `timestamp` is within `bound`.
    ///
    /// # Errors
    /// [`ClockError::TooFarAhead`], leaving the clock unchanged.
    pub fn observe_bounded(
        &mut self,
        timestamp: Timestamp,
        bound: &TimeBound,
    ) -> Result<(), ClockError> {
        bound.check(timestamp)?;
        self.observe(timestamp);
        Ok(())
    }
}
