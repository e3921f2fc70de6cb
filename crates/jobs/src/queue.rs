//! Queue names, as Mastodon's Sidekiq queues so operators keep their
//! runbooks, and weighted queue selection as Sidekiq does it.

use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Local work: fan-out, feed merges.
    Default,
    /// Outgoing federation deliveries.
    Push,
    /// Incoming federation activities.
    Ingress,
    /// Fetching remote resources.
    Pull,
    /// E-mail.
    Mailers,
    /// Scheduled ticks and clean-ups.
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

/// The queues a worker serves, with weights (`default:8,push:6,mailers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedQueues(Vec<(Queue, u32)>);

impl WeightedQueues {
    /// Every queue, weight 1.
    pub fn all() -> Self {
        WeightedQueues(Queue::ALL.iter().map(|q| (*q, 1)).collect())
    }

    /// Parses `name[:weight]` items (weight ≥ 1, default 1); an empty list means all queues.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        let mut out: Vec<(Queue, u32)> = Vec::new();
        for item in items
            .iter()
            .map(|s| s.as_ref().trim())
            .filter(|s| !s.is_empty())
        {
            let (name, weight) =
                match item.split_once(':') {
                    Some((n, w)) => {
                        let w: u32 =
                            w.trim().parse().ok().filter(|w| *w > 0).ok_or_else(|| {
                                format!("weight of {n:?} must be a positive number")
                            })?;
                        (n.trim(), w)
                    }
                    None => (item, 1),
                };
            let queue: Queue = name.parse()?;
            if out.iter().any(|(q, _)| *q == queue) {
                return Err(format!("queue {name:?} is listed twice"));
            }
            out.push((queue, weight));
        }
        if out.is_empty() {
            return Ok(Self::all());
        }
        Ok(WeightedQueues(out))
    }

    pub fn queues(&self) -> Vec<Queue> {
        self.0.iter().map(|(q, _)| *q).collect()
    }

    /// The order to look in for the next jobs, as Sidekiq's weighted fetch:
    /// each queue appears `weight` times, shuffled, first appearance wins. A
    /// queue of weight 8 beside one of weight 1 comes first 8 times in 9.
    pub fn order(&self, rng: &mut impl rand::Rng) -> Vec<Queue> {
        let mut pool: Vec<Queue> = self
            .0
            .iter()
            .flat_map(|(q, w)| std::iter::repeat_n(*q, *w as usize))
            .collect();
        pool.shuffle(rng);
        let mut order = Vec::with_capacity(self.0.len());
        for q in pool {
            if !order.contains(&q) {
                order.push(q);
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_weights() {
        let w = WeightedQueues::parse(&["default:8", "push:6", "mailers"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            w.0,
            vec![(Queue::Default, 8), (Queue::Push, 6), (Queue::Mailers, 1)]
        );
        assert!(WeightedQueues::parse(&["default:0"]).is_err());
        assert!(WeightedQueues::parse(&["nope"]).is_err());
        assert!(WeightedQueues::parse(&["push", "push:2"]).is_err());
        assert_eq!(
            WeightedQueues::parse::<&str>(&[]).map(|w| w.queues().len()),
            Ok(6)
        );
    }

    #[test]
    fn weights_set_how_often_a_queue_comes_first() {
        let w =
            WeightedQueues::parse(&["default:8", "mailers:1"]).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = rand::rng();
        let firsts = (0..9000)
            .filter(|_| w.order(&mut rng).first() == Some(&Queue::Default))
            .count();
        // Expected 8000 of 9000; allow generous noise.
        assert!((7600..8400).contains(&firsts), "{firsts}");
        assert_eq!(w.order(&mut rng).len(), 2);
    }
}
