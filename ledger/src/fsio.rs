//! Every durable-file step in one place (文件操作): creating a file new, writing it through a
//! temporary file that is fsync'd and renamed, fsync'ing a directory, and opening a file for
//! reading or writing without following a symbolic link or blocking on a FIFO or a device.
//!
//! Guarantees:
//! - a file this module creates is created new (`O_CREAT|O_EXCL`, so never through a planted
//!   link or over an existing file) with mode 0600, and a directory with mode 0700, set
//!   explicitly so that the umask does not matter: a ledger holds personal data;
//! - [`publish`] writes a whole file under a temporary name, fsyncs it and only then gives it its
//!   name (a hard link, which fails if the name exists, or with `replace` a rename, which replaces
//!   a link itself and never writes through it), then fsyncs the directory: nobody sees a partial
//!   file under the final name, and a crash leaves the old file or the new one;
//! - [`open_read`] refuses a FIFO, a device or a directory *before* reading from it (it opens with
//!   `O_NONBLOCK`, so even opening a FIFO does not wait for a writer), and with [`Links::Refuse`]
//!   refuses a symbolic link (`O_NOFOLLOW`);
//! - inside a ledger directory every file is opened with [`Links::Refuse`]: a segment, an intent,
//!   an index file or `lianlog.json` that is a link is refused with an error naming it, so the
//!   ledger never writes, rewrites or keeps data outside its own directory.
//!
//! Depends on nothing but [`crate::error`].

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Mode of every file lianlog creates: owner read/write only.
pub(crate) const FILE_MODE: u32 = 0o600;
/// Mode of every directory lianlog creates: owner only.
pub(crate) const DIR_MODE: u32 = 0o700;

/// Whether an open follows a symbolic link at the last component of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// A path the user named (a key file, an input): a link to a regular file is fine.
    Follow,
    /// A file inside a ledger directory: a link is refused.
    Refuse,
}

fn flags(links: Links) -> i32 {
    libc::O_CLOEXEC | if links == Links::Refuse { libc::O_NOFOLLOW } else { 0 }
}

/// The error for a symbolic link where lianlog keeps its own files.
/// It is an I/O error (exit code 7), like a permission problem: the directory is set up wrongly
/// (or was tampered with), and nothing is destroyed or rebuilt because of it.
pub(crate) fn link_refused(path: &Path) -> Error {
    Error::new(
        ErrorKind::Io,
        format!(
            "{} is a symbolic link; lianlog does not follow links inside a ledger directory (it would read, write \
             or keep records outside it). Replace the link with the file it points to (`cp --remove-destination \
             \"$(readlink -f {0})\" {0}`) and retry",
            path.display()
        ),
    )
}

/// Map an open error: a link met with `O_NOFOLLOW` (ELOOP) becomes [`link_refused`].
fn open_error(operation: &str, path: &Path, err: std::io::Error) -> Error {
    if err.raw_os_error() == Some(libc::ELOOP) {
        return link_refused(path);
    }
    Error::io(operation, path, err)
}

/// The error for a file that exists where a new one was to be created.
pub(crate) fn already_exists(path: &Path) -> Error {
    Error::bad_input(format!(
        "{} already exists; lianlog does not overwrite files: choose another name or remove it first",
        path.display()
    ))
}

/// Refuse `path` if it is a symbolic link (a missing path is fine).
pub(crate) fn refuse_link(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => Err(link_refused(path)),
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::io("inspect", path, err)),
    }
}

/// Set `file`'s mode to exactly `mode`, whatever the umask made of it.
fn set_mode(file: &File, path: &Path, mode: u32) -> Result<()> {
    file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|err| Error::io("set the mode of", path, err))
}

/// Create a new file (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600) open for writing. An existing file
/// or link at `path` is refused with [`already_exists`].
pub(crate) fn create_new(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .custom_flags(flags(Links::Refuse))
        .open(path)
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::AlreadyExists => already_exists(path),
            _ => Error::io("create", path, err),
        })?;
    set_mode(&file, path, FILE_MODE)?;
    Ok(file)
}

/// Create `path` new (as [`create_new`]) with `bytes`, fsync it and its directory. A crash can
/// leave a partial file: use it where a partial file is recognised as such (an intent). Only the
/// tests use it today.
#[cfg(test)]
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = create_new(path)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|err| Error::io("write", path, err))?;
    sync_dir(parent_of(path))
}

