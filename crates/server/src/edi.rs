//! The EDI transport through directories, the way the communication modules of
//! Norwegian health systems exchange files: outgoing messages are written to the
//! outbox (`SAMHAND_EDI_OUTBOX`), received ones read from the inbox
//! (`SAMHAND_EDI_INBOX`). Only files: what goes in them is
//! [`samhand_domain::edi`]'s business, so another transport (the national message
//! service's REST API) can replace this one without touching the content.
//!
//! Exactly once: a received file is identified by the SHA-256 of its bytes; the
//! processing records that hash in the database in the transaction that stores
//! what the file said, and only after the commit moves the file out of the inbox
//! (to `processed/` or `rejected/` beside it). A crash between the commit and the
//! move leaves a file whose hash is already recorded: the next run moves it
//! without processing it again.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use samhand_domain::edi::InboxOutcome;
use sha2::{Digest, Sha256};

/// The outbox and the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdiDirs {
    pub outbox: PathBuf,
    pub inbox: PathBuf,
}

/// A file waiting in the inbox.
#[derive(Debug, Clone)]
pub struct InboxFile {
    pub path: PathBuf,
    pub name: String,
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes, lower-case hex: the file's identity.
    pub hash: String,
}

/// A name safe to be a file name: letters, digits, `-` and `_` kept, the rest `_`.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if stem.is_empty() { "melding".into() } else { stem }
}

impl EdiDirs {
    /// Writes one message into the outbox as `<name>.xml`. It is written under a
    /// hidden temporary name in the same directory, synced, and renamed, so the
    /// communication module never picks up half a file. Returns the file's path.
    pub fn write_out(&self, name: &str, xml: &str) -> io::Result<PathBuf> {
        std::fs::create_dir_all(&self.outbox)?;
        let stem = file_stem(name);
        let tmp = self.outbox.join(format!(".{stem}.xml.tmp"));
        let path = self.outbox.join(format!("{stem}.xml"));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(xml.as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// The `.xml` files waiting in the inbox, by name (hidden files, which a
    /// communication module may still be writing, are left alone).
    pub fn waiting(&self) -> io::Result<Vec<InboxFile>> {
        let entries = match std::fs::read_dir(&self.inbox) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_xml = Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
            if name.starts_with('.') || !is_xml || !entry.file_type()?.is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path())?;
            let hash = format!("{:x}", Sha256::digest(&bytes));
            files.push(InboxFile {
                path: entry.path(),
                name,
                bytes,
                hash,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// Moves a file out of the inbox once what it said is committed. A file of
    /// the same name already there (the same message sent twice) gets its hash
    /// added to the name rather than being overwritten.
    pub fn done(&self, file: &InboxFile, outcome: InboxOutcome) -> io::Result<PathBuf> {
        // `processed/` or `rejected/`.
        let dir = self.inbox.join(outcome.code());
        std::fs::create_dir_all(&dir)?;
        let mut target = dir.join(&file.name);
        if target.exists() {
            target = dir.join(format!("{}-{}", &file.hash[..12], file.name));
        }
        std::fs::rename(&file.path, &target)?;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> (tempfile::TempDir, EdiDirs) {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = EdiDirs {
            outbox: tmp.path().join("out"),
            inbox: tmp.path().join("in"),
        };
        (tmp, dirs)
    }

    #[test]
    fn writes_whole_files_into_the_outbox() {
        let (_tmp, dirs) = dirs();
        let path = dirs.write_out("apprec-../x y", "<a/>").unwrap();
        assert_eq!(path, dirs.outbox.join("apprec-___x_y.xml"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<a/>");
        let names: Vec<_> = std::fs::read_dir(&dirs.outbox)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn reads_only_finished_xml_files_and_moves_them_when_done() {
        let (_tmp, dirs) = dirs();
        assert!(
            dirs.waiting().unwrap().is_empty(),
            "a missing inbox is an empty one"
        );
        std::fs::create_dir_all(&dirs.inbox).unwrap();
        std::fs::write(dirs.inbox.join("b.xml"), "<b/>").unwrap();
        std::fs::write(dirs.inbox.join("a.XML"), "<a/>").unwrap();
        std::fs::write(dirs.inbox.join(".c.xml"), "<c/>").unwrap();
        std::fs::write(dirs.inbox.join("d.txt"), "d").unwrap();
        let files = dirs.waiting().unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.XML", "b.xml"]);
        assert_eq!(files[1].hash, format!("{:x}", Sha256::digest(b"<b/>")));
        dirs.done(&files[0], InboxOutcome::Rejected).unwrap();
        dirs.done(&files[1], InboxOutcome::Processed).unwrap();
        // The same message again under the same name is kept, not overwritten.
        std::fs::write(dirs.inbox.join("b.xml"), "<b/>").unwrap();
        let again = dirs.waiting().unwrap();
        assert_eq!(again.len(), 1);
        let moved = dirs.done(&again[0], InboxOutcome::Processed).unwrap();
        assert_ne!(moved, dirs.inbox.join("processed").join("b.xml"));
        assert!(dirs.inbox.join("rejected").join("a.XML").exists());
        assert!(dirs.waiting().unwrap().is_empty());
    }
}
