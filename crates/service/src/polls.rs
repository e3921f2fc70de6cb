//! Polls: validation when a status is posted or edited, views with the
//! viewer's votes, voting, and the notifications when a poll ends.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ferrodon_jobs::{Job, JobError, JobKind};
use ferrodon_model::{AccountId, StatusId};
use ferrodon_storage::polls::{self, Poll};
use serde::{Deserialize, Serialize};

use crate::{Limits, Result, ServiceError, Services};

/// `poll[…]` parameters of a post or an edit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PollInput {
    pub options: Vec<String>,
    /// Seconds; `None` when missing.
    pub expires_in: Option<i64>,
    pub multiple: bool,
    pub hide_totals: bool,
}

/// A poll that passed validation.
#[derive(Debug, Clone)]
pub struct ValidPoll {
    pub options: Vec<String>,
    pub expires_at: DateTime<Utc>,
    pub multiple: bool,
    pub hide_totals: bool,
}

impl ValidPoll {
    pub fn options_json(&self) -> String {
        options_json(&self.options)
    }
}

pub(crate) fn options_json(options: &[String]) -> String {
    serde_json::to_string(options).unwrap_or_else(|_| "[]".to_owned())
}

/// The option titles stored as JSON (an unreadable value reads as none).
pub fn parse_options(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Mastodon's poll rules (`Poll` presence validations, then `PollValidator`),
/// all errors joined as Rails joins them. Options are stripped and blank
/// ones dropped first, as Mastodon's `prepare_options` does.
pub fn validate(input: &PollInput, limits: &Limits, now: DateTime<Utc>) -> Result<ValidPoll> {
    let options: Vec<String> = input
        .options
        .iter()
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty())
        .collect();
    let mut errors: Vec<String> = Vec::new();
    if options.is_empty() {
        errors.push("Choices can't be blank".into());
    }
    if input.expires_in.is_none() {
        errors.push("Deadline can't be blank".into());
    }
    if options.len() < 2 {
        errors.push("Choices must have more than one item".into());
    }
    if options.len() > limits.max_poll_options {
        errors.push(format!(
            "Choices can't contain more than {} items",
            limits.max_poll_options
        ));
    }
    if options
        .iter()
        .any(|o| o.chars().count() > limits.max_poll_option_chars)
    {
        errors.push(format!(
            "Choices cannot be longer than {} characters each",
            limits.max_poll_option_chars
        ));
    }
    let mut unique = options.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != options.len() {
        errors.push("Choices contain duplicate items".into());
    }
    match input.expires_in {
        None => errors.push("Deadline is too far into the future".into()),
        Some(s) if s > limits.max_poll_expiration => {
            errors.push("Deadline is too far into the future".into())
        }
        Some(s) if s < limits.min_poll_expiration => errors.push("Deadline is too soon".into()),
        Some(_) => {}
    }
    if !errors.is_empty() {
        return Err(ServiceError::invalid(errors.join(", ")));
    }
    let expires_in = input.expires_in.unwrap_or(limits.min_poll_expiration);
    Ok(ValidPoll {
        options,
        expires_at: now + chrono::Duration::seconds(expires_in),
        multiple: input.multiple,
        hide_totals: input.hide_totals,
    })
}

/// A poll as a reader sees it.
#[derive(Debug, Clone)]
pub struct PollView {
    pub poll: Poll,
    pub options: Vec<String>,
    /// Votes per option (shown or not by the entity, see `show_totals`).
    pub tallies: Vec<i64>,
    pub expired: bool,
    /// For a signed-in viewer: whether they voted (the author counts as
    /// having voted, as in Mastodon) and which options they chose.
    pub voted: Option<bool>,
    pub own_votes: Option<Vec<i64>>,
}

impl PollView {
    /// Per-option counts are hidden until the end when the author asked so.
    pub fn show_totals(&self) -> bool {
        self.expired || !self.poll.hide_totals
    }
}

