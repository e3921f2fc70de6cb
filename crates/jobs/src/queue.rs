//! Queue names, as Mastodon's Sidekiq queues so operators keep their runbooks.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Local work: fan-out, feed merges, clean-ups.
    Default,
    /// Outgoing federation deliveries.
    Push,
    /// Incoming federation activities.
    Ingress,
    /// Fetching remote resources.
    Pull,
    /// E-mail.
    Mailers,
    /// Scheduled ticks.
    Scheduler,
}

impl Queue {
    pub const ALL: [Queue; 6] = [
        Queue::Default,
        Queue::Push,
        Queue::Ingress,
        Queue::Pull,
        Queue::Mailers,
        Queue::Scheduler,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Default => "default",
            Queue::Push => "push",
            Queue::Ingress => "ingress",
            Queue::Pull => "pull",
            Queue::Mailers => "mailers",
            Queue::Scheduler => "scheduler",
        }
    }
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Queue {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Queue::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown queue {s:?} (known: default, push, ingress, pull, mailers, scheduler)"
                )
            })
    }
}
