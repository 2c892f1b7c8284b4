//! The bank journey behind `/oidc/interaction/{id}`: which step a journey is at, rendering it,
//! taking each step's form, and finishing: applying reauth/reconsent/refresh and issuing the
//! authorization code.

use std::sync::Arc;

use axum::extract::{Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::reply::{Reply, connection_gone, error_params, respond, see_other};
use crate::catalogue::Institution;
use crate::clock::lock;
use crate::error::OAuthError;
use crate::identity::pages::{self, Page};
use crate::keys;
use crate::state::{
    AuthCode, AuthRequest, CodeOutcome, FlowKind, Interaction, ResponseType, Shared,
};
use crate::world::{MAX_CONSENT, Selection};

pub const CODE_LIFETIME: Duration = Duration::minutes(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Chooser,
    Login,
    Accounts,
    SecurityQuestion,
    Consent,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Chooser => "chooser",
            Step::Login => "login",
            Step::Accounts => "accounts",
            Step::SecurityQuestion => "security",
            Step::Consent => "consent",
        }
    }
}

impl Interaction {
    pub(super) fn new(request: AuthRequest, now: DateTime<Utc>) -> Self {
        let bank = match &request.flow {
            FlowKind::New { bank, .. } => bank.clone(),
            FlowKind::Reauth { connection_id }
            | FlowKind::Reconsent { connection_id }
            | FlowKind::Refresh { connection_id } => {
                connection_id.split(':').next().map(str::to_string)
            }
        };
        Self {
            request,
            created: now,
            bank,
            logged_in: false,
            selection: None,
            answered_security_question: false,
        }
    }

