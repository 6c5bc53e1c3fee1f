use super::*;

fn contact(email: &str, account_id: &str) -> Contact {
    Contact { email: email.to_string(), account_id: account_id.to_string() }
}

fn account(account_id: &str, domains: &[&str]) -> Account {
    Account {
        account_id: account_id.to_string(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
    }
}

const USERS: [&str; 3] = ["ann@acme.example", "bob@acme.example", "cat@acme-sales.example"];

fn identity(match_domains: bool, extra: &[&str]) -> Identity {
    let accounts = [
        account("Beta", &["beta.example", "@Shared.example.", "www-less.example"]),
        account(
            "Alpha",
            &["alpha.example", "shared.example", "acme.example", "gmail.com", "yahoo.co.uk"],
        ),
        account("Gamma", &["gamma.example", "gamma.example", "mail.example.org"]),
        account("", &["nobody.example"]),
    ];
    let contacts = [
        contact("jo@alpha.example", "Alpha"),
        contact("jo@alpha.example", "Alpha"),
        contact("pat@beta.example", "Beta"),
        contact("twice@x.example", "Alpha"),
        contact("twice@x.example", "Beta"),
        contact("thrice@y.example", "Alpha"),
        contact("thrice@y.example", "Beta"),
        contact("thrice@y.example", "Gamma"),
        contact("ann@acme.example", "Alpha"),
        contact("bob@acme.example", "Alpha"),
        contact("bob@acme.example", "Beta"),
        contact("zed@zeta.example", "Zeta"),
        contact("nobody@nowhere.example", ""),
        contact("", "Omega"),
        contact("ambiguous@gamma.example", "Alpha"),
        contact("ambiguous@gamma.example", "Gamma"),
    ];
    let extra: Vec<String> = extra.iter().map(|domain| domain.to_string()).collect();
    Identity::new(USERS, &accounts, &contacts, match_domains, &extra)
}

fn check(identity: &Identity, address: &str, expect: Option<&str>) {
    let got = match identity.classify(address) {
        AddressClass::Org => Some("org"),
        AddressClass::Account(index) => {
            identity.account_ids().get(index as usize).map(String::as_str)
        }
        AddressClass::Outside => None,
    };
    assert_eq!(got, expect, "{address}");
}

#[test]
fn account_ids_are_the_union_sorted_by_code_point() {
    let identity = identity(false, &[]);
    assert_eq!(identity.account_ids(), ["Alpha", "Beta", "Gamma", "Zeta"]);
    assert_eq!(identity.accounts_total(), 4);
}

#[test]
fn org_users_are_never_contacts() {
    let identity = identity(true, &[]);
    check(&identity, "ann@acme.example", Some("org"));
    check(&identity, "bob@acme.example", Some("org"));
    assert!(identity.is_org("cat@acme-sales.example"));
    assert!(!identity.is_org("jo@alpha.example"));
}

#[test]
fn contacts_and_ambiguous_contacts() {
    let identity = identity(false, &[]);
    check(&identity, "jo@alpha.example", Some("Alpha"));
    check(&identity, "pat@beta.example", Some("Beta"));
    check(&identity, "zed@zeta.example", Some("Zeta"));
    check(&identity, "twice@x.example", None);
    check(&identity, "thrice@y.example", None);
    check(&identity, "stranger@elsewhere.example", None);
    // twice, thrice and ambiguous@gamma; bob is an org user and the repeated jo is one account.
    assert_eq!(identity.ambiguous_contacts(), 3);
}

#[test]
fn domains_match_only_when_switched_on() {
    check(&identity(false, &[]), "new@alpha.example", None);
    let identity = identity(true, &[]);
    check(&identity, "new@alpha.example", Some("Alpha"));
    check(&identity, "new@beta.example", Some("Beta"));
    // Listed twice by the same account is still one account.
    check(&identity, "new@gamma.example", Some("Gamma"));
    // An ambiguous contact stays unmatched even though its domain matches.
    check(&identity, "ambiguous@gamma.example", None);
    // No subdomain matching.
    check(&identity, "new@sub.alpha.example", None);
    check(&identity, "new@example.org", None);
    check(&identity, "new@mail.example.org", Some("Gamma"));
}

#[test]
fn shared_org_and_public_domains_do_not_match() {
    let identity = identity(true, &[]);
    check(&identity, "someone@shared.example", None);
    check(&identity, "someone@acme.example", None);
    check(&identity, "someone@gmail.com", None);
    check(&identity, "someone@yahoo.co.uk", None);
    assert!(identity.is_public_provider("yahoo.com"));
    assert!(identity.is_public_provider("hotmail.fr"));
    assert!(identity.is_public_provider("gmx.net"));
    assert!(identity.is_public_provider("yandex.ru"));
    assert!(identity.is_public_provider("163.com"));
    assert!(!identity.is_public_provider("yahoo"));
    assert!(!identity.is_public_provider("myyahoo.com"));
    assert!(!identity.is_public_provider("mail.gmail.com"));
}

#[test]
fn extra_public_domains_extend_the_list() {
    let identity = identity(true, &["Alpha.Example", "gamma.*", " @beta.example. "]);
    check(&identity, "new@alpha.example", None);
    check(&identity, "new@gamma.example", None);
    check(&identity, "new@beta.example", None);
    // A listed contact is still its account's.
    check(&identity, "jo@alpha.example", Some("Alpha"));
    check(&identity, "new@mail.example.org", Some("Gamma"));
}

#[test]
fn automated_senders() {
    for sender in [
        "noreply@x.example",
        "No-Reply@x.example",
        "DONOTREPLY@x.example",
        "do-not-reply@x.example",
    ] {
        assert!(is_automated_sender(sender), "{sender}");
    }
    for sender in ["mailer-daemon@x.example", "postmaster@x.example"] {
        assert!(is_automated_sender(sender), "{sender}");
    }
    for sender in
        ["noreply.team@x.example", "reply@x.example", "x@noreply.example", "no_reply@x.example", ""]
    {
        assert!(!is_automated_sender(sender), "{sender}");
    }
}
