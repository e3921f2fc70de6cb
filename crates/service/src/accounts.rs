//! Accounts: sign-up, profiles, follows.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use ferrodon_config::RegistrationMode;
use ferrodon_model::{AccountId, FollowId, Page, PageBounds, Role, ScopeSet, UserId};
use ferrodon_storage::accounts::{self, Account, NewLocalAccount, ProfileImage, ProfileUpdate};
use ferrodon_storage::follows::{self, Direction, Follow, Kind};
use ferrodon_storage::relations::{self, Relation};
use ferrodon_storage::users::{self, NewUser, PostingDefaults};
use ferrodon_storage::{Tx, notifications};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::auth::{IssuedToken, hash_password};
use crate::jobs::{MergeIntoHome, Notify, UnmergeFromHome};
use crate::text::{self, MentionTarget};
use crate::views::{CredentialAccountView, RelationshipView};
use crate::{FieldError, Principal, Result, ServiceError, Services};

static USERNAME_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_]+$").ok());

/// Names nobody may register (Mastodon's reserved list).
const RESERVED_USERNAMES: &[&str] = &[
    "admin",
    "administrator",
    "support",
    "help",
    "root",
    "webmaster",
    "postmaster",
    "hostmaster",
    "mod",
    "moderator",
    "abuse",
    "security",
    "ssladmin",
    "sysadmin",
    "instance_actor",
    "actor",
];

/// Input for `POST /api/v1/accounts`.
#[derive(Debug, Clone, Default)]
pub struct SignUp {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub agreement: bool,
    pub locale: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
}

/// A profile field as stored and shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfileField {
    pub name: String,
    /// As typed.
    pub value: String,
    /// Rendered HTML.
    #[serde(default)]
    pub value_html: String,
}

/// The fields of an account (empty when the stored JSON is unreadable).
pub fn profile_fields(account: &Account) -> Vec<ProfileField> {
    serde_json::from_str(&account.fields).unwrap_or_default()
}

/// Input for `PATCH /api/v1/accounts/update_credentials`; `None` leaves a value alone.
#[derive(Debug, Clone, Default)]
pub struct CredentialsUpdate {
    pub display_name: Option<String>,
    pub note: Option<String>,
    pub fields: Option<Vec<(String, String)>>,
    pub locked: Option<bool>,
    pub bot: Option<bool>,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    pub hide_collections: Option<bool>,
    pub privacy: Option<String>,
    pub sensitive: Option<bool>,
    /// `Some("")` clears the default language.
    pub language: Option<String>,
    /// `public`, `followers` or `nobody`.
    pub quote_policy: Option<String>,
    /// A new avatar or header image, uploaded.
    pub avatar: Option<crate::media::Upload>,
    pub header: Option<crate::media::Upload>,
}

/// Options of `POST /api/v1/accounts/:id/follow`.
#[derive(Debug, Clone, Default)]
pub struct FollowOptions {
    pub reblogs: Option<bool>,
    pub notify: Option<bool>,
    pub languages: Option<Vec<String>>,
}

/// What a new local account needs, from sign-up or from an operator.
struct NewLocal {
    username: String,
    email: String,
    password: String,
    role: Role,
    approved: bool,
    locale: Option<String>,
    reason: Option<String>,
    ip: Option<String>,
}

type Details = BTreeMap<&'static str, Vec<FieldError>>;

fn add(details: &mut Details, field: &'static str, code: &'static str, description: &str) {
    details.entry(field).or_default().push(FieldError {
        code,
        description: description.to_owned(),
    });
}

fn humanize(field: &str) -> &'static str {
    match field {
        "username" => "Username",
        "email" => "E-mail address",
        "password" => "Password",
        "agreement" => "Agreement",
        "reason" => "Reason",
        _ => "Field",
    }
}

fn failure(details: Details) -> ServiceError {
    let messages: Vec<String> = details
        .iter()
        .flat_map(|(field, errors)| {
            errors
                .iter()
                .map(move |e| format!("{} {}", humanize(field), e.description))
        })
        .collect();
    ServiceError::Unprocessable {
        message: format!("Validation failed: {}", messages.join(", ")),
        details: Some(details),
    }
}

fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && email.matches('@').count() == 1
        }
        None => false,
    }
}

impl Services {
    /// Validates a new local account's username, e-mail and password.
    async fn validate_new_local(&self, input: &NewLocal, details: &mut Details) -> Result<()> {
        let username = input.username.as_str();
        if username.is_empty() {
            add(details, "username", "ERR_BLANK", "can't be blank");
        } else if !USERNAME_RE.as_ref().is_some_and(|re| re.is_match(username)) {
            add(
                details,
                "username",
                "ERR_INVALID",
                "must contain only letters, numbers and underscores",
            );
        } else if username.chars().count() > 30 {
            add(
                details,
                "username",
                "ERR_TOO_LONG",
                "is too long (maximum is 30 characters)",
            );
        } else if RESERVED_USERNAMES.contains(&username.to_ascii_lowercase().as_str()) {
            add(details, "username", "ERR_RESERVED", "is reserved");
        } else if accounts::find_by_username(self.db(), username, None)
            .await?
            .is_some()
        {
            add(details, "username", "ERR_TAKEN", "has already been taken");
        }
        let email = input.email.as_str();
        if email.is_empty() {
            add(details, "email", "ERR_BLANK", "can't be blank");
        } else if !looks_like_email(email) || email.len() > 320 {
            add(details, "email", "ERR_INVALID", "is invalid");
        } else if users::by_email(self.db(), email).await?.is_some() {
            add(details, "email", "ERR_TAKEN", "has already been taken");
        }
        let password_len = input.password.chars().count();
        if input.password.is_empty() {
            add(details, "password", "ERR_BLANK", "can't be blank");
        } else if password_len < 8 {
            add(
                details,
                "password",
                "ERR_TOO_SHORT",
                "is too short (minimum is 8 characters)",
            );
        } else if input.password.len() > 72 {
            add(
                details,
                "password",
                "ERR_TOO_LONG",
                "is too long (maximum is 72 characters)",
            );
        }
        Ok(())
    }

