//! Expansion of parsed calendar files into the meeting occurrence copies of a window, with the
//! calendar rules of metrics.md §8.
//!
//! Order of operations over all files, in input order:
//!
//! 1. Files whose `METHOD` is `REPLY`, `COUNTER`, `DECLINECOUNTER` or `REFRESH` are left out
//!    entirely (nothing of them is counted).
//! 2. Per group (the `VEVENT`s of one UID in one file): when a component cannot be read the group
//!    counts `unparseable` once; otherwise, when a component has no `DTSTART` or ends before it
//!    starts, it counts `invalid_date` once. Its readable components still take part below.
//! 3. Versions, per UID across all files: among the readable masters (no `RECURRENCE-ID`) the one
//!    with the highest `SEQUENCE`, then the latest `DTSTAMP` (missing = older than any), then the
//!    first in input order wins; each other one counts `duplicate`. The same holds per
//!    `RECURRENCE-ID` instant among the overrides. A `RECURRENCE-ID` written as a date is resolved
//!    against the winning master's start time and zone (or the override's own when no master exists).
//! 4. The winning master's recurrence set (`DTSTART`, every `RRULE`, `RDATE`s) minus its `EXDATE`s
//!    and minus every instant some winning override claims is expanded inside `[W, T)`; a winning
//!    override is one occurrence at its own start, inheriting nothing. Components without UID stand
//!    alone and are never versioned.
//! 5. A group counts `outside_window` once when it has at least one winning component, none of its
//!    winning components yields an occurrence starting in `[W, T)`, and it has not already counted
//!    `unparseable` or `invalid_date`. So a group is counted under at most one of these three
//!    reasons (the first that applies, like an email copy), and a group whose components all lost
//!    is only counted through their `duplicate`s. This is our reading where §8 leaves the
//!    interaction of per-event skips and versions open.
//!
//! Expansion is bounded: each `RRULE` of a series generates at most
//! [`MAX_OCCURRENCES_PER_RULE`](crate::calendar::rrule::MAX_OCCURRENCES_PER_RULE) (100,000)
//! occurrences, counted from shortly before `W` when the rule has no `COUNT` (from `DTSTART`
//! otherwise), and never goes past `T`.
//!
//! The copies come out sorted by the input position of the component that produced them (file,
//! then group, then component within the group) and, within one component, by start. The key is
//! `(UID, RECURRENCE-ID instant)` for an override and `(UID, start)` for a generated occurrence,
//! which is the same instant the override of that occurrence would carry.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};

use crate::calendar::rrule::{Limits, expand_rule};
use crate::calendar::{CalendarFile, Event, EventComponent};
use crate::model::{MeetingCopy, SkipCounts, SkipReason, UnixSeconds};

/// The input position of a component: file, group within the file, component within the group.
type Position = (usize, usize, usize);

/// A readable component taking part in versioning.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    position: Position,
    event: &'a Event,
    uid: Option<&'a str>,
    method_cancel: bool,
}

/// A component that won its version contest (or stands alone), with what its expansion needs.
struct Winner<'a> {
    candidate: Candidate<'a>,
    /// For an override: its `RECURRENCE-ID` instant.
    recurrence_instant: Option<i64>,
    /// For a master: the sorted instants claimed by winning overrides of the same UID.
    overridden: Vec<i64>,
}

/// Counters of one group, for the `outside_window` rule.
#[derive(Clone, Copy, Default)]
struct GroupTally {
    counted_problem: bool,
    n_winners: u32,
    n_in_window: u32,
}

