//! Who an address is (metrics.md §2 and §8 Inputs/Domains): an org user, a contact of one
//! account, or nobody the enrichment counts for.
//!
//! `acct(a)` follows §2 in order: an org user is never an account contact; a contact listed under
//! two or more accounts is ambiguous and belongs to none; domain matching (only when switched on)
//! needs the exact domain in exactly one account's list, not an org domain and not a public mail
//! provider. Addresses reach this module already normalized (lowercase).

use std::collections::{HashMap, HashSet};

use crate::address;
use crate::model::{Account, Contact};

/// The public mail providers of §2. An entry ending in `.*` matches that prefix followed by
/// anything (`yahoo.*` matches `yahoo.co.uk`).
pub const PUBLIC_PROVIDERS: [&str; 18] = [
    "gmail.com",
    "googlemail.com",
    "yahoo.*",
    "hotmail.*",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "gmx.*",
    "web.de",
    "proton.me",
    "protonmail.com",
    "yandex.*",
    "mail.ru",
    "qq.com",
    "163.com",
];

/// The sender local parts that mark automated mail (§3, §8 Automated), compared
/// case-insensitively against the whole local part.
pub const AUTOMATED_LOCAL_PARTS: [&str; 6] =
    ["noreply", "no-reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster"];

/// What an address is to the enrichment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// An org user: `org(a)`.
    Org,
    /// A participant of the account with this index into [`Identity::account_ids`]: `acct(a)`.
    Account(u32),
    /// Neither: an outside party, an ambiguous contact, or an unmatched domain.
    Outside,
}

/// A marker in the contact and domain maps for a key listed under two or more accounts.
const SHARED: u32 = u32::MAX;

/// The resolved org users and customer data, answering `org(a)` and `acct(a)`.
#[derive(Clone, Debug)]
pub struct Identity {
    users: HashSet<Box<str>>,
    org_domains: HashSet<Box<str>>,
    account_ids: Vec<String>,
    /// Contact address → account index, or `SHARED` when ambiguous.
    contacts: HashMap<Box<str>, u32>,
    /// Account domain → account index, or `SHARED`; empty unless domain matching is on.
    domains: HashMap<Box<str>, u32>,
    public_exact: HashSet<Box<str>>,
    public_prefixes: Vec<Box<str>>,
    ambiguous_contacts: u64,
}

