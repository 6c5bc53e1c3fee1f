use super::*;

#[test]
fn lines_name_users_or_groups() {
    let check = |line: &str, expected: Option<UserLine>| {
        assert_eq!(parse_line(line), expected, "{line:?}");
    };
    check("Adele.Vance@Contoso.com", Some(UserLine::Address("adele.vance@contoso.com".into())));
    check(
        "  Adele Vance <adele@contoso.com> ",
        Some(UserLine::Address("adele@contoso.com".into())),
    );
    check(
        "group:02BD9FD6-8F93-4758-87C3-1FB73740A315",
        Some(UserLine::GroupId("02bd9fd6-8f93-4758-87c3-1fb73740a315".into())),
    );
    check("GROUP: Sales Team ", Some(UserLine::GroupName("Sales Team".into())));
    check(
        "group:02BD9FD6-8F93-4758-87C3",
        Some(UserLine::GroupName("02BD9FD6-8F93-4758-87C3".into())),
    );
    check("group:", None);
    check("group:   ", None);
    check("not an address", None);
    check("", None);
}

#[test]
fn odata_literals_double_quotes() {
    assert_eq!(odata_string("O'Brien Team"), "'O''Brien Team'");
    assert_eq!(odata_string(""), "''");
}

#[test]
fn users_come_from_mail_else_user_principal_name() {
    let member = |body: &str| read_user(body.as_bytes()).expect("reads");
    assert_eq!(
        member(
            r#"{"id": "id-1", "mail": "Adele@Contoso.com", "userPrincipalName": "adele@contoso.onmicrosoft.com"}"#
        ),
        Some(Member { id: "id-1".into(), email: Some("adele@contoso.com".into()) })
    );
    assert_eq!(
        member(
            r#"{"id": "id-2", "mail": null, "userPrincipalName": "Bob@Contoso.onmicrosoft.com"}"#
        ),
        Some(Member { id: "id-2".into(), email: Some("bob@contoso.onmicrosoft.com".into()) })
    );
    assert_eq!(
        member(r#"{"id": "id-3", "mail": "", "userPrincipalName": "no-at-sign"}"#),
        Some(Member { id: "id-3".into(), email: None })
    );
    assert_eq!(member(r#"{"mail": "x@y.z"}"#), None);
    let (members, next) = read_members(
        br##"{"@odata.nextLink": "https://graph.microsoft.com/v1.0/groups/g/transitiveMembers?$skiptoken=2",
             "value": [{"@odata.type": "#microsoft.graph.user", "id": "u1", "mail": "a@x.com"}, 3, {"id": "u2"}]}"##,
    )
    .expect("reads");
    assert_eq!(
        members,
        [
            Some(Member { id: "u1".into(), email: Some("a@x.com".into()) }),
            Some(Member { id: "u2".into(), email: None }),
        ]
    );
    assert_eq!(
        next.as_deref(),
        Some("https://graph.microsoft.com/v1.0/groups/g/transitiveMembers?$skiptoken=2")
    );
    let (groups, _) = read_groups(
        br#"{"value": [{"id": "g1", "displayName": "Sales", "mail": "sales@x.com"}, {"displayName": "no id"}]}"#,
    )
    .expect("reads");
    assert_eq!(groups, [("g1".to_owned(), "Sales".to_owned())]);
}

#[test]
fn unresolved_lines_are_listed() {
    let error = UnresolvedLines {
        problems: vec![
            LineProblem {
                line: "x@y.z".into(),
                message: "no user or group has this address".into(),
            },
            LineProblem {
                line: "group:Sales".into(),
                message: "no group has this display name".into(),
            },
        ],
    };
    assert_eq!(
        error.to_string(),
        "users line \"x@y.z\": no user or group has this address\nusers line \"group:Sales\": no group has this display name"
    );
}
