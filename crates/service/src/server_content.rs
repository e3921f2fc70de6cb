//! What the operators publish and what users send them: the server's rules,
//! announcements (dismissals, reactions), reports; and public instance
//! figures (peers, weekly activity).

use chrono::{DateTime, Duration, Utc};
use ferrodon_model::{AccountId, Snowflake, StatusId};
use ferrodon_storage::server_content::{
    self as store, Announcement, NewAnnouncement, ReactionCount, Report, Rule,
};
use ferrodon_storage::{emojis, statuses};

use crate::{Result, ServiceError, Services, text};

/// Different reactions one announcement may carry (Mastodon's limit).
const REACTION_KINDS_LIMIT: usize = 8;
/// Longest report comment, in characters.
pub const REPORT_COMMENT_MAX: usize = 1000;
/// Report categories Mastodon knows.
const CATEGORIES: [&str; 4] = ["spam", "legal", "violation", "other"];

/// An announcement as a signed-in user sees it.
#[derive(Debug, Clone)]
pub struct AnnouncementView {
    pub announcement: Announcement,
    /// The text as HTML.
    pub content: String,
    /// The viewer dismissed it.
    pub read: bool,
    pub reactions: Vec<ReactionCount>,
}

/// What `POST /api/v1/reports` sends.
#[derive(Debug, Clone, Default)]
pub struct NewReport {
    pub account_id: Option<AccountId>,
    pub status_ids: Vec<StatusId>,
    pub comment: String,
    pub forward: bool,
    pub category: Option<String>,
    pub rule_ids: Vec<i64>,
}

/// One week of `GET /api/v1/instance/activity`.
#[derive(Debug, Clone, Copy)]
pub struct WeekActivity {
    pub week: DateTime<Utc>,
    pub statuses: i64,
    pub logins: i64,
    pub registrations: i64,
}

/// Whether `name` is one emoji (pictographs with their joiners, variation
/// selectors, skin tones, flags and keycaps).
fn is_unicode_emoji(name: &str) -> bool {
    let mut pictographic = false;
    for c in name.chars() {
        let cp = c as u32;
        match cp {
            0x1F000..=0x1FAFF
            | 0x2600..=0x27BF
            | 0x2B00..=0x2BFF
            | 0x2190..=0x21FF
            | 0x2300..=0x23FF
            | 0x3030
            | 0x303D
            | 0x3297
            | 0x3299
            | 0x00A9
            | 0x00AE
            | 0x2122
            | 0x2139
            | 0x24C2
            | 0x25A0..=0x25FF
            | 0x2934
            | 0x2935 => pictographic = true,
            // A keycap makes its base (a digit, # or *) an emoji.
            0x20E3 => pictographic = true,
            // Joiner, variation selectors, tag characters.
            0x200D | 0xFE0E | 0xFE0F | 0xE0020..=0xE007F => {}
            // Keycap bases.
            0x23 | 0x2A | 0x30..=0x39 => {}
            _ => return false,
        }
    }
    pictographic && name.chars().count() <= 16
}

impl Services {
    /// The rules, in order.
    pub async fn rules(&self) -> Result<Vec<Rule>> {
        Ok(store::rules(self.db()).await?)
    }

