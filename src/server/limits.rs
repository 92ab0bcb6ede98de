//! What one address, and everyone together, may hold of the appliance.
//!
//! Guessing: enrolment codes and operator passphrases are checked under a [`FailureLimiter`].
//! An attempt takes a slot *before* it is evaluated and keeps it as a failure unless it
//! succeeds, so forty simultaneous guesses from one address get no more evaluations than
//! forty guesses one after the other: at most `max` per window. Attempts beyond the slots
//! free wait in a queue bounded per address and in total; beyond the bounds they are refused
//! at once (429). Successes give their slot back: a hall of tablets enrolling at once through
//! one access point queues briefly and is never shut out.
//!
//! Connections: [`ServerLimits`] bounds how long a client may take to send a request's header
//! (also the first one, and an idle kept-alive connection), how long a write may stall on a
//! client that does not read, and how many connections and event streams one address and
//! everyone together may hold ([`AddressCounter`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use piaojue_core::refusal::Refusal;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The connection limits of a server. [`Default`] is what the appliance runs with.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// A request's header must arrive whole within this (the first request, measured from the
    /// accepted connection or the TLS handshake, and every later one, measured from the end of
    /// the previous answer: an idle kept-alive connection is closed after this too).
    pub header_read: Duration,
    /// The TLS handshake (and its first byte) must be done within this.
    pub handshake: Duration,
    /// A write that makes no progress for this long (a client that stopped reading) ends the
    /// connection.
    pub write_stall: Duration,
    /// Open connections, in all.
    pub connections_total: usize,
    /// Open connections from one address.
    pub connections_per_address: usize,
    /// Open event streams (`/api/events`), in all.
    pub listeners_total: usize,
    /// Open event streams from one address.
    pub listeners_per_address: usize,
    /// Loopback addresses (the appliance itself: `piaojue loadtest`, a browser on the box)
    /// are held only to the totals, not to the per-address caps.
    pub loopback_exempt: bool,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            write_stall: Duration::from_secs(30),
            // Below the unit's LimitNOFILE (16384), with room for the store's files.
            connections_total: 12_000,
            // A hall behind one NAT address: about two connections per tablet.
            connections_per_address: 1_024,
            listeners_total: 5_000,
            listeners_per_address: 512,
            loopback_exempt: true,
        }
    }
}

/// Counts what each address holds (connections, event streams) against a cap per address
/// and a cap in total; a [`Held`] gives its place back when dropped.
#[derive(Debug)]
pub struct AddressCounter {
    what: &'static str,
    total: usize,
    per_address: usize,
    loopback_exempt: bool,
    held: Mutex<(usize, HashMap<IpAddr, usize>)>,
    /// When a refusal was last logged (one line per minute at most, not one per connection).
    last_warning: Mutex<Option<Instant>>,
}

impl AddressCounter {
    pub fn new(
        what: &'static str,
        total: usize,
        per_address: usize,
        loopback_exempt: bool,
    ) -> Self {
        AddressCounter {
            what,
            total,
            per_address,
            loopback_exempt,
            held: Mutex::new((0, HashMap::new())),
            last_warning: Mutex::new(None),
        }
    }

    /// A place for `ip`, if it and everyone together are under their caps.
    pub fn hold(self: &Arc<Self>, ip: IpAddr) -> Option<Held> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let exempt = self.loopback_exempt && ip.is_loopback();
        let mine = held.1.get(&ip).copied().unwrap_or(0);
        if held.0 >= self.total || (!exempt && mine >= self.per_address) {
            drop(held);
            self.warn(ip);
            return None;
        }
        held.0 += 1;
        *held.1.entry(ip).or_insert(0) += 1;
        Some(Held {
            counter: self.clone(),
            ip,
        })
    }

    /// How many places are held, in all and by `ip`.
    pub fn count(&self, ip: IpAddr) -> (usize, usize) {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        (held.0, held.1.get(&ip).copied().unwrap_or(0))
    }

    fn warn(&self, ip: IpAddr) {
        let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            *last = Some(Instant::now());
            tracing::warn!(%ip, what = self.what, total = self.total, per_address = self.per_address, "cap reached; refusing (logged once a minute)");
        }
    }
}

/// A place held in an [`AddressCounter`].
#[derive(Debug)]
pub struct Held {
    counter: Arc<AddressCounter>,
    ip: IpAddr,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.counter.held.lock().unwrap_or_else(|p| p.into_inner());
        held.0 = held.0.saturating_sub(1);
        if let Some(n) = held.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                held.1.remove(&self.ip);
            }
        }
    }
}

