//! Writing the output tables: whole or not at all.
//!
//! Every table is first written to a hidden temporary file in the output folder; only when all of
//! them are complete and synced are they renamed into place. A failure on the way removes the
//! temporary files and leaves the previous outputs untouched.

use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use rapport_core::engine::{Enrichment, Explanation, Row, RowScore};
use rapport_core::model::OrgUser;
use rapport_core::output::{self, image};
use rapport_core::score::Weights;

use crate::cli::Format;

/// The format name of a stored tables image (`rapport_core::output::image`): a run publishes
/// its tables as one image, and files are written from it on request.
pub(crate) const TABLES_IMAGE: &str = "tables";

/// The tables of one run, borrowed: from a run in this process or decoded from the store.
#[derive(Clone, Copy)]
pub(crate) struct Tables<'a> {
    pub(crate) rows: &'a [Row],
    /// What each row's score was made of; the explanations are made from these when written.
    pub(crate) scores: &'a [RowScore],
    pub(crate) weights: &'a Weights,
    pub(crate) users: &'a [OrgUser],
}

impl<'a> From<&'a Enrichment> for Tables<'a> {
    fn from(enrichment: &'a Enrichment) -> Tables<'a> {
        Tables {
            rows: &enrichment.rows,
            scores: &enrichment.scores,
            weights: &enrichment.weights,
            users: &enrichment.users,
        }
    }
}

impl<'a> From<&'a image::Tables> for Tables<'a> {
    fn from(tables: &'a image::Tables) -> Tables<'a> {
        Tables {
            rows: &tables.rows,
            scores: &tables.scores,
            weights: &tables.weights,
            users: &tables.users,
        }
    }
}

impl Tables<'_> {
    fn explanations(&self) -> Vec<Explanation> {
        rapport_core::engine::explain(self.rows, self.scores, self.weights)
    }
}

/// Writes every table of `enrichment` into `dir` and returns the final paths.
pub(crate) fn write_outputs(
    dir: &Path,
    table: &str,
    format: Format,
    explain: bool,
    enrichment: &Enrichment,
    summary_extra: &[(&str, serde_json::Value)],
) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    let mut staged = Staged { files: Vec::new() };
    stage_tables(&mut staged, dir, table, format, explain, enrichment.into())?;
    let mut summary = output::summary_json(&enrichment.summary);
    if let Some(object) = summary.as_object_mut() {
        for (key, value) in summary_extra {
            object.insert((*key).to_owned(), value.clone());
        }
    }
    staged.write_summary(dir, &summary)?;
    staged.commit()
}

/// Stages the files of `tables` named after `table`: the enriched table, `_UserEntity` and,
/// with `explain`, `_ScoreExplanation`.
fn stage_tables(
    staged: &mut Staged,
    dir: &Path,
    table: &str,
    format: Format,
    explain: bool,
    tables: Tables<'_>,
) -> Result<()> {
    let extension = format.as_str();
    let mut kinds =
        vec![(Table::Rows, table.to_owned()), (Table::Users, format!("{table}_UserEntity"))];
    if explain {
        kinds.push((Table::Explanations, format!("{table}_ScoreExplanation")));
    }
    for (kind, name) in kinds {
        staged.write(dir, &format!("{name}.{extension}"), |file| {
            write_table(kind, format, tables, file)
        })?;
    }
    Ok(())
}

/// The tables of a run.
#[derive(Clone, Copy)]
enum Table {
    Rows,
    Users,
    Explanations,
}

fn write_table(
    table: Table,
    format: Format,
    tables: Tables<'_>,
    file: &mut BufWriter<File>,
) -> Result<()> {
    match (format, table) {
        (Format::Csv, Table::Rows) => output::write_rows_csv(tables.rows, file)?,
        (Format::Csv, Table::Users) => output::write_users_csv(tables.users, file)?,
        (Format::Csv, Table::Explanations) => {
            output::write_explanations_csv(&tables.explanations(), file)?
        }
        (Format::Json, Table::Rows) => output::write_rows_json(tables.rows, file)?,
        (Format::Json, Table::Users) => output::write_users_json(tables.users, file)?,
        (Format::Json, Table::Explanations) => {
            output::write_explanations_json(&tables.explanations(), file)?
        }
        (Format::Parquet, table) => write_parquet(table, tables, file)?,
    }
    Ok(())
}