impl Services {
    /// Views of the polls of these statuses, for `viewer`, keyed by status.
    pub(crate) async fn poll_views(
        &self,
        viewer: Option<AccountId>,
        statuses: &[StatusId],
    ) -> Result<HashMap<StatusId, PollView>> {
        let db = self.db();
        let found = polls::of_statuses(db, statuses).await?;
        if found.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<i64> = found.iter().map(|p| p.id).collect();
        let mut tallies: HashMap<(i64, i64), i64> = HashMap::new();
        for (poll, choice, count) in polls::tallies(db, &ids).await? {
            tallies.insert((poll, choice), count);
        }
        // Remote polls count as their server reports (plus local votes since).
        let remote: HashMap<i64, Vec<i64>> = ferrodon_storage::remote::remote_tallies(db, &ids)
            .await?
            .into_iter()
            .map(|(poll, json)| (poll, serde_json::from_str(&json).unwrap_or_default()))
            .collect();
        let mut own: HashMap<i64, Vec<i64>> = HashMap::new();
        if let Some(v) = viewer {
            for (poll, choice) in polls::votes_of(db, v, &ids).await? {
                own.entry(poll).or_default().push(choice);
            }
        }
        let now = ferrodon_storage::now();
        Ok(found
            .into_iter()
            .map(|poll| {
                let options = parse_options(&poll.options);
                let counts = match remote.get(&poll.id) {
                    Some(counts) => (0..options.len())
                        .map(|i| counts.get(i).copied().unwrap_or(0))
                        .collect(),
                    None => (0..options.len() as i64)
                        .map(|i| tallies.get(&(poll.id, i)).copied().unwrap_or(0))
                        .collect(),
                };
                let own_votes = viewer.map(|_| own.get(&poll.id).cloned().unwrap_or_default());
                let voted = viewer.map(|v| {
                    v == poll.account_id || own_votes.as_ref().is_some_and(|o| !o.is_empty())
                });
                let view = PollView {
                    expired: poll.expired(now),
                    options,
                    tallies: counts,
                    voted,
                    own_votes,
                    poll,
                };
                (view.poll.status_id, view)
            })
            .collect())
    }

    /// A poll whose status `viewer` may see, or 404.
    async fn visible_poll(&self, viewer: Option<AccountId>, id: i64) -> Result<Poll> {
        let poll = polls::get(self.db(), id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.visible_status(viewer, poll.status_id).await?;
        Ok(poll)
    }

    async fn poll_view(&self, viewer: Option<AccountId>, poll: &Poll) -> Result<PollView> {
        self.poll_views(viewer, &[poll.status_id])
            .await?
            .remove(&poll.status_id)
            .ok_or_else(ServiceError::not_found)
    }

    /// `GET /api/v1/polls/:id`.
    pub async fn poll(&self, viewer: Option<AccountId>, id: i64) -> Result<PollView> {
        let poll = self.visible_poll(viewer, id).await?;
        self.poll_view(viewer, &poll).await
    }

    /// `POST /api/v1/polls/:id/votes`: one vote per choice, all or none, each
    /// checked as Mastodon's `VoteValidator` checks it.
    pub async fn vote(&self, viewer: AccountId, id: i64, choices: &[String]) -> Result<PollView> {
        let poll = self.visible_poll(Some(viewer), id).await?;
        if self.blocks(viewer, poll.account_id).await? {
            return Err(ServiceError::not_allowed());
        }
        let options = parse_options(&poll.options).len() as i64;
        let now = ferrodon_storage::now();
        let mut tx = self.db().begin().await?;
        // Votes on one poll are taken one transaction at a time.
        if !polls::lock(&mut tx, poll.id, now).await? {
            return Err(ServiceError::not_found());
        }
        let mut chosen: Vec<i64> = polls::votes_of(&mut tx, viewer, &[poll.id])
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        let voted_before = chosen.len();
        for raw in choices {
            // Not a number: no such option (Mastodon would fail on `Integer()`).
            let choice = raw.trim().parse::<i64>().unwrap_or(-1);
            let mut errors = Vec::new();
            if poll.expired(now) {
                errors.push("The poll has already ended");
            }
            if choice < 0 || choice >= options {
                errors.push("The chosen vote option does not exist");
            }
            if viewer == poll.account_id {
                errors.push("You cannot vote in your own polls");
            }
            let already = if poll.multiple {
                chosen.contains(&choice)
            } else {
                !chosen.is_empty()
            };
            if already {
                errors.push("You have already voted on this poll");
            }
            if !errors.is_empty() {
                return Err(ServiceError::invalid(errors.join(", ")));
            }
            if !polls::add_vote(&mut tx, self.ids().next().0, poll.id, viewer, choice, now).await? {
                return Err(ServiceError::invalid("You have already voted on this poll"));
            }
            chosen.push(choice);
        }
        let remote = ferrodon_storage::remote::remote_tallies(&mut tx, &[poll.id]).await?;
        if let Some((_, json)) = remote.first() {
            // A remote poll keeps its server's counts, plus this vote.
            let mut counts: Vec<i64> = serde_json::from_str(json).unwrap_or_default();
            counts.resize(counts.len().max(options as usize), 0);
            for choice in &chosen[voted_before..] {
                if let Some(c) = usize::try_from(*choice)
                    .ok()
                    .and_then(|i| counts.get_mut(i))
                {
                    *c += 1;
                }
            }
            let json = serde_json::to_string(&counts)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let added = (chosen.len() - voted_before) as i64;
            ferrodon_storage::remote::count_local_vote(
                &mut tx,
                poll.id,
                &json,
                added,
                voted_before == 0,
            )
            .await?;
        } else {
            polls::recount(&mut tx, poll.id).await?;
        }
        if self.is_remote(&mut tx, poll.account_id).await? {
            let job = crate::federate::Federate::Vote {
                account_id: viewer,
                status_id: poll.status_id,
                choices: chosen[voted_before..].to_vec(),
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        self.poll_view(Some(viewer), &poll).await
    }

    /// Notifies the author and every voter that a poll ended (idempotent: one
    /// notification per account and poll).
    pub(crate) async fn poll_ended(&self, poll_id: i64) -> Result<()> {
        let db = self.db();
        let Some(poll) = polls::get(db, poll_id).await? else {
            return Ok(());
        };
        // Edited to end later: the job queued by the edit handles it.
        if !poll.expired(ferrodon_storage::now()) {
            return Ok(());
        }
        let author = poll.account_id;
        self.notify(author, author, "poll", poll.id, Some(poll.status_id))
            .await?;
        for voter in polls::voters(db, poll.id).await? {
            self.notify(
                AccountId(voter),
                author,
                "poll",
                poll.id,
                Some(poll.status_id),
            )
            .await?;
        }
        Ok(())
    }
}

/// Runs when a poll ends: `poll` notifications to its author and voters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PollExpired {
    pub poll_id: i64,
    /// The end it was queued for (seconds), so an edit's new end queues a new job.
    pub expires_at: i64,
}

impl JobKind for PollExpired {
    const KIND: &'static str = "poll_expired";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", self.poll_id, self.expires_at))
    }
}

impl Job for PollExpired {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        Ok(services.poll_ended(self.poll_id).await?)
    }
}