    /// `ferrodon admin rules add`: the new rule's id.
    pub async fn admin_add_rule(&self, text: &str, hint: &str) -> Result<i64> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ServiceError::invalid("Text can't be blank"));
        }
        let priority = store::rules(self.db())
            .await?
            .iter()
            .map(|r| r.priority + 1)
            .max()
            .unwrap_or(0);
        let id = self.ids().next().0;
        store::add_rule(self.db(), id, text, hint.trim(), priority).await?;
        Ok(id)
    }

    /// `ferrodon admin rules remove`.
    pub async fn admin_remove_rule(&self, id: i64) -> Result<()> {
        if !store::remove_rule(self.db(), id).await? {
            return Err(ServiceError::not_found());
        }
        Ok(())
    }

    /// `ferrodon admin announcements create`: the new announcement's id.
    pub async fn admin_create_announcement(
        &self,
        text: &str,
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<DateTime<Utc>>,
        all_day: bool,
    ) -> Result<i64> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ServiceError::invalid("Text can't be blank"));
        }
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e < s
        {
            return Err(ServiceError::invalid("Ends at must be after the start"));
        }
        let id = self.ids().next().0;
        store::add_announcement(
            self.db(),
            &NewAnnouncement {
                id,
                text: text.to_owned(),
                starts_at,
                ends_at,
                all_day,
            },
        )
        .await?;
        Ok(id)
    }

    /// `ferrodon admin announcements list`.
    pub async fn admin_announcements(&self) -> Result<Vec<Announcement>> {
        Ok(store::all_announcements(self.db()).await?)
    }

    /// `ferrodon admin announcements delete`.
    pub async fn admin_delete_announcement(&self, id: i64) -> Result<()> {
        if !store::remove_announcement(self.db(), id).await? {
            return Err(ServiceError::not_found());
        }
        Ok(())
    }

    /// `GET /api/v1/announcements`: running announcements, the dismissed
    /// ones only with `with_dismissed`.
    pub async fn announcements(
        &self,
        viewer: AccountId,
        with_dismissed: bool,
    ) -> Result<Vec<AnnouncementView>> {
        let db = self.db();
        let active = store::active_announcements(db, viewer, ferrodon_storage::now()).await?;
        let shown: Vec<_> = active
            .into_iter()
            .filter(|a| with_dismissed || !a.dismissed)
            .collect();
        let ids: Vec<i64> = shown.iter().map(|a| a.announcement.id).collect();
        let reactions = store::reactions(db, &ids, viewer).await?;
        let i = self.instance();
        Ok(shown
            .into_iter()
            .map(|a| {
                let content =
                    text::render(&a.announcement.text, &i.domain, &[], |t| i.tag_url(t), true);
                AnnouncementView {
                    reactions: reactions
                        .iter()
                        .filter(|r| r.announcement_id == a.announcement.id)
                        .cloned()
                        .collect(),
                    read: a.dismissed,
                    content,
                    announcement: a.announcement,
                }
            })
            .collect())
    }

    /// `POST /api/v1/announcements/:id/dismiss`.
    pub async fn dismiss_announcement(&self, viewer: AccountId, id: i64) -> Result<()> {
        if !store::exists(self.db(), id).await? {
            return Err(ServiceError::not_found());
        }
        store::dismiss(self.db(), id, viewer).await?;
        Ok(())
    }

    /// `PUT /api/v1/announcements/:id/reactions/:name`: a unicode emoji or a
    /// custom emoji's shortcode.
    pub async fn react_to_announcement(
        &self,
        viewer: AccountId,
        id: i64,
        name: &str,
    ) -> Result<()> {
        let db = self.db();
        if !store::exists(db, id).await? {
            return Err(ServiceError::not_found());
        }
        let name = name.trim();
        let custom =
            !name.is_empty() && emojis::local(db).await?.iter().any(|e| e.shortcode == name);
        if !custom && !is_unicode_emoji(name) {
            return Err(ServiceError::invalid("Name is not a recognized emoji"));
        }
        let existing = store::reactions(db, &[id], viewer).await?;
        if !existing.iter().any(|r| r.name == name) && existing.len() >= REACTION_KINDS_LIMIT {
            return Err(ServiceError::invalid(
                "Limit of different reactions reached",
            ));
        }
        store::react(db, id, viewer, name).await?;
        Ok(())
    }

    /// `DELETE /api/v1/announcements/:id/reactions/:name`.
    pub async fn unreact_to_announcement(
        &self,
        viewer: AccountId,
        id: i64,
        name: &str,
    ) -> Result<()> {
        if !store::exists(self.db(), id).await? {
            return Err(ServiceError::not_found());
        }
        store::unreact(self.db(), id, viewer, name.trim()).await?;
        Ok(())
    }

    /// `POST /api/v1/reports`: statuses must be the reported account's and
    /// visible to the reporter, rules must exist; the category defaults to `violation` with rules, else `other`.
    pub async fn report(&self, viewer: AccountId, input: NewReport) -> Result<Report> {
        let db = self.db();
        let target_id = input.account_id.ok_or_else(ServiceError::not_found)?;
        let target = self.account(target_id).await?;
        if input.comment.chars().count() > REPORT_COMMENT_MAX {
            return Err(ServiceError::invalid(format!(
                "Comment is too long (maximum is {REPORT_COMMENT_MAX} characters)"
            )));
        }
        // Each status must be the reported account's and one the reporter
        // may see: a hidden status answers as one of another account would,
        // so a report cannot tell whether it exists (as Mastodon's
        // `ReportService` takes only statuses the reporter can see).
        let found = statuses::get_many(db, &input.status_ids).await?;
        let shown = self
            .visible_ids(Some(viewer), &found, crate::visibility::Hide::Nothing)
            .await?;
        let mut wanted = input.status_ids.clone();
        wanted.sort_unstable_by_key(|s| s.0);
        wanted.dedup();
        if found.len() != wanted.len()
            || found
                .iter()
                .any(|s| s.account_id != target.id || !shown.contains(&s.id))
        {
            return Err(ServiceError::not_found());
        }
        let category = match input.category.as_deref() {
            Some(c) if CATEGORIES.contains(&c) => c.to_owned(),
            Some(other) => {
                return Err(ServiceError::invalid(format!(
                    "Category is not included in the list ({other:?})"
                )));
            }
            None if !input.rule_ids.is_empty() => "violation".to_owned(),
            None => "other".to_owned(),
        };
        let rules = store::rules(db).await?;
        let rule_ids: Vec<i64> = if category == "violation" {
            if input
                .rule_ids
                .iter()
                .any(|r| !rules.iter().any(|known| known.id == *r))
            {
                return Err(ServiceError::invalid("Rule ids contains an unknown rule"));
            }
            input.rule_ids.clone()
        } else {
            Vec::new()
        };
        let ids_json = |v: Vec<String>| serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
        let report = Report {
            id: self.ids().next().0,
            account_id: viewer.0,
            target_account_id: target.id.0,
            status_ids: ids_json(wanted.iter().map(|s| s.0.to_string()).collect()),
            rule_ids: ids_json(rule_ids.iter().map(i64::to_string).collect()),
            comment: input.comment,
            category,
            // Forwarding to the remote server comes with federation.
            forward: input.forward && !target.is_local(),
            action_taken_at: None,
            created_at: ferrodon_storage::now(),
        };
        store::insert_report(db, &report).await?;
        Ok(report)
    }

    /// `ferrodon admin reports list`.
    pub async fn admin_reports(&self, limit: i64) -> Result<Vec<Report>> {
        Ok(store::reports(self.db(), limit).await?)
    }

    /// `GET /api/v1/instance/peers`.
    pub async fn peers(&self) -> Result<Vec<String>> {
        Ok(store::peers(self.db()).await?)
    }

    /// `GET /api/v1/instance/activity`: the last 12 weeks (Monday 00:00 UTC),
    /// newest first. Logins count users whose latest sign-in fell in the week.
    pub async fn activity(&self) -> Result<Vec<WeekActivity>> {
        let now = ferrodon_storage::now();
        let today = now.date_naive();
        let monday = today
            - chrono::Days::new(u64::from(
                chrono::Datelike::weekday(&today).num_days_from_monday(),
            ));
        let start = monday.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let mut out = Vec::with_capacity(12);
        for back in 0..12 {
            let from = start - Duration::weeks(back);
            let to = from + Duration::weeks(1);
            let (statuses, logins, registrations) = store::week_activity(
                self.db(),
                from,
                to,
                Snowflake::lower_bound_at(from).0,
                Snowflake::lower_bound_at(to).0,
            )
            .await?;
            out.push(WeekActivity {
                week: from,
                statuses,
                logins,
                registrations,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::is_unicode_emoji;

    #[test]
    fn emoji_names() {
        for ok in ["👍", "❤️", "👨‍👩‍👧", "🇫🇷", "👋🏽", "1️⃣", "☕"]
        {
            assert!(is_unicode_emoji(ok), "{ok:?} refused");
        }
        for bad in ["", "a", "thumbsup", "👍 ok", "<b>", "1"] {
            assert!(!is_unicode_emoji(bad), "{bad:?} accepted");
        }
    }
}
