//! Bounded access to ZIP-based files (DOCX, PPTX, ODT, XLSX, ODS): entry
//! count capped, every part read with a cap on its decompressed size and on
//! the total, so a zip bomb stops at the limit instead of filling memory.

use super::{invalid, Budget, DocError};
use std::io::{Cursor, Read};
use zip::ZipArchive;

/// An opened ZIP-based file.
pub(crate) struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    read_total: u64,
}

impl<'a> Archive<'a> {
    /// Open `data` as a ZIP archive of at most the limit's entries.
    pub(crate) fn open(data: &'a [u8], budget: &Budget, what: &str) -> Result<Self, DocError> {
        let zip = ZipArchive::new(Cursor::new(data))
            .map_err(|e| invalid(format!("this {what} is not a readable ZIP package: {e}")))?;
        let max = budget.limits().zip_entries;
        if zip.len() > max {
            return Err(invalid(format!(
                "this {what} lists {} parts, more than the limit of {max}",
                zip.len()
            )));
        }
        Ok(Archive { zip, read_total: 0 })
    }

    /// The names of the parts.
    pub(crate) fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect()
    }

    /// The part `name` decompressed (`None` when absent), within the caps.
    pub(crate) fn read(
        &mut self,
        name: &str,
        budget: &Budget,
    ) -> Result<Option<Vec<u8>>, DocError> {
        let limits = *budget.limits();
        let mut file = match self.zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => {
                return Err(invalid(format!(
                    "cannot read part {name} of the package: {e}"
                )))
            }
        };
        let cap = limits
            .part_bytes
            .min(limits.total_bytes.saturating_sub(self.read_total));
        if file.size() > cap {
            return Err(bomb(name, cap));
        }
        let mut out = Vec::with_capacity(file.size().min(cap) as usize);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            budget.check()?;
            let n = file
                .read(&mut chunk)
                .map_err(|e| invalid(format!("cannot decompress part {name}: {e}")))?;
            if n == 0 {
                break;
            }
            if (out.len() + n) as u64 > cap {
                return Err(bomb(name, cap));
            }
            out.extend_from_slice(&chunk[..n]);
        }
        self.read_total += out.len() as u64;
        Ok(Some(out))
    }

    /// The part `name` as text (invalid UTF-8 replaced).
    pub(crate) fn read_text(
        &mut self,
        name: &str,
        budget: &Budget,
    ) -> Result<Option<String>, DocError> {
        Ok(self.read(name, budget)?.map(|b| {
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }))
    }

    /// Decompress every part (discarding it) to check the caps before a
    /// parser that reads whole parts itself (calamine) is let loose.
    pub(crate) fn check_all(&mut self, budget: &Budget) -> Result<(), DocError> {
        let limits = *budget.limits();
        let mut total = 0u64;
        let mut chunk = vec![0u8; 64 * 1024];
        for i in 0..self.zip.len() {
            let mut file = self
                .zip
                .by_index(i)
                .map_err(|e| invalid(format!("cannot read the package: {e}")))?;
            let name = file.name().map(|n| n.into_owned()).unwrap_or_default();
            if file.size() > limits.part_bytes || total + file.size() > limits.total_bytes {
                return Err(bomb(
                    &name,
                    limits.part_bytes.min(limits.total_bytes - total),
                ));
            }
            let mut part = 0u64;
            loop {
                budget.check()?;
                let n = file
                    .read(&mut chunk)
                    .map_err(|e| invalid(format!("cannot decompress part {name}: {e}")))?;
                if n == 0 {
                    break;
                }
                part += n as u64;
                if part > limits.part_bytes || total + part > limits.total_bytes {
                    return Err(bomb(
                        &name,
                        limits.part_bytes.min(limits.total_bytes - total),
                    ));
                }
            }
            total += part;
        }
        Ok(())
    }
}

fn bomb(name: &str, cap: u64) -> DocError {
    invalid(format!(
        "part {name} of this package decompresses to more than {cap} bytes (a zip bomb?); not read"
    ))
}
