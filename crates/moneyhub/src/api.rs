//! REST calls. Each gets a client-credentials token with the scopes Moneyhub's own client uses
//! (cached per scope and user), and GETs are retried within bounds on 429, 5xx and timeouts.
//! `POST /sync` is never retried: the caller decides, knowing the rate limit.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::client::Moneyhub;
use crate::error::Error;
use crate::models::{
    Account, Balance, Connection, Envelope, Institution, RegularTransaction, SyncRun, SyncStarted,
    Transaction, User,
};
use crate::secret::Secret;

/// Which transactions to page through.
#[derive(Debug, Clone, Default)]
pub struct TransactionQuery {
    pub account_ids: Vec<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// Only transactions added or changed from this day on (`startDateModified`): what a
    /// refresh needs once the history is in.
    pub start_date_modified: Option<NaiveDate>,
    /// Page size, at most 1000.
    pub page_size: Option<u32>,
}

/// Pages of transactions: memory is bounded by one page, whatever the history.
#[derive(Debug)]
pub struct TransactionPages<'a> {
    client: &'a Moneyhub,
    user_id: String,
    query: TransactionQuery,
    offset: u64,
    done: bool,
    /// The first transaction of the last page, to stop at a server that ignores `offset`.
    last_first: Option<String>,
}

impl TransactionPages<'_> {
    /// The next page, or `None` when there are no more.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Transaction>>, Error> {
        if self.done {
            return Ok(None);
        }
        let limit = self.query.page_size.unwrap_or(1000).clamp(1, 1000);
        let mut query = vec![
            ("limit", limit.to_string()),
            ("offset", self.offset.to_string()),
        ];
        if !self.query.account_ids.is_empty() {
            query.push(("accountIds", self.query.account_ids.join(",")));
        }
        if let Some(start) = self.query.start_date {
            query.push(("startDate", start.format("%Y-%m-%d").to_string()));
        }
        if let Some(end) = self.query.end_date {
            query.push(("endDate", end.format("%Y-%m-%d").to_string()));
        }
        if let Some(modified) = self.query.start_date_modified {
            query.push(("startDateModified", modified.format("%Y-%m-%d").to_string()));
        }
        let token = self
            .client
            .client_token("transactions:read:all", Some(&self.user_id))
            .await?;
        let url = format!("{}/transactions", self.client.config.api_base());
        let page: Envelope<Vec<Transaction>> = self
            .client
            .get_json(&url, &query, &token, "transactions")
            .await?;
        // A short page is the last. A full one may or may not carry `links.next` (the docs show
        // it without promising it), so paging goes on by count and never cuts history at a page;
        // a page that starts like the last one (a server ignoring `offset`) ends it instead of
        // asking for ever.
        let first = page.data.first().map(|t| t.id.clone());
        if first.is_some() && first == self.last_first {
            self.done = true;
            return Ok(None);
        }
        self.last_first = first;
        self.offset += page.data.len() as u64;
        self.done = page.data.len() < limit as usize;
        Ok((!page.data.is_empty()).then_some(page.data))
    }
}

/// The syncs routes' scope: the Node client's, then the API reference's.
const SYNCS_SCOPES: [&str; 2] = ["connection:read", "user:read"];

