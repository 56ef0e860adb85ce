//! When to stop. [`channel`] gives a [`Stop`], kept by whoever decides (the binary's signal handler,
//! or a program embedding the collector), and a [`Shutdown`] that every task clones and waits on.
//! Stopping is sticky: a task that starts waiting after [`Stop::stop`] sees it at once, and dropping
//! the `Stop` counts as stopping, so a collector never outlives its owner's intent.

use tokio::sync::watch;

/// Asks every [`Shutdown`] of its channel to end.
#[derive(Debug)]
pub struct Stop {
    sender: watch::Sender<bool>,
}

/// Tells a task that it is time to stop. Cheap to clone; each clone sees the same stop.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// A new pair: nothing is stopped until [`Stop::stop`] is called or the `Stop` is dropped.
pub fn channel() -> (Stop, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (Stop { sender }, Shutdown { receiver })
}

impl Stop {
    /// Every [`Shutdown`] of this channel, present and future clones alike, now reports a stop.
    pub fn stop(&self) {
        self.sender.send_replace(true);
    }
}

impl Shutdown {
    /// True once a stop was asked for (or the [`Stop`] is gone).
    pub fn is_shutdown(&self) -> bool {
        *self.receiver.borrow() || self.receiver.has_changed().is_err()
    }

    /// Waits until a stop is asked for; returns at once if it already was.
    pub async fn recv(&mut self) {
        // An error means the Stop was dropped: nobody can ask any more, which is a stop too.
        let _ = self.receiver.wait_for(|stopped| *stopped).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_stop_reaches_every_clone_even_those_made_after_it() {
        let (stop, shutdown) = channel();
        let mut before = shutdown.clone();
        assert!(!shutdown.is_shutdown());
        let waiting = tokio::spawn(async move { before.recv().await });
        stop.stop();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiting clone wakes up")
            .expect("the task ends");
        let mut after = shutdown.clone();
        assert!(after.is_shutdown());
        tokio::time::timeout(Duration::from_secs(5), after.recv())
            .await
            .expect("a late clone sees the stop at once");
    }

    #[tokio::test]
    async fn dropping_the_stop_counts_as_stopping() {
        let (stop, mut shutdown) = channel();
        drop(stop);
        assert!(shutdown.is_shutdown());
        tokio::time::timeout(Duration::from_secs(5), shutdown.recv())
            .await
            .expect("recv returns once the Stop is gone");
    }

    #[tokio::test]
    async fn nothing_stops_until_asked() {
        let (_stop, mut shutdown) = channel();
        let waited = tokio::time::timeout(Duration::from_millis(50), shutdown.recv()).await;
        assert!(waited.is_err(), "recv returned without a stop");
        assert!(!shutdown.is_shutdown());
    }
}
