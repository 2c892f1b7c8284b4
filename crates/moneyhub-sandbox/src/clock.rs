//! The sandbox's notion of "now". Everything in the simulated world reads time from here, so a
//! presenter or a test can move it: in real mode by adding an offset to the wall clock, in manual
//! mode by setting it outright (and it stands still in between, which makes tests exact).

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    Real,
    Manual,
}

#[derive(Debug)]
pub struct SandboxClock {
    mode: ClockMode,
    /// Real mode: added to the wall clock. Manual mode: unused.
    offset: Mutex<Duration>,
    /// Manual mode: the current instant.
    manual: Mutex<DateTime<Utc>>,
}

impl SandboxClock {
    pub fn real() -> Self {
        Self {
            mode: ClockMode::Real,
            offset: Mutex::new(Duration::zero()),
            manual: Mutex::new(Utc::now()),
        }
    }

    /// Real time, already moved `offset` ahead (a restored sandbox that had been time-travelled),
    /// never past [`latest`].
    pub fn real_with_offset(offset: Duration) -> Self {
        let clock = Self::real();
        *lock(&clock.offset) = offset.clamp(Duration::zero(), latest() - Utc::now());
        clock
    }

    /// Stands at `start`, or at [`latest`] if `start` is past it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            mode: ClockMode::Manual,
            offset: Mutex::new(Duration::zero()),
            manual: Mutex::new(start.min(latest())),
        }
    }

    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.mode {
            ClockMode::Real => Utc::now() + *lock(&self.offset),
            ClockMode::Manual => *lock(&self.manual),
        }
    }

    /// Moves time forward (never backward: the world's history only grows), unless that would
    /// pass [`latest`]: then it stays, and the answer is `Err(now)`.
    pub fn advance(&self, by: Duration) -> Result<DateTime<Utc>, DateTime<Utc>> {
        let now = self.now();
        let by = by.max(Duration::zero());
        if now
            .checked_add_signed(by)
            .is_none_or(|then| then > latest())
        {
            return Err(now);
        }
        match self.mode {
            ClockMode::Real => *lock(&self.offset) += by,
            ClockMode::Manual => *lock(&self.manual) += by,
        }
        Ok(self.now())
    }

    /// Sets the time, if it is not earlier than now nor past [`latest`].
    pub fn set(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, DateTime<Utc>> {
        let now = self.now();
        if to < now {
            return Err(now);
        }
        self.advance(to - now)
    }
}

/// The furthest the clock goes: far beyond any demo, far enough from the end of the calendar
/// that no date arithmetic in the world (a consent's 90 days, a schedule's next slot) overflows,
/// whatever an admin call or a planted clock file asks for.
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_manual_clock_stands_still_and_moves_only_forward() {
        let start = Utc
            .with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
            .single()
            .expect("valid");
        let clock = SandboxClock::manual(start);
        assert_eq!(clock.now(), start);
        assert_eq!(
            clock.advance(Duration::hours(2)),
            Ok(start + Duration::hours(2))
        );
        assert_eq!(
            clock.advance(Duration::hours(-5)),
            Ok(start + Duration::hours(2))
        );
        assert!(clock.set(start).is_err());
        assert_eq!(
            clock.set(start + Duration::days(1)),
            Ok(start + Duration::days(1))
        );
    }

    #[test]
    fn a_real_clock_can_be_moved_ahead() {
        let clock = SandboxClock::real();
        let ahead = clock.advance(Duration::days(7)).expect("moved");
        assert!(ahead - Utc::now() > Duration::days(6));
    }

    #[test]
    fn no_clock_goes_past_the_latest_instant_however_it_is_asked() {
        let near_the_end = latest() - Duration::days(1);
        let clock = SandboxClock::manual(near_the_end);
        assert_eq!(clock.advance(Duration::days(2)), Err(near_the_end));
        assert_eq!(clock.advance(Duration::MAX), Err(near_the_end));
        assert_eq!(clock.set(DateTime::<Utc>::MAX_UTC), Err(near_the_end));
        assert_eq!(clock.now(), near_the_end);
        assert_eq!(
            SandboxClock::manual(DateTime::<Utc>::MAX_UTC).now(),
            latest()
        );
        let real = SandboxClock::real_with_offset(Duration::MAX);
        assert!(real.advance(Duration::days(1)).is_err());
        // A real clock keeps running from there: past the latest by the time the run takes.
        assert!(real.now() <= latest() + Duration::minutes(5));
    }
}
