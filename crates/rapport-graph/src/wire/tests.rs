use super::*;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Item<'a> {
    #[serde(borrow)]
    name: LenientStr<'a>,
    flag: LenientBool,
    count: LenientInt,
    #[serde(borrow)]
    who: LenientObject<WireRecipient<'a>>,
    #[serde(borrow)]
    list: LenientList<LenientStr<'a>>,
}

/// Per item: name, flag, count, address and list length (`usize::MAX` for a non-object item).
type ItemFields = (Option<String>, Option<bool>, Option<i64>, Option<String>, usize);

fn names(body: &str) -> Vec<ItemFields> {
    let page: Page<Item<'_>> = serde_json::from_str(body).expect("page reads");
    page.value
        .0
        .into_iter()
        .map(|item| match item.0 {
            None => (None, None, None, None, usize::MAX),
            Some(item) => (
                item.name.into_owned(),
                item.flag.0,
                item.count.0,
                item.who.0.as_ref().and_then(WireRecipient::normalized_address),
                item.list.0.len(),
            ),
        })
        .collect()
}

#[test]
fn odd_fields_read_as_absent() {
    let body = r#"{"value": [
        {"name": "plain", "flag": true, "count": 3, "who": {"emailAddress": {"name": "A", "address": "Ann@Contoso.COM"}}, "list": ["x", 1, null]},
        {"name": "esc\"aped", "flag": "TRUE", "count": "12", "who": null, "list": null},
        {"name": 5, "flag": 1, "count": 1.5, "who": ["x"], "list": {"a": [1, {"b": 2}]}},
        {"name": {"deep": [1, 2]}, "flag": "no", "count": [], "who": {"emailAddress": "nobody"}},
        7,
        "text",
        {}
    ], "@odata.nextLink": "https://graph.microsoft.com/v1.0/next"}"#;
    assert_eq!(
        names(body),
        [
            (Some("plain".into()), Some(true), Some(3), Some("ann@contoso.com".into()), 3),
            (Some("esc\"aped".into()), Some(true), Some(12), None, 0),
            (None, None, None, None, 0),
            (None, None, None, None, 0),
            (None, None, None, None, usize::MAX),
            (None, None, None, None, usize::MAX),
            (None, None, None, None, 0),
        ]
    );
}

#[test]
fn links_and_missing_value() {
    let page: Page<Item<'_>> =
        serde_json::from_str(r#"{"@odata.deltaLink": "https://g/delta?$deltatoken=1"}"#)
            .expect("reads");
    assert!(page.value.0.is_empty());
    assert_eq!(page.next_link, None);
    assert_eq!(page.delta_link.as_deref(), Some("https://g/delta?$deltatoken=1"));
}

#[test]
fn text_that_is_not_json_is_an_error() {
    assert!(serde_json::from_str::<Page<Item<'_>>>(r#"{"value": [{"name": "x"}"#).is_err());
    assert!(serde_json::from_str::<Page<Item<'_>>>("<html>").is_err());
}

#[test]
fn error_bodies() {
    assert_eq!(
        error_code_and_message(
            br#"{"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}"#
        ),
        ("ErrorAccessDenied".to_owned(), "Access is denied.".to_owned())
    );
    assert_eq!(error_code_and_message(b"Service Unavailable"), (String::new(), String::new()));
    assert_eq!(
        error_code_and_message(br#"{"error": "invalid_client"}"#),
        (String::new(), String::new())
    );
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct DeltaProbe<'a> {
    #[serde(borrow)]
    id: LenientStr<'a>,
    #[serde(rename = "@removed", borrow)]
    removed: LenientObject<WireRemoved<'a>>,
    #[serde(borrow)]
    name: LenientStr<'a>,
}

impl DeltaItem for DeltaProbe<'_> {
    fn graph_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    fn is_removed(&self) -> bool {
        self.removed.0.is_some()
    }
}

#[test]
fn delta_pages_skip_id_less_items_and_forget_removed_ones() {
    let body = br#"{
        "@odata.nextLink": "https://g/delta?$skiptoken=2",
        "value": [
            {"id": "a", "name": "kept"},
            null,
            42,
            {"name": "no id"},
            {"id": "", "name": "empty id"},
            {"id": 7, "name": "numeric id"},
            {"id": "b", "@removed": {"reason": "deleted"}, "name": "gone"},
            {"id": "c", "name": "dropped"}
        ]
    }"#;
    let page = read_delta_page(body, |graph_id, probe: &DeltaProbe<'_>, out| {
        if probe.name.as_deref() == Some("dropped") {
            out.removed.push(graph_id);
        } else {
            out.upserted.push((graph_id, probe.name.as_deref().map(str::to_owned)));
        }
    })
    .expect("page reads");
    assert_eq!(page.upserted, [("a".to_owned(), Some("kept".to_owned()))]);
    assert_eq!(page.removed, ["b", "c"]);
    assert_eq!(page.skipped.get(SkipReason::Unparseable), 5);
    assert_eq!(page.skipped.total(), 5);
    assert_eq!(page.next_link.as_deref(), Some("https://g/delta?$skiptoken=2"));
    assert_eq!(page.delta_link, None);
}
