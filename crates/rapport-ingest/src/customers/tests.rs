//! Tests of loading org users, contacts and accounts, and of cleaning domain cells.

use std::io::Write as _;

use super::*;

fn file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(contents.as_bytes()).expect("write temp file");
    file
}

#[test]
fn users_text_file_skips_comments_and_bad_lines() {
    let users = file("# org\nAlice <Alice@Org.example>\n\n'bob@org.example'\nnot an address\n");
    let loaded = load_users(users.path()).expect("load");
    let emails: Vec<_> = loaded.items.iter().map(|user| user.email.as_str()).collect();
    assert_eq!(emails, ["alice@org.example", "bob@org.example"]);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].line, 5);
}

#[test]
fn users_csv_is_recognized_by_its_email_cell() {
    let users =
        file("\u{feff}Name, EMAIL ,DirectoryId\nA,a@org.example,id-1\nB,b@org.example,\nC,bad,x\n");
    let loaded = load_users(users.path()).expect("load");
    assert_eq!(
        loaded.items,
        vec![
            OrgUser { email: "a@org.example".into(), directory_id: Some("id-1".into()) },
            OrgUser { email: "b@org.example".into(), directory_id: None },
        ]
    );
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].line, 4);
}

#[test]
fn contacts_use_mapped_columns_case_insensitively() {
    let contacts = file("mail,Account\n\"Doe, Jane\" <Jane@Client.example>,  A1 \nx@y.example,\n");
    let loaded = load_contacts(contacts.path(), "Mail", "account").expect("load");
    assert_eq!(
        loaded.items,
        vec![Contact { email: "jane@client.example".into(), account_id: "A1".into() }]
    );
    assert_eq!(loaded.warnings.len(), 1);
}

#[test]
fn missing_column_names_the_file_and_the_column() {
    let contacts = file("Email,Account\n");
    let error = load_contacts(contacts.path(), "Email", "AccountId").expect_err("must fail");
    let text = error.to_string();
    assert!(text.contains("no column named \"AccountId\""), "{text}");
    assert!(text.contains("columns are: Email,Account"), "{text}");
    assert!(text.contains(&contacts.path().display().to_string()), "{text}");
}

#[test]
fn accounts_merge_several_domain_columns() {
    let accounts = file(
        "AccountId,Domains,Web\nA1,\"contoso.example; @Fabrikam.example.\",https://www.contoso.example:443/about\n,x.example,\n",
    );
    let loaded = load_accounts(accounts.path(), "AccountId", &["Domains".into(), "web".into()])
        .expect("load");
    assert_eq!(
        loaded.items,
        vec![Account {
            account_id: "A1".into(),
            domains: vec!["contoso.example".into(), "fabrikam.example".into()],
        }]
    );
    assert_eq!(loaded.warnings.len(), 1);
}

#[test]
fn clean_domain_strips_url_parts() {
    assert_eq!(clean_domain("HTTP://WWW.Example.COM/path?q=1"), Some("example.com".into()));
    assert_eq!(clean_domain("@example.com."), Some("example.com".into()));
    assert_eq!(clean_domain("example.com:8080"), Some("example.com".into()));
    assert_eq!(clean_domain("  "), None);
}

#[test]
fn unreadable_file_is_an_io_error_naming_the_path() {
    let error = load_users(Path::new("/nonexistent/users.txt")).expect_err("must fail");
    assert_eq!(error.to_string(), "cannot read /nonexistent/users.txt");
}