/// Expands `files` (in input order) into every occurrence copy starting in
/// `[window_start, window_end)`, with the calendar skip counts. See the module doc for the rules
/// and the order of the result.
pub fn expand(
    files: &[CalendarFile],
    window_start: UnixSeconds,
    window_end: UnixSeconds,
) -> (Vec<MeetingCopy>, SkipCounts) {
    let mut skips = SkipCounts::default();
    let mut tallies: Vec<Vec<GroupTally>> = Vec::with_capacity(files.len());
    let mut by_uid: HashMap<&str, Vec<Candidate<'_>>> = HashMap::new();
    let mut winners: Vec<Winner<'_>> = Vec::new();

    for (file_index, file) in files.iter().enumerate() {
        let mut file_tallies = vec![GroupTally::default(); file.groups.len()];
        if file.is_ignored() {
            tallies.push(file_tallies);
            continue;
        }
        for (group_index, group) in file.groups.iter().enumerate() {
            let tally = &mut file_tallies[group_index];
            if group
                .components
                .iter()
                .any(|component| matches!(component, EventComponent::Unparseable))
            {
                skips.add(SkipReason::Unparseable);
                tally.counted_problem = true;
            } else if group
                .components
                .iter()
                .any(|component| matches!(component, EventComponent::InvalidDate))
            {
                skips.add(SkipReason::InvalidDate);
                tally.counted_problem = true;
            }
            let uid = group.uid.as_deref().filter(|uid| !uid.is_empty());
            for (component_index, component) in group.components.iter().enumerate() {
                let EventComponent::Event(event) = component else { continue };
                let candidate = Candidate {
                    position: (file_index, group_index, component_index),
                    event,
                    uid,
                    method_cancel: file.is_cancel(),
                };
                match uid {
                    Some(uid) => by_uid.entry(uid).or_default().push(candidate),
                    None => winners.push(Winner {
                        candidate,
                        recurrence_instant: None,
                        overridden: Vec::new(),
                    }),
                }
            }
        }
        tallies.push(file_tallies);
    }

    for candidates in by_uid.values() {
        choose_versions(candidates, &mut winners, &mut skips);
    }
    winners.sort_by_key(|winner| winner.candidate.position);

    let mut copies = Vec::new();
    let mut starts: Vec<(i64, Option<i64>)> = Vec::new();
    for winner in &winners {
        let candidate = winner.candidate;
        let (file_index, group_index, _) = candidate.position;
        let n_before = copies.len();
        let event = candidate.event;
        if event.recurrence_id.is_some() {
            // An override (or a lone component carrying a RECURRENCE-ID): one occurrence.
            let start = event.start.instant();
            if (window_start..window_end).contains(&start) {
                let key_instant = winner.recurrence_instant.unwrap_or(start);
                copies.push(copy_of(candidate, start, event.end_of(start), key_instant));
            }
        } else {
            series_starts(event, &winner.overridden, window_start, window_end, &mut starts);
            for &(start, period_seconds) in &starts {
                let end = match period_seconds {
                    Some(seconds) => start.saturating_add(seconds),
                    None => event.end_of(start),
                };
                copies.push(copy_of(candidate, start, end, start));
            }
        }
        if let Some(tally) = tallies.get_mut(file_index).and_then(|file| file.get_mut(group_index))
        {
            tally.n_winners += 1;
            tally.n_in_window += u32::try_from(copies.len() - n_before).unwrap_or(u32::MAX);
        }
    }

    for tally in tallies.iter().flatten() {
        if !tally.counted_problem && tally.n_winners > 0 && tally.n_in_window == 0 {
            skips.add(SkipReason::OutsideWindow);
        }
    }
    (copies, skips)
}

