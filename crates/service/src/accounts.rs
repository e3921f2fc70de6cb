//! Accounts: sign-up, profiles, lookups. Follows are in `follows`, operator
//! actions (approval, suspension, silence) in `moderation`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use ferrodon_config::RegistrationMode;
use ferrodon_model::{AccountId, Role, ScopeSet, UserId};
use ferrodon_storage::accounts::{self, Account, NewLocalAccount, ProfileImage, ProfileUpdate};
use ferrodon_storage::follows;
use ferrodon_storage::users::{self, NewUser, PostingDefaults};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::auth::{IssuedToken, hash_password};
use crate::text::{self, MentionTarget};
use crate::views::CredentialAccountView;
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
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &crate::federate::MakeKeys { account_id },
        )
        .await?;
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
        // Remote followers hear of the new profile (federation re-reads it).
        if ferrodon_storage::remote::has_remote_followers(&mut tx, account).await? {
            let job = crate::federate::Federate::UpdateAccount {
                account_id: account,
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        for (which, path) in images {
            self.set_profile_image(account, which, Some(&path)).await?;
        }
        self.credential_account(account).await
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