/// Queues [`PollExpired`] for the poll's end, inside `tx`.
pub(crate) async fn queue_expiry(
    tx: &mut ferrodon_storage::Tx,
    ids: &ferrodon_model::IdGenerator,
    poll_id: i64,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    ferrodon_jobs::enqueue_at(
        tx,
        ids,
        &PollExpired {
            poll_id,
            expires_at: expires_at.timestamp(),
        },
        expires_at,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(options: &[&str], expires_in: Option<i64>) -> PollInput {
        PollInput {
            options: options.iter().map(|s| (*s).to_owned()).collect(),
            expires_in,
            multiple: false,
            hide_totals: false,
        }
    }

    fn message(r: Result<ValidPoll>) -> String {
        match r {
            Err(ServiceError::Unprocessable { message, .. }) => message,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn mastodon_poll_rules() {
        let l = Limits::default();
        let now = ferrodon_storage::now();
        let ok = validate(&input(&[" a ", "b", ""], Some(300)), &l, now);
        let ok = ok.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.options, vec!["a", "b"]);
        assert_eq!(ok.expires_at, now + chrono::Duration::seconds(300));
        assert_eq!(
            message(validate(&input(&["a"], Some(600)), &l, now)),
            "Validation failed: Choices must have more than one item"
        );
        assert_eq!(
            message(validate(&input(&[], Some(600)), &l, now)),
            "Validation failed: Choices can't be blank, Choices must have more than one item"
        );
        assert_eq!(
            message(validate(
                &input(&["a", "b", "c", "d", "e"], Some(600)),
                &l,
                now
            )),
            "Validation failed: Choices can't contain more than 4 items"
        );
        let long = "x".repeat(51);
        assert_eq!(
            message(validate(&input(&["a", &long], Some(600)), &l, now)),
            "Validation failed: Choices cannot be longer than 50 characters each"
        );
        assert!(validate(&input(&["a", &"é".repeat(50)], Some(600)), &l, now).is_ok());
        assert_eq!(
            message(validate(&input(&["a", "a"], Some(600)), &l, now)),
            "Validation failed: Choices contain duplicate items"
        );
        assert_eq!(
            message(validate(&input(&["a", "b"], Some(299)), &l, now)),
            "Validation failed: Deadline is too soon"
        );
        assert_eq!(
            message(validate(&input(&["a", "b"], Some(2_629_747)), &l, now)),
            "Validation failed: Deadline is too far into the future"
        );
        assert!(validate(&input(&["a", "b"], Some(2_629_746)), &l, now).is_ok());
        assert_eq!(
            message(validate(&input(&["a", "b"], None), &l, now)),
            "Validation failed: Deadline can't be blank, Deadline is too far into the future"
        );
    }
}
