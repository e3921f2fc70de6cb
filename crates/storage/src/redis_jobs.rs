//! The Redis job queue: the data structures and Lua scripts; what the
//! members mean is the jobs crate's business (they are opaque strings here).
//!
//! Per queue `q`, under the key prefix and the hash tag `{jobs}` (so every
//! key lives in one Redis Cluster slot and scripts may touch several):
//! - `…{jobs}:q:ready` — LIST, pushed on the left, taken from the right (FIFO);
//! - `…{jobs}:q:busy` — ZSET of members being run, scored by lease expiry (ms);
//! - `…{jobs}:q:scheduled` / `…:retry` — ZSETs scored by when to run (ms);
//! - `…{jobs}:q:dead` — ZSET scored by when the job died (ms), bounded;
//! - `…{jobs}:unique:KEY` — the lock of a unique job, holding its id.
//!
//! Every script receives every key it touches in `KEYS` (Dragonfly runs
//! scripts only then).

use redis::aio::ConnectionManager;

use crate::Result;

/// Adds a job: due now → `ready` (and a token on `wake` for idle workers),
/// later → `scheduled`; a unique job whose lock is held is dropped.
/// KEYS: ready, scheduled, wake[, unique]. ARGV: member, run_at_ms, now_ms,
/// unique_ttl_s, id.
const ENQUEUE: &str = r#"
if KEYS[4] then
  if not redis.call('SET', KEYS[4], ARGV[5], 'NX', 'EX', ARGV[4]) then
    return 0
  end
end
if tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
else
  redis.call('LPUSH', KEYS[1], ARGV[1])
  redis.call('LPUSH', KEYS[3], 1)
  redis.call('LTRIM', KEYS[3], 0, 63)
end
return 1
"#;

/// Takes up to ARGV[1] members from the ready lists in KEYS order (pairs of
/// ready, busy), leasing each until ARGV[2] (ms). Returns [pair index, member, …].
const FETCH: &str = r#"
local out = {}
local want = tonumber(ARGV[1])
for i = 1, #KEYS, 2 do
  if want <= 0 then break end
  local got = redis.call('RPOP', KEYS[i], want)
  if got then
    for _, m in ipairs(got) do
      redis.call('ZADD', KEYS[i + 1], ARGV[2], m)
      table.insert(out, (i + 1) / 2)
      table.insert(out, m)
      want = want - 1
    end
  end
end
return out
"#;

/// Finishes a run. KEYS: busy[, unique]. ARGV: member, id. Returns 1 if the
/// lease was still ours.
const ACK: &str = r#"
local held = redis.call('ZREM', KEYS[1], ARGV[1])
if KEYS[2] and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('DEL', KEYS[2])
end
return held
"#;

/// Schedules a retry. KEYS: busy, retry. ARGV: old member, new member, at_ms.
const RETRY: &str = r#"
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  return 1
end
return 0
"#;

/// Moves a job to the dead set, keeping it bounded in size and age.
/// KEYS: busy, dead[, unique]. ARGV: old member, new member, now_ms, max
/// size, oldest score kept, id.
const BURY: &str = r#"
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
if KEYS[3] and redis.call('GET', KEYS[3]) == ARGV[6] then
  redis.call('DEL', KEYS[3])
end
return 1
"#;

/// Moves due scheduled and retry jobs to `ready`, and jobs whose lease
/// lapsed (their worker died) back to the front of `ready`.
/// KEYS: ready, busy, scheduled, retry, wake. ARGV: now_ms, limit.
const MAINTAIN: &str = r#"
local moved = 0
for _, z in ipairs({KEYS[3], KEYS[4]}) do
  local due = redis.call('ZRANGEBYSCORE', z, '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
  for _, m in ipairs(due) do
    redis.call('ZREM', z, m)
    redis.call('LPUSH', KEYS[1], m)
    moved = moved + 1
  end
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('RPUSH', KEYS[1], m)
  moved = moved + 1
end
if moved > 0 then
  redis.call('LPUSH', KEYS[5], 1)
  redis.call('LTRIM', KEYS[5], 0, 63)
end
return moved
"#;

/// Hands jobs back to the front of `ready` (a graceful stop). KEYS: ready,
/// busy. ARGV: members.
const RELEASE: &str = r#"
local n = 0
for _, m in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[2], m) == 1 then
    redis.call('RPUSH', KEYS[1], m)
    n = n + 1
  end
end
return n
"#;

/// Replaces one dead member by a fresh one in `ready`. KEYS: ready, dead.
/// ARGV: old member, new member.
const RESURRECT: &str = r#"
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