impl Identity {
    /// Builds the identity rules from normalized org user addresses, accounts and contacts.
    ///
    /// Account ids are those of `accounts` ∪ `contacts` (empty ids ignored), sorted by code point;
    /// `extra_public_domains` extends [`PUBLIC_PROVIDERS`] (same `.*` pattern syntax).
    pub fn new<'a>(
        user_emails: impl IntoIterator<Item = &'a str>,
        accounts: &[Account],
        contacts: &[Contact],
        match_domains: bool,
        extra_public_domains: &[String],
    ) -> Identity {
        let users: HashSet<Box<str>> =
            user_emails.into_iter().filter(|email| !email.is_empty()).map(Box::from).collect();
        let org_domains = users.iter().map(|email| Box::from(address::domain(email))).collect();

        let mut account_ids: Vec<String> = accounts
            .iter()
            .map(|account| account.account_id.as_str())
            // A contact row without an address is ignored entirely (§8 Inputs), its id too.
            .chain(
                contacts
                    .iter()
                    .filter(|contact| !contact.email.is_empty())
                    .map(|contact| contact.account_id.as_str()),
            )
            .filter(|account_id| !account_id.is_empty())
            .map(str::to_string)
            .collect();
        account_ids.sort_unstable();
        account_ids.dedup();
        let index_of = |account_id: &str| -> Option<u32> {
            account_ids
                .binary_search_by(|probe| probe.as_str().cmp(account_id))
                .ok()
                .map(|index| index as u32)
        };

        let mut contact_map: HashMap<Box<str>, u32> = HashMap::new();
        for contact in contacts {
            let Some(account) = index_of(&contact.account_id) else { continue };
            if contact.email.is_empty() {
                continue;
            }
            insert_owner(&mut contact_map, &contact.email, account);
        }
        // Org users are never contacts, so they are neither looked up nor counted as ambiguous.
        contact_map.retain(|email, _| !users.contains(email));
        let ambiguous_contacts =
            contact_map.values().filter(|account| **account == SHARED).count() as u64;

        let mut domains: HashMap<Box<str>, u32> = HashMap::new();
        if match_domains {
            for account in accounts {
                let Some(index) = index_of(&account.account_id) else { continue };
                for domain in &account.domains {
                    let domain = normalize_domain(domain);
                    if domain.is_empty() {
                        continue;
                    }
                    insert_owner(&mut domains, &domain, index);
                }
            }
        }

        let mut public_exact = HashSet::new();
        let mut public_prefixes = Vec::new();
        let extra = extra_public_domains.iter().map(|domain| normalize_domain(domain));
        for pattern in PUBLIC_PROVIDERS.iter().map(|domain| domain.to_string()).chain(extra) {
            if pattern.is_empty() {
                continue;
            }
            match pattern.strip_suffix('*') {
                Some(prefix) => public_prefixes.push(Box::from(prefix)),
                None => {
                    public_exact.insert(Box::from(pattern.as_str()));
                }
            }
        }

        Identity {
            users,
            org_domains,
            account_ids,
            contacts: contact_map,
            domains,
            public_exact,
            public_prefixes,
            ambiguous_contacts,
        }
    }

    /// Every account id of the customer data (accounts ∪ contacts), sorted by code point; an
    /// [`AddressClass::Account`] index points into it.
    pub fn account_ids(&self) -> &[String] {
        &self.account_ids
    }

    /// `accounts_total`: distinct account ids of the accounts and contacts.
    pub fn accounts_total(&self) -> u64 {
        self.account_ids.len() as u64
    }

    /// `ambiguous_contact`: distinct contact addresses listed under two or more accounts, org
    /// users excluded.
    pub fn ambiguous_contacts(&self) -> u64 {
        self.ambiguous_contacts
    }

    /// True when `address` is an org user.
    pub fn is_org(&self, address: &str) -> bool {
        self.users.contains(address)
    }

    /// `org(a)` and `acct(a)` for a normalized address.
    pub fn classify(&self, address: &str) -> AddressClass {
        if self.users.contains(address) {
            return AddressClass::Org;
        }
        if let Some(account) = self.contacts.get(address) {
            // A listed contact never falls through to domain matching, even when ambiguous.
            return if *account == SHARED {
                AddressClass::Outside
            } else {
                AddressClass::Account(*account)
            };
        }
        if self.domains.is_empty() {
            return AddressClass::Outside;
        }
        let domain = address::domain(address);
        match self.domains.get(domain) {
            Some(account)
                if *account != SHARED
                    && !self.org_domains.contains(domain)
                    && !self.is_public_provider(domain) =>
            {
                AddressClass::Account(*account)
            }
            _ => AddressClass::Outside,
        }
    }

    /// True when `domain` is a public mail provider of §2 or of the configured extra list.
    pub fn is_public_provider(&self, domain: &str) -> bool {
        self.public_exact.contains(domain)
            || self.public_prefixes.iter().any(|prefix| domain.starts_with(&**prefix))
    }
}

/// Records `account` as the owner of `key`, or `SHARED` when another account owns it already.
fn insert_owner(owners: &mut HashMap<Box<str>, u32>, key: &str, account: u32) {
    owners
        .entry(Box::from(key))
        .and_modify(|known| {
            if *known != account {
                *known = SHARED;
            }
        })
        .or_insert(account);
}

/// True when the whole local part of `sender` is one of [`AUTOMATED_LOCAL_PARTS`],
/// case-insensitively (`noreply.team@` is not automated).
pub fn is_automated_sender(sender: &str) -> bool {
    let local_part = sender.rfind('@').and_then(|at| sender.get(..at)).unwrap_or(sender);
    AUTOMATED_LOCAL_PARTS.iter().any(|word| local_part.eq_ignore_ascii_case(word))
}

/// Lowercases and trims a configured domain and removes a leading `@` and a trailing `.`, as
/// §8 does for domain cells (callers normally pass normalized domains already).
fn normalize_domain(domain: &str) -> String {
    let domain = domain.trim();
    let domain = domain.strip_prefix('@').unwrap_or(domain);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    domain.to_lowercase()
}

#[cfg(test)]
mod tests;
