//! Loading the org users and the customer data (accounts and contacts) from CSV or text files.
//!
//! The rules are metrics.md §8 "Inputs" and "Domains": column names match exactly, else trimmed and
//! case-insensitively; rows that cannot be used are dropped with a warning that names the file and
//! line but never the address (warnings may reach logs).

use std::fs;
use std::path::{Path, PathBuf};

use rapport_core::address;
use rapport_core::model::{Account, Contact, OrgUser};

/// A customer-data file that cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The CSV structure is broken at some line.
    #[error("{}: line {line}: malformed CSV", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// The underlying error.
        #[source]
        source: csv::Error,
    },
    /// A required column is not in the header row.
    #[error("{}: no column named {column:?} (columns are: {available})", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column that was asked for.
        column: String,
        /// The header row, comma separated.
        available: String,
    },
    /// The file holds no header row.
    #[error("{}: the file is empty (a header row is needed)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// A row that was dropped, by file and line; it never holds the row's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The file.
    pub path: PathBuf,
    /// One-based line number.
    pub line: u64,
    /// Why the row was dropped.
    pub message: &'static str,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: line {}: {}", self.path.display(), self.line, self.message)
    }
}

/// Rows read from a file, and the rows dropped.
#[derive(Clone, Debug)]
pub struct Loaded<T> {
    /// The usable rows, in file order.
    pub items: Vec<T>,
    /// The dropped rows.
    pub warnings: Vec<Warning>,
}

/// Reads the org users: a CSV with an `Email` column (and optionally `DirectoryId`) when the first
/// line, read as CSV, has a cell `Email`; otherwise one address per line, with blank lines and
/// lines starting with `#` ignored and `Name <addr>` allowed.
pub fn load_users(path: &Path) -> Result<Loaded<OrgUser>, CustomerError> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(strip_bom(&bytes)).into_owned();
    let first_line = text.lines().next().unwrap_or("");
    let first_cells = csv_cells(first_line);
    if first_cells.iter().any(|cell| cell.trim().eq_ignore_ascii_case("email")) {
        return load_users_csv(path, text.as_bytes());
    }
    let mut loaded = Loaded { items: Vec::new(), warnings: Vec::new() };
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match address::normalize(trimmed) {
            Some(email) => loaded.items.push(OrgUser { email, directory_id: None }),
            None => loaded.warnings.push(Warning {
                path: path.to_path_buf(),
                line: index as u64 + 1,
                message: "not an email address; line ignored",
            }),
        }
    }
    Ok(loaded)
}

fn load_users_csv(path: &Path, bytes: &[u8]) -> Result<Loaded<OrgUser>, CustomerError> {
    let mut reader = csv_reader(bytes);
    let headers = headers(path, &mut reader)?;
    let email_column = find_column(path, &headers, "Email")?;
    let directory_column = find_column(path, &headers, "DirectoryId").ok();
    let mut loaded = Loaded { items: Vec::new(), warnings: Vec::new() };
    for record in reader.byte_records() {
        let record = record.map_err(|source| csv_error(path, source))?;
        let line = line_of(&record);
        let email = cell(&record, email_column);
        match address::normalize(&email) {
            Some(email) => {
                let directory_id = directory_column
                    .map(|column| cell(&record, column).trim().to_owned())
                    .filter(|id| !id.is_empty());
                loaded.items.push(OrgUser { email, directory_id });
            }
            None => loaded.warnings.push(Warning {
                path: path.to_path_buf(),
                line,
                message: "Email is not an email address; row ignored",
            }),
        }
    }
    Ok(loaded)
}

/// Reads contacts from a CSV with the given email and account-id columns.
pub fn load_contacts(
    path: &Path,
    email_column: &str,
    account_column: &str,
) -> Result<Loaded<Contact>, CustomerError> {
    let bytes = read(path)?;
    let mut reader = csv_reader(strip_bom(&bytes));
    let headers = headers(path, &mut reader)?;
    let email_index = find_column(path, &headers, email_column)?;
    let account_index = find_column(path, &headers, account_column)?;
    let mut loaded = Loaded { items: Vec::new(), warnings: Vec::new() };
    for record in reader.byte_records() {
        let record = record.map_err(|source| csv_error(path, source))?;
        let line = line_of(&record);
        let account_id = cell(&record, account_index).trim().to_owned();
        if account_id.is_empty() {
            loaded.warnings.push(Warning {
                path: path.to_path_buf(),
                line,
                message: "empty account id; contact ignored",
            });
            continue;
        }
        match address::normalize(&cell(&record, email_index)) {
            Some(email) => loaded.items.push(Contact { email, account_id }),
            None => loaded.warnings.push(Warning {
                path: path.to_path_buf(),
                line,
                message: "not an email address; contact ignored",
            }),
        }
    }
    Ok(loaded)
}