    fn step(&self) -> Step {
        match &self.request.flow {
            FlowKind::New { .. } if self.bank.is_none() => Step::Chooser,
            FlowKind::New { .. } | FlowKind::Reauth { .. } if !self.logged_in => Step::Login,
            FlowKind::New { .. } | FlowKind::Reauth { .. } if self.selection.is_none() => {
                Step::Accounts
            }
            FlowKind::Refresh { .. } if !self.answered_security_question => Step::SecurityQuestion,
            _ => Step::Consent,
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    q: Option<String>,
}

pub async fn interaction_page(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let Some(interaction) = lock(&shared.oidc).interactions.get(&id).cloned() else {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            "This sign-in has expired. Go back to the app and start again.",
        );
    };
    render_step(&shared, &id, &interaction, query.q.as_deref(), None)
}

fn render_step(
    shared: &Shared,
    id: &str,
    interaction: &Interaction,
    search: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let world = shared.world();
    let institution = interaction
        .bank
        .as_deref()
        .and_then(|bank| world.catalogue.get(bank))
        .cloned();
    let action = format!("/oidc/interaction/{id}");
    let step = interaction.step();
    let page = match step {
        Step::Chooser => {
            let chooser = match &interaction.request.flow {
                FlowKind::New { chooser, .. } => chooser.clone().unwrap_or_else(|| "all".into()),
                _ => "all".into(),
            };
            let banks = world.catalogue.chooser(&chooser).unwrap_or_default();
            let needle = search.unwrap_or_default().trim().to_lowercase();
            let shown: Vec<&Institution> = banks
                .into_iter()
                .filter(|bank| needle.is_empty() || bank.name.to_lowercase().contains(&needle))
                .collect();
            Page::Chooser {
                banks: shown,
                search: search.unwrap_or_default(),
            }
        }
        Step::Login => Page::Login {
            bank: institution.as_ref(),
        },
        Step::Accounts => {
            let current: Vec<usize> = match &interaction.request.flow {
                FlowKind::Reauth { connection_id } => world
                    .connections
                    .get(connection_id)
                    .map(|c| {
                        c.account_ids
                            .iter()
                            .filter_map(|a| world.accounts.get(a))
                            .filter_map(|a| {
                                institution
                                    .as_ref()?
                                    .account_types
                                    .iter()
                                    .position(|t| *t == a.account_type)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => institution
                    .as_ref()
                    .map(|i| (0..i.account_types.len()).collect())
                    .unwrap_or_default(),
            };
            Page::Accounts {
                bank: institution.as_ref(),
                checked: current,
            }
        }
        Step::SecurityQuestion => Page::SecurityQuestion {
            bank: institution.as_ref(),
        },
        Step::Consent => {
            let client_name = interaction.request.client_id.clone();
            let (kind, until) = match &interaction.request.flow {
                FlowKind::Reconsent { .. } => (
                    "reconsent",
                    interaction
                        .request
                        .consent_until
                        .unwrap_or(shared.now() + MAX_CONSENT),
                ),
                FlowKind::Refresh { .. } => ("refresh", shared.now()),
                FlowKind::Reauth { .. } => ("reauth", shared.now() + MAX_CONSENT),
                FlowKind::New { .. } => (
                    "new",
                    interaction
                        .request
                        .consent_until
                        .unwrap_or(shared.now() + MAX_CONSENT),
                ),
            };
            Page::Consent {
                bank: institution.as_ref(),
                client: client_name,
                kind,
                until,
            }
        }
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (
        status,
        Html(pages::render(&page, &action, step.name(), problem)),
    )
        .into_response()
}

/// `POST /oidc/interaction/{id}`: one step of the journey. Every page's primary button submits
/// the form as prefilled; "deny" ends the journey with `access_denied`.
pub async fn interaction_submit(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    let now = shared.now();
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let Some(mut interaction) = lock(&shared.oidc).interactions.get(&id).cloned() else {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            "This sign-in has expired. Go back to the app and start again.",
        );
    };
    let reply = Reply {
        redirect_uri: interaction.request.redirect_uri.clone(),
        mode: interaction.request.response_mode,
        state: interaction.request.state.clone(),
    };
    if field("action").as_deref() == Some("deny") {
        lock(&shared.oidc).interactions.remove(&id);
        let err = OAuthError::new("access_denied", "The user cancelled at the bank");
        return respond(&shared, &reply, error_params(&err, &shared.issuer, &reply));
    }
    let step = interaction.step();
    if field("step").as_deref() != Some(step.name()) {
        // A stale form (back button, double submit): show the current step again.
        return see_other(&format!("/oidc/interaction/{id}"));
    }
    match step {
        Step::Chooser => {
            let bank = field("bank").unwrap_or_default();
            let offered = match &interaction.request.flow {
                FlowKind::New {
                    chooser: Some(list),
                    ..
                } => list.clone(),
                _ => "all".into(),
            };
            let known = shared
                .world()
                .catalogue
                .chooser(&offered)
                .is_some_and(|banks| banks.iter().any(|b| b.id == bank));
            if !known {
                return render_step(
                    &shared,
                    &id,
                    &interaction,
                    None,
                    Some("Choose a bank to continue."),
                );
            }
            interaction.bank = Some(bank);
        }
        Step::Login => {
            let blocked = interaction
                .bank
                .as_deref()
                .and_then(|bank| {
                    shared
                        .world()
                        .catalogue
                        .get(bank)
                        .map(|i| crate::identity::journey_blocked(i.auth))
                })
                .unwrap_or(false);
            if blocked {
                lock(&shared.oidc).interactions.remove(&id);
                let err = OAuthError::new(
                    "temporarily_unavailable",
                    "The bank is not available right now; try again later",
                );
                return respond(&shared, &reply, error_params(&err, &shared.issuer, &reply));
            }
            if field("username").unwrap_or_default().trim().is_empty()
                || field("password").unwrap_or_default().is_empty()
            {
                return render_step(
                    &shared,
                    &id,
                    &interaction,
                    None,
                    Some("Enter your user name and password."),
                );
            }
            interaction.logged_in = true;
        }
        Step::Accounts => {
            let count = interaction
                .bank
                .as_deref()
                .and_then(|b| {
                    shared
                        .world()
                        .catalogue
                        .get(b)
                        .map(|i| i.account_types.len())
                })
                .unwrap_or(0);
            let mut chosen: Vec<usize> = fields
                .iter()
                .filter(|(k, _)| k == "account")
                .filter_map(|(_, v)| v.parse().ok())
                .filter(|i| *i < count)
                .collect();
            chosen.sort_unstable();
            chosen.dedup();
            if chosen.is_empty() {
                return render_step(
                    &shared,
                    &id,
                    &interaction,
                    None,
                    Some("Choose at least one account to share."),
                );
            }
            interaction.selection = Some(chosen);
        }
        Step::SecurityQuestion => {
            if field("answer").unwrap_or_default().trim().is_empty() {
                return render_step(
                    &shared,
                    &id,
                    &interaction,
                    None,
                    Some("Answer the security question to continue."),
                );
            }
            interaction.answered_security_question = true;
        }
        Step::Consent => {
            // Removing it is the claim: a second "Allow" (a double click) finds nothing to finish.
            if lock(&shared.oidc).interactions.remove(&id).is_none() {
                return pages::error_page(
                    StatusCode::CONFLICT,
                    "This sign-in was already completed. Go back to the app.",
                );
            }
            return finish(&shared, &interaction, &reply, now);
        }
    }
    lock(&shared.oidc)
        .interactions
        .insert(id.clone(), interaction);
    see_other(&format!("/oidc/interaction/{id}"))
}

/// The user agreed: apply reauth/reconsent/refresh now (a new connection is created when the
/// code is exchanged, as Moneyhub does), issue the code and send the user back.
fn finish(
    shared: &Shared,
    interaction: &Interaction,
    reply: &Reply,
    now: DateTime<Utc>,
) -> Response {
    let request = &interaction.request;
    let mut world = shared.world();
    let user_id = match &request.sub {
        Some(sub) => sub.clone(),
        None => world.create_user(&request.client_id, None, now).id,
    };
    let selection = Selection {
        accounts: interaction.selection.clone().unwrap_or_default(),
    };
    let outcome = match &request.flow {
        FlowKind::New { .. } => CodeOutcome::NewConnection {
            bank_id: interaction.bank.clone().unwrap_or_default(),
            selection,
            consent_until: request.consent_until,
        },
        FlowKind::Reauth { connection_id } => match world.reauth(connection_id, &selection, now) {
            Some(new_id) => CodeOutcome::Connection(new_id),
            None => return connection_gone(shared, reply),
        },
        FlowKind::Reconsent { connection_id } => {
            match world.reconsent(connection_id, request.consent_until, now) {
                Some(()) => CodeOutcome::Connection(connection_id.clone()),
                None => return connection_gone(shared, reply),
            }
        }
        FlowKind::Refresh { connection_id } => match world.refresh(connection_id, now) {
            Some(()) => CodeOutcome::Connection(connection_id.clone()),
            None => return connection_gone(shared, reply),
        },
    };
    let code = crate::keys::secret_token(32);
    let iss_beside_id_token = world.readings.iss_beside_id_token;
    drop(world);
    let mut params = vec![("code".to_string(), code.clone())];
    if request.response_type == ResponseType::CodeIdToken {
        let mut claims = json!({
            "iss": shared.issuer,
            "sub": user_id,
            "aud": request.client_id,
            "iat": now.timestamp(),
            "exp": (now + Duration::hours(1)).timestamp(),
            "auth_time": now.timestamp(),
            "nonce": request.nonce,
            "c_hash": keys::left_half_hash(&code),
        });
        if let Some(state) = &request.state {
            claims["s_hash"] = json!(keys::left_half_hash(state));
        }
        params.push(("id_token".into(), shared.sign(&claims)));
    }
    if let Some(state) = &request.state {
        params.push(("state".into(), state.clone()));
    }
    if request.response_type != ResponseType::CodeIdToken || iss_beside_id_token {
        params.push(("iss".into(), shared.issuer.clone()));
    }
    lock(&shared.oidc).codes.insert(
        code,
        AuthCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            user_id,
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            scope: request.scope.clone(),
            offline_access: request.offline_access,
            auth_time: now,
            expires: now + CODE_LIFETIME,
            outcome,
            used: false,
        },
    );
    respond(shared, reply, params)
}