impl Moneyhub {
    fn identity(&self, path: &str) -> String {
        format!("{}{path}", self.config.identity_base())
    }

    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base())
    }

    pub async fn register_user(&self, client_user_id: Option<&str>) -> Result<User, Error> {
        let token = self.client_token("user:create", None).await?;
        let body = self
            .send(
                self.http
                    .post(self.identity("/users"))
                    .bearer_auth(token.expose())
                    .json(&json!({ "clientUserId": client_user_id })),
                "user",
            )
            .await?;
        decode(&body, "user")
    }

    /// Calls an identity route whose scope Moneyhub's Node client and its API reference name
    /// differently (`moneyhub-api.md` §4.2): with the Node client's first, and when the token is
    /// refused for it (a client not registered for it) or the route answers 403, once with the
    /// reference's. Right under either reading, and one request under the Node client's.
    async fn with_disputed_scope<T, F, Fut>(&self, scopes: [&str; 2], call: F) -> Result<T, Error>
    where
        F: Fn(Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let first = match self.client_token(scopes[0], None).await {
            Ok(token) => call(token).await,
            Err(err) => Err(err),
        };
        match first {
            Err(Error::Http { status: 403, .. }) => {
                call(self.client_token(scopes[1], None).await?).await
            }
            Err(Error::OAuth { ref error, .. }) if error == "invalid_scope" => {
                call(self.client_token(scopes[1], None).await?).await
            }
            other => other,
        }
    }

    pub async fn get_user(&self, user_id: &str) -> Result<User, Error> {
        let token = self.client_token("user:read", None).await?;
        self.get_json(
            &self.identity(&format!("/users/{}", segment(user_id)?)),
            &[],
            &token,
            "user",
        )
        .await
    }

    pub async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<User>, Error> {
        let token = self.client_token("user:read", None).await?;
        let page: Envelope<Vec<User>> = self
            .get_json(
                &self.identity("/users"),
                &[("limit", limit.to_string()), ("offset", offset.to_string())],
                &token,
                "users",
            )
            .await?;
        Ok(page.data)
    }

    /// Deletes the user, their connections and data; revokes consent.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), Error> {
        let url = self.identity(&format!("/users/{}", segment(user_id)?));
        self.with_disputed_scope(["user:delete", "user:read user:delete"], |token| {
            self.send(
                self.http.delete(&url).bearer_auth(token.expose()),
                "delete user",
            )
        })
        .await?;
        self.forget_tokens(Some(user_id)).await;
        Ok(())
    }

    pub async fn connections(&self, user_id: &str) -> Result<Vec<Connection>, Error> {
        let token = self.client_token("connection:read", None).await?;
        let page: Envelope<Vec<Connection>> = self
            .get_json(
                &self.identity(&format!("/users/{}/connections", segment(user_id)?)),
                &[],
                &token,
                "connections",
            )
            .await?;
        Ok(page.data)
    }

    /// Moves a connection's consent end (at most 90 days ahead), for clients that run their own
    /// consent screen.
    pub async fn update_connection_expiry(
        &self,
        user_id: &str,
        connection_id: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Error> {
        let body =
            json!({ "expiresAt": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) });
        let url = self.identity(&format!(
            "/users/{}/connections/{}",
            segment(user_id)?,
            segment(connection_id)?
        ));
        self.with_disputed_scope(["connection:update", "user:update"], |token| {
            self.send(
                self.http
                    .patch(&url)
                    .bearer_auth(token.expose())
                    .json(&body),
                "update connection",
            )
        })
        .await?;
        Ok(())
    }

    /// Deletes a connection: Moneyhub revokes the consent and removes its data.
    pub async fn delete_connection(&self, user_id: &str, connection_id: &str) -> Result<(), Error> {
        let url = self.identity(&format!(
            "/users/{}/connection/{}",
            segment(user_id)?,
            segment(connection_id)?
        ));
        self.with_disputed_scope(["connection:delete", "user:delete"], |token| {
            self.send(
                self.http.delete(&url).bearer_auth(token.expose()),
                "delete connection",
            )
        })
        .await?;
        Ok(())
    }

    pub async fn connection_syncs(
        &self,
        user_id: &str,
        connection_id: &str,
    ) -> Result<Vec<SyncRun>, Error> {
        let url = &self.identity(&format!(
            "/users/{}/connections/{}/syncs",
            segment(user_id)?,
            segment(connection_id)?
        ));
        let page: Envelope<Vec<SyncRun>> = self
            .with_disputed_scope(SYNCS_SCOPES, |token| async move {
                self.get_json(url, &[], &token, "syncs").await
            })
            .await?;
        Ok(page.data)
    }

    /// `GET /users/{userId}/syncs/{syncId}`: one sync run; finished once it has a
    /// `fetchStatus`.
    pub async fn sync_run(&self, user_id: &str, sync_id: &str) -> Result<SyncRun, Error> {
        let url = &self.identity(&format!(
            "/users/{}/syncs/{}",
            segment(user_id)?,
            segment(sync_id)?
        ));
        let run: Envelope<SyncRun> = self
            .with_disputed_scope(SYNCS_SCOPES, |token| async move {
                self.get_json(url, &[], &token, "sync run").await
            })
            .await?;
        Ok(run.data)
    }

    /// `POST /sync/{connectionId}`. Pass the user's IP address when the user asked for it.
    pub async fn sync(
        &self,
        user_id: &str,
        connection_id: &str,
        customer_ip: Option<std::net::IpAddr>,
    ) -> Result<SyncStarted, Error> {
        let token = self
            .client_token("accounts:read accounts:write:all", Some(user_id))
            .await?;
        let mut body = serde_json::Map::new();
        if let Some(ip) = customer_ip {
            body.insert("customerIpAddress".into(), Value::String(ip.to_string()));
        }
        let answer = self
            .send(
                self.http
                    .post(self.api(&format!("/sync/{}", segment(connection_id)?)))
                    .bearer_auth(token.expose())
                    .json(&body),
                "sync",
            )
            .await?;
        let envelope: Envelope<SyncStarted> = decode(&answer, "sync")?;
        Ok(envelope.data)
    }

    pub async fn accounts(
        &self,
        user_id: &str,
        connection_id: Option<&str>,
    ) -> Result<Vec<Account>, Error> {
        let token = self.client_token("accounts:read", Some(user_id)).await?;
        let query: Vec<(&str, String)> = connection_id
            .map(|c| vec![("connectionId", c.to_string())])
            .unwrap_or_default();
        let page: Envelope<Vec<Account>> = self
            .get_json(&self.api("/accounts"), &query, &token, "accounts")
            .await?;
        Ok(page.data)
    }

    /// Every account of the user, a page of 1000 at a time: one request where asking per
    /// connection would make one each.
    pub async fn all_accounts(&self, user_id: &str) -> Result<Vec<Account>, Error> {
        const PAGE: usize = 1000;
        let token = self.client_token("accounts:read", Some(user_id)).await?;
        let mut accounts = Vec::new();
        loop {
            let query = [
                ("limit", PAGE.to_string()),
                ("offset", accounts.len().to_string()),
            ];
            let page: Envelope<Vec<Account>> = self
                .get_json(&self.api("/accounts"), &query, &token, "accounts")
                .await?;
            // A short page ends it. A full page that repeats one already read (a server that
            // ignores `offset`) ends it too, so it cannot keep us asking.
            let repeated = page
                .data
                .first()
                .is_some_and(|first| accounts.iter().any(|seen: &Account| seen.id == first.id));
            if repeated {
                return Ok(accounts);
            }
            let full = page.data.len() == PAGE;
            accounts.extend(page.data);
            if !full {
                return Ok(accounts);
            }
        }
    }

    pub async fn account(&self, user_id: &str, account_id: &str) -> Result<Account, Error> {
        let token = self.client_token("accounts:read", Some(user_id)).await?;
        let page: Envelope<Account> = self
            .get_json(
                &self.api(&format!("/accounts/{}", segment(account_id)?)),
                &[],
                &token,
                "account",
            )
            .await?;
        Ok(page.data)
    }

    pub async fn balances(&self, user_id: &str, account_id: &str) -> Result<Vec<Balance>, Error> {
        let token = self.client_token("accounts:read", Some(user_id)).await?;
        let page: Envelope<Vec<Balance>> = self
            .get_json(
                &self.api(&format!("/accounts/{}/balances", segment(account_id)?)),
                &[],
                &token,
                "balances",
            )
            .await?;
        Ok(page.data)
    }

    /// Pages through a user's transactions; see [`TransactionPages`].
    pub fn transactions(&self, user_id: &str, query: TransactionQuery) -> TransactionPages<'_> {
        TransactionPages {
            client: self,
            user_id: user_id.to_string(),
            query,
            offset: 0,
            done: false,
            last_first: None,
        }
    }

    pub async fn regular_transactions(
        &self,
        user_id: &str,
        account_id: Option<&str>,
    ) -> Result<Vec<RegularTransaction>, Error> {
        let token = self
            .client_token(
                "accounts:read transactions:read:all regular_transactions:read",
                Some(user_id),
            )
            .await?;
        let query: Vec<(&str, String)> = account_id
            .map(|a| vec![("accountId", a.to_string())])
            .unwrap_or_default();
        let page: Envelope<Vec<RegularTransaction>> = self
            .get_json(
                &self.api("/regular-transactions"),
                &query,
                &token,
                "regular transactions",
            )
            .await?;
        Ok(page.data)
    }

    /// A well-known list: `all`, `api`, `legacy`, `test`, `beta`, `payments`, `zoopla`, …
    pub async fn institutions(&self, list: &str) -> Result<Vec<Institution>, Error> {
        let url = self.identity(&format!("/oidc/.well-known/{list}-connections"));
        let body = self.send(self.http.get(url), "institutions").await?;
        decode(&body, "institutions")
    }

    /// A bank's icon (SVG), by `bankRef`.
    pub async fn bank_icon(&self, bank_ref: &str) -> Result<Vec<u8>, Error> {
        self.send(
            self.http
                .get(self.identity(&format!("/bank-icons/{}", segment(bank_ref)?))),
            "bank icon",
        )
        .await
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|err| Error::Decode {
        what,
        reason: err.to_string(),
        excerpt: crate::error::withheld(body),
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `:`/`@` (which
/// Moneyhub's connection ids contain and a path segment allows as they are).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'@');

/// An id as exactly one URL path segment, so an id from outside (`../../<user>/connection/x`,
/// `a/b`, `a?b`) cannot reach another route. Empty and dot-only ids are refused: servers may
/// undo the encoding of dots.
pub fn segment(id: &str) -> Result<String, Error> {
    if id.is_empty() || id.chars().all(|c| c == '.') {
        return Err(Error::InvalidId(id.to_string()));
    }
    Ok(percent_encoding::utf8_percent_encode(id, SEGMENT).to_string())
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn an_id_stays_one_path_segment() {
        let connection = "1ffe704d39629a929c8e293880fb449a:0b6a1d52-5c1f-4b8e-9a0e-2c3f4d5e6f70";
        assert_eq!(segment(connection).expect("id"), connection);
        assert_eq!(
            segment("../../u2/connection/c2").expect("encoded"),
            "..%2F..%2Fu2%2Fconnection%2Fc2"
        );
        assert_eq!(segment("a?b#c d").expect("encoded"), "a%3Fb%23c%20d");
        assert!(segment("..").is_err());
        assert!(segment(".").is_err());
        assert!(segment("").is_err());
    }
}