/// An accepted connection: its place in the count, and a write that stalls too long fails.
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    _held: Held,
    stall: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> Counted<S> {
    pub fn new(inner: S, held: Held, stall: Duration) -> Self {
        Counted {
            inner,
            _held: held,
            stall,
            stalled: None,
        }
    }

    /// After a write returned `Pending`: fails once it has stalled for `stall`.
    fn check_stall<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match poll {
            Poll::Ready(r) => {
                self.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let stall = self.stall;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
                if timer.as_mut().poll(cx).is_ready() {
                    Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check_stall(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check_stall(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.check_stall(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts failed attempts per address, reserving each attempt's slot before it is evaluated.
#[derive(Debug)]
pub struct FailureLimiter {
    what: &'static str,
    /// Failures (and attempts in flight) per address and window.
    max: u32,
    window: Duration,
    /// Attempts evaluated at once, from every address together.
    in_flight_total: u32,
    /// Attempts waiting for a slot, from one address and in all.
    queue_per_address: u32,
    queue_total: u32,
    state: Mutex<Book>,
    /// Woken whenever an attempt settles.
    settled: Notify,
}

#[derive(Debug, Default)]
struct Book {
    seen: HashMap<IpAddr, Entry>,
    in_flight: u32,
    waiting: u32,
}

#[derive(Debug)]
struct Entry {
    /// When the first failure of the current window happened.
    start: Instant,
    failures: u32,
    in_flight: u32,
    waiting: u32,
}

impl Entry {
    fn idle(&self) -> bool {
        self.failures == 0 && self.in_flight == 0 && self.waiting == 0
    }
}

/// Beyond this many addresses, forget those whose window has passed.
const MAX_TRACKED: usize = 10_000;

impl FailureLimiter {
    /// At most `max` failures per address in `window`; `in_flight_total` evaluations at once;
    /// queues of `queue_per_address` and `queue_total` waiting attempts.
    pub fn new(
        what: &'static str,
        max: u32,
        window: Duration,
        in_flight_total: u32,
        queue_per_address: u32,
        queue_total: u32,
    ) -> Self {
        FailureLimiter {
            what,
            max,
            window,
            in_flight_total,
            queue_per_address,
            queue_total,
            state: Mutex::new(Book::default()),
            settled: Notify::new(),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for one attempt from `ip`, waiting in the bounded queue if every slot is
    /// taken by attempts still being evaluated. Refused (429) once the address has failed
    /// `max` times in the window, or when the queue is full.
    pub async fn attempt(self: &Arc<Self>, ip: IpAddr) -> Result<Attempt, Refusal> {
        let mut queued: Option<Queued> = None;
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            {
                let mut guard = self.book();
                let book = &mut *guard;
                if book.seen.len() > MAX_TRACKED {
                    let window = self.window;
                    book.seen.retain(|_, e| {
                        !(e.in_flight == 0 && e.waiting == 0 && e.start.elapsed() >= window)
                    });
                }
                let (max, window) = (self.max, self.window);
                let total_free = book.in_flight < self.in_flight_total;
                let queue_full = book.waiting >= self.queue_total;
                let entry = book.seen.entry(ip).or_insert(Entry {
                    start: Instant::now(),
                    failures: 0,
                    in_flight: 0,
                    waiting: 0,
                });
                if entry.failures > 0 && entry.start.elapsed() >= window {
                    entry.failures = 0;
                }
                if entry.failures >= max {
                    let left = window.saturating_sub(entry.start.elapsed());
                    return Err(Refusal::TooManyAttempts {
                        minutes: left.as_secs() / 60 + 1,
                    });
                }
                if entry.failures + entry.in_flight < max && total_free {
                    entry.in_flight += 1;
                    book.in_flight += 1;
                    drop(guard);
                    drop(queued);
                    return Ok(Attempt {
                        limiter: self.clone(),
                        ip,
                        settled: false,
                    });
                }
                if queued.is_none() {
                    if entry.waiting >= self.queue_per_address || queue_full {
                        tracing::debug!(%ip, what = self.what, "attempt queue full");
                        return Err(Refusal::TooManyAttempts { minutes: 1 });
                    }
                    entry.waiting += 1;
                    book.waiting += 1;
                    queued = Some(Queued {
                        limiter: self.clone(),
                        ip,
                    });
                }
                notified.as_mut().enable();
            }
            notified.await;
        }
    }

    fn settle(&self, ip: IpAddr, failed: bool) {
        let mut book = self.book();
        book.in_flight = book.in_flight.saturating_sub(1);
        if let Some(entry) = book.seen.get_mut(&ip) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if failed {
                if entry.failures == 0 || entry.start.elapsed() >= self.window {
                    entry.start = Instant::now();
                    entry.failures = 0;
                }
                entry.failures += 1;
                if entry.failures == self.max {
                    tracing::warn!(%ip, what = self.what, failures = self.max, "too many failed attempts; address shut out for a while");
                }
            }
            if entry.idle() {
                book.seen.remove(&ip);
            }
        }
        drop(book);
        self.settled.notify_waiters();
    }

    /// How long `ip` must still wait, if it has failed too often.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let book = self.book();
        let entry = book.seen.get(&ip)?;
        let left = self.window.checked_sub(entry.start.elapsed())?;
        (entry.failures >= self.max).then_some(left)
    }
}

/// A place in the queue; given back when the attempt gets its slot or gives up.
#[derive(Debug)]
struct Queued {
    limiter: Arc<FailureLimiter>,
    ip: IpAddr,
}

impl Drop for Queued {
    fn drop(&mut self) {
        let mut book = self.limiter.book();
        book.waiting = book.waiting.saturating_sub(1);
        if let Some(entry) = book.seen.get_mut(&self.ip) {
            entry.waiting = entry.waiting.saturating_sub(1);
            if entry.idle() {
                book.seen.remove(&self.ip);
            }
        }
    }
}

/// One attempt being evaluated. It counts as a failure unless [`Attempt::succeeded`] or
/// [`Attempt::not_a_guess`] says otherwise, so an attempt abandoned halfway still counts.
#[derive(Debug)]
pub struct Attempt {
    limiter: Arc<FailureLimiter>,
    ip: IpAddr,
    settled: bool,
}

impl Attempt {
    /// The code or passphrase was right: the slot is given back.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.limiter.settle(self.ip, false);
    }

    /// Refused before anything secret was compared (a malformed key, an internal failure):
    /// the slot is given back.
    pub fn not_a_guess(self) {
        self.succeeded();
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.settled {
            self.limiter.settle(self.ip, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max: u32, window: Duration) -> Arc<FailureLimiter> {
        Arc::new(FailureLimiter::new("test", max, window, 100, 2, 10))
    }

    #[tokio::test]
    async fn failures_shut_out_one_address_only() {
        let l = limiter(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..2 {
            drop(l.attempt(a).await.unwrap());
        }
        assert!(l.blocked(a).is_none());
        l.attempt(a).await.unwrap().succeeded();
        assert!(l.blocked(a).is_none(), "a success does not count");
        drop(l.attempt(a).await.unwrap());
        assert!(l.blocked(a).is_some());
        assert!(l.attempt(a).await.is_err());
        assert!(l.blocked(b).is_none());
        l.attempt(b).await.unwrap().succeeded();
        let short = limiter(1, Duration::from_millis(1));
        drop(short.attempt(a).await.unwrap());
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.blocked(a).is_none(), "the window passes");
        short.attempt(a).await.unwrap().succeeded();
    }

    #[tokio::test]
    async fn attempts_in_flight_take_their_slot_before_they_are_evaluated() {
        let l = limiter(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<_> = [l.attempt(a).await, l.attempt(a).await, l.attempt(a).await]
            .into_iter()
            .map(Result::unwrap)
            .collect();
        // Two more wait (the queue holds two); the sixth is refused at once.
        let l2 = l.clone();
        let w1 = tokio::spawn(async move { l2.attempt(a).await.map(Attempt::succeeded) });
        let l3 = l.clone();
        let w2 = tokio::spawn(async move { l3.attempt(a).await.map(Attempt::succeeded) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(l.attempt(a).await.is_err(), "the queue is full");
        // All three fail: the waiting ones are refused, never evaluated.
        drop(held);
        assert!(w1.await.unwrap().is_err());
        assert!(w2.await.unwrap().is_err());
        assert!(l.blocked(a).is_some());
    }

    #[test]
    fn counters_cap_per_address_and_in_all() {
        let c = Arc::new(AddressCounter::new("test", 3, 2, true));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let h1 = c.hold(a).unwrap();
        let _h2 = c.hold(a).unwrap();
        assert!(c.hold(a).is_none(), "two per address");
        let _l1 = c.hold(lo).unwrap();
        assert!(c.hold(lo).is_none(), "three in all");
        drop(h1);
        assert!(c.hold(lo).is_some(), "loopback is held to the total only");
        assert_eq!(c.count(a), (2, 1));
    }
}