/// The directory a path is in (`.` for a bare name).
pub(crate) fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Write a whole file crash-safely: `write` fills a new temporary file (mode 0600) in the same
/// directory, which is fsync'd and then given the name `path` — a hard link, refused with
/// `already_exists` if `path` exists (or is a link), or with `replace` a rename over it (a link
/// at `path` is replaced, never written through) — and the directory is fsync'd. Nobody sees a
/// partial file under `path`; on any error the temporary file is removed and `path` is untouched.
pub fn publish<T>(path: &Path, replace: bool, write: impl FnOnce(&mut File) -> Result<T>) -> Result<T> {
    let directory = parent_of(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !replace {
        // Fail before doing the work; the hard link below makes the final check.
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(already_exists(path));
        }
    } else if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(Error::bad_input(format!("{} is a directory; name a file", path.display())));
    }
    let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let result = (|| {
        let mut file = create_new(&temporary)?;
        let value = write(&mut file)?;
        file.flush().and_then(|()| file.sync_all()).map_err(|err| Error::io("write", &temporary, err))?;
        if replace {
            std::fs::rename(&temporary, path).map_err(|err| Error::io("replace", path, err))?;
        } else {
            link_new(&temporary, path)?;
        }
        sync_dir(directory)?;
        Ok(value)
    })();
    let _ = std::fs::remove_file(&temporary);
    result
}

/// Give the complete, fsync'd file `temporary` the name `path` without ever replacing a file
/// there (a hard link fails atomically if `path` exists), then drop the temporary name. The
/// caller fsyncs the directory.
pub(crate) fn link_new(temporary: &Path, path: &Path) -> Result<()> {
    std::fs::hard_link(temporary, path).map_err(|err| match err.kind() {
        std::io::ErrorKind::AlreadyExists => already_exists(path),
        _ => Error::io("create", path, err),
    })?;
    std::fs::remove_file(temporary).map_err(|err| Error::io("remove", temporary, err))
}

/// [`publish`] of `bytes`.
pub(crate) fn publish_bytes(path: &Path, replace: bool, bytes: &[u8]) -> Result<()> {
    publish(path, replace, |file| file.write_all(bytes).map_err(|err| Error::io("write", path, err)))
}

/// fsync a directory so that a file created, renamed or removed in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir).and_then(|d| d.sync_all()).map_err(|err| Error::io("sync directory", dir, err))
}

/// fsync `dir` and the directory it is in (after creating `dir`).
pub(crate) fn sync_dir_and_parent(dir: &Path) -> Result<()> {
    sync_dir(dir)?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

/// Remove `path` and fsync its directory; a missing file is fine.
pub(crate) fn remove_durable(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(parent_of(path)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::io("remove", path, err)),
    }
}

/// Create the directory `path` with mode 0700 (its missing parents with the default mode); an
/// existing directory is left as it is.
pub(crate) fn create_private_dir(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|err| Error::io("create directory", parent, err))?;
    }
    match std::fs::DirBuilder::new().mode(DIR_MODE).create(path) {
        Ok(()) => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(DIR_MODE))
                .map_err(|err| Error::io("set the mode of", path, err))?;
            sync_dir_and_parent(path)
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(err) => Err(Error::io("create directory", path, err)),
    }
}

/// Open `path` for reading, refusing anything but a regular file (a FIFO, a device, a directory)
/// without blocking on it, and with [`Links::Refuse`] a symbolic link.
pub(crate) fn open_read(path: &Path, links: Links) -> std::io::Result<File> {
    let file = OpenOptions::new().read(true).custom_flags(flags(links) | libc::O_NONBLOCK).open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        let what = if metadata.is_dir() { "a directory" } else { "not a regular file (a FIFO, socket or device)" };
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("it is {what}")));
    }
    Ok(file)
}

/// [`open_read`] of a file inside a ledger directory, as a library error (a link is refused
/// with [`link_refused`]).
pub(crate) fn open_read_in_ledger(path: &Path) -> Result<File> {
    open_read(path, Links::Refuse).map_err(|err| open_error("open", path, err))
}

/// Open an existing file inside a ledger directory for reading and writing (append mode with
/// `append`), refusing a link and anything but a regular file.
pub(crate) fn open_write_in_ledger(path: &Path, append: bool) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(!append)
        .append(append)
        .custom_flags(flags(Links::Refuse) | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| open_error("open", path, err))?;
    regular_in_ledger(file, path)
}

