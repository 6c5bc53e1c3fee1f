//! Org users from the directory: each line of `--users` names a user (an address or user
//! principal name), a group by its email address, or `group:<id or display name>`; groups are
//! expanded to their users through `transitiveMembers` (nested groups and distribution lists
//! included, as Graph expands them).
//!
//! The result holds each user once (by Entra object id, and by address), in order of first
//! appearance, with the address from `mail`, else `userPrincipalName`. Users with neither are
//! skipped and counted. The 2–2,500 rule is the caller's.

use std::collections::HashSet;
use std::fmt;

use rapport_core::model::OrgUser;

use crate::GraphError;
use crate::config::GraphConfig;
use crate::http::{
    ClientOptions, GraphClient, ItemsAndNext, Prefer, encode_path_segment, encode_query_value,
};
use crate::wire::{LenientStr, Page};

#[cfg(test)]
mod tests;

/// The user properties read.
pub const USER_SELECT: &str = "id,mail,userPrincipalName";
/// The group properties read.
pub const GROUP_SELECT: &str = "id,displayName,mail";
/// Members per page of `transitiveMembers` (the directory's maximum).
pub const MEMBER_PAGE_SIZE: u32 = 999;
/// The gate (cap and `Retry-After`) of requests that are about no one mailbox.
const DIRECTORY_GATE: &str = "";

/// What a line of the users list names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserLine {
    /// An address or user principal name (normalized): a user, or else a group with that mail.
    Address(String),
    /// `group:<id>` with a directory object id (a GUID).
    GroupId(String),
    /// `group:<display name>`.
    GroupName(String),
}

/// Reads one line: `group:` (any case) names a group by id or display name; anything else must
/// be an address (`Name <addr>` allowed). `None` when it is neither.
pub fn parse_line(line: &str) -> Option<UserLine> {
    let trimmed = line.trim();
    let is_group = trimmed.get(..6).is_some_and(|head| head.eq_ignore_ascii_case("group:"));
    if is_group {
        let rest = trimmed.get(6..).unwrap_or_default().trim();
        if rest.is_empty() {
            return None;
        }
        return Some(if is_guid(rest) {
            UserLine::GroupId(rest.to_ascii_lowercase())
        } else {
            UserLine::GroupName(rest.to_owned())
        });
    }
    rapport_core::address::normalize(trimmed).map(UserLine::Address)
}

/// True for a GUID in its 8-4-4-4-12 hexadecimal form.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}

/// An OData string literal: quoted, with quotes doubled.
fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// How one group line was expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupExpansion {
    /// The line as given.
    pub line: String,
    /// The group's object id.
    pub group_id: String,
    /// The group's display name.
    pub display_name: String,
    /// Users among its transitive members (with or without an address).
    pub members: usize,
    /// Of those, the ones not already named by an earlier line.
    pub added: usize,
}

/// The resolved org users.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryResolution {
    /// Each user once, in order of first appearance, with the Entra object id.
    pub users: Vec<OrgUser>,
    /// One entry per group line, in line order.
    pub groups: Vec<GroupExpansion>,
    /// Users skipped because they have neither a `mail` nor a usable `userPrincipalName`.
    pub skipped_without_address: u64,
}

/// A line that names no user or group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    /// The line as given.
    pub line: String,
    /// What is wrong.
    pub message: String,
}

/// The lines that name no user or group, all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnresolvedLines {
    /// One entry per line, in line order.
    pub problems: Vec<LineProblem>,
}

