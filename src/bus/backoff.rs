//! Reconnect backoff of the bus connections (ZeroMQ, AMQP).

use std::time::Duration;

/// Exponential reconnect backoff: 100 ms doubling up to `max`, with a little jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(max_ms: u64) -> Self {
        Self {
            next: Duration::from_millis(100),
            max: Duration::from_millis(max_ms.max(100)),
        }
    }

    pub fn reset(&mut self) {
        self.next = Duration::from_millis(100);
    }

    /// Sleeps for the current delay and doubles it.
    pub async fn wait(&mut self) {
        let jitter = Duration::from_millis(rand::random::<u64>() % 50);
        tokio::time::sleep(self.next + jitter).await;
        self.next = (self.next * 2).min(self.max);
    }
}