/// `file`, refused unless it is a regular file (a ledger keeps nothing else in its directories).
fn regular_in_ledger(file: File, path: &Path) -> Result<File> {
    let metadata = file.metadata().map_err(|err| Error::io("inspect", path, err))?;
    if !metadata.is_file() {
        return Err(Error::verification(format!(
            "{} is not a regular file; a ledger keeps only regular files here",
            path.display()
        )));
    }
    Ok(file)
}

/// Open (creating it 0600 if missing) a file inside a ledger directory for reading and writing,
/// refusing a link.
pub(crate) fn open_or_create_in_ledger(path: &Path) -> Result<File> {
    open_private(OpenOptions::new().read(true).write(true).create(true).truncate(false), path)
}

/// Open a log file for appending (an access log, a journal), creating it 0600 if missing; a
/// symbolic link or anything but a regular file is refused, and an existing file readable by
/// others is made private. Each write then lands at the end, whatever else appends.
pub fn open_append(path: &Path) -> Result<File> {
    open_private(OpenOptions::new().append(true).create(true), path)
}

/// `options` (creating 0600), refusing a symbolic link or anything but a regular file, and making
/// an existing file readable by others private.
fn open_private(options: &mut OpenOptions, path: &Path) -> Result<File> {
    let file = options
        .mode(FILE_MODE)
        .custom_flags(flags(Links::Refuse) | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| open_error("open", path, err))?;
    let file = regular_in_ledger(file, path)?;
    let mode = file.metadata().map_err(|err| Error::io("inspect", path, err))?.permissions().mode();
    if mode & 0o077 != 0 {
        set_mode(&file, path, FILE_MODE)?;
    }
    Ok(file)
}

/// A note when `dir` may be written by its group or by others (anyone who can write the ledger
/// directory can replace its files), or `None`.
pub(crate) fn permissions_note(dir: &Path) -> Option<String> {
    let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
    (mode & 0o022 != 0).then(|| {
        format!(
            "the ledger directory {} has mode {mode:03o}: its group or others may write in it and so replace or remove \
             its files; run `chmod 700 {}`",
            dir.display(),
            dir.display()
        )
    })
}

/// Read a small file inside a ledger directory whole (no link, regular files only), refusing one
/// over `limit` bytes as [`std::io::ErrorKind::InvalidData`].
pub(crate) fn read_small_in_ledger(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    open_read(path, Links::Refuse)?.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

/// [`read_small_in_ledger`] as UTF-8 text (the ledger's own small files: `lianlog.json`, intents).
pub(crate) fn read_small_text_in_ledger(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_small_in_ledger(path, limit)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// A scratch directory path `dir/<prefix>.<pid>`, with anything left there by an earlier process
/// of the same id removed (the caller creates it).
pub(crate) fn fresh_scratch_dir(dir: &Path, prefix: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{prefix}.{}", std::process::id()));
    refuse_link(&path)?;
    match std::fs::remove_dir_all(&path) {
        Ok(()) => Ok(path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(path),
        Err(err) => Err(Error::io("remove", &path, err)),
    }
}

/// A path beside `path` that names nothing yet: `path` itself, else `path.1`, `path.2`, …
pub(crate) fn unused_name(path: &Path) -> PathBuf {
    let mut candidate = path.to_path_buf();
    let mut n = 0u32;
    while std::fs::symlink_metadata(&candidate).is_ok() {
        n += 1;
        candidate = PathBuf::from(format!("{}.{n}", path.display()));
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_files_and_dirs_are_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("ledger");
        create_private_dir(&sub).unwrap();
        assert_eq!(std::fs::metadata(&sub).unwrap().permissions().mode() & 0o777, 0o700);
        let file = sub.join("a");
        write_new(&file, b"x").unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        let err = write_new(&file, b"y").unwrap_err();
        assert!(err.message().contains("already exists"), "{err}");
    }

    #[test]
    fn publish_never_writes_through_a_link_and_refuses_without_replace() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = dir.path().join("out");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(publish_bytes(&link, false, b"new").unwrap_err().message().contains("already exists"));
        publish_bytes(&link, true, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking_and_links_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert_eq!(open_read(&fifo, Links::Follow).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(open_read(&link, Links::Follow).is_ok());
        assert!(open_read_in_ledger(&link).unwrap_err().message().contains("symbolic link"));
    }
}
