//! A directory that no write can leave. Every directory below it is opened relative to it
//! without following any symlink: Linux `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
//! | RESOLVE_NO_MAGICLINKS`, and component by component with `O_NOFOLLOW` where `openat2` is
//! refused (`ENOSYS` before Linux 5.6, `EPERM` under some seccomp filters) or a directory has
//! to be made. The last component of a path is only ever handled by an `*at` call on its
//! parent that does not follow it (`mkdirat`, `symlinkat`, `linkat`, `renameat`, `unlinkat`,
//! `openat` with `O_NOFOLLOW`).

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::rc::Rc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, mkdirat, openat, openat2, statat};
use rustix::io::Errno;

/// The directory a user named, held open; paths below it are byte strings of normal
/// components (no empty, `.` or `..` component: the tree's paths are normalised).
pub(crate) struct Beneath {
    root: OwnedFd,
    /// Whether `openat2` still answers (it is tried once, then left alone if refused).
    openat2: Cell<bool>,
    /// The last directory opened, with its path: files of one directory come together.
    last: RefCell<Option<(Vec<u8>, Rc<OwnedFd>)>>,
}

/// Why a path below the directory could not be reached.
#[derive(Debug)]
pub(crate) enum Blocked {
    /// A symlink, maybe left by an earlier extract, stands where a directory is needed.
    Symlink(Vec<u8>),
    /// A file or something else that is not a directory stands there.
    NotDir(Vec<u8>),
    /// Anything else the system said.
    Io(io::Error),
}

impl Blocked {
    /// In words, for the list of skipped paths.
    pub(crate) fn reason(&self) -> String {
        let shown = |p: &[u8]| crate::escape::escape_path(p);
        match self {
            Self::Symlink(p) => format!("a symlink is in the way at {} (never followed)", shown(p)),
            Self::NotDir(p) => format!("a non-directory is in the way at {}", shown(p)),
            Self::Io(e) => e.to_string(),
        }
    }
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::RDONLY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Beneath {
    /// Opens (making it, and its parents, when missing) the directory the user named. The
    /// user's own path is trusted, symlinks included; nothing below it is. Without
    /// `openat2`, every directory is opened component by component from the start.
    pub(crate) fn open(dir: &Path, openat2: bool) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let root = openat(
            rustix::fs::CWD,
            dir,
            DIR_FLAGS.difference(OFlags::NOFOLLOW),
            Mode::empty(),
        )?;
        Ok(Self {
            root,
            openat2: Cell::new(openat2),
            last: RefCell::new(None),
        })
    }

    /// The directory at `rel` below the root, made (mode 0700, so that it can be written
    /// into; the image's mode comes last) where missing when `create` is set.
    pub(crate) fn dir(&self, rel: &[u8], create: bool) -> Result<Rc<OwnedFd>, Blocked> {
        if let Some((path, fd)) = &*self.last.borrow()
            && path == rel
        {
            return Ok(Rc::clone(fd));
        }
        let fd = Rc::new(self.open_dir(rel, create)?);
        *self.last.borrow_mut() = Some((rel.to_vec(), Rc::clone(&fd)));
        Ok(fd)
    }

    fn open_dir(&self, rel: &[u8], create: bool) -> Result<OwnedFd, Blocked> {
        if rel.is_empty() {
            return openat(&self.root, ".", DIR_FLAGS, Mode::empty())
                .map_err(|e| Blocked::Io(e.into()));
        }
        if self.openat2.get() {
            let resolve =
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            match openat2(&self.root, rel, DIR_FLAGS, Mode::empty(), resolve) {
                Ok(fd) => return Ok(fd),
                Err(Errno::NOSYS | Errno::PERM) => self.openat2.set(false),
                // Missing parts are made below, EAGAIN (a rename raced) is retried there,
                // and there too the component that is a symlink or a file is named.
                Err(Errno::NOENT | Errno::AGAIN | Errno::LOOP | Errno::NOTDIR | Errno::XDEV) => {}
                Err(e) => return Err(Blocked::Io(e.into())),
            }
        }
        let mut fd =
            openat(&self.root, ".", DIR_FLAGS, Mode::empty()).map_err(|e| Blocked::Io(e.into()))?;
        let mut end = 0;
        for part in rel.split(|&b| b == b'/') {
            end += part.len();
            let here = &rel[..end];
            end += 1;
            fd = match openat(&fd, part, DIR_FLAGS, Mode::empty()) {
                Ok(next) => next,
                Err(Errno::NOENT) if create => {
                    match mkdirat(&fd, part, Mode::from_raw_mode(0o700)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(Blocked::Io(e.into())),
                    }
                    openat(&fd, part, DIR_FLAGS, Mode::empty())
                        .map_err(|e| blocked(&fd, part, e, here))?
                }
                Err(e) => return Err(blocked(&fd, part, e, here)),
            };
        }
        Ok(fd)
    }

    /// Whether `openat2` is still used (not refused, nor turned off).
    pub(crate) fn uses_openat2(&self) -> bool {
        self.openat2.get()
    }

    /// Forgets the cached directory (after a directory was replaced).
    pub(crate) fn forget(&self) {
        self.last.borrow_mut().take();
    }
}

/// What an `openat(…, O_NOFOLLOW | O_DIRECTORY)` error on `part` of `parent` means: the
/// errno differs between kernels for a symlink, so the thing itself is looked at.
fn blocked(parent: &OwnedFd, part: &[u8], e: Errno, here: &[u8]) -> Blocked {
    if !matches!(e, Errno::LOOP | Errno::NOTDIR) {
        return Blocked::Io(e.into());
    }
    match statat(parent, part, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => {
            Blocked::Symlink(here.to_vec())
        }
        _ => Blocked::NotDir(here.to_vec()),
    }
}
