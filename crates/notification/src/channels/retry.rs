//! When to try a failed delivery again: a [`RetryLadder`] of waits, one after each failed attempt, and a jitter
//! that spreads retries so that replicas and recipients do not all retry in the same second.
//!
//! Pure arithmetic: no clock and no random number generator inside. The dispatcher, beside the channels in this
//! crate, stores each delivery's attempts, asks the ladder how long to wait after a
//! [`crate::channel::DeliveryError::Transient`], draws the random number itself, and dead-letters the delivery
//! when the ladder says `None`. A `Permanent` error is never retried, whatever the ladder says.

use std::time::Duration;

/// The waits between attempts, from the Standard Webhooks recommendation: the first attempt at once, then after
/// 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours and 10 hours: eight attempts over about 27.6 hours.
pub const STANDARD_WEBHOOKS_WAITS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 60 * 60),
    Duration::from_secs(5 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
    Duration::from_secs(10 * 60 * 60),
];

/// The default share of a wait that jitter may add or take away: 10 %.
pub const DEFAULT_JITTER_FRACTION: f64 = 0.1;

/// The schedule of retries of one delivery. Every value is valid: no waits means a single attempt, and a jitter
/// fraction outside 0 to 1 is clamped into it when used.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryLadder {
    /// `waits_after_failure[k - 1]` is the wait after attempt `k` fails before attempt `k + 1`; after the last one
    /// the delivery is given up.
    pub waits_after_failure: Vec<Duration>,
    /// The share of a wait that [`RetryLadder::jittered_wait_after`] may add or take away.
    pub jitter_fraction: f64,
}

impl Default for RetryLadder {
    /// The Standard Webhooks schedule ([`STANDARD_WEBHOOKS_WAITS`]) with 10 % jitter.
    fn default() -> Self {
        RetryLadder { waits_after_failure: STANDARD_WEBHOOKS_WAITS.to_vec(), jitter_fraction: DEFAULT_JITTER_FRACTION }
    }
}

impl RetryLadder {
    /// How many attempts a delivery gets in all, the first included.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.waits_after_failure.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// How long to wait after attempt number `failed_attempt` (1 for the first, as in
    /// [`crate::channel::Delivery::attempt`]) failed before the next one, or `None` when that was the last attempt
    /// and the delivery goes to the dead letters. `failed_attempt` 0 (nothing tried yet) waits nothing.
    pub fn next_attempt_after(&self, failed_attempt: u32) -> Option<Duration> {
        if failed_attempt == 0 {
            return Some(Duration::ZERO);
        }
        let index = usize::try_from(failed_attempt - 1).ok()?;
        self.waits_after_failure.get(index).copied()
    }

    /// [`RetryLadder::next_attempt_after`] with the ladder's jitter applied (see [`jittered`]).
    pub fn jittered_wait_after(&self, failed_attempt: u32, random_unit: f64) -> Option<Duration> {
        self.next_attempt_after(failed_attempt).map(|wait| jittered(wait, self.jitter_fraction, random_unit))
    }
}

/// Spreads `wait` by up to `fraction` of it either way: `random_unit` 0 gives `wait × (1 − fraction)`, 0.5 gives
/// `wait`, and 1 gives `wait × (1 + fraction)`. `random_unit` is a uniform draw in [0, 1] made by the caller; values
/// outside (and NaN, read as 0.5) are clamped, as is `fraction` into [0, 1]. Never panics and never overflows: the
/// result saturates at [`Duration::MAX`].
pub fn jittered(wait: Duration, fraction: f64, random_unit: f64) -> Duration {
    let fraction = if fraction.is_nan() { 0.0 } else { fraction.clamp(0.0, 1.0) };
    let random_unit = if random_unit.is_nan() { 0.5 } else { random_unit.clamp(0.0, 1.0) };
    let factor = 1.0 - fraction + 2.0 * fraction * random_unit;
    Duration::try_from_secs_f64(wait.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_ladder_is_the_standard_webhooks_schedule() {
        let ladder = RetryLadder::default();
        let waits: Vec<Option<Duration>> = (0..=9).map(|attempt| ladder.next_attempt_after(attempt)).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::ZERO),
                Some(Duration::from_secs(5)),
                Some(Duration::from_secs(300)),
                Some(Duration::from_secs(1_800)),
                Some(Duration::from_secs(7_200)),
                Some(Duration::from_secs(18_000)),
                Some(Duration::from_secs(36_000)),
                Some(Duration::from_secs(36_000)),
                None,
                None,
            ]
        );
        assert_eq!(ladder.max_attempts(), 8);
    }

    #[test]
    fn a_configured_ladder_gives_up_after_its_last_wait() {
        let ladder = RetryLadder {
            waits_after_failure: vec![Duration::from_secs(1), Duration::from_secs(2)],
            jitter_fraction: 0.0,
        };
        assert_eq!(ladder.next_attempt_after(2), Some(Duration::from_secs(2)));
        assert_eq!(ladder.next_attempt_after(3), None);
        assert_eq!(ladder.next_attempt_after(u32::MAX), None);
        assert_eq!(ladder.max_attempts(), 3);

        let single_attempt = RetryLadder { waits_after_failure: Vec::new(), jitter_fraction: 0.1 };
        assert_eq!(single_attempt.next_attempt_after(1), None);
        assert_eq!(single_attempt.max_attempts(), 1);
    }

    #[test]
    fn jitter_stays_within_its_fraction_either_way() {
        let wait = Duration::from_secs(100);
        assert_eq!(jittered(wait, 0.1, 0.0), Duration::from_secs(90));
        assert_eq!(jittered(wait, 0.1, 0.5), Duration::from_secs(100));
        assert_eq!(jittered(wait, 0.1, 1.0), Duration::from_secs(110));
        for step in 0..=100 {
            let spread = jittered(wait, 0.2, f64::from(step) / 100.0);
            assert!((Duration::from_secs(80)..=Duration::from_secs(120)).contains(&spread), "{spread:?}");
        }
    }

    #[test]
    fn jitter_clamps_what_it_is_given_and_never_panics() {
        let wait = Duration::from_secs(10);
        assert_eq!(jittered(wait, 0.1, -3.0), Duration::from_secs(9));
        assert_eq!(jittered(wait, 0.1, 7.0), Duration::from_secs(11));
        assert_eq!(jittered(wait, 0.1, f64::NAN), wait);
        assert_eq!(jittered(wait, f64::NAN, 1.0), wait);
        assert_eq!(jittered(wait, 5.0, 0.0), Duration::ZERO);
        assert_eq!(jittered(Duration::MAX, 1.0, 1.0), Duration::MAX);
        let ladder = RetryLadder::default();
        assert_eq!(ladder.jittered_wait_after(1, 1.0), Some(Duration::from_secs_f64(5.5)));
        assert_eq!(ladder.jittered_wait_after(8, 1.0), None);
    }
}
