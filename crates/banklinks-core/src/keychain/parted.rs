//! One keychain item is not big enough everywhere: Windows' Credential Manager keeps a password
//! as UTF-16 in at most 2,560 bytes (1,280 units), and an RSA-2048 private key in PEM is about
//! 1,700 characters. A secret longer than [`PART_UNITS`] is kept in parts: the item under its
//! own account holds a header and the first part, and `account#2`, `account#3`… the rest. A
//! short secret is one plain item, as before, so entries written earlier still read.

use super::{KeychainError, SecretStore};
use crate::sensitive::Sensitive;

/// UTF-16 units per item, with room under Windows' 1,280 for the header.
pub const PART_UNITS: usize = 1_000;

/// Starts the first item of a parted secret; the count of parts follows, then a newline.
const HEADER: &str = "banklinks-parts:";

/// A parted secret has at most this many parts (a megabyte): a header claiming more is not one
/// Banklinks wrote.
const MOST_PARTS: usize = 1_000;

/// A [`SecretStore`] that keeps long secrets in parts in `inner`.
#[derive(Debug, Clone)]
pub struct Parted<S> {
    inner: S,
}

impl<S: SecretStore> Parted<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The store the parts go to.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn part_account(account: &str, index: usize) -> String {
        format!("{account}#{}", index + 1)
    }

    /// How many parts the item under `account` says the secret has (1 when it is plain).
    fn parts_of(first: &str, account: &str) -> Result<Option<(usize, usize)>, KeychainError> {
        let Some(rest) = first.strip_prefix(HEADER) else {
            return Ok(None);
        };
        let unreadable = || KeychainError::Unreadable {
            account: account.to_string(),
        };
        let (count, _) = rest.split_once('\n').ok_or_else(unreadable)?;
        let parts: usize = count.parse().map_err(|_| unreadable())?;
        if !(1..=MOST_PARTS).contains(&parts) {
            return Err(unreadable());
        }
        Ok(Some((parts, HEADER.len() + count.len() + 1)))
    }
}

/// `secret` cut into pieces of at most [`PART_UNITS`] UTF-16 units, never inside a character.
fn split(secret: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut units) = (0, 0);
    for (at, c) in secret.char_indices() {
        if units + c.len_utf16() > PART_UNITS {
            parts.push(&secret[start..at]);
            (start, units) = (at, 0);
        }
        units += c.len_utf16();
    }
    parts.push(&secret[start..]);
    parts
}

impl<S: SecretStore> SecretStore for Parted<S> {
    fn backend(&self) -> Result<String, KeychainError> {
        self.inner.backend()
    }

    fn put(&self, account: &str, secret: &Sensitive<String>) -> Result<(), KeychainError> {
        let value = secret.expose();
        let before = match self.inner.get(account)? {
            Some(old) => Self::parts_of(old.expose(), account)
                .ok()
                .flatten()
                .map_or(1, |(parts, _)| parts),
            None => 1,
        };
        let fits = value.encode_utf16().count() <= PART_UNITS && !value.starts_with(HEADER);
        let parts = if fits {
            self.inner.put(account, secret)?;
            1
        } else {
            let pieces = split(value);
            // The rest first: a reader never finds a header whose parts are not all there.
            for (index, piece) in pieces.iter().enumerate().skip(1) {
                self.inner.put(
                    &Self::part_account(account, index),
                    &Sensitive::new((*piece).to_string()),
                )?;
            }
            let first = format!("{HEADER}{}\n{}", pieces.len(), pieces[0]);
            self.inner.put(account, &Sensitive::new(first))?;
            pieces.len()
        };
        for index in parts.max(1)..before {
            self.inner.delete(&Self::part_account(account, index))?;
        }
        Ok(())
    }

    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>, KeychainError> {
        let Some(first) = self.inner.get(account)? else {
            return Ok(None);
        };
        let Some((parts, body)) = Self::parts_of(first.expose(), account)? else {
            return Ok(Some(first));
        };
        let mut whole = first.expose()[body..].to_string();
        for index in 1..parts {
            let part = self
                .inner
                .get(&Self::part_account(account, index))?
                .ok_or_else(|| KeychainError::Unreadable {
                    account: account.to_string(),
                })?;
            whole.push_str(part.expose());
        }
        Ok(Some(Sensitive::new(whole)))
    }

    fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        if let Some(first) = self.inner.get(account)?
            && let Ok(Some((parts, _))) = Self::parts_of(first.expose(), account)
        {
            for index in 1..parts {
                self.inner.delete(&Self::part_account(account, index))?;
            }
        }
        self.inner.delete(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keychain::MemoryKeychain;

    /// Windows' limit, enforced as the Credential Manager does.
    fn windows_sized() -> MemoryKeychain {
        MemoryKeychain {
            item_limit_utf16: Some(1_280),
            ..MemoryKeychain::default()
        }
    }

    fn private_key() -> String {
        let body: String = (0..1_620)
            .map(|i| char::from(b'A' + u8::try_from(i % 26).expect("small")))
            .collect();
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
    }

    #[test]
    fn a_private_key_too_big_for_one_windows_item_is_kept_in_parts_and_read_whole() {
        let key = Sensitive::new(private_key());
        assert!(
            windows_sized().put("env/private-key", &key).is_err(),
            "one item does not hold it"
        );
        let store = Parted::new(windows_sized());
        store.put("env/private-key", &key).expect("kept in parts");
        assert_eq!(
            store
                .get("env/private-key")
                .expect("read")
                .map(|s| s.expose().clone()),
            Some(key.expose().clone())
        );
        // Replaced by a short secret: no part of the old one stays behind.
        store
            .put("env/private-key", &Sensitive::new("short".into()))
            .expect("put");
        assert!(
            store
                .inner
                .get("env/private-key#2")
                .expect("read")
                .is_none()
        );
        assert_eq!(
            store
                .get("env/private-key")
                .expect("read")
                .map(|s| s.expose().clone()),
            Some("short".to_string())
        );
        store.put("env/private-key", &key).expect("kept in parts");
        assert!(store.delete("env/private-key").expect("deleted"));
        assert!(
            store
                .inner
                .get("env/private-key#2")
                .expect("read")
                .is_none()
        );
        assert!(store.get("env/private-key").expect("read").is_none());
    }

    #[test]
    fn wide_characters_are_never_cut_and_a_plain_value_that_looks_like_a_header_survives() {
        let store = Parted::new(windows_sized());
        let wide = "é😀".repeat(700);
        store.put("a", &Sensitive::new(wide.clone())).expect("put");
        assert_eq!(
            store.get("a").expect("get").map(|s| s.expose().clone()),
            Some(wide)
        );
        let tricky = format!("{HEADER}2\nnot parts");
        store
            .put("b", &Sensitive::new(tricky.clone()))
            .expect("put");
        assert_eq!(
            store.get("b").expect("get").map(|s| s.expose().clone()),
            Some(tricky)
        );
    }

    #[test]
    fn a_missing_part_or_a_forged_header_is_unreadable_not_a_wrong_secret() {
        let store = Parted::new(windows_sized());
        store.put("k", &Sensitive::new(private_key())).expect("put");
        store.inner.delete("k#2").expect("delete");
        assert!(matches!(
            store.get("k"),
            Err(KeychainError::Unreadable { .. })
        ));
        store
            .inner
            .put("f", &Sensitive::new(format!("{HEADER}999999999\nx")))
            .expect("put");
        assert!(matches!(
            store.get("f"),
            Err(KeychainError::Unreadable { .. })
        ));
    }
}
