//! Numbers in log lines, rounded so they read at a glance: `ratio = %Ratio(r)` prints `0.016`,
//! `round_trip_ms = %Millis(d)` prints `12.3`.

use std::{fmt, time::Duration};

/// A ratio or share with 3 decimals.
#[derive(Debug, Clone, Copy)]
pub struct Ratio(pub f64);

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}", self.0)
    }
}

/// A duration in milliseconds with 1 decimal.
#[derive(Debug, Clone, Copy)]
pub struct Millis(pub Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}", self.0.as_secs_f64() * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_have_3_decimals_and_durations_1() {
        assert_eq!(Ratio(0.016_192_588_501_819_37).to_string(), "0.016");
        assert_eq!(Ratio(1.0).to_string(), "1.000");
        assert_eq!(Millis(Duration::from_micros(12_345)).to_string(), "12.3");
        assert_eq!(Millis(Duration::from_nanos(50)).to_string(), "0.0");
    }
}
