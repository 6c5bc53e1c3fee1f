//! The engine's mail state kept between runs, beside the database (`<data-dir>/kept/`): saved
//! after a successful run, mapped and decoded by the next.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use rapport_core::engine::MailState;
use rapport_store::EnrichmentId;

/// Where the mail state of `enrichment` is kept between runs: what its engine held after the
/// last successful run (pseudonyms only, like the ledger), so that the next run pushes only the
/// files that changed. Derived from the ledger, never the only copy of anything.
fn kept_mail_path(data_dir: &Path, enrichment: EnrichmentId) -> PathBuf {
    data_dir.join("kept").join(format!("enrichment-{}.mail", enrichment.0))
}

/// The kept mail state of `enrichment`, when there is a usable one.
pub(super) fn load_kept_mail(
    data_dir: &Path,
    enrichment: EnrichmentId,
) -> Result<Option<MailState>> {
    let path = kept_mail_path(data_dir, enrichment);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(anyhow!("could not read {}: {error}", path.display())),
    };
    let bytes =
        map(&file).map_err(|error| anyhow!("could not read {}: {error}", path.display()))?;
    MailState::load(&bytes).map(Some).map_err(|error| anyhow!("{}: {error}", path.display()))
}

/// Maps the kept image read-only. Reading it into memory instead cost a run (1M messages) about
/// a tenth of its time: 110 MB of fresh pages zeroed by the kernel and then copied into.
///
/// Why this is sound: rapport only ever replaces a kept image by renaming a new file over it
/// (`write_file_whole`), never by writing or truncating it in place, so the mapped bytes cannot
/// change while they are read; the image is decoded into owned tables at once and the map
/// dropped. Another program truncating the file meanwhile would stop the run with SIGBUS, never
/// give it wrong bytes that pass the image's checksum.
#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: see above; the map is private and read-only, and outlives no reference to it.
    unsafe { memmap2::MmapOptions::new().populate().map(file) }
}

/// Writes the mail state whole or not at all (a temporary file renamed over the old one), or
/// removes the old one when the state holds too much that no run uses any more.
pub(super) fn keep_mail(data_dir: &Path, enrichment: EnrichmentId, mail: &MailState) -> Result<()> {
    let path = kept_mail_path(data_dir, enrichment);
    // Ids of files that changed or went away stay interned; past this, start afresh from the
    // ledger rather than carry them on.
    if mail.n_message_ids() > 3 * mail.n_copies() + 1_024 {
        return forget_kept_mail(data_dir, enrichment);
    }
    let mut image = Vec::new();
    mail.save(&mut image);
    crate::write::write_file_whole(&path, &image)
        .with_context(|| format!("could not keep the mail state in {}", path.display()))
}

/// Removes the kept mail state of `enrichment` (after an erase, or when it is deleted).
pub(crate) fn forget_kept_mail(data_dir: &Path, enrichment: EnrichmentId) -> Result<()> {
    let path = kept_mail_path(data_dir, enrichment);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(anyhow!("could not remove {}: {error}", path.display())),
    }
}
