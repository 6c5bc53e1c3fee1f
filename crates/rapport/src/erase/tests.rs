use std::fs;
use std::path::PathBuf;

use rapport_core::model::MailRecord;
use rapport_store::pseudonym::{Key, Pseudonymizer};
use rapport_store::{
    EnrichmentConfig, EnrichmentId, QueueOutcome, Results, Store, Trigger, ledger,
};

use super::{EraseReport, erase};
use crate::{config, runner};

/// 2024-06-01T00:00:00Z.
const T: i64 = 1_717_200_000;
const DAY: i64 = 86_400;

/// One message sent `days_before` T.
fn message(id: &str, from: &str, to: &str, days_before: i64) -> String {
    let sent = chrono::DateTime::from_timestamp(T - days_before * DAY, 0).expect("date");
    format!(
        "Message-ID: <{id}>\nDate: {}\nFrom: {from}\nTo: {to}\nSubject: private\n\nBody.\n",
        sent.format("%a, %d %b %Y %H:%M:%S +0000")
    )
}

/// A scratch installation: `mail/` with two messages, contacts, and a consented enrichment.
/// Fabrikam is enriched only through gone@fabrikam.example; Tailspin through dan.
struct Fixture {
    folder: tempfile::TempDir,
    database: PathBuf,
    store: Store,
    id: EnrichmentId,
}

impl Fixture {
    fn new() -> Fixture {
        let folder = tempfile::tempdir().expect("temp dir");
        let root = folder.path();
        fs::create_dir_all(root.join("mail")).expect("mail folder");
        fs::write(
            root.join("contacts.csv"),
            "Email,AccountId\ngone@fabrikam.example,ACC-F\ndan@tailspin.example,ACC-T\n",
        )
        .expect("contacts");
        fs::write(
            root.join("mail/1.eml"),
            message("m1@fabrikam.example", "Gone <gone@fabrikam.example>", "alice@contoso.com", 5),
        )
        .expect("mail");
        fs::write(
            root.join("mail/2.eml"),
            message(
                "m2@contoso.com",
                "alice@contoso.com",
                "dan@tailspin.example, gone@fabrikam.example",
                4,
            ),
        )
        .expect("mail");
        let mut enrichment = EnrichmentConfig::new(
            "Key accounts",
            root.join("contacts.csv"),
            vec![root.join("mail")],
        );
        enrichment.users = vec!["alice@contoso.com".into(), "bob@contoso.com".into()];
        let database = root.join("data/rapport.db");
        let store = Store::open(&database).expect("store");
        let id = store.create_enrichment(&enrichment, T).expect("create");
        store.consent(id, "it-admin", T, 0).expect("consent");
        Fixture { folder, database, store, id }
    }

    fn run(&self) -> Results {
        let QueueOutcome::Queued(run) =
            self.store.queue_run(self.id, Trigger::Manual, config::now()).expect("queue")
        else {
            panic!("the run was skipped");
        };
        let enrichment = self.store.enrichment(self.id).expect("enrichment");
        let line =
            runner::execute(&self.store, &self.database, &enrichment, run, 1, T).expect("execute");
        assert_eq!(line.status, "Successful", "{}", line.detail);
        self.results()
    }

    fn results(&self) -> Results {
        self.store.latest_results(self.id).expect("results").expect("published")
    }

    /// Every address of every email kept in the ledger.
    fn ledger_addresses(&self) -> Vec<String> {
        let mut addresses = Vec::new();
        for file in self.store.ledger_files(self.id).expect("ledger") {
            let blob = self.store.ledger_records(file.id).expect("records");
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

    fn pseudonym(&self, address: &str) -> String {
        let key = Key::load_or_create(&self.folder.path().join("data")).expect("key");
        Pseudonymizer::new(&key).address(address)
    }
}

/// The account ids of the Office table's rows, once each, in order.
fn accounts(results: &Results) -> Vec<String> {
    let office = String::from_utf8(results.tables[0].bytes.clone()).expect("utf-8");
    let mut ids: Vec<String> = office
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next().map(str::to_owned))
        .collect();
    ids.dedup();
    ids
}

fn ledger_counters(results: &Results) -> (u64, u64) {
    let read = results.summary["ledger_files_read"].as_u64().expect("files read");
    let reused = results.summary["ledger_files_reused"].as_u64().expect("files reused");
    (read, reused)
}

#[test]
fn an_account_enriched_only_through_the_erased_address_is_no_longer_enriched() {
    let fixture = Fixture::new();
    let before = fixture.run();
    assert_eq!(accounts(&before), vec!["ACC-F".to_owned(), "ACC-T".to_owned()]);
    let gone = fixture.pseudonym("gone@fabrikam.example");
    assert_eq!(fixture.ledger_addresses().iter().filter(|address| **address == gone).count(), 2);

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
    let after = fixture.results();
    assert_eq!(after.version, 2);
    // Version 1 counted the person: it is gone, its summary stays in the history.
    assert_eq!(fixture.store.kept_versions(fixture.id).expect("versions"), vec![2]);
    assert_eq!(fixture.store.history(fixture.id).expect("history").len(), 2);
    assert_eq!(accounts(&after), vec!["ACC-T".to_owned()]);
    // Recomputed from the ledger: no source file was read again.
    assert_eq!(ledger_counters(&after), (0, 2));
    assert!(!fixture.ledger_addresses().contains(&gone));
    assert_eq!(after.summary["emails_seen"], 2, "the emails themselves are still seen");

    // The file changes: it is read again, and the erased address is dropped before it is kept.
    let root = fixture.folder.path();
    fs::write(
        root.join("mail/1.eml"),
        message("m3@fabrikam.example", "gone@fabrikam.example", "alice@contoso.com", 1),
    )
    .expect("mail");
    let later = fixture.run();
    assert_eq!(ledger_counters(&later), (1, 1));
    assert_eq!(accounts(&later), vec!["ACC-T".to_owned()]);
    assert!(!fixture.ledger_addresses().contains(&gone));
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
    let fixture = Fixture::new();
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
    assert!(!fixture.ledger_addresses().contains(&fixture.pseudonym("dan@tailspin.example")));
    assert_eq!(fixture.results().version, 1);
}
