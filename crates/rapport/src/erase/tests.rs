use rapport_core::model::MailRecord;
use rapport_store::pseudonym::{Key, Pseudonymizer};
use rapport_store::{Results, ledger};

use super::{EraseReport, erase};
use crate::runner::tests::{Fixture, T, counters as ledger_counters, message};

/// The runner's scratch installation with `mail/` holding two messages: Fabrikam is enriched
/// only through gone@fabrikam.example, Tailspin through dan.
fn fixture() -> Fixture {
    let fixture = Fixture::new();
    fixture.write(
        "contacts.csv",
        "Email,AccountId\ngone@fabrikam.example,ACC-F\ndan@tailspin.example,ACC-T\n",
    );
    fixture.write(
        "mail/1.eml",
        &message(
            "m1@fabrikam.example",
            "Gone <gone@fabrikam.example>",
            "alice@contoso.com",
            5,
            None,
        ),
    );
    fixture.write(
        "mail/2.eml",
        &message(
            "m2@contoso.com",
            "alice@contoso.com",
            "dan@tailspin.example, gone@fabrikam.example",
            4,
            None,
        ),
    );
    fixture
}

fn results(fixture: &Fixture) -> Results {
    fixture.store.latest_results(fixture.id).expect("results").expect("published")
}

/// Every address of every email kept in the ledger.
fn ledger_addresses(fixture: &Fixture) -> Vec<String> {
    let mut addresses = Vec::new();
    for file in fixture.store.ledger_files(fixture.id).expect("ledger") {
        let blob = fixture.store.ledger_records(file.id).expect("records");
        for record in ledger::decode(&blob).expect("decodes") {
            if let MailRecord::Email(copy) = record {
                addresses.extend(copy.sender);
                addresses.extend(copy.recipients);
            }
        }
    }
    addresses.sort();
    addresses
}

fn pseudonym(fixture: &Fixture, address: &str) -> String {
    let key = Key::load_or_create(&fixture.path("data")).expect("key");
    Pseudonymizer::new(&key).address(address)
}

/// The account ids of the Office table's rows, once each, in order.
fn accounts(results: &Results) -> Vec<String> {
    let office = crate::runner::tests::tables(results).swap_remove(0).1;
    let mut ids: Vec<String> = office
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next().map(str::to_owned))
        .collect();
    ids.dedup();
    ids
}

#[test]
fn an_account_enriched_only_through_the_erased_address_is_no_longer_enriched() {
    let fixture = fixture();
    let before = fixture.run();
    assert_eq!(accounts(&before), vec!["ACC-F".to_owned(), "ACC-T".to_owned()]);
    let gone = pseudonym(&fixture, "gone@fabrikam.example");
    assert_eq!(ledger_addresses(&fixture).iter().filter(|address| **address == gone).count(), 2);

    let report =
        erase(&fixture.store, &fixture.database, "gone@fabrikam.example", 1, T).expect("erase");
    assert_eq!(
        report,
        EraseReport { n_files: 2, n_enrichments: 1, n_recomputed: 1, not_recomputed: Vec::new() }
    );
    assert_eq!(
        report.line(),
        "erased 1 address from 2 ledger files of 1 enrichment; recomputed 1 result"
    );
    let after = results(&fixture);
    assert_eq!(after.version, 2);
    // Version 1 counted the person: it is gone, its summary stays in the history.
    assert_eq!(fixture.store.kept_versions(fixture.id).expect("versions"), vec![2]);
    assert_eq!(fixture.store.history(fixture.id).expect("history").len(), 2);
    assert_eq!(accounts(&after), vec!["ACC-T".to_owned()]);
    // Recomputed from the ledger: no source file was read again.
    assert_eq!(ledger_counters(&after), (0, 2));
    assert!(!ledger_addresses(&fixture).contains(&gone));
    assert_eq!(after.summary["emails_seen"], 2, "the emails themselves are still seen");

    // The file changes: it is read again, and the erased address is dropped before it is kept.
    fixture.write(
        "mail/1.eml",
        &message("m3@fabrikam.example", "gone@fabrikam.example", "alice@contoso.com", 1, None),
    );
    let later = fixture.run();
    assert_eq!(ledger_counters(&later), (1, 1));
    assert_eq!(accounts(&later), vec!["ACC-T".to_owned()]);
    assert!(!ledger_addresses(&fixture).contains(&gone));
    // Erasing again finds nothing left and recomputes nothing.
    let again = erase(&fixture.store, &fixture.database, "gone@fabrikam.example", 1, T)
        .expect("erase again");
    assert_eq!(
        again.line(),
        "erased 1 address from 0 ledger files of 0 enrichments; recomputed 0 results"
    );
}

#[test]
fn results_without_consent_are_not_recomputed_and_the_report_says_so() {
    let fixture = fixture();
    assert_eq!(fixture.run().version, 1);
    fixture.store.revoke_consent(fixture.id, "it-admin", T).expect("revoke");
    let report =
        erase(&fixture.store, &fixture.database, "dan@tailspin.example", 1, T).expect("erase");
    assert_eq!(
        report,
        EraseReport {
            n_files: 1,
            n_enrichments: 1,
            n_recomputed: 0,
            not_recomputed: vec![
                "the results of \"Key accounts\" were not recomputed: it has no consent; its \
                 results change at its next run"
                    .to_owned()
            ],
        }
    );
    // The ledger lost the address all the same.
    assert!(!ledger_addresses(&fixture).contains(&pseudonym(&fixture, "dan@tailspin.example")));
    assert_eq!(results(&fixture).version, 1);
}
