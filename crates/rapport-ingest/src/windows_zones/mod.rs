//! Windows time zone names as Outlook and Exchange write them in `TZID`s, mapped to IANA zones.
//!
//! Three kinds of names occur: Windows zone ids (`W. Europe Standard Time`), mapped through
//! CLDR's `windowsZones.xml` (territory `001`); display names (`(UTC+01:00) Amsterdam, Berlin, Bern,
//! Rome, Stockholm, Vienna`, older `(GMT+01:00) ...`, or the place list alone as Outlook 2003 and
//! Exchange CDO write it), mapped to the Windows zone whose display name it is (Microsoft's
//! published list, current and older wordings); and a few legacy names (`Eastern`, from Lotus
//! Notes). A display name that is not in the list falls back to the fixed offset of its
//! `(UTC±hh:mm)` prefix (metrics.md §8), which [`display_offset`] reads.
//!
//! Matching ignores case, backslash escapes (`Bangkok\, Hanoi`), repeated white space and white
//! space around commas, and treats `;` like `,` (`Pacific Time (US & Canada); Tijuana`).

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono_tz::Tz;

/// CLDR `windowsZones.xml`, territory `001`: Windows zone id → IANA zone.
const WINDOWS_TO_IANA: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Aleutian Standard Time", "America/Adak"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Marquesas Standard Time", "Pacific/Marquesas"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("UTC-09", "Etc/GMT+9"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("UTC-08", "Etc/GMT+8"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Mountain Standard Time", "America/Denver"),
    ("Yukon Standard Time", "America/Whitehorse"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Easter Island Standard Time", "Pacific/Easter"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Eastern Standard Time", "America/New_York"),
    ("Haiti Standard Time", "America/Port-au-Prince"),
    ("Cuba Standard Time", "America/Havana"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Turks And Caicos Standard Time", "America/Grand_Turk"),
    ("Paraguay Standard Time", "America/Asuncion"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Central Brazilian Standard Time", "America/Cuiaba"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("Tocantins Standard Time", "America/Araguaina"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("Greenland Standard Time", "America/Nuuk"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("Magallanes Standard Time", "America/Punta_Arenas"),
    ("Saint Pierre Standard Time", "America/Miquelon"),
    ("Bahia Standard Time", "America/Bahia"),
    ("UTC-02", "Etc/GMT+2"),
    ("Mid-Atlantic Standard Time", "Etc/GMT+2"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Sao Tome Standard Time", "Africa/Sao_Tome"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("Jordan Standard Time", "Asia/Amman"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Middle East Standard Time", "Asia/Beirut"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Syria Standard Time", "Asia/Damascus"),
    ("West Bank Standard Time", "Asia/Hebron"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("FLE Standard Time", "Europe/Kyiv"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Sudan Standard Time", "Africa/Juba"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad"),
    ("Sudan Standard Time", "Africa/Khartoum"),
    ("Libya Standard Time", "Africa/Tripoli"),
    ("Namibia Standard Time", "Africa/Windhoek"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Belarus Standard Time", "Europe/Minsk"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Volgograd Standard Time", "Europe/Volgograd"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Astrakhan Standard Time", "Europe/Astrakhan"),
    ("Azerbaijan Standard Time", "Asia/Baku"),
    ("Russia Time Zone 3", "Europe/Samara"),
    ("Mauritius Standard Time", "Indian/Mauritius"),
    ("Saratov Standard Time", "Europe/Saratov"),
    ("Georgian Standard Time", "Asia/Tbilisi"),
    ("Caucasus Standard Time", "Asia/Yerevan"),
    ("Armenian Standard Time", "Asia/Yerevan"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("Qyzylorda Standard Time", "Asia/Qyzylorda"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Central Asia Standard Time", "Asia/Bishkek"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Omsk Standard Time", "Asia/Omsk"),
    ("Myanmar Standard Time", "Asia/Yangon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Altai Standard Time", "Asia/Barnaul"),
    ("W. Mongolia Standard Time", "Asia/Hovd"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk"),
    ("Tomsk Standard Time", "Asia/Tomsk"),
    ("China Standard Time", "Asia/Shanghai"),
    ("North Asia East Standard Time", "Asia/Irkutsk"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    ("Aus Central W. Standard Time", "Australia/Eucla"),
    ("Transbaikal Standard Time", "Asia/Chita"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("North Korea Standard Time", "Asia/Pyongyang"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Yakutsk Standard Time", "Asia/Yakutsk"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("Vladivostok Standard Time", "Asia/Vladivostok"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ("Bougainville Standard Time", "Pacific/Bougainville"),
    ("Russia Time Zone 10", "Asia/Srednekolymsk"),
    ("Magadan Standard Time", "Asia/Magadan"),
    ("Norfolk Standard Time", "Pacific/Norfolk"),
    ("Sakhalin Standard Time", "Asia/Sakhalin"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal"),
    ("Russia Time Zone 11", "Asia/Kamchatka"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("UTC+12", "Etc/GMT-12"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("Kamchatka Standard Time", "Asia/Kamchatka"),
    ("Chatham Islands Standard Time", "Pacific/Chatham"),
    ("UTC+13", "Etc/GMT-13"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
    ("Samoa Standard Time", "Pacific/Apia"),
    ("Line Islands Standard Time", "Pacific/Kiritimati"),
    // Retired Windows ids that older Exchange servers still write.
    ("Mexico Standard Time", "America/Mexico_City"),
    ("Mexico Standard Time 2", "America/Chihuahua"),
];

/// Microsoft's display names, without their `(UTC±hh:mm)` prefix: place list → Windows zone id.
/// Current wordings first, then older ones (Windows XP/2003 era `(GMT...)` names and Exchange CDO).
const DISPLAY_PLACES: &[(&str, &str)] = &[
    ("International Date Line West", "Dateline Standard Time"),
    ("Coordinated Universal Time-11", "UTC-11"),
    ("Aleutian Islands", "Aleutian Standard Time"),
    ("Hawaii", "Hawaiian Standard Time"),
    ("Marquesas Islands", "Marquesas Standard Time"),
    ("Alaska", "Alaskan Standard Time"),
    ("Coordinated Universal Time-09", "UTC-09"),
    ("Baja California", "Pacific Standard Time (Mexico)"),
    ("Coordinated Universal Time-08", "UTC-08"),
    ("Pacific Time (US & Canada)", "Pacific Standard Time"),
    ("Arizona", "US Mountain Standard Time"),
    ("La Paz, Mazatlan", "Mountain Standard Time (Mexico)"),
    ("Chihuahua, La Paz, Mazatlan", "Mountain Standard Time (Mexico)"),
    ("Mountain Time (US & Canada)", "Mountain Standard Time"),
    ("Yukon", "Yukon Standard Time"),
    ("Central America", "Central America Standard Time"),
    ("Central Time (US & Canada)", "Central Standard Time"),
    ("Easter Island", "Easter Island Standard Time"),
    ("Guadalajara, Mexico City, Monterrey", "Central Standard Time (Mexico)"),
    ("Saskatchewan", "Canada Central Standard Time"),
    ("Bogota, Lima, Quito, Rio Branco", "SA Pacific Standard Time"),
    ("Chetumal", "Eastern Standard Time (Mexico)"),
    ("Eastern Time (US & Canada)", "Eastern Standard Time"),
    ("Haiti", "Haiti Standard Time"),
    ("Havana", "Cuba Standard Time"),
    ("Indiana (East)", "US Eastern Standard Time"),
    ("Turks and Caicos", "Turks And Caicos Standard Time"),
    ("Asuncion", "Paraguay Standard Time"),
    ("Atlantic Time (Canada)", "Atlantic Standard Time"),
    ("Caracas", "Venezuela Standard Time"),
    ("Cuiaba", "Central Brazilian Standard Time"),
    ("Georgetown, La Paz, Manaus, San Juan", "SA Western Standard Time"),
    ("Santiago", "Pacific SA Standard Time"),
    ("Newfoundland", "Newfoundland Standard Time"),
    ("Araguaina", "Tocantins Standard Time"),
    ("Brasilia", "E. South America Standard Time"),
    ("Brasília", "E. South America Standard Time"),
    ("Cayenne, Fortaleza", "SA Eastern Standard Time"),
    ("City of Buenos Aires", "Argentina Standard Time"),
    ("Greenland", "Greenland Standard Time"),
    ("Montevideo", "Montevideo Standard Time"),
    ("Punta Arenas", "Magallanes Standard Time"),
    ("Saint Pierre and Miquelon", "Saint Pierre Standard Time"),
    ("Salvador", "Bahia Standard Time"),
    ("Coordinated Universal Time-02", "UTC-02"),
    ("Mid-Atlantic - Old", "Mid-Atlantic Standard Time"),
    ("Azores", "Azores Standard Time"),
    ("Cabo Verde Is.", "Cape Verde Standard Time"),
    ("Coordinated Universal Time", "UTC"),
    ("Dublin, Edinburgh, Lisbon, London", "GMT Standard Time"),
    ("Monrovia, Reykjavik", "Greenwich Standard Time"),
    ("Sao Tome", "Sao Tome Standard Time"),
    ("Casablanca", "Morocco Standard Time"),
    ("Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "W. Europe Standard Time"),
    ("Belgrade, Bratislava, Budapest, Ljubljana, Prague", "Central Europe Standard Time"),
    ("Brussels, Copenhagen, Madrid, Paris", "Romance Standard Time"),
    ("Sarajevo, Skopje, Warsaw, Zagreb", "Central European Standard Time"),
    ("West Central Africa", "W. Central Africa Standard Time"),
    ("Amman", "Jordan Standard Time"),
    ("Athens, Bucharest", "GTB Standard Time"),
    ("Beirut", "Middle East Standard Time"),
    ("Cairo", "Egypt Standard Time"),
    ("Chisinau", "E. Europe Standard Time"),
    ("Damascus", "Syria Standard Time"),
    ("Gaza, Hebron", "West Bank Standard Time"),
    ("Harare, Pretoria", "South Africa Standard Time"),
    ("Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius", "FLE Standard Time"),
    ("Helsinki, Kiev, Riga, Sofia, Tallinn, Vilnius", "FLE Standard Time"),
    ("Jerusalem", "Israel Standard Time"),
    ("Juba", "South Sudan Standard Time"),
    ("Kaliningrad", "Kaliningrad Standard Time"),
    ("Khartoum", "Sudan Standard Time"),
    ("Tripoli", "Libya Standard Time"),
    ("Windhoek", "Namibia Standard Time"),
    ("Baghdad", "Arabic Standard Time"),
    ("Istanbul", "Turkey Standard Time"),
    ("Kuwait, Riyadh", "Arab Standard Time"),
    ("Minsk", "Belarus Standard Time"),
    ("Moscow, St. Petersburg", "Russian Standard Time"),
    ("Moscow, St. Petersburg, Volgograd", "Russian Standard Time"),
    ("Nairobi", "E. Africa Standard Time"),
    ("Volgograd", "Volgograd Standard Time"),
    ("Tehran", "Iran Standard Time"),
    ("Abu Dhabi, Muscat", "Arabian Standard Time"),
    ("Astrakhan, Ulyanovsk", "Astrakhan Standard Time"),
    ("Baku", "Azerbaijan Standard Time"),
    ("Izhevsk, Samara", "Russia Time Zone 3"),
    ("Port Louis", "Mauritius Standard Time"),
    ("Saratov", "Saratov Standard Time"),
    ("Tbilisi", "Georgian Standard Time"),
    ("Yerevan", "Caucasus Standard Time"),
    ("Kabul", "Afghanistan Standard Time"),
    ("Ashgabat, Tashkent", "West Asia Standard Time"),
    ("Ekaterinburg", "Ekaterinburg Standard Time"),
    ("Islamabad, Karachi", "Pakistan Standard Time"),
    ("Qyzylorda", "Qyzylorda Standard Time"),
    ("Chennai, Kolkata, Mumbai, New Delhi", "India Standard Time"),
    ("Sri Jayawardenepura", "Sri Lanka Standard Time"),
    ("Kathmandu", "Nepal Standard Time"),
    ("Astana", "Central Asia Standard Time"),
    ("Dhaka", "Bangladesh Standard Time"),
    ("Omsk", "Omsk Standard Time"),
    ("Yangon (Rangoon)", "Myanmar Standard Time"),
    ("Bangkok, Hanoi, Jakarta", "SE Asia Standard Time"),
    ("Barnaul, Gorno-Altaysk", "Altai Standard Time"),
    ("Hovd", "W. Mongolia Standard Time"),
    ("Krasnoyarsk", "North Asia Standard Time"),
    ("Novosibirsk", "N. Central Asia Standard Time"),
    ("Tomsk", "Tomsk Standard Time"),
    ("Beijing, Chongqing, Hong Kong, Urumqi", "China Standard Time"),
    ("Irkutsk", "North Asia East Standard Time"),
    ("Kuala Lumpur, Singapore", "Singapore Standard Time"),
    ("Perth", "W. Australia Standard Time"),
    ("Taipei", "Taipei Standard Time"),
    ("Ulaanbaatar", "Ulaanbaatar Standard Time"),
    ("Eucla", "Aus Central W. Standard Time"),
    ("Chita", "Transbaikal Standard Time"),
    ("Osaka, Sapporo, Tokyo", "Tokyo Standard Time"),
    ("Pyongyang", "North Korea Standard Time"),
    ("Seoul", "Korea Standard Time"),
    ("Yakutsk", "Yakutsk Standard Time"),
    ("Adelaide", "Cen. Australia Standard Time"),
    ("Darwin", "AUS Central Standard Time"),
    ("Brisbane", "E. Australia Standard Time"),
    ("Canberra, Melbourne, Sydney", "AUS Eastern Standard Time"),
    ("Guam, Port Moresby", "West Pacific Standard Time"),
    ("Hobart", "Tasmania Standard Time"),
    ("Vladivostok", "Vladivostok Standard Time"),
    ("Lord Howe Island", "Lord Howe Standard Time"),
    ("Bougainville Island", "Bougainville Standard Time"),
    ("Chokurdakh", "Russia Time Zone 10"),
    ("Magadan", "Magadan Standard Time"),
    ("Norfolk Island", "Norfolk Standard Time"),
    ("Sakhalin", "Sakhalin Standard Time"),
    ("Solomon Is., New Caledonia", "Central Pacific Standard Time"),
    ("Anadyr, Petropavlovsk-Kamchatsky", "Russia Time Zone 11"),
    ("Auckland, Wellington", "New Zealand Standard Time"),
    ("Coordinated Universal Time+12", "UTC+12"),
    ("Fiji", "Fiji Standard Time"),
    ("Petropavlovsk-Kamchatsky - Old", "Kamchatka Standard Time"),
    ("Chatham Islands", "Chatham Islands Standard Time"),
    ("Coordinated Universal Time+13", "UTC+13"),
    ("Nuku'alofa", "Tonga Standard Time"),
    ("Samoa", "Samoa Standard Time"),
    ("Kiritimati Island", "Line Islands Standard Time"),
    // Older wordings (Windows XP/2003, Outlook 2003, Exchange CDO).
    ("Pacific Time (US & Canada), Tijuana", "Pacific Standard Time"),
    ("Tijuana, Baja California", "Pacific Standard Time (Mexico)"),
    ("Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London", "GMT Standard Time"),
    ("Casablanca, Monrovia", "Greenwich Standard Time"),
    ("Casablanca, Monrovia, Reykjavik", "Greenwich Standard Time"),
    ("Bogota, Lima, Quito", "SA Pacific Standard Time"),
    ("Caracas, La Paz", "SA Western Standard Time"),
    ("Georgetown, La Paz, San Juan", "SA Western Standard Time"),
    ("Buenos Aires", "Argentina Standard Time"),
    ("Buenos Aires, Georgetown", "SA Eastern Standard Time"),
    ("Mid-Atlantic", "Mid-Atlantic Standard Time"),
    ("Cape Verde Is.", "Cape Verde Standard Time"),
    ("Athens, Beirut, Istanbul, Minsk", "GTB Standard Time"),
    ("Athens, Istanbul, Minsk", "GTB Standard Time"),
    ("Bucharest", "E. Europe Standard Time"),
    ("Baku, Tbilisi, Yerevan", "Caucasus Standard Time"),
    ("Islamabad, Karachi, Tashkent", "West Asia Standard Time"),
    ("Almaty, Novosibirsk", "N. Central Asia Standard Time"),
    ("Astana, Dhaka", "Central Asia Standard Time"),
    ("Rangoon", "Myanmar Standard Time"),
    ("Irkutsk, Ulaan Bataar", "North Asia East Standard Time"),
    ("Magadan, Solomon Is., New Caledonia", "Central Pacific Standard Time"),
    ("Fiji, Kamchatka, Marshall Is.", "Fiji Standard Time"),
    ("Midway Island, Samoa", "UTC-11"),
];

/// Legacy names written by other clients (Lotus Notes) → IANA zone.
const LEGACY_NAMES: &[(&str, &str)] = &[
    ("Eastern", "America/New_York"),
    ("Central", "America/Chicago"),
    ("Mountain", "America/Denver"),
    ("Pacific", "America/Los_Angeles"),
    ("Alaskan", "America/Anchorage"),
    ("Hawaiian", "Pacific/Honolulu"),
    ("Atlantic", "America/Halifax"),
    ("Newfoundland", "America/St_Johns"),
    ("GMT", "Etc/UTC"),
    ("W. Europe", "Europe/Berlin"),
    ("Romance", "Europe/Paris"),
    ("Central Europe", "Europe/Budapest"),
    ("Western/Central Europe", "Europe/Berlin"),
];

/// The IANA zone of a Windows zone id, a Microsoft display name (with or without its `(UTC...)`
/// or `(GMT...)` prefix) or a legacy name; `None` when the name is none of these.
pub fn lookup(name: &str) -> Option<Tz> {
    let table = table();
    let key = normalize(name);
    if let Some(iana) = table.get(key.as_str()) {
        return iana.parse().ok();
    }
    let (_, rest) = split_offset_prefix(name)?;
    table.get(normalize(rest).as_str()).and_then(|iana| iana.parse().ok())
}

/// The IANA name of a Windows zone id, matched exactly as CLDR spells it.
fn iana_for_windows_id(windows_id: &str) -> Option<&'static str> {
    WINDOWS_TO_IANA.iter().find(|(id, _)| *id == windows_id).map(|(_, iana)| *iana)
}

/// The offset (seconds east of UTC) of a `(UTC±hh:mm) ...` or `(GMT±hh:mm) ...` prefix; `(UTC)`
/// and `(GMT)` are 0. `None` when the name has no such prefix.
pub fn display_offset(name: &str) -> Option<i32> {
    split_offset_prefix(name).map(|(offset, _)| offset)
}

/// Splits `(UTC+07:00) Bangkok, ...` into the offset and the rest.
fn split_offset_prefix(name: &str) -> Option<(i32, &str)> {
    let name = name.trim();
    let inner_end = name.find(')')?;
    let inner = name.get(..inner_end)?.strip_prefix('(')?.trim();
    let rest = name.get(inner_end + 1..)?;
    let upper = inner.to_ascii_uppercase();
    let signed = upper.strip_prefix("UTC").or_else(|| upper.strip_prefix("GMT"))?.trim();
    if signed.is_empty() {
        return Some((0, rest));
    }
    let (sign, digits) = match signed.as_bytes().first()? {
        b'+' => (1, signed.get(1..)?),
        b'-' => (-1, signed.get(1..)?),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((hours, minutes)) => (hours, minutes),
        None => (digits, "0"),
    };
    let hours: i32 = hours.trim().parse().ok()?;
    let minutes: i32 = minutes.trim().parse().ok()?;
    if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
        return None;
    }
    Some((sign * (hours * 3600 + minutes * 60), rest))
}

/// The lookup table: every normalized Windows id, display place and legacy name → IANA name.
fn table() -> &'static HashMap<String, &'static str> {
    static TABLE: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for (windows_id, iana) in WINDOWS_TO_IANA {
            table.insert(normalize(windows_id), *iana);
        }
        for (place, windows_id) in DISPLAY_PLACES {
            if let Some(iana) = iana_for_windows_id(windows_id) {
                table.entry(normalize(place)).or_insert(iana);
            }
        }
        for (name, iana) in LEGACY_NAMES {
            table.entry(normalize(name)).or_insert(*iana);
        }
        table
    })
}

/// Lowercases, drops backslashes and quotes, reads `;` as `,`, collapses white space and removes
/// it around commas.
fn normalize(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut pending_space = false;
    for character in name.chars() {
        match character {
            '\\' | '"' => {}
            ',' | ';' => {
                pending_space = false;
                normalized.push(',');
            }
            character if character.is_whitespace() => pending_space = !normalized.is_empty(),
            character => {
                if pending_space && !normalized.ends_with(',') {
                    normalized.push(' ');
                }
                pending_space = false;
                normalized.extend(character.to_lowercase());
            }
        }
    }
    normalized
}
