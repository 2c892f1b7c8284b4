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

    /// Real time, already moved `offset` ahead (a restored sandbox that had been time-travelled).
    pub fn real_with_offset(offset: Duration) -> Self {
        let clock = Self::real();
        *lock(&clock.offset) = offset.max(Duration::zero());
        clock
    }

    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            mode: ClockMode::Manual,
            offset: Mutex::new(Duration::zero()),
            manual: Mutex::new(start),
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

    /// Moves time forward (never backward: the world's history only grows).
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let by = by.max(Duration::zero());
        match self.mode {
            ClockMode::Real => *lock(&self.offset) += by,
            ClockMode::Manual => *lock(&self.manual) += by,
        }
        self.now()
    }

    /// Sets the time, if it is not earlier than now.
    pub fn set(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, DateTime<Utc>> {
        let now = self.now();
        if to < now {
            return Err(now);
        }
        Ok(self.advance(to - now))
    }
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
            start + Duration::hours(2)
        );
        assert_eq!(
            clock.advance(Duration::hours(-5)),
            start + Duration::hours(2)
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
        let ahead = clock.advance(Duration::days(7));
        assert!(ahead - Utc::now() > Duration::days(6));
    }
}
