//! Turning cumulative counters into rates without ever producing a negative or absurd value.

/// Counters that were 32 bits wide wrap at this value.
const WRAP_32: u64 = 1 << 32;

/// The increase of a cumulative counter from `prev` to `now`.
///
/// A counter that went down either wrapped or was reset (device re-created, driver
/// reloaded, machine rebooted). One that was in the upper half of the 32-bit range is taken
/// to have wrapped at 2^32; any other was reset, and its current value is what accumulated
/// since the reset, which can only underestimate, never invent, traffic.
pub fn counter_delta(prev: u64, now: u64) -> u64 {
    if now >= prev {
        now - prev
    } else if (WRAP_32 / 2..WRAP_32).contains(&prev) {
        (WRAP_32 - prev) + now
    } else {
        now
    }
}

/// `delta` per second over `secs`; 0 when no time has passed.
pub fn per_second(delta: u64, secs: f64) -> f64 {
    if secs <= 0.0 || !secs.is_finite() {
        0.0
    } else {
        delta as f64 / secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_of_growing_wrapped_and_reset_counters() {
        let cases = [
            // (prev, now, expected)
            (100, 250, 150),
            (5, 5, 0),
            // 32-bit wrap: 2^32 - 10 -> 20 is 30 more.
            ((1 << 32) - 10, 20, 30),
            // A small counter that went down was reset, not wrapped.
            (1_000, 10, 10),
            // 64-bit counter reset to a small value: only what accumulated since.
            (10_000_000_000, 1_000, 1_000),
            // 64-bit counter at its maximum: a reset, never u64::MAX.
            (u64::MAX, 0, 0),
        ];
        for (prev, now, want) in cases {
            assert_eq!(counter_delta(prev, now), want, "{prev} -> {now}");
        }
    }

    #[test]
    fn rates_need_elapsed_time() {
        assert_eq!(per_second(100, 2.0), 50.0);
        assert_eq!(per_second(100, 0.0), 0.0);
        assert_eq!(per_second(100, -1.0), 0.0);
        assert_eq!(per_second(100, f64::NAN), 0.0);
    }
}