/// Reads accounts from a CSV with the given id column and any number of domain columns.
///
/// Rows with an empty id are dropped with a warning; several rows of one id merge their domains.
pub fn load_accounts(
    path: &Path,
    id_column: &str,
    domain_columns: &[String],
) -> Result<Loaded<Account>, CustomerError> {
    let bytes = read(path)?;
    let mut reader = csv_reader(strip_bom(&bytes));
    let headers = headers(path, &mut reader)?;
    let id_index = find_column(path, &headers, id_column)?;
    let domain_indexes = domain_columns
        .iter()
        .map(|column| find_column(path, &headers, column))
        .collect::<Result<Vec<_>, _>>()?;
    let mut loaded = Loaded { items: Vec::new(), warnings: Vec::new() };
    for record in reader.byte_records() {
        let record = record.map_err(|source| csv_error(path, source))?;
        let account_id = cell(&record, id_index).trim().to_owned();
        if account_id.is_empty() {
            loaded.warnings.push(Warning {
                path: path.to_path_buf(),
                line: line_of(&record),
                message: "empty account id; account ignored",
            });
            continue;
        }
        let mut domains = Vec::new();
        for &index in &domain_indexes {
            split_domains(&cell(&record, index), &mut domains);
        }
        loaded.items.push(Account { account_id, domains });
    }
    Ok(loaded)
}

/// Splits a domain cell on `;`, `,` and white space and cleans each part (see `clean_domain`).
fn split_domains(cell: &str, out: &mut Vec<String>) {
    for part in cell.split(|c: char| c == ';' || c == ',' || c.is_whitespace()) {
        if let Some(domain) = clean_domain(part)
            && !out.contains(&domain)
        {
            out.push(domain);
        }
    }
}

/// Cleans one domain: lowercase; scheme, path, query, port, user info, a leading `@` or `www.` and
/// a trailing `.` removed. `None` when nothing is left.
fn clean_domain(raw: &str) -> Option<String> {
    let mut text = raw.trim().trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase();
    if let Some(position) = text.find("://") {
        text = text[position + 3..].to_owned();
    }
    let end = text.find(['/', '?', '#']).unwrap_or(text.len());
    text.truncate(end);
    if let Some(position) = text.rfind('@') {
        text = text[position + 1..].to_owned();
    }
    if let Some(position) = text.rfind(':') {
        text.truncate(position);
    }
    let mut domain = text.trim_end_matches('.');
    domain = domain.strip_prefix("www.").unwrap_or(domain);
    if domain.is_empty() { None } else { Some(domain.to_owned()) }
}

fn read(path: &Path) -> Result<Vec<u8>, CustomerError> {
    fs::read(path).map_err(|source| CustomerError::Io { path: path.to_path_buf(), source })
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).from_reader(bytes)
}

fn csv_cells(line: &str) -> Vec<String> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line.as_bytes());
    match reader.byte_records().next() {
        Some(Ok(record)) => {
            record.iter().map(|cell| String::from_utf8_lossy(cell).into_owned()).collect()
        }
        _ => Vec::new(),
    }
}

fn headers(path: &Path, reader: &mut csv::Reader<&[u8]>) -> Result<Vec<String>, CustomerError> {
    let headers = reader.byte_headers().map_err(|source| csv_error(path, source))?;
    if headers.is_empty() {
        return Err(CustomerError::Empty { path: path.to_path_buf() });
    }
    Ok(headers.iter().map(|cell| String::from_utf8_lossy(cell).into_owned()).collect())
}

/// Finds a column by exact name, else trimmed and case-insensitively.
fn find_column(path: &Path, headers: &[String], name: &str) -> Result<usize, CustomerError> {
    if let Some(index) = headers.iter().position(|header| header == name) {
        return Ok(index);
    }
    let wanted = name.trim();
    headers.iter().position(|header| header.trim().eq_ignore_ascii_case(wanted)).ok_or_else(|| {
        CustomerError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_owned(),
            available: headers.join(","),
        }
    })
}

fn cell(record: &csv::ByteRecord, index: usize) -> String {
    String::from_utf8_lossy(record.get(index).unwrap_or(b"")).into_owned()
}

fn line_of(record: &csv::ByteRecord) -> u64 {
    record.position().map_or(0, |position| position.line())
}

fn csv_error(path: &Path, source: csv::Error) -> CustomerError {
    let line = source.position().map_or(0, |position| position.line());
    CustomerError::Csv { path: path.to_path_buf(), line, source }
}

#[cfg(test)]
mod tests;