/// Picks the winning master and the winning override per `RECURRENCE-ID` among the readable
/// components of one UID (in input order), counting every loser as `duplicate`.
fn choose_versions<'a>(
    candidates: &[Candidate<'a>],
    winners: &mut Vec<Winner<'a>>,
    skips: &mut SkipCounts,
) {
    let mut master: Option<Candidate<'a>> = None;
    for candidate in candidates.iter().filter(|candidate| candidate.event.recurrence_id.is_none()) {
        master = Some(match master {
            None => *candidate,
            Some(best) => {
                skips.add(SkipReason::Duplicate);
                if beats(candidate.event, best.event) { *candidate } else { best }
            }
        });
    }
    // Overrides compete per RECURRENCE-ID instant; a date RECURRENCE-ID is read against the series.
    let mut overrides: Vec<(i64, Candidate<'a>)> = Vec::new();
    let mut override_of_instant: HashMap<i64, usize> = HashMap::new();
    for candidate in candidates {
        let Some(recurrence_id) = candidate.event.recurrence_id else { continue };
        let series_start = master.map_or(&candidate.event.start, |master| &master.event.start);
        let instant = series_start.resolve(recurrence_id);
        match override_of_instant.get(&instant).and_then(|&index| overrides.get_mut(index)) {
            Some((_, best)) => {
                skips.add(SkipReason::Duplicate);
                if beats(candidate.event, best.event) {
                    *best = *candidate;
                }
            }
            None => {
                override_of_instant.insert(instant, overrides.len());
                overrides.push((instant, *candidate));
            }
        }
    }
    if let Some(master) = master {
        let mut overridden: Vec<i64> = overrides.iter().map(|(instant, _)| *instant).collect();
        overridden.sort_unstable();
        winners.push(Winner { candidate: master, recurrence_instant: None, overridden });
    }
    for (instant, candidate) in overrides {
        winners.push(Winner {
            candidate,
            recurrence_instant: Some(instant),
            overridden: Vec::new(),
        });
    }
}

/// True when `challenger` is a newer version than `holder`: a higher `SEQUENCE`, else a later
/// `DTSTAMP` (missing is older than any). Ties keep the holder, the earlier one in input order.
fn beats(challenger: &Event, holder: &Event) -> bool {
    (challenger.sequence, challenger.stamp) > (holder.sequence, holder.stamp)
}

/// Fills `starts` with the occurrence starts of a series in `[window_start, window_end)`, sorted,
/// without repeats, without `EXDATE`s and without the instants in `overridden`; each with the
/// length of its `RDATE` period when it came from one.
fn series_starts(
    event: &Event,
    overridden: &[i64],
    window_start: i64,
    window_end: i64,
    starts: &mut Vec<(i64, Option<i64>)>,
) {
    starts.clear();
    let in_window = |instant: i64| (window_start..window_end).contains(&instant);
    let first = event.start.instant();
    if in_window(first) {
        starts.push((first, None));
    }
    if !event.rules.is_empty() {
        let zone = event.start.zone();
        let margin = TimeDelta::days(2);
        let from = zone
            .utc_to_local(window_start)
            .checked_sub_signed(margin)
            .unwrap_or(NaiveDateTime::MIN);
        let limit =
            zone.utc_to_local(window_end).checked_add_signed(margin).unwrap_or(NaiveDateTime::MAX);
        let mut locals = Vec::new();
        for rule in &event.rules {
            expand_rule(rule, event.start.local(), &zone, from, limit, Limits::EVENTS, &mut locals);
        }
        starts.extend(
            locals
                .into_iter()
                .map(|local| zone.local_to_utc(local))
                .filter(|&instant| in_window(instant))
                .map(|instant| (instant, None)),
        );
    }
    for date in &event.dates {
        let instant = event.start.resolve(date.at);
        if in_window(instant) {
            starts.push((instant, date.period_seconds));
        }
    }
    // A stable sort keeps DTSTART and rule occurrences ahead of an RDATE of the same instant.
    starts.sort_by_key(|(instant, _)| *instant);
    starts.dedup_by_key(|(instant, _)| *instant);
    if !event.exception_dates.is_empty() || !overridden.is_empty() {
        let mut removed: Vec<i64> =
            event.exception_dates.iter().map(|value| event.start.resolve(*value)).collect();
        removed.extend_from_slice(overridden);
        removed.sort_unstable();
        starts.retain(|(instant, _)| removed.binary_search(instant).is_err());
    }
}

fn copy_of(candidate: Candidate<'_>, start: i64, end: i64, key_instant: i64) -> MeetingCopy {
    let event = candidate.event;
    MeetingCopy {
        key: candidate.uid.map(|uid| (uid.to_owned(), key_instant)),
        start,
        end,
        organizer: event.organizer.clone(),
        participants: event.participants.clone(),
        cancelled: event.cancelled || candidate.method_cancel,
        all_day: event.all_day,
    }
}