/// A message to add to a queue.
#[derive(Debug, Clone)]
pub struct Push {
    pub queue: String,
    pub member: String,
    pub run_at_ms: i64,
    pub unique_key: Option<String>,
    pub id: i64,
}

/// Blocks until a job is enqueued (or a timeout), for an idle worker.
pub struct RedisWaiter {
    conn: redis::aio::MultiplexedConnection,
    key: String,
}

impl RedisWaiter {
    /// Waits up to `timeout_s` seconds for a wake-up token; `true` if one came.
    pub async fn wait(&mut self, timeout_s: f64) -> Result<bool> {
        let got: Option<(String, String)> = redis::cmd("BLPOP")
            .arg(&self.key)
            .arg(timeout_s)
            .query_async(&mut self.conn)
            .await?;
        Ok(got.is_some())
    }
}

/// One queue's figures in Redis.
#[derive(Debug, Clone, Default)]
pub struct RedisQueueStats {
    pub ready: i64,
    /// The member waiting longest, to read its age.
    pub oldest: Option<String>,
    pub busy: i64,
    pub scheduled: i64,
    pub retries: i64,
    pub dead: i64,
}

/// The job queue in a Redis-API store.
#[derive(Clone)]
pub struct RedisQueue {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    enqueue: redis::Script,
    fetch: redis::Script,
    ack: redis::Script,
    retry: redis::Script,
    bury: redis::Script,
    maintain: redis::Script,
    release: redis::Script,
    resurrect: redis::Script,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisQueue(prefix={:?})", self.prefix)
    }
}

/// How long a unique job's lock lives at most (it is released when the job finishes).
const UNIQUE_TTL_S: i64 = 24 * 3600;

impl RedisQueue {
    /// Connects to `url`; keys start with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(5)))
            .set_response_timeout(Some(std::time::Duration::from_secs(10)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(RedisQueue {
            client,
            conn,
            prefix: prefix.to_owned(),
            enqueue: redis::Script::new(ENQUEUE),
            fetch: redis::Script::new(FETCH),
            ack: redis::Script::new(ACK),
            retry: redis::Script::new(RETRY),
            bury: redis::Script::new(BURY),
            maintain: redis::Script::new(MAINTAIN),
            release: redis::Script::new(RELEASE),
            resurrect: redis::Script::new(RESURRECT),
        })
    }

    fn key(&self, queue: &str, part: &str) -> String {
        format!("{}{{jobs}}:{queue}:{part}", self.prefix)
    }

    /// The list idle workers block on: one token per enqueue, at most 64 kept.
    fn wake_key(&self) -> String {
        format!("{}{{jobs}}:wake", self.prefix)
    }

    /// A connection of its own for blocking until work arrives (a blocking
    /// command would hold up every other command on the shared connection).
    pub async fn waiter(&self) -> Result<RedisWaiter> {
        Ok(RedisWaiter {
            // No response timeout: BLPOP answers by its own timeout.
            conn: self
                .client
                .get_multiplexed_async_connection_with_config(
                    &redis::AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(std::time::Duration::from_secs(5)))
                        .set_response_timeout(None),
                )
                .await?,
            key: self.wake_key(),
        })
    }

    fn unique_key(&self, key: &str) -> String {
        format!("{}{{jobs}}:unique:{key}", self.prefix)
    }

    /// Adds messages (one round trip); returns how many were added (unique
    /// jobs whose lock is held are dropped).
    pub async fn push(&self, messages: &[Push], now_ms: i64) -> Result<i64> {
        if messages.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        pipe.load_script(&self.enqueue).ignore();
        for m in messages {
            let mut inv = self.enqueue.prepare_invoke();
            inv.key(self.key(&m.queue, "ready"))
                .key(self.key(&m.queue, "scheduled"))
                .key(self.wake_key());
            if let Some(u) = &m.unique_key {
                inv.key(self.unique_key(u));
            }
            inv.arg(&m.member)
                .arg(m.run_at_ms)
                .arg(now_ms)
                .arg(UNIQUE_TTL_S)
                .arg(m.id);
            pipe.invoke_script(&inv);
        }
        let mut conn = self.conn.clone();
        let added: Vec<i64> = pipe.query_async(&mut conn).await?;
        Ok(added.iter().sum())
    }

