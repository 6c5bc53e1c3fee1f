//! Lenient JSON shapes for Graph answers: a field of an unexpected type reads as absent instead of
//! failing the whole page.
//!
//! Graph payloads are large and mostly well-formed, but one odd item (a `null` recipient list, a
//! boolean sent as a string — the documented delta examples carry `"isRead": "true"`) must not turn
//! a page of a hundred messages into a "malformed JSON" retry and then a failed mailbox. Only text
//! that is not JSON at all is malformed. Strings are borrowed from the page when they hold no
//! escapes, so reading a page allocates little beyond what the caller keeps.
//!
//! [`DeltaPage`] and [`read_delta_page`] are what the mail and calendar delta streams share: the
//! page they read, and the handling of items without an id and of `@removed` items.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use rapport_core::model::{SkipCounts, SkipReason};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

#[cfg(test)]
mod tests;

/// A string, or `None` for `null`, a missing field or any other JSON type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LenientStr<'a>(pub(crate) Option<Cow<'a, str>>);

impl<'a> LenientStr<'a> {
    /// The string, if any.
    pub(crate) fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The string, owned.
    pub(crate) fn into_owned(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }
}

/// A boolean (`true`/`false`, or the strings `"true"`/`"false"` in any case), else `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LenientBool(pub(crate) Option<bool>);

/// An integer (a JSON integer or a string of digits), else `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LenientInt(pub(crate) Option<i64>);

/// A JSON object read as `T`, else `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LenientObject<T>(pub(crate) Option<T>);

impl<T> Default for LenientObject<T> {
    fn default() -> Self {
        LenientObject(None)
    }
}

/// A JSON array of `T` (elements must themselves be lenient), else empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LenientList<T>(pub(crate) Vec<T>);

impl<T> Default for LenientList<T> {
    fn default() -> Self {
        LenientList(Vec::new())
    }
}

/// Consumes whatever array or object a visitor met, so the deserializer stays in step.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Implements visitor methods that read the listed JSON kinds as `$value` ("absent"): `scalars`
/// (booleans, numbers, null), `str`, `seq` and `map` (both consumed so the reader stays in step).
macro_rules! absent {
    ($value:expr, scalars) => {
        absent!($value, bool);
        absent!($value, numbers);
        absent!($value, null);
    };
    ($value:expr, bool) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
    ($value:expr, numbers) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
    ($value:expr, f64_only) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
    ($value:expr, null) => {
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
    ($value:expr, str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
    ($value:expr, seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok($value)
        }
    };
    ($value:expr, map) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok($value)
        }
    };
}

struct StrVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
    type Value = LenientStr<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(LenientStr(Some(Cow::Borrowed(value))))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(LenientStr(Some(Cow::Owned(value.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(LenientStr(Some(Cow::Owned(value))))
    }

    absent!(LenientStr(None), scalars);
    absent!(LenientStr(None), seq);
    absent!(LenientStr(None), map);
}

impl<'de: 'a, 'a> Deserialize<'de> for LenientStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrVisitor(PhantomData))
    }
}

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = LenientBool;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(LenientBool(Some(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        let value = value.trim();
        Ok(LenientBool(if value.eq_ignore_ascii_case("true") {
            Some(true)
        } else if value.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        }))
    }

    absent!(LenientBool(None), numbers);
    absent!(LenientBool(None), null);
    absent!(LenientBool(None), seq);
    absent!(LenientBool(None), map);
}

impl<'de> Deserialize<'de> for LenientBool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BoolVisitor)
    }
}

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = LenientInt;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(LenientInt(Some(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(LenientInt(i64::try_from(value).ok()))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(LenientInt(value.trim().parse().ok()))
    }

    absent!(LenientInt(None), bool);
    absent!(LenientInt(None), f64_only);
    absent!(LenientInt(None), null);
    absent!(LenientInt(None), seq);
    absent!(LenientInt(None), map);
}

impl<'de> Deserialize<'de> for LenientInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntVisitor)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = LenientObject<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(|value| LenientObject(Some(value)))
    }

    absent!(LenientObject(None), scalars);
    absent!(LenientObject(None), str);
    absent!(LenientObject(None), seq);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LenientObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = LenientList<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(LenientList(items))
    }

    absent!(LenientList(Vec::new()), scalars);
    absent!(LenientList(Vec::new()), str);
    absent!(LenientList(Vec::new()), map);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LenientList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