impl fmt::Display for UnresolvedLines {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(formatter, "users line {:?}: {}", problem.line, problem.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for UnresolvedLines {}

/// Why resolving the users list failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Some lines name no user or group.
    #[error(transparent)]
    Unresolved(#[from] UnresolvedLines),
    /// Graph could not be asked.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// [`GraphClient::resolve_org_users`] for blocking callers (the CLI's `--users` with a Graph
/// source).
pub fn resolve_org_users(
    config: GraphConfig,
    options: ClientOptions,
    lines: &[String],
) -> Result<DirectoryResolution, DirectoryError> {
    let client = GraphClient::new(config, options)?;
    crate::sync::block_on(client.resolve_org_users(lines))?
}

/// A directory user as read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Member {
    id: String,
    /// Normalized `mail`, else `userPrincipalName`.
    email: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireUser<'a> {
    #[serde(borrow)]
    id: LenientStr<'a>,
    #[serde(borrow)]
    mail: LenientStr<'a>,
    #[serde(rename = "userPrincipalName", borrow)]
    user_principal_name: LenientStr<'a>,
}

impl WireUser<'_> {
    fn member(&self) -> Option<Member> {
        let id = self.id.as_deref().filter(|id| !id.is_empty())?.to_owned();
        let email = self.mail.as_deref().and_then(rapport_core::address::normalize).or_else(|| {
            self.user_principal_name.as_deref().and_then(rapport_core::address::normalize)
        });
        Some(Member { id, email })
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireGroup<'a> {
    #[serde(borrow)]
    id: LenientStr<'a>,
    #[serde(rename = "displayName", borrow)]
    display_name: LenientStr<'a>,
}

fn read_user(body: &[u8]) -> Result<Option<Member>, serde_json::Error> {
    let user: WireUser<'_> = serde_json::from_slice(body)?;
    Ok(user.member())
}

fn read_members(body: &[u8]) -> Result<ItemsAndNext<Option<Member>>, serde_json::Error> {
    let page: Page<WireUser<'_>> = serde_json::from_slice(body)?;
    let members =
        page.value.0.into_iter().filter_map(|item| item.0).map(|user| user.member()).collect();
    Ok((members, page.next_link))
}

/// A page of groups: (id, display name), and the next link.
type GroupPage = ItemsAndNext<(String, String)>;

fn read_groups(body: &[u8]) -> Result<GroupPage, serde_json::Error> {
    let page: Page<WireGroup<'_>> = serde_json::from_slice(body)?;
    let groups = page
        .value
        .0
        .into_iter()
        .filter_map(|item| item.0)
        .filter_map(|group| {
            let id = group.id.into_owned().filter(|id| !id.is_empty())?;
            Some((id, group.display_name.into_owned().unwrap_or_default()))
        })
        .collect();
    Ok((groups, page.next_link))
}

fn read_group(body: &[u8]) -> Result<Option<(String, String)>, serde_json::Error> {
    let group: WireGroup<'_> = serde_json::from_slice(body)?;
    Ok(group
        .id
        .into_owned()
        .filter(|id| !id.is_empty())
        .map(|id| (id, group.display_name.into_owned().unwrap_or_default())))
}

/// What one line resolved to.
enum LineOutcome {
    User(Option<Member>),
    Group { group_id: String, display_name: String, members: Vec<Option<Member>> },
    Problem(String),
}

/// True for the answers that mean "no such object" (a malformed key is as unknown as a missing
/// one).
fn is_not_found(error: &GraphError) -> bool {
    matches!(error.status(), Some(404 | 400))
}

impl GraphClient {
    /// Resolves the users list: every line concurrently (within the caps), results in line order.
    /// Lines that name nothing are all reported at once.
    pub async fn resolve_org_users(
        &self,
        lines: &[String],
    ) -> Result<DirectoryResolution, DirectoryError> {
        let mut tasks = tokio::task::JoinSet::new();
        for (position, line) in lines.iter().enumerate() {
            let client = self.clone();
            let line = line.clone();
            tasks.spawn(async move { (position, client.resolve_line(&line).await) });
        }
        let mut outcomes: Vec<Option<LineOutcome>> = Vec::new();
        outcomes.resize_with(lines.len(), || None);
        while let Some(joined) = tasks.join_next().await {
            let (position, outcome) = joined
                .map_err(|error| GraphError::Startup(format!("directory task failed: {error}")))?;
            if let Some(slot) = outcomes.get_mut(position) {
                *slot = Some(outcome?);
            }
        }
        let mut resolution = DirectoryResolution::default();
        let mut problems = Vec::new();
        let mut seen_ids: HashSet<String> = HashSet::new();
        let mut seen_emails: HashSet<String> = HashSet::new();
        let mut add = |member: Option<Member>, resolution: &mut DirectoryResolution| -> bool {
            let Some(member) = member else {
                return false;
            };
            let Some(email) = member.email else {
                if seen_ids.insert(member.id) {
                    resolution.skipped_without_address += 1;
                }
                return false;
            };
            // Both sets learn the user even when one of them knew it already.
            let new_id = seen_ids.insert(member.id.clone());
            let new_email = seen_emails.insert(email.clone());
            if !new_id || !new_email {
                return false;
            }
            resolution.users.push(OrgUser { email, directory_id: Some(member.id) });
            true
        };
        for (line, outcome) in lines.iter().zip(outcomes) {
            match outcome {
                None => problems
                    .push(LineProblem { line: line.clone(), message: "not resolved".into() }),
                Some(LineOutcome::Problem(message)) => {
                    problems.push(LineProblem { line: line.clone(), message });
                }
                Some(LineOutcome::User(member)) => {
                    if member.is_none() {
                        resolution.skipped_without_address += 1;
                    }
                    add(member, &mut resolution);
                }
                Some(LineOutcome::Group { group_id, display_name, members }) => {
                    let n_members = members.len();
                    let mut added = 0;
                    for member in members {
                        if add(member, &mut resolution) {
                            added += 1;
                        }
                    }
                    resolution.groups.push(GroupExpansion {
                        line: line.clone(),
                        group_id,
                        display_name,
                        members: n_members,
                        added,
                    });
                }
            }
        }
        if problems.is_empty() { Ok(resolution) } else { Err(UnresolvedLines { problems }.into()) }
    }

    async fn resolve_line(&self, line: &str) -> Result<LineOutcome, GraphError> {
        match parse_line(line) {
            None => Ok(LineOutcome::Problem(
                "not an address, user principal name or group:<id or name>".into(),
            )),
            Some(UserLine::Address(address)) => self.resolve_address(&address).await,
            Some(UserLine::GroupId(id)) => {
                let url = self
                    .url(&format!("/groups/{}?$select={GROUP_SELECT}", encode_path_segment(&id)));
                match self.get(&url, DIRECTORY_GATE, Prefer::Nothing, read_group).await {
                    Ok(Some((group_id, display_name))) => {
                        self.expand_group(group_id, display_name).await
                    }
                    Ok(None) => Ok(LineOutcome::Problem("no group has this id".into())),
                    Err(error) if is_not_found(&error) => {
                        Ok(LineOutcome::Problem("no group has this id".into()))
                    }
                    Err(error) => Err(error),
                }
            }
            Some(UserLine::GroupName(name)) => {
                let groups = self.find_groups("displayName", &name).await?;
                match groups.as_slice() {
                    [] => Ok(LineOutcome::Problem("no group has this display name".into())),
                    [(group_id, display_name)] => {
                        self.expand_group(group_id.clone(), display_name.clone()).await
                    }
                    several => Ok(LineOutcome::Problem(format!(
                        "{} groups have this display name: name one by id (group:<id>)",
                        several.len()
                    ))),
                }
            }
        }
    }

    /// A user by id or user principal name; else a group by mail; else a user by mail (a user
    /// whose primary address is not their user principal name).
    async fn resolve_address(&self, address: &str) -> Result<LineOutcome, GraphError> {
        let url =
            self.url(&format!("/users/{}?$select={USER_SELECT}", encode_path_segment(address)));
        match self.get(&url, address, Prefer::Nothing, read_user).await {
            Ok(member) => return Ok(LineOutcome::User(member)),
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(error),
        }
        let groups = self.find_groups("mail", address).await?;
        if let Some((group_id, display_name)) = groups.into_iter().next() {
            return self.expand_group(group_id, display_name).await;
        }
        let url = self.url(&format!(
            "/users?$filter={}&$select={USER_SELECT}",
            encode_query_value(&format!("mail eq {}", odata_string(address)))
        ));
        match self.get(&url, DIRECTORY_GATE, Prefer::PageSize, read_members).await {
            Ok((members, _next)) => {
                if let Some(member) = members.into_iter().next() {
                    return Ok(LineOutcome::User(member));
                }
            }
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(error),
        }
        Ok(LineOutcome::Problem("no user or group has this address".into()))
    }

    /// Groups whose `property` equals `value`, every page.
    async fn find_groups(
        &self,
        property: &str,
        value: &str,
    ) -> Result<Vec<(String, String)>, GraphError> {
        let mut next = Some(self.url(&format!(
            "/groups?$filter={}&$select={GROUP_SELECT}",
            encode_query_value(&format!("{property} eq {}", odata_string(value)))
        )));
        let mut groups = Vec::new();
        while let Some(url) = next.take() {
            match self.get(&url, DIRECTORY_GATE, Prefer::PageSize, read_groups).await {
                Ok((page, next_link)) => {
                    groups.extend(page);
                    if let Some(link) = next_link {
                        self.check_link(&link)?;
                        next = Some(link);
                    }
                }
                Err(error) if is_not_found(&error) => break,
                Err(error) => return Err(error),
            }
        }
        Ok(groups)
    }

    async fn expand_group(
        &self,
        group_id: String,
        display_name: String,
    ) -> Result<LineOutcome, GraphError> {
        let first_url = self.url(&format!(
            "/groups/{}/transitiveMembers/microsoft.graph.user?$select={USER_SELECT}&$top={MEMBER_PAGE_SIZE}",
            encode_path_segment(&group_id)
        ));
        let members = self.get_every_page(first_url, DIRECTORY_GATE, read_members).await?;
        Ok(LineOutcome::Group { group_id, display_name, members })
    }
}
