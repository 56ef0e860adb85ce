//! The engine pushing back: connects it cannot take right now are waited out, not given up.
//!
//! dockerd listens with a backlog of the kernel's `somaxconn`: 4096 on Linux 5.4 and later, but 128
//! on the older kernels many servers run (and socket proxies in front of the engine cap their
//! connections too). A collection of 1000 containers opens about 1000 connections at once; on a unix
//! socket those beyond the backlog fail at once with EAGAIN, before the engine's accept loop has
//! had a chance to take the others. That is backpressure, not a fault: each such connect is tried
//! again after a short random pause that doubles with each refusal (so the retries spread out
//! instead of arriving together again), for as long as the request's ENGINE_TIMEOUT allows.
//!
//! While connects wait to try again, only a few try at a time and new ones queue behind them, and
//! a request that ends (freeing a place at the engine) wakes one of them: behind a socket proxy
//! that serves 64 connections at once, the tries then follow the answers instead of hundreds of
//! connects knocking on a full queue until their pauses run out. One that gets through hands its
//! turn on at once, so a queue an engine drains quickly (dockerd's accept loop) empties quickly.
//!
//! A refused connect (ECONNREFUSED) is backpressure only while the engine takes other connections:
//! when nothing got through for [`ALIVE`], the engine is down, and the error is said at once, as
//! before.
//!
//! Why not fewer requests in flight instead: a stats request holds its connection while it waits
//! for the engine's sampler (up to 1-2 s), so a window small enough to keep the connects under a
//! backlog of 128 makes a collection of 1000 containers take 8 rounds of that wait (measured in
//! BENCHMARKS.md). What overflows is the burst of connects, not the requests in flight. Only when
//! containers run out of ENGINE_TIMEOUT while they wait to connect (a proxy serving fewer
//! connections than there are containers) does [`AtOnce`] collect fewer containers at once.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::sampler::monotonic_ns;

/// The first pause's upper bound; each refusal of the same connect doubles it, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(4);

/// The longest pause between two tries of one connect (a request that ends wakes one earlier).
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// A refused connect counts as backpressure while the engine took a connect or answered within this
/// long.
const ALIVE: Duration = Duration::from_secs(2);

/// Connects that try at a time while the engine pushes back; the others wait their turn in order.
const KNOCKING: usize = 8;

/// What one try of a connect gave.
enum Tried<T, E> {
    /// Connected, or failed for a reason other than backpressure.
    Done(Result<T, E>),
    /// The engine could not take it now.
    PushedBack(E),
}

/// A place in the queue of connects waiting to try again, given up when dropped.
struct InQueue<'a>(&'a AtomicUsize);

impl<'a> InQueue<'a> {
    fn join(queued: &'a AtomicUsize) -> InQueue<'a> {
        queued.fetch_add(1, Relaxed);
        InQueue(queued)
    }
}

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// How often the engine pushed back, and when it last took a connection.
#[derive(Debug)]
pub(super) struct Pushback {
    /// How long one connect is tried before its error is given up (ENGINE_TIMEOUT).
    patience: Duration,
    /// Connects the engine refused, since [`Pushback::take`] last asked.
    refused: AtomicU64,
    /// Nanoseconds paused before trying again, since [`Pushback::take`] last asked.
    paused_ns: AtomicU64,
    /// [`monotonic_ns`] when a connect last got through or the engine answered (0: never).
    alive_ns: AtomicU64,
    /// Woken once for each request that ended: a place at the engine is free.
    freed: tokio::sync::Notify,
    /// Connects waiting to try again (holding a turn or waiting for one).
    queued: AtomicUsize,
    /// The [`KNOCKING`] turns to try again.
    turns: tokio::sync::Semaphore,
}

/// What [`Pushback::take`] hands over: the engine's pushback since the previous call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushbackCount {
    /// Connects the engine refused (each tried again after a pause).
    pub refused: u64,
    /// Time paused before those tries, added up over every request.
    pub paused: Duration,
}

impl Pushback {
    /// Tries each connect for up to `patience`.
    pub(super) fn new(patience: Duration) -> Pushback {
        Pushback {
            patience,
            refused: AtomicU64::new(0),
            paused_ns: AtomicU64::new(0),
            alive_ns: AtomicU64::new(0),
            freed: tokio::sync::Notify::new(),
            queued: AtomicUsize::new(0),
            turns: tokio::sync::Semaphore::new(KNOCKING),
        }
    }

    /// A request ended: its place at the engine is free for one that waits to try again.
    pub(super) fn ended(&self) {
        self.freed.notify_one();
    }

    /// The engine took a connection or answered now.
    pub(super) fn alive(&self) {
        self.alive_ns.store(monotonic_ns().max(1), Relaxed);
    }