/// One page of a Graph collection: its items and the link to the next page or the delta link
/// that ends a round.
#[derive(serde::Deserialize)]
#[serde(default)]
pub(crate) struct Page<T> {
    /// The items; an item that is not an object reads as `None`.
    pub(crate) value: LenientList<LenientObject<T>>,
    /// The next page of this round.
    #[serde(rename = "@odata.nextLink")]
    pub(crate) next_link: Option<String>,
    /// The link that starts the next round (last page of a delta round only).
    #[serde(rename = "@odata.deltaLink")]
    pub(crate) delta_link: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page { value: LenientList::default(), next_link: None, delta_link: None }
    }
}

/// One page of a delta round, read and mapped: its items, the ids to forget, the counted skips
/// and its links. Mail reads [`crate::mail::MessagePage`]s, calendars
/// [`crate::calendar::EventPage`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeltaPage<Item> {
    /// New or changed items.
    pub upserted: Vec<Item>,
    /// Graph ids to forget: `@removed` items, and items the stream drops (see its page type).
    pub removed: Vec<String>,
    /// Items that could not be used: not an object or without an id (`unparseable`), and the
    /// stream's own reasons (see its page type).
    pub skipped: SkipCounts,
    /// The next page of this round.
    pub next_link: Option<String>,
    /// The link of the next round (last page only).
    pub delta_link: Option<String>,
}

impl<Item> Default for DeltaPage<Item> {
    fn default() -> Self {
        DeltaPage {
            upserted: Vec::new(),
            removed: Vec::new(),
            skipped: SkipCounts::default(),
            next_link: None,
            delta_link: None,
        }
    }
}

/// The parts of a wire item that every delta stream reads the same way.
pub(crate) trait DeltaItem {
    /// The item's Graph id, if any.
    fn graph_id(&self) -> Option<&str>;
    /// True for an `@removed` item.
    fn is_removed(&self) -> bool;
}

/// Reads one delta page: an item that is not an object or has no id is skipped as
/// `unparseable`, an `@removed` item's id goes to `removed`, and `map` takes every other item
/// with its id and adds what it makes of it to the page.
pub(crate) fn read_delta_page<'de, Wire, Item>(
    body: &'de [u8],
    mut map: impl FnMut(String, &Wire, &mut DeltaPage<Item>),
) -> Result<DeltaPage<Item>, serde_json::Error>
where
    Wire: Deserialize<'de> + DeltaItem,
{
    let page: Page<Wire> = serde_json::from_slice(body)?;
    let mut out = DeltaPage {
        upserted: Vec::with_capacity(page.value.0.len()),
        next_link: page.next_link,
        delta_link: page.delta_link,
        ..DeltaPage::default()
    };
    for item in page.value.0 {
        let Some(wire) = item.0 else {
            out.skipped.add(SkipReason::Unparseable);
            continue;
        };
        let Some(graph_id) = wire.graph_id().filter(|id| !id.is_empty()).map(str::to_owned) else {
            out.skipped.add(SkipReason::Unparseable);
            continue;
        };
        if wire.is_removed() {
            out.removed.push(graph_id);
            continue;
        }
        map(graph_id, &wire, &mut out);
    }
    Ok(out)
}

/// `{"emailAddress": {"name": ..., "address": ...}}`: a recipient, an organizer or an attendee's
/// address part. The display name is never read.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireRecipient<'a> {
    #[serde(rename = "emailAddress", borrow)]
    pub(crate) email_address: LenientObject<WireEmailAddress<'a>>,
}

/// The `emailAddress` object: only its address is read.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireEmailAddress<'a> {
    #[serde(borrow)]
    pub(crate) address: LenientStr<'a>,
}

impl WireRecipient<'_> {
    /// The normalized address, if it is a valid one.
    pub(crate) fn normalized_address(&self) -> Option<String> {
        let address = self.email_address.0.as_ref()?.address.as_deref()?;
        rapport_core::address::normalize(address)
    }
}

/// The `@removed` marker of a delta item.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireRemoved<'a> {
    #[serde(borrow)]
    pub(crate) reason: LenientStr<'a>,
}

/// A Graph error answer: `{"error": {"code": ..., "message": ...}}`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireErrorBody<'a> {
    #[serde(borrow)]
    pub(crate) error: LenientObject<WireError<'a>>,
}

/// The `error` object of a Graph error answer.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireError<'a> {
    #[serde(borrow)]
    pub(crate) code: LenientStr<'a>,
    #[serde(borrow)]
    pub(crate) message: LenientStr<'a>,
}

/// The code and message of a Graph error answer; empty strings when the body is not one.
pub(crate) fn error_code_and_message(body: &[u8]) -> (String, String) {
    match serde_json::from_slice::<WireErrorBody<'_>>(body) {
        Ok(WireErrorBody { error: LenientObject(Some(error)) }) => (
            error.code.into_owned().unwrap_or_default(),
            error.message.into_owned().unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    }
}