#[cfg(feature = "parquet")]
fn write_parquet(table: Table, tables: Tables<'_>, file: &mut BufWriter<File>) -> Result<()> {
    match table {
        Table::Rows => crate::parquet::write_rows(tables.rows, file),
        Table::Users => crate::parquet::write_users(tables.users, file),
        Table::Explanations => crate::parquet::write_explanations(&tables.explanations(), file),
    }
}

#[cfg(not(feature = "parquet"))]
fn write_parquet(_table: Table, _tables: Tables<'_>, _file: &mut BufWriter<File>) -> Result<()> {
    anyhow::bail!("{}", crate::config::NO_PARQUET)
}

/// Writes published tables and their summary into `dir` in `format`, whole or not at all. A
/// tables image gives its three tables; a table stored as a file before images (CSV) is written
/// as it was, in CSV only.
pub(crate) fn write_published(
    dir: &Path,
    tables: &[rapport_store::Table],
    summary: &serde_json::Value,
    format: Format,
) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    let mut staged = Staged { files: Vec::new() };
    for table in tables {
        if table.format == TABLES_IMAGE {
            let decoded = image::decode(&table.bytes)
                .with_context(|| format!("the published table {} cannot be read", table.name))?;
            stage_tables(&mut staged, dir, &table.name, format, true, (&decoded).into())?;
        } else if table.format == "csv" && matches!(format, Format::Csv) {
            staged.write(dir, &format!("{}.csv", table.name), |file| {
                Ok(file.write_all(&table.bytes)?)
            })?;
        } else {
            anyhow::bail!(
                "the published table {} is stored as {}: run the enrichment again to write it as {}",
                table.name,
                table.format,
                format.as_str()
            );
        }
    }
    staged.write_summary(dir, summary)?;
    staged.commit()
}

/// Writes `bytes` to `path` through a temporary file renamed into place: readers see the old
/// file or the new one. Not synced to disk: for files that can be made again (a crash may leave
/// an empty or torn file, which their reader must refuse).
pub(crate) fn write_file_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
    let name = path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = fs::write(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Temporary files waiting to be renamed into place.
struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    fn write(
        &mut self,
        dir: &Path,
        name: &str,
        fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
    ) -> Result<()> {
        let final_path = dir.join(name);
        let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let result = (|| -> Result<()> {
            let file = File::create(&temporary)?;
            let mut writer = BufWriter::with_capacity(1 << 20, file);
            fill(&mut writer)?;
            let file = writer.into_inner().map_err(|error| error.into_error())?;
            file.sync_all()?;
            Ok(())
        })();
        self.files.push((temporary, final_path.clone()));
        result.with_context(|| format!("cannot write {}", final_path.display()))
    }

    /// Stages `summary.json`, pretty-printed with a final newline.
    fn write_summary(&mut self, dir: &Path, summary: &serde_json::Value) -> Result<()> {
        self.write(dir, "summary.json", |file| {
            let mut text = serde_json::to_string_pretty(summary)?;
            text.push('\n');
            file.write_all(text.as_bytes())?;
            Ok(())
        })
    }

    fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        while !self.files.is_empty() {
            let (temporary, final_path) = self.files.remove(0);
            if let Err(error) = fs::rename(&temporary, &final_path) {
                let _ = fs::remove_file(&temporary);
                return Err(error)
                    .with_context(|| format!("cannot move {} into place", final_path.display()));
            }
            written.push(final_path);
        }
        Ok(written)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temporary, _) in &self.files {
            let _ = fs::remove_file(temporary);
        }
    }
}