    fn alive_lately(&self) -> bool {
        let at = self.alive_ns.load(Relaxed);
        at != 0 && monotonic_ns().saturating_sub(at) <= ALIVE.as_nanos() as u64
    }

    /// The pushback counted since the previous call.
    pub(super) fn take(&self) -> PushbackCount {
        PushbackCount {
            refused: self.refused.swap(0, Relaxed),
            paused: Duration::from_nanos(self.paused_ns.swap(0, Relaxed)),
        }
    }

    /// Runs `connect` until it succeeds, fails with something other than backpressure, or has been
    /// tried for longer than the patience allows (then its last error is returned). `io_kind`
    /// finds the I/O error in the connector's error.
    ///
    /// A connect the engine pushed back joins the queue of those waiting to try again, and so does
    /// every new one while that queue is not empty: only [`KNOCKING`] of them try at a time, each
    /// after its pause or when a request ends, and one that gets through hands its turn on at once.
    pub(super) async fn connect<T, E, F, Fut>(
        &self,
        mut connect: F,
        io_kind: impl Fn(&E) -> Option<io::ErrorKind>,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        if self.queued.load(Relaxed) == 0 {
            if let Tried::Done(result) = self.try_once(&mut connect, &io_kind).await {
                return result;
            }
        }
        // Boxed: a collection holds a thousand requests in flight, each future as large as its
        // largest state, and only those the engine pushes back need the queue's.
        Box::pin(self.queue(started, connect, io_kind)).await
    }

    /// The slow path of [`Pushback::connect`]: wait for a turn, then try until it gets through.
    async fn queue<T, E, F, Fut>(
        &self,
        started: Instant,
        mut connect: F,
        io_kind: impl Fn(&E) -> Option<io::ErrorKind>,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let _queued = InQueue::join(&self.queued);
        let patience_left = self.patience.saturating_sub(started.elapsed());
        let Ok(_turn) = tokio::time::timeout(patience_left, self.turns.acquire()).await else {
            // Out of patience while others knocked: one last try says what the engine does now.
            return match self.try_once(&mut connect, &io_kind).await {
                Tried::Done(result) => result,
                Tried::PushedBack(e) => Err(e),
            };
        };
        let mut bound = FIRST_PAUSE;
        loop {
            let e = match self.try_once(&mut connect, &io_kind).await {
                Tried::Done(result) => return result,
                Tried::PushedBack(e) => e,
            };
            if started.elapsed() >= self.patience {
                return Err(e);
            }
            let paused = Instant::now();
            tokio::select! {
                () = tokio::time::sleep(jitter(bound)) => {}
                () = self.freed.notified() => {}
            }
            let paused = u64::try_from(paused.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.paused_ns.fetch_add(paused, Relaxed);
            bound = (bound * 2).min(MAX_PAUSE);
        }
    }

    /// One try of `connect`: its result, unless the engine pushed it back (counted).
    async fn try_once<T, E, Fut>(
        &self,
        connect: &mut impl FnMut() -> Fut,
        io_kind: &impl Fn(&E) -> Option<io::ErrorKind>,
    ) -> Tried<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        match connect().await {
            Ok(connection) => {
                self.alive();
                Tried::Done(Ok(connection))
            }
            Err(e) if io_kind(&e).is_some_and(|kind| self.is_pushback(kind)) => {
                self.refused.fetch_add(1, Relaxed);
                Tried::PushedBack(e)
            }
            Err(e) => Tried::Done(Err(e)),
        }
    }

    /// Whether a connect that failed with `kind` is the engine pushing back: its listen queue is
    /// full (EAGAIN on a unix socket), or it refused while it takes other connections.
    fn is_pushback(&self, kind: io::ErrorKind) -> bool {
        match kind {
            io::ErrorKind::WouldBlock => true,
            io::ErrorKind::ConnectionRefused => self.alive_lately(),
            _ => false,
        }
    }
}

/// A connector of hyper's (unix socket or TCP) whose connects the engine may push back: they are
/// tried again as [`Pushback::connect`] says, for the list, inspect and logs requests.
#[derive(Debug, Clone)]
pub(super) struct Patient<C> {
    pub(super) connector: C,
    pub(super) pushback: std::sync::Arc<Pushback>,
}

