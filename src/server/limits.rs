//! Counting failed attempts per address: guessing enrolment codes and operator passphrases
//! gets an address shut out for a while, while every other address (and every tablet that
//! already enrolled) is served as before. Only failures count, so a hall of tablets enrolling
//! at once through one access point is never slowed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct FailureLimiter {
    what: &'static str,
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Beyond this many addresses, forget those whose window has passed.
const MAX_TRACKED: usize = 10_000;

impl FailureLimiter {
    pub fn new(what: &'static str, max: u32, window: Duration) -> Self {
        FailureLimiter {
            what,
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` must still wait, if it has failed too often.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (start, n) = seen.get(&ip)?;
        let left = self.window.checked_sub(start.elapsed())?;
        (*n >= self.max).then_some(left)
    }

    /// Records a failure; logs once when the address crosses the line, not once per try.
    pub fn failed(&self, ip: IpAddr) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > MAX_TRACKED {
            let window = self.window;
            seen.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = seen.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        if entry.1 == self.max {
            tracing::warn!(%ip, what = self.what, failures = self.max, "too many failed attempts; address shut out for a while");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_shut_out_one_address_only() {
        let l = FailureLimiter::new("test", 3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..2 {
            l.failed(a);
        }
        assert!(l.blocked(a).is_none());
        l.failed(a);
        assert!(l.blocked(a).is_some());
        assert!(l.blocked(b).is_none());
        let short = FailureLimiter::new("test", 1, Duration::from_millis(1));
        short.failed(a);
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.blocked(a).is_none(), "the window passes");
    }
}