    async fn insert_local(&self, input: NewLocal) -> Result<(AccountId, UserId)> {
        let password_hash = hash_password(input.password.clone()).await?;
        let now = ferrodon_storage::now();
        let account_id = AccountId::from(self.ids().next());
        let user_id = UserId::from(self.ids().next());
        let i = self.instance();
        let uri = i.account_uri(&input.username);
        let mut tx = self.db().begin().await?;
        let inserted = accounts::insert_local(
            &mut tx,
            &NewLocalAccount {
                id: account_id,
                username: input.username.clone(),
                url: i.account_url(&input.username),
                inbox_url: format!("{uri}/inbox"),
                shared_inbox_url: format!("{}/inbox", i.base_url),
                outbox_url: format!("{uri}/outbox"),
                followers_url: format!("{uri}/followers"),
                uri,
                created_at: now,
            },
        )
        .await;
        let new_user = NewUser {
            id: user_id,
            account_id,
            email: input.email.clone(),
            password_hash,
            role: input.role.as_str().to_owned(),
            approved: input.approved,
            locale: input.locale.clone(),
            sign_up_reason: input.reason.clone(),
            sign_up_ip: input.ip.clone(),
            created_at: now,
        };
        // A concurrent sign-up may take the name or address between the check and here.
        let taken = |field: &'static str| {
            let mut d = Details::new();
            add(&mut d, field, "ERR_TAKEN", "has already been taken");
            failure(d)
        };
        match inserted {
            Err(ferrodon_storage::StorageError::Conflict(_)) => return Err(taken("username")),
            other => other?,
        }
        match users::insert(&mut tx, &new_user).await {
            Err(ferrodon_storage::StorageError::Conflict(_)) => return Err(taken("email")),
            other => other?,
        }
        tx.commit().await?;
        Ok((account_id, user_id))
    }

    /// `POST /api/v1/accounts`: signs up with an app token and returns a user token.
    pub async fn sign_up(&self, principal: &Principal, input: SignUp) -> Result<IssuedToken> {
        let mode = self.instance().registrations;
        if mode == RegistrationMode::Closed {
            return Err(ServiceError::Forbidden(
                "Registrations are closed on this server".to_owned(),
            ));
        }
        let new = NewLocal {
            username: input.username.unwrap_or_default().trim().to_owned(),
            email: input.email.unwrap_or_default().trim().to_owned(),
            password: input.password.unwrap_or_default(),
            role: Role::User,
            approved: mode == RegistrationMode::Open,
            locale: input.locale.filter(|l| !l.is_empty()),
            reason: input.reason.filter(|r| !r.trim().is_empty()),
            ip: input.ip,
        };
        let mut details = Details::new();
        self.validate_new_local(&new, &mut details).await?;
        if !input.agreement {
            add(
                &mut details,
                "agreement",
                "ERR_ACCEPTED",
                "must be accepted",
            );
        }
        if !details.is_empty() {
            return Err(failure(details));
        }
        let (_, user_id) = self.insert_local(new).await?;
        // As Mastodon: the user token gets every scope the app registered.
        let app = self.app(principal.app_id).await?;
        let scopes = ScopeSet::parse(&app.scopes)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| ScopeSet::parse("read").unwrap_or_default());
        self.issue_user_token(principal.app_id, user_id, scopes)
            .await
    }

    /// `ferrodon admin accounts create`: an approved account, optionally staff.
    pub async fn admin_create_account(
        &self,
        username: &str,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<AccountId> {
        let new = NewLocal {
            username: username.trim().to_owned(),
            email: email.trim().to_owned(),
            password: password.to_owned(),
            role,
            approved: true,
            locale: None,
            reason: None,
            ip: None,
        };
        let mut details = Details::new();
        self.validate_new_local(&new, &mut details).await?;
        // Operators may take reserved names.
        if let Some(errors) = details.get_mut("username") {
            errors.retain(|e| e.code != "ERR_RESERVED");
            if errors.is_empty() {
                details.remove("username");
            }
        }
        if !details.is_empty() {
            return Err(failure(details));
        }
        Ok(self.insert_local(new).await?.0)
    }

    /// A local account by username, for operator commands.
    pub async fn local_account(&self, username: &str) -> Result<Account> {
        accounts::find_by_username(self.db(), username, None)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// Approves a pending sign-up.
    pub async fn approve_account(&self, username: &str) -> Result<()> {
        let account = self.local_account(username).await?;
        let user = users::by_account(self.db(), account.id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        users::set_approved(self.db(), user.id, true).await?;
        Ok(())
    }

    /// Suspends an account: its tokens stop working, its profile is hidden,
    /// and every status of it (and every reblog of one) leaves every reader's
    /// view at once, since each read checks the author; its statuses also
    /// leave its followers' home feeds ([`crate::jobs::AccountFeeds`], in
    /// the same transaction).
    pub async fn suspend_account(&self, username: &str) -> Result<()> {
        let account = self.local_account(username).await?;
        let mut tx = self.db().begin().await?;
        accounts::set_suspended(&mut tx, account.id, Some(ferrodon_storage::now())).await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &crate::jobs::AccountFeeds {
                account_id: account.id,
                merge: false,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts a suspension: the account's recent statuses return to its
    /// followers' home feeds.
    pub async fn unsuspend_account(&self, username: &str) -> Result<()> {
        let account = self.local_account(username).await?;
        let mut tx = self.db().begin().await?;
        accounts::set_suspended(&mut tx, account.id, None).await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &crate::jobs::AccountFeeds {
                account_id: account.id,
                merge: true,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Silences (limits) an account, as a Mastodon moderator does: its
    /// statuses stay visible to its followers, in threads and by link, but
    /// leave the public and hashtag timelines, the link timeline and trends;
    /// the account shows as `limited`.
    pub async fn silence_account(&self, username: &str, silenced: bool) -> Result<()> {
        let account = self.local_account(username).await?;
        let at = silenced.then(ferrodon_storage::now);
        accounts::set_silenced(self.db(), account.id, at).await?;
        Ok(())
    }

    pub async fn account(&self, id: AccountId) -> Result<Account> {
        accounts::get(self.db(), id)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// `GET /api/v1/accounts?id[]=…`: the accounts of `ids` that exist, in
    /// the order asked for.
    pub async fn accounts_by_ids(&self, ids: &[AccountId]) -> Result<Vec<Account>> {
        let mut found: std::collections::HashMap<AccountId, Account> =
            accounts::get_many(self.db(), ids)
                .await?
                .into_iter()
                .map(|a| (a.id, a))
                .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// Of `ids`, those that exist, in the same order.
    pub async fn existing_accounts(&self, ids: &[AccountId]) -> Result<Vec<AccountId>> {
        let found: Vec<AccountId> = accounts::get_many(self.db(), ids)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
        Ok(ids
            .iter()
            .copied()
            .filter(|id| found.contains(id))
            .collect())
    }

    /// An account by `acct` (`user`, `user@domain`, `@user@domain`); the
    /// instance's own domain means local.
    pub async fn lookup(&self, acct: &str) -> Result<Account> {
        let acct = acct.trim().trim_start_matches('@');
        let (username, domain) = match acct.split_once('@') {
            Some((u, d)) if d.eq_ignore_ascii_case(&self.instance().domain) => (u, None),
            Some((u, d)) => (u, Some(d)),
            None => (acct, None),
        };
        accounts::find_by_username(self.db(), username, domain)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// The signed-in user's own account.
    pub async fn credential_account(&self, account: AccountId) -> Result<CredentialAccountView> {
        let account = self.account(account).await?;
        let user = users::by_account(self.db(), account.id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let follow_requests_count = follows::count_requests_for(self.db(), account.id).await?;
        Ok(CredentialAccountView {
            account,
            user,
            follow_requests_count,
        })
    }

    /// Renders a profile note or field value as Mastodon does.
    async fn render_profile_text(&self, text: &str, multiline: bool) -> Result<String> {
        let extracted = text::extract(text, &self.instance().domain);
        let targets = self.mention_targets(&extracted.mentions).await?;
        let targets: Vec<MentionTarget> = targets.into_iter().map(|(_, t)| t).collect();
        let i = self.instance();
        Ok(text::render(
            text,
            &i.domain,
            &targets,
            |t| i.tag_url(t),
            multiline,
        ))
    }

    /// `PATCH /api/v1/accounts/update_credentials`.
    pub async fn update_credentials(
        &self,
        account: AccountId,
        input: CredentialsUpdate,
    ) -> Result<CredentialAccountView> {
        let limits = self.instance().limits.clone();
        let mut update = ProfileUpdate::default();
        if let Some(name) = input.display_name {
            let name = name.trim().to_owned();
            if name.chars().count() > limits.max_display_name_chars {
                return Err(ServiceError::invalid(format!(
                    "Display name is too long (maximum is {} characters)",
                    limits.max_display_name_chars
                )));
            }
            update.display_name = Some(name);
        }
        if let Some(note) = input.note {
            let note = note.trim().to_owned();
            if note.chars().count() > limits.max_note_chars {
                return Err(ServiceError::invalid(format!(
                    "Note is too long (maximum is {} characters)",
                    limits.max_note_chars
                )));
            }
            update.note = Some(self.render_profile_text(&note, true).await?);
            update.note_source = Some(note);
        }
        if let Some(fields) = input.fields {
            let fields: Vec<(String, String)> = fields
                .into_iter()
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .filter(|(n, v)| !(n.is_empty() && v.is_empty()))
                .collect();
            if fields.len() > limits.max_fields {
                return Err(ServiceError::invalid(format!(
                    "Fields is too long (maximum is {} fields)",
                    limits.max_fields
                )));
            }
            let mut stored = Vec::with_capacity(fields.len());
            for (name, value) in fields {
                if name.chars().count() > limits.max_field_chars
                    || value.chars().count() > limits.max_field_chars
                {
                    return Err(ServiceError::invalid(format!(
                        "Fields are too long (maximum is {} characters)",
                        limits.max_field_chars
                    )));
                }
                let value_html = self.render_profile_text(&value, false).await?;
                stored.push(ProfileField {
                    name,
                    value,
                    value_html,
                });
            }
            update.fields = Some(
                serde_json::to_string(&stored)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
            );
        }
        update.locked = input.locked;
        update.bot = input.bot;
        update.discoverable = input.discoverable;
        update.indexable = input.indexable;
        update.hide_collections = input.hide_collections;
        if let Some(p) = &input.privacy
            && !matches!(p.as_str(), "public" | "unlisted" | "private" | "direct")
        {
            return Err(ServiceError::invalid("Privacy is not included in the list"));
        }
        if let Some(p) = &input.quote_policy
            && crate::quote_policy::policy_bits(p).is_none()
        {
            return Err(ServiceError::invalid(
                "Default quote policy is not included in the list",
            ));
        }
        let language = match input.language {
            None => None,
            Some(l) if l.trim().is_empty() => Some(None),
            Some(l) => Some(Some(crate::statuses::normalize_language(&l).ok_or_else(
                || ServiceError::invalid("Language is not included in the list"),
            )?)),
        };
        let user = users::by_account(self.db(), account)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        // Images are checked (and put in place) before anything changes.
        let mut images = Vec::new();
        for (which, upload) in [
            (ProfileImage::Avatar, &input.avatar),
            (ProfileImage::Header, &input.header),
        ] {
            if let Some(upload) = upload {
                match self.store_profile_image(account, which, upload).await {
                    Ok(path) => images.push((which, path)),
                    Err(e) => {
                        for (_, path) in &images {
                            self.remove_stored(path).await;
                        }
                        return Err(e);
                    }
                }
            }
        }
        let mut tx = self.db().begin().await?;
        accounts::update_profile(&mut tx, account, &update, ferrodon_storage::now()).await?;
        users::update_posting_defaults(
            &mut tx,
            user.id,
            &PostingDefaults {
                privacy: input.privacy,
                sensitive: input.sensitive,
                language,
                quote_policy: input.quote_policy,
            },
        )
        .await?;
        tx.commit().await?;
        for (which, path) in images {
            self.set_profile_image(account, which, Some(&path)).await?;
        }
        self.credential_account(account).await
    }

    /// `GET /api/v1/accounts/relationships`.
    pub async fn relationships(
        &self,
        viewer: AccountId,
        ids: &[AccountId],
    ) -> Result<Vec<RelationshipView>> {
        let db = self.db();
        let follows = follows::between(db, Kind::Follow, viewer, ids).await?;
        let requests = follows::between(db, Kind::Request, viewer, ids).await?;
        let others = relations::between(db, viewer, ids, ferrodon_storage::now()).await?;
        let notes = relations::notes(db, viewer, ids).await?;
        let domains: HashMap<AccountId, String> = accounts::get_many(db, ids)
            .await?
            .into_iter()
            .filter_map(|a| Some((a.id, a.domain?)))
            .collect();
        let unique: Vec<String> = domains
            .values()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let blocked_domains = relations::domains_blocked_among(db, viewer, &unique).await?;
        Ok(ids
            .iter()
            .map(|id| {
                let out = follows
                    .iter()
                    .find(|f| f.account_id == viewer && f.target_account_id == *id);
                let out_request = requests
                    .iter()
                    .find(|f| f.account_id == viewer && f.target_account_id == *id);
                let options = out.or(out_request);
                let has = |kind: &str, from: AccountId, to: AccountId| {
                    others.iter().find(|r| {
                        r.kind == kind && r.account_id == from.0 && r.target_account_id == to.0
                    })
                };
                let mute = has("mute", viewer, *id);
                RelationshipView {
                    id: *id,
                    following: out.is_some(),
                    showing_reblogs: options.is_some_and(|f| f.show_reblogs),
                    notifying: options.is_some_and(|f| f.notify),
                    languages: options
                        .and_then(|f| f.languages.as_deref())
                        .and_then(|l| serde_json::from_str(l).ok()),
                    followed_by: follows
                        .iter()
                        .any(|f| f.account_id == *id && f.target_account_id == viewer),
                    requested: out_request.is_some(),
                    requested_by: requests
                        .iter()
                        .any(|f| f.account_id == *id && f.target_account_id == viewer),
                    blocking: has("block", viewer, *id).is_some(),
                    blocked_by: has("block", *id, viewer).is_some(),
                    muting: mute.is_some(),
                    muting_notifications: mute.is_some_and(|m| m.hide_notifications),
                    muting_expires_at: mute.and_then(|m| m.expires_at),
                    domain_blocking: domains.get(id).is_some_and(|d| blocked_domains.contains(d)),
                    endorsed: has("endorse", viewer, *id).is_some(),
                    note: notes
                        .iter()
                        .find(|(target, _)| *target == id.0)
                        .map(|(_, comment)| comment.clone())
                        .unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Whether `viewer` may not follow or otherwise reach `target`: a block
    /// either way, or `viewer` blocks `target`'s domain.
    pub(crate) async fn refuses_contact(
        &self,
        viewer: AccountId,
        target: &Account,
    ) -> Result<bool> {
        let db = self.db();
        if relations::blocked_either_way(db, viewer, target.id).await? {
            return Ok(true);
        }
        Ok(match &target.domain {
            Some(domain) => {
                !relations::domains_blocked_among(db, viewer, std::slice::from_ref(domain))
                    .await?
                    .is_empty()
            }
            None => false,
        })
    }

    pub(crate) async fn relationship(
        &self,
        viewer: AccountId,
        target: AccountId,
    ) -> Result<RelationshipView> {
        self.relationships(viewer, &[target])
            .await?
            .pop()
            .ok_or_else(|| ServiceError::Internal("relationship missing".into()))
    }

    /// `POST /api/v1/accounts/:id/follow`. Locked and remote accounts get a
    /// follow request; following again only updates the options.
    pub async fn follow(
        &self,
        viewer: AccountId,
        target_id: AccountId,
        options: FollowOptions,
    ) -> Result<RelationshipView> {
        if viewer == target_id {
            return Err(ServiceError::Forbidden(
                "Following your own account is not allowed".to_owned(),
            ));
        }
        let target = self.account(target_id).await?;
        if target.suspended_at.is_some() || self.refuses_contact(viewer, &target).await? {
            return Err(ServiceError::not_allowed());
        }
        let languages = match &options.languages {
            None => None,
            Some(l) if l.is_empty() => Some(None),
            Some(l) => Some(Some(
                serde_json::to_string(l).map_err(|e| ServiceError::Internal(e.to_string()))?,
            )),
        };
        let db = self.db();
        for kind in [Kind::Follow, Kind::Request] {
            if follows::get(db, kind, viewer, target_id).await?.is_some() {
                follows::update_options(
                    db,
                    kind,
                    viewer,
                    target_id,
                    options.reblogs,
                    options.notify,
                    languages,
                )
                .await?;
                return self.relationship(viewer, target_id).await;
            }
        }
        let follow = Follow {
            id: FollowId::from(self.ids().next()),
            account_id: viewer,
            target_account_id: target_id,
            uri: None,
            show_reblogs: options.reblogs.unwrap_or(true),
            notify: options.notify.unwrap_or(false),
            languages: languages.flatten(),
            created_at: ferrodon_storage::now(),
        };
        let mut tx = db.begin().await?;
        let notify = |kind: &str| Notify {
            recipient: target_id,
            from: viewer,
            kind: kind.to_owned(),
            activity_id: follow.id.0,
            status_id: None,
        };
        if target.locked || !target.is_local() {
            // Remote accounts answer with Accept once federation delivers the request.
            if follows::insert(&mut tx, Kind::Request, &follow).await? {
                ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify("follow_request")).await?;
            }
        } else if follows::insert(&mut tx, Kind::Follow, &follow).await? {
            accounts::adjust_counts(&mut tx, viewer, 0, 0, 1).await?;
            accounts::adjust_counts(&mut tx, target_id, 0, 1, 0).await?;
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &MergeIntoHome {
                    account_id: viewer,
                    target_account_id: target_id,
                },
            )
            .await?;
            ferrodon_jobs::enqueue(&mut tx, self.ids(), &notify("follow")).await?;
        }
        tx.commit().await?;
        self.relationship(viewer, target_id).await
    }

    /// `POST /api/v1/accounts/:id/unfollow`: also withdraws a pending request.
    pub async fn unfollow(
        &self,
        viewer: AccountId,
        target_id: AccountId,
    ) -> Result<RelationshipView> {
        self.account(target_id).await?;
        let mut tx = self.db().begin().await?;
        self.end_follow(&mut tx, viewer, target_id).await?;
        self.drop_request(&mut tx, viewer, target_id).await?;
        tx.commit().await?;
        self.relationship(viewer, target_id).await
    }

    /// Ends `follower`'s follow of `followee` in `tx`: the counts, the
    /// follow's notification, the endorsement that needed it, the followee's
    /// places on the follower's lists, and (by a job)
    /// the followee's statuses in the follower's home. Whether there was one.
    pub(crate) async fn end_follow(
        &self,
        tx: &mut Tx,
        follower: AccountId,
        followee: AccountId,
    ) -> Result<bool> {
        let Some(follow) = follows::get(&mut *tx, Kind::Follow, follower, followee).await? else {
            return Ok(false);
        };
        if !follows::delete(&mut *tx, Kind::Follow, follower, followee).await? {
            return Ok(false);
        }
        notifications::delete_for_activity(&mut *tx, "follow", follow.id.0).await?;
        relations::delete(&mut *tx, Relation::Endorse, follower, followee).await?;
        ferrodon_storage::lists::remove_from_owner_lists(&mut *tx, follower, followee).await?;
        accounts::adjust_counts(&mut *tx, follower, 0, 0, -1).await?;
        accounts::adjust_counts(&mut *tx, followee, 0, -1, 0).await?;
        ferrodon_jobs::enqueue(
            &mut *tx,
            self.ids(),
            &UnmergeFromHome {
                account_id: follower,
                target_account_id: followee,
            },
        )
        .await?;
        Ok(true)
    }

    /// Withdraws `from`'s follow request to `to` and its notification, in `tx`.
    pub(crate) async fn drop_request(
        &self,
        tx: &mut Tx,
        from: AccountId,
        to: AccountId,
    ) -> Result<Option<Follow>> {
        let Some(request) = follows::get(&mut *tx, Kind::Request, from, to).await? else {
            return Ok(None);
        };
        follows::delete(&mut *tx, Kind::Request, from, to).await?;
        notifications::delete_for_activity(&mut *tx, "follow_request", request.id.0).await?;
        Ok(Some(request))
    }

    /// `GET /api/v1/accounts/:id/followers` and `/following`, paged by follow id.
    /// Hidden collections are empty to everyone but the owner.
    pub async fn follow_list(
        &self,
        viewer: Option<AccountId>,
        account: AccountId,
        direction: Direction,
        bounds: &PageBounds,
    ) -> Result<Page<Account>> {
        let owner = self.account(account).await?;
        if owner.suspended_at.is_some() || (owner.hide_collections && viewer != Some(account)) {
            return Ok(Page::from_items(Vec::new(), |_: &Account| 0));
        }
        let rows = follows::list(self.db(), account, direction, bounds).await?;
        let page = Page::from_items(rows, |r| r.follow_id);
        Ok(page.map(|r| r.account))
    }

    /// Accounts for `@mentions`: local by username, remote when already known.
    pub(crate) async fn mention_targets(
        &self,
        mentions: &[text::MentionRef],
    ) -> Result<Vec<(Account, MentionTarget)>> {
        let mut out = Vec::new();
        for m in mentions {
            let Some(account) =
                accounts::find_by_username(self.db(), &m.username, m.domain.as_deref()).await?
            else {
                continue;
            };
            if account.suspended_at.is_some() {
                continue;
            }
            let url = self.instance().url_of(&account);
            let target = MentionTarget {
                username: account.username.clone(),
                domain: account.domain.clone(),
                url,
            };
            out.push((account, target));
        }
        Ok(out)
    }
}