    /// Takes up to `max` messages from `queues`, in that order, leasing them
    /// until `lease_until_ms`. Returns (queue, member) pairs.
    pub async fn fetch(
        &self,
        queues: &[&str],
        max: usize,
        lease_until_ms: i64,
    ) -> Result<Vec<(String, String)>> {
        if queues.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        let mut inv = self.fetch.prepare_invoke();
        for q in queues {
            inv.key(self.key(q, "ready")).key(self.key(q, "busy"));
        }
        inv.arg(max).arg(lease_until_ms);
        let mut conn = self.conn.clone();
        let flat: Vec<redis::Value> = inv.invoke_async(&mut conn).await?;
        let mut out = Vec::with_capacity(flat.len() / 2);
        let mut it = flat.into_iter();
        while let (Some(index), Some(member)) = (it.next(), it.next()) {
            let index: usize = redis::from_redis_value(index)?;
            let member: String = redis::from_redis_value(member)?;
            if let Some(q) = index.checked_sub(1).and_then(|i| queues.get(i)) {
                out.push(((*q).to_owned(), member));
            }
        }
        Ok(out)
    }

    /// Finishes runs: (queue, member, unique key, id) each, in one round trip.
    pub async fn ack(&self, done: &[(String, String, Option<String>, i64)]) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.load_script(&self.ack).ignore();
        for (queue, member, unique, id) in done {
            let mut inv = self.ack.prepare_invoke();
            inv.key(self.key(queue, "busy"));
            if let Some(u) = unique {
                inv.key(self.unique_key(u));
            }
            inv.arg(member).arg(*id);
            pipe.invoke_script(&inv).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Replaces a running member by its next attempt, due at `at_ms`.
    pub async fn retry(&self, queue: &str, old: &str, new: &str, at_ms: i64) -> Result<()> {
        let mut conn = self.conn.clone();
        self.retry
            .key(self.key(queue, "busy"))
            .key(self.key(queue, "retry"))
            .arg(old)
            .arg(new)
            .arg(at_ms)
            .invoke_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }

    /// Moves a running member to the dead set (at most `max_dead` kept, none
    /// older than `oldest_ms`), releasing its unique lock.
    #[allow(clippy::too_many_arguments)]
    pub async fn bury(
        &self,
        queue: &str,
        old: &str,
        new: &str,
        unique: Option<&str>,
        id: i64,
        now_ms: i64,
        max_dead: i64,
        oldest_ms: i64,
    ) -> Result<()> {
        let mut inv = self.bury.prepare_invoke();
        inv.key(self.key(queue, "busy"))
            .key(self.key(queue, "dead"));
        if let Some(u) = unique {
            inv.key(self.unique_key(u));
        }
        inv.arg(old)
            .arg(new)
            .arg(now_ms)
            .arg(max_dead)
            .arg(oldest_ms)
            .arg(id);
        let mut conn = self.conn.clone();
        inv.invoke_async::<i64>(&mut conn).await?;
        Ok(())
    }

    /// Extends the leases of running members (those not already lapsed).
    pub async fn extend(&self, held: &[(String, String)], until_ms: i64) -> Result<()> {
        if held.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (queue, member) in held {
            pipe.cmd("ZADD")
                .arg(self.key(queue, "busy"))
                .arg("XX")
                .arg(until_ms)
                .arg(member)
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Hands running members back to the front of their queues.
    pub async fn release(&self, queue: &str, members: &[String]) -> Result<i64> {
        if members.is_empty() {
            return Ok(0);
        }
        let mut inv = self.release.prepare_invoke();
        inv.key(self.key(queue, "ready"))
            .key(self.key(queue, "busy"));
        for m in members {
            inv.arg(m);
        }
        let mut conn = self.conn.clone();
        Ok(inv.invoke_async(&mut conn).await?)
    }

    /// Promotes due scheduled and retry jobs and recovers lapsed leases in
    /// each queue; returns how many members moved.
    pub async fn maintain(&self, queues: &[&str], now_ms: i64) -> Result<i64> {
        let mut pipe = redis::pipe();
        pipe.load_script(&self.maintain).ignore();
        for q in queues {
            let mut inv = self.maintain.prepare_invoke();
            inv.key(self.key(q, "ready"))
                .key(self.key(q, "busy"))
                .key(self.key(q, "scheduled"))
                .key(self.key(q, "retry"))
                .key(self.wake_key())
                .arg(now_ms)
                .arg(1000);
            pipe.invoke_script(&inv);
        }
        let mut conn = self.conn.clone();
        let moved: Vec<i64> = pipe.query_async(&mut conn).await?;
        Ok(moved.iter().sum())
    }

    /// Figures for each queue, in one round trip.
    pub async fn stats(&self, queues: &[&str]) -> Result<Vec<RedisQueueStats>> {
        let mut pipe = redis::pipe();
        for q in queues {
            pipe.cmd("LLEN").arg(self.key(q, "ready"));
            pipe.cmd("LINDEX").arg(self.key(q, "ready")).arg(-1);
            pipe.cmd("ZCARD").arg(self.key(q, "busy"));
            pipe.cmd("ZCARD").arg(self.key(q, "scheduled"));
            pipe.cmd("ZCARD").arg(self.key(q, "retry"));
            pipe.cmd("ZCARD").arg(self.key(q, "dead"));
        }
        let mut conn = self.conn.clone();
        let values: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
        let mut out = Vec::new();
        for chunk in values.chunks(6) {
            let [ready, oldest, busy, scheduled, retries, dead] = chunk else {
                continue;
            };
            out.push(RedisQueueStats {
                ready: redis::from_redis_value(ready.clone())?,
                oldest: redis::from_redis_value(oldest.clone())?,
                busy: redis::from_redis_value(busy.clone())?,
                scheduled: redis::from_redis_value(scheduled.clone())?,
                retries: redis::from_redis_value(retries.clone())?,
                dead: redis::from_redis_value(dead.clone())?,
            });
        }
        Ok(out)
    }

    /// Up to `limit` dead members of a queue, oldest first.
    pub async fn dead_members(&self, queue: &str, limit: isize) -> Result<Vec<String>> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("ZRANGE")
            .arg(self.key(queue, "dead"))
            .arg(0)
            .arg(limit - 1)
            .query_async(&mut conn)
            .await?)
    }

    /// Replaces dead members by fresh ones in `ready`: (old, new) pairs.
    pub async fn resurrect(&self, queue: &str, pairs: &[(String, String)]) -> Result<i64> {
        if pairs.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        pipe.load_script(&self.resurrect).ignore();
        for (old, new) in pairs {
            let mut inv = self.resurrect.prepare_invoke();
            inv.key(self.key(queue, "ready"))
                .key(self.key(queue, "dead"))
                .arg(old)
                .arg(new);
            pipe.invoke_script(&inv);
        }
        let mut conn = self.conn.clone();
        let n: Vec<i64> = pipe.query_async(&mut conn).await?;
        Ok(n.iter().sum())
    }

    /// Deletes a queue's dead set; returns how many jobs it held.
    pub async fn clear_dead(&self, queue: &str) -> Result<i64> {
        let mut conn = self.conn.clone();
        let (n, _): (i64, i64) = redis::pipe()
            .atomic()
            .cmd("ZCARD")
            .arg(self.key(queue, "dead"))
            .cmd("DEL")
            .arg(self.key(queue, "dead"))
            .query_async(&mut conn)
            .await?;
        Ok(n)
    }

    /// Whether Redis answers.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a script touches must come from `KEYS` (Dragonfly, and
    /// Redis Cluster, run scripts only then): the first argument of each
    /// `redis.call` is `KEYS[n]` or a loop variable over `KEYS`.
    pub(crate) fn assert_declared_keys(name: &str, script: &str) {
        for call in script.split("redis.call(").skip(1) {
            let args: Vec<&str> = call.splitn(3, ',').collect();
            let command = args
                .first()
                .map(|s| s.trim().trim_matches('\''))
                .unwrap_or("");
            let key = args
                .get(1)
                .map(|s| s.trim().trim_end_matches(')'))
                .unwrap_or("");
            let declared =
                key.starts_with("KEYS[") || (key == "z" && script.contains("ipairs({KEYS["));
            assert!(
                declared,
                "{name}: {command} touches {key:?}, not a declared key"
            );
        }
    }

    #[test]
    fn scripts_declare_their_keys() {
        for (name, script) in [
            ("ENQUEUE", ENQUEUE),
            ("FETCH", FETCH),
            ("ACK", ACK),
            ("RETRY", RETRY),
            ("BURY", BURY),
            ("MAINTAIN", MAINTAIN),
            ("RELEASE", RELEASE),
            ("RESURRECT", RESURRECT),
            ("feeds::PUSH", crate::feeds::PUSH_LUA),
        ] {
            assert_declared_keys(name, script);
        }
        // The check can fail.
        let bad = std::panic::catch_unwind(|| {
            assert_declared_keys("bad", "redis.call('GET', 'jobs:' .. ARGV[1])")
        });
        assert!(bad.is_err());
    }
}
