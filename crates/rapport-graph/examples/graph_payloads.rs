//! Corpus check: Microsoft's documented Graph response payloads (../shared/data/msgraph) through
//! the page readers. Every message and event payload must read without an error and give the
//! counts its page shows; the delta-query sequences (three pages, then a round with `@removed`)
//! must give their links in order; the payload published with trailing commas must be refused
//! as malformed JSON (the client retries such a page, then fails the mailbox), never read.
//!
//! Usage: `graph_payloads DIR` — prints one line per file, exits 1 when an expectation fails.

use rapport_graph::calendar::read_event_page;
use rapport_graph::mail::read_message_page;

/// (file, what it is, upserted, removed, next link, delta link); `None` counts are not checked.
type Expected = (&'static str, Kind, Option<usize>, Option<usize>, bool, bool);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Messages,
    Events,
    /// One object, read as a page of one.
    Message,
    Event,
    /// A directory page, read as JSON only.
    Directory,
    Malformed,
}

const EXPECTED: &[Expected] = &[
    ("concepts_delta-query-messages_ex1_page1.json", Kind::Messages, Some(2), Some(0), true, false),
    ("concepts_delta-query-messages_ex1_page2.json", Kind::Messages, Some(2), Some(0), true, false),
    (
        "concepts_delta-query-messages_ex1_page3_final_deltaLink.json",
        Kind::Messages,
        Some(1),
        Some(0),
        false,
        true,
    ),
    (
        "concepts_delta-query-messages_ex1_round2_removed.json",
        Kind::Messages,
        Some(1),
        Some(1),
        false,
        true,
    ),
    ("v1_message-delta_placeholder.json", Kind::Messages, None, None, true, false),
    ("v1_user-list-messages_example1.json", Kind::Messages, Some(1), Some(0), false, false),
    ("v1_message-get_ex1.json", Kind::Message, Some(1), Some(0), false, false),
    (
        "v1_message-get_ex2_internetMessageHeaders.json",
        Kind::Message,
        Some(1),
        Some(0),
        false,
        false,
    ),
    ("v1_message-get_ex3_text_body.json", Kind::Message, Some(1), Some(0), false, false),
    ("concepts_delta-query-events_page1.json", Kind::Events, None, None, true, false),
    ("concepts_delta-query-events_page2.json", Kind::Events, None, None, true, false),
    (
        "concepts_delta-query-events_page3_final_deltaLink.json",
        Kind::Events,
        None,
        None,
        false,
        true,
    ),
    ("concepts_delta-query-events_round2_removed.json", Kind::Events, None, Some(1), false, true),
    ("v1_event-delta_placeholder.json", Kind::Events, None, None, true, false),
    ("v1_event-list-instances_recurring.json", Kind::Events, Some(4), Some(0), false, false),
    ("v1_user-list-calendarview.json", Kind::Events, None, None, false, false),
    ("v1_user-list-events.json", Kind::Events, None, None, false, false),
    ("v1_event-get_ex1_group_organizer.json", Kind::Event, None, None, false, false),
    ("v1_group-list-members_placeholder.json", Kind::Directory, None, None, false, false),
    ("v1_group-list-transitivemembers_ex1.json", Kind::Directory, None, None, false, false),
    (
        "v1_group-list-transitivemembers_ex4_users_search.json",
        Kind::Directory,
        None,
        None,
        false,
        false,
    ),
    (
        "v1_group-list-transitivemembers_ex5_users_filter.json",
        Kind::Directory,
        None,
        None,
        false,
        false,
    ),
    ("v1_group-list_ex1_unified_and_distribution.json", Kind::Directory, None, None, false, false),
    (
        "v1_group-list-transitivemembers_ex3_groups_TRAILING-COMMAS.json.txt",
        Kind::Malformed,
        None,
        None,
        false,
        false,
    ),
];

#[allow(clippy::print_stdout)] // A check reports on stdout.
fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        println!("usage: graph_payloads DIR");
        return std::process::ExitCode::from(2);
    };
    let mut failures = 0;
    for (file, kind, upserted, removed, next, delta) in EXPECTED {
        let path = std::path::Path::new(&dir).join(file);
        let Ok(bytes) = std::fs::read(&path) else {
            println!("FAIL {file}: cannot read {}", path.display());
            failures += 1;
            continue;
        };
        let wrapped = |bytes: &[u8]| {
            let mut page = b"{\"value\":[".to_vec();
            page.extend_from_slice(bytes);
            page.extend_from_slice(b"]}");
            page
        };
        // (upserted, removed, skipped, next link, delta link)
        let shape = |upserted: usize,
                     removed: usize,
                     skipped: &rapport_core::model::SkipCounts,
                     next: &Option<String>,
                     delta: &Option<String>| {
            (upserted, removed, skipped.total(), next.is_some(), delta.is_some())
        };
        let single = matches!(kind, Kind::Message | Kind::Event);
        let body = if single { wrapped(&bytes) } else { bytes.clone() };
        let outcome: Result<(usize, usize, u64, bool, bool), String> = match kind {
            Kind::Messages | Kind::Message => read_message_page(&body)
                .map(|page| {
                    let (upserted, removed) = (page.upserted.len(), page.removed.len());
                    shape(upserted, removed, &page.skipped, &page.next_link, &page.delta_link)
                })
                .map_err(|error| error.to_string()),
            Kind::Events | Kind::Event => read_event_page(&body)
                .map(|page| {
                    let (upserted, removed) = (page.upserted.len(), page.removed.len());
                    shape(upserted, removed, &page.skipped, &page.next_link, &page.delta_link)
                })
                .map_err(|error| error.to_string()),
            Kind::Directory | Kind::Malformed => {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .map(|_| (0, 0, 0, false, false))
                    .map_err(|error| error.to_string())
            }
        };
        let verdict = match (kind, &outcome) {
            (Kind::Malformed, Err(error)) => Ok(format!("refused as malformed JSON ({error})")),
            (Kind::Malformed, Ok(_)) => Err("read, but it is not valid JSON".to_owned()),
            (_, Err(error)) => Err(format!("not read: {error}")),
            (_, Ok((got_upserted, got_removed, skipped, got_next, got_delta))) => {
                let line = format!(
                    "{got_upserted} upserted, {got_removed} removed, {skipped} skipped, next link {got_next}, delta link {got_delta}"
                );
                let counts_ok = upserted.is_none_or(|n| n == *got_upserted)
                    && removed.is_none_or(|n| n == *got_removed);
                if counts_ok && *got_next == *next && *got_delta == *delta {
                    Ok(line)
                } else {
                    Err(format!(
                        "{line}; expected {upserted:?} upserted, {removed:?} removed, next {next}, delta {delta}"
                    ))
                }
            }
        };
        match verdict {
            Ok(line) => println!("ok   {file}: {line}"),
            Err(line) => {
                println!("FAIL {file}: {line}");
                failures += 1;
            }
        }
    }
    if failures == 0 {
        println!("all {} documented payloads read as expected", EXPECTED.len());
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