impl<C> tower_service::Service<hyper::Uri> for Patient<C>
where
    C: tower_service::Service<hyper::Uri> + Clone + Send + Sync + 'static,
    C::Future: Send,
    C::Error: std::error::Error + Send + Sync + 'static,
    C::Response: Send,
{
    type Response = C::Response;
    type Error = C::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<C::Response, C::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), C::Error>> {
        self.connector.poll_ready(cx)
    }

    fn call(&mut self, uri: hyper::Uri) -> Self::Future {
        let connector = self.connector.clone();
        let pushback = self.pushback.clone();
        Box::pin(async move {
            pushback
                .connect(
                    || {
                        let mut connector = connector.clone();
                        let uri = uri.clone();
                        async move {
                            std::future::poll_fn(|cx| connector.poll_ready(cx)).await?;
                            connector.call(uri).await
                        }
                    },
                    |e: &C::Error| io_kind(e),
                )
                .await
        })
    }
}

/// How many containers' metrics are collected at once, adapted to what the engine takes.
///
/// Each container's collection runs under ENGINE_TIMEOUT from the moment it starts, also while its
/// connect waits in the queue of [`Pushback`]. Behind a socket proxy that serves fewer connections
/// than there are containers (64, say, with 1000 containers whose stats each take the engine's
/// sampler a second), those at the end of the queue run out of time every collection, and always
/// the same ones. So: all of them at once (up to MAX_CONCURRENT_REQUESTS) while the engine keeps up;
/// half as many at the next collection after one in which containers ran out of time while the engine
/// pushed back; and back up by a quarter after each collection in which it did not push back at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtOnce {
    now: usize,
    ceiling: usize,
}

impl AtOnce {
    /// Starts at `ceiling` (MAX_CONCURRENT_REQUESTS), which it never exceeds.
    pub fn new(ceiling: usize) -> AtOnce {
        let ceiling = ceiling.max(1);
        AtOnce {
            now: ceiling,
            ceiling,
        }
    }

    /// Containers to collect at once in the next collection.
    pub fn size(&self) -> usize {
        self.now
    }

    /// After a collection: whether the engine pushed back during it, and whether containers ran out
    /// of ENGINE_TIMEOUT in it.
    pub fn after(&mut self, pushed_back: bool, timed_out: bool) {
        if pushed_back && timed_out {
            self.now = (self.now / 2).max(1);
        } else if !pushed_back {
            self.now = (self.now + (self.now / 4).max(1)).min(self.ceiling);
        }
    }
}

/// The kind of the first I/O error in `e` and its causes.
pub(super) fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut next = Some(e);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        next = error.source();
    }
    None
}

/// A random pause from half of `bound` to `bound`: connects refused together come back spread out,
/// and each waits at least half its bound (a request that ends wakes it earlier).
fn jitter(bound: Duration) -> Duration {
    let half = u64::try_from(bound.as_nanos() / 2)
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_nanos(half + random_below(half))
}

