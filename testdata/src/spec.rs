//! What an image holds, described as operations per layer.

/// One change a layer makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A directory.
    Dir { path: Vec<u8>, mode: u32 },
    /// A regular file of `size` bytes whose content is determined by `seed`.
    File {
        path: Vec<u8>,
        size: u64,
        seed: u64,
        mode: u32,
    },
    /// A regular file whose path and size travel in a PAX header (the ustar size field says 0).
    PaxFile { path: Vec<u8>, size: u64, seed: u64 },
    /// A regular file with explicit content (metadata files such as RECORD or dpkg status).
    Text { path: Vec<u8>, content: Vec<u8> },
    /// A symbolic link.
    Symlink { path: Vec<u8>, target: Vec<u8> },
    /// A hard link to an earlier entry.
    Hardlink { path: Vec<u8>, target: Vec<u8> },
    /// `dir/.wh.name`: deletes a lower path.
    Whiteout { path: Vec<u8> },
    /// `dir/.wh..wh..opq`: hides a directory's lower children.
    Opaque { dir: Vec<u8> },
    /// `op` written with other header fields than the defaults ([`Stamp`]): what `chown`,
    /// `chmod` and an installer's clock change.
    Stamped { op: Box<Op>, stamp: Stamp },
}

/// The header fields of an entry besides its path, size and content. By default an entry is
/// root's, with the op's own mode, modified at [`crate::MTIME`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Permission bits in place of the op's own.
    pub mode: Option<u32>,
}

impl Default for Stamp {
    fn default() -> Self {
        Self {
            mtime: crate::MTIME,
            uid: 0,
            gid: 0,
            mode: None,
        }
    }
}

impl Stamp {
    /// Root's entry with the op's own mode, modified at `mtime`.
    pub fn at(mtime: u64) -> Self {
        Self {
            mtime,
            ..Self::default()
        }
    }
}

impl Op {
    /// A 0644 file.
    pub fn file(path: &str, size: u64, seed: u64) -> Op {
        Op::File {
            path: path.as_bytes().to_vec(),
            size,
            seed,
            mode: 0o644,
        }
    }
    /// A 0755 directory.
    pub fn dir(path: &str) -> Op {
        Op::Dir {
            path: path.as_bytes().to_vec(),
            mode: 0o755,
        }
    }
    /// A text file.
    pub fn text(path: &str, content: impl Into<Vec<u8>>) -> Op {
        Op::Text {
            path: path.as_bytes().to_vec(),
            content: content.into(),
        }
    }
    /// A symlink.
    pub fn symlink(path: &str, target: &str) -> Op {
        Op::Symlink {
            path: path.as_bytes().to_vec(),
            target: target.as_bytes().to_vec(),
        }
    }
    /// A hardlink.
    pub fn hardlink(path: &str, target: &str) -> Op {
        Op::Hardlink {
            path: path.as_bytes().to_vec(),
            target: target.as_bytes().to_vec(),
        }
    }
    /// A whiteout.
    pub fn whiteout(path: &str) -> Op {
        Op::Whiteout {
            path: path.as_bytes().to_vec(),
        }
    }
    /// An opaque whiteout.
    pub fn opaque(dir: &str) -> Op {
        Op::Opaque {
            dir: dir.as_bytes().to_vec(),
        }
    }
    /// This op written with `stamp` (a stamped op's stamp replaced).
    #[must_use]
    pub fn stamped(self, stamp: Stamp) -> Op {
        let op = match self {
            Op::Stamped { op, .. } => op,
            op => Box::new(op),
        };
        Op::Stamped { op, stamp }
    }
    /// What this op writes, without its stamp.
    pub fn unstamped(&self) -> &Op {
        match self {
            Op::Stamped { op, .. } => op.unstamped(),
            op => op,
        }
    }
    /// The header fields this op is written with (of stamps on stamps, the innermost, as
    /// the writer takes it).
    pub fn stamp(&self) -> Stamp {
        match self {
            Op::Stamped { op, stamp } => match **op {
                Op::Stamped { .. } => op.stamp(),
                _ => *stamp,
            },
            _ => Stamp::default(),
        }
    }
    /// The permission bits this op is written with (a whiteout's marker: 0644).
    pub fn mode(&self) -> u32 {
        let own = match self.unstamped() {
            Op::Dir { mode, .. } | Op::File { mode, .. } => *mode,
            Op::Symlink { .. } => 0o777,
            _ => 0o644,
        };
        self.stamp().mode.unwrap_or(own)
    }
    /// The path this op writes (for whiteouts the path deleted).
    pub fn path(&self) -> &[u8] {
        match self {
            Op::Stamped { op, .. } => op.path(),
            Op::Dir { path, .. }
            | Op::File { path, .. }
            | Op::PaxFile { path, .. }
            | Op::Text { path, .. }
            | Op::Symlink { path, .. }
            | Op::Hardlink { path, .. }
            | Op::Whiteout { path } => path,
            Op::Opaque { dir } => dir,
        }
    }
}

/// How a layer's tar is spelled (the content is the same either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TarStyle {
    /// Prefix every name with `./`, as some builders do.
    pub dot_slash: bool,
    /// Leave out the two zero end blocks.
    pub no_end_blocks: bool,
}

/// One layer: the Dockerfile step and its changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSpec {
    /// The history `created_by`.
    pub created_by: String,
    /// Changes, in tar order.
    pub ops: Vec<Op>,
    /// Spelling of the tar.
    pub style: TarStyle,
}

impl LayerSpec {
    /// A layer with default tar spelling.
    pub fn new(created_by: &str, ops: Vec<Op>) -> Self {
        Self {
            created_by: created_by.to_owned(),
            ops,
            style: TarStyle::default(),
        }
    }
}

/// A whole image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// Tag, e.g. `demo/app:1.0`.
    pub tag: String,
    /// `linux`.
    pub os: String,
    /// `amd64`.
    pub arch: String,
    /// `v8`, or none.
    pub variant: Option<String>,
    /// Layers, bottom first.
    pub layers: Vec<LayerSpec>,
    /// History entries with `empty_layer: true`, placed before the layer of that index.
    pub empty_steps: Vec<(usize, String)>,
    /// Annotations of the image manifest (OCI forms), e.g. BuildKit's
    /// `org.opencontainers.image.base.name`; none by default.
    pub annotations: Vec<(String, String)>,
    /// `Env` entries (`NAME=value`) of the config after `PATH`; none by default.
    pub env: Vec<String>,
    /// Labels of the config; none by default.
    pub labels: Vec<(String, String)>,
}

impl ImageSpec {
    /// A linux/amd64 image.
    pub fn new(tag: &str, layers: Vec<LayerSpec>) -> Self {
        Self {
            tag: tag.to_owned(),
            os: "linux".into(),
            arch: "amd64".into(),
            variant: None,
            layers,
            empty_steps: Vec::new(),
            annotations: Vec::new(),
            env: Vec::new(),
            labels: Vec::new(),
        }
    }
}