/// A random number from 0 to `bound` - 1 (0 when `bound` is 0). std's hasher keys are random per
/// process and differ at each `RandomState::new()` on a thread, which is all a pause needs.
pub(super) fn random_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish().checked_rem(bound).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(kind: io::ErrorKind) -> io::Error {
        io::Error::from(kind)
    }

    /// A connect that fails with `kind` `times` times, then succeeds; and how often it was tried.
    async fn flaky(
        pushback: &Pushback,
        kind: io::ErrorKind,
        times: usize,
    ) -> (io::Result<&'static str>, usize) {
        let tries = AtomicUsize::new(0);
        let result = pushback
            .connect(
                || async {
                    let n = tries.fetch_add(1, Relaxed);
                    if n < times {
                        Err(refusal(kind))
                    } else {
                        Ok("connected")
                    }
                },
                |e: &io::Error| Some(e.kind()),
            )
            .await;
        (result, tries.load(Relaxed))
    }

    #[tokio::test]
    async fn a_full_listen_queue_is_waited_out_and_counted() {
        let pushback = Pushback::new(Duration::from_secs(10));
        let (result, tries) = flaky(&pushback, io::ErrorKind::WouldBlock, 5).await;
        assert_eq!(result.expect("connected at last"), "connected");
        assert_eq!(tries, 6);
        let count = pushback.take();
        assert_eq!(count.refused, 5);
        // The direct try, then the queue's first try at once, then four pauses, each below its
        // bound: 4 + 8 + 16 + 32 ms (and a timer's slack).
        assert!(count.paused <= Duration::from_millis(60 + 25), "{count:?}");
        assert_eq!(pushback.take(), PushbackCount::default(), "taken once");
    }

    #[tokio::test]
    async fn other_errors_are_given_up_at_once() {
        let pushback = Pushback::new(Duration::from_secs(10));
        pushback.alive();
        for kind in [io::ErrorKind::NotFound, io::ErrorKind::PermissionDenied] {
            let (result, tries) = flaky(&pushback, kind, 1).await;
            assert_eq!(result.expect_err("given up").kind(), kind);
            assert_eq!(tries, 1);
        }
        assert_eq!(pushback.take().refused, 0);
    }

    #[tokio::test]
    async fn a_refused_connect_is_backpressure_only_while_the_engine_takes_others() {
        let pushback = Pushback::new(Duration::from_secs(10));
        // Never took a connection: the engine is down, said at once.
        let (result, tries) = flaky(&pushback, io::ErrorKind::ConnectionRefused, 3).await;
        assert!(result.is_err());
        assert_eq!(tries, 1);
        // It took one just now: refusals are waited out.
        pushback.alive();
        let (result, tries) = flaky(&pushback, io::ErrorKind::ConnectionRefused, 3).await;
        assert!(result.is_ok());
        assert_eq!(tries, 4);
    }

    #[tokio::test]
    async fn patience_bounds_the_tries() {
        let pushback = Pushback::new(Duration::from_millis(100));
        let started = Instant::now();
        let (result, tries) = flaky(&pushback, io::ErrorKind::WouldBlock, usize::MAX).await;
        assert_eq!(
            result.expect_err("given up").kind(),
            io::ErrorKind::WouldBlock
        );
        assert!(tries > 1, "tried again before giving up");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "gave up in time"
        );
    }

    #[tokio::test]
    async fn a_request_that_ends_wakes_one_waiting_to_try_again() {
        // Pauses far longer than the test: only the ended request can wake the waiting one.
        let pushback = std::sync::Arc::new(Pushback::new(Duration::from_secs(100)));
        let tries = std::sync::Arc::new(AtomicUsize::new(0));
        let waiting = {
            let (pushback, tries) = (pushback.clone(), tries.clone());
            tokio::spawn(async move {
                pushback
                    .connect(
                        || {
                            let n = tries.fetch_add(1, Relaxed);
                            async move {
                                if n < 12 {
                                    Err(refusal(io::ErrorKind::WouldBlock))
                                } else {
                                    Ok(())
                                }
                            }
                        },
                        |e: &io::Error| Some(e.kind()),
                    )
                    .await
            })
        };
        // Twelve refusals (the direct try, the queue's first try at once, then eleven pauses) pause
        // at least (4 + 8 + ... + 512 + 3 * 1000) / 2 ms = 1.5 s on their own; a request ends every
        // 10 ms.
        let started = Instant::now();
        while !waiting.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            pushback.ended();
        }
        waiting.await.expect("task").expect("connected");
        assert_eq!(tries.load(Relaxed), 13);
        assert!(
            started.elapsed() < Duration::from_millis(1250),
            "woken by the ended requests, not by the pauses: {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_io_error_is_found_among_the_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Wrapper(#[source] io::Error);
        let wrapped = Wrapper(refusal(io::ErrorKind::WouldBlock));
        assert_eq!(io_kind(&wrapped), Some(io::ErrorKind::WouldBlock));
        let plain = std::fmt::Error;
        assert_eq!(io_kind(&plain), None);
    }

    #[test]
    fn containers_at_once_halve_on_timeouts_under_pushback_and_grow_back_without_it() {
        let mut at_once = AtOnce::new(1100);
        // (pushed back, timed out) -> size after.
        let table = [
            ((true, false), 1100), // refusals waited out in time: nothing to change
            ((false, true), 1100), // a slow container, no pushback: not the engine's queue
            ((true, true), 550),
            ((true, true), 275),
            ((true, false), 275), // steady behind the proxy: stays
            ((false, false), 343),
            ((false, false), 428),
            ((false, false), 535),
            ((false, false), 668),
            ((false, false), 835),
            ((false, false), 1043),
            ((false, false), 1100), // never above the ceiling
        ];
        for ((pushed_back, timed_out), size) in table {
            at_once.after(pushed_back, timed_out);
            assert_eq!(at_once.size(), size, "after {pushed_back}, {timed_out}");
        }
        let mut one = AtOnce::new(0);
        one.after(true, true);
        assert_eq!(one.size(), 1, "never below one");
    }

    #[test]
    fn random_numbers_stay_below_their_bound_and_vary() {
        let draws: std::collections::HashSet<u64> = (0..200).map(|_| random_below(1000)).collect();
        assert!(draws.iter().all(|n| *n < 1000));
        assert!(
            draws.len() > 50,
            "only {} different numbers in 200",
            draws.len()
        );
        assert_eq!(random_below(0), 0);
    }

    #[test]
    fn pauses_stay_within_their_bound() {
        for _ in 0..1000 {
            let pause = jitter(FIRST_PAUSE);
            assert!(pause >= FIRST_PAUSE / 2 && pause < FIRST_PAUSE, "{pause:?}");
        }
    }
}
