"""See where every byte of a container image comes from: layers, packages, waste.

Type stubs of the `dive_rs` module (built from Rust by PyO3). The dicts are the parts of
the `dive-rs --json` document (schema/analysis.v4.schema.json); sizes are ints in bytes,
layer indices start at 0 in manifest order.
"""

import os
from typing import Any, Callable, Literal, Mapping, Optional, Sequence, TypedDict, Union

from typing_extensions import NotRequired

__version__: str

Source = Union[str, "os.PathLike[str]"]

class BaseImage(TypedDict):
    name: Optional[str]
    digest: Optional[str]
    layers: Optional[int]
    source: Literal["annotation", "given"]

class ImageFacts(TypedDict):
    reference: Optional[str]
    platform: Optional[str]
    layout: Literal["docker-archive", "oci", "registry"]
    manifest_digest: Optional[str]
    config_digest: str
    layer_count: int
    size_compressed: int
    size_uncompressed: int
    total_file_bytes: int
    final_bytes: int
    final_files: int
    hidden_bytes: int
    efficiency: float
    dive_efficiency: float
    dive_wasted_bytes: int
    dive_user_wasted_percent: Optional[float]
    base: Optional[BaseImage]
    base_bytes: int
    own_bytes: int

class Layer(TypedDict):
    index: int
    digest: Optional[str]
    diff_id: Optional[str]
    media_type: Optional[str]
    compression: Literal["none", "gzip", "zstd"]
    size_compressed: int
    size_uncompressed: int
    entries: int
    file_bytes: int
    hidden_bytes: int
    hides_bytes: int
    created_by: Optional[str]
    blob: str
    from_base: bool

class Package(TypedDict):
    ecosystem: Literal["pip", "conda", "dpkg", "apk", "npm"]
    name: str
    version: Optional[str]
    location: str
    family: Optional[str]
    bytes: int
    files: int
    unrecorded_bytes: int
    hidden_bytes: int
    declared_bytes: Optional[int]
    layers: list[int]

class Family(TypedDict):
    name: str
    bytes: int
    hidden_bytes: int
    packages: int

class Unowned(TypedDict):
    dir: str
    bytes: int
    files: int
    hidden_bytes: int

class PathBytes(TypedDict):
    path: str
    path_hex: NotRequired[str]
    bytes: int
    layer: int

class LayerBytes(TypedDict):
    layer: int
    bytes: int

Waste = TypedDict(
    "Waste",
    {
        "class": str,
        "bytes": int,
        "files": int,
        "fix": str,
        "top_paths": list[PathBytes],
        "by_layer": list[LayerBytes],
    },
)

class Hidden(TypedDict):
    path: str
    path_hex: NotRequired[str]
    bytes: int
    added_in_layer: int
    hidden_by_layer: int
    reason: Literal[
        "overwritten",
        "metadata_only",
        "deleted",
        "deleted_with_directory",
        "opaque_directory",
        "directory_replaced",
    ]

class WarningLocation(TypedDict):
    input: str
    layer: NotRequired[str]
    offset: NotRequired[int]
    entry: NotRequired[str]

class Warning(TypedDict):
    location: WarningLocation
    message: str

class ProgressEvent(TypedDict):
    """One event: "resolved", "layer_walked", "read", "stage" (one begins), "merged" or
    "attributed" (the last)."""

    event: Literal["resolved", "layer_walked", "read", "stage", "merged", "attributed", "other"]
    stage: NotRequired[
        Literal["merge", "compare", "owners", "duplicates", "device_code", "waste"]
    ]
    layers: NotRequired[int]
    stored_bytes: NotRequired[int]
    index: NotRequired[Optional[int]]
    blob: NotRequired[str]
    entries: NotRequired[int]
    bytes: NotRequired[int]
    strategy: NotRequired[Optional[Literal["seek", "stream", "pipeline", "other"]]]

class Analysis:
    """An analysed image: every byte attributed to a layer, a path, a package, a waste class."""

    @property
    def input(self) -> str: ...
    @property
    def image(self) -> ImageFacts: ...
    @property
    def layers(self) -> list[Layer]: ...
    @property
    def packages(self) -> list[Package]: ...
    @property
    def families(self) -> list[Family]: ...
    @property
    def unowned(self) -> list[Unowned]: ...
    @property
    def waste(self) -> list[Waste]: ...
    @property
    def hidden(self) -> list[Hidden]: ...
    @property
    def largest_files(self) -> list[PathBytes]: ...
    @property
    def duplicates(self) -> list[dict[str, Any]]: ...
    @property
    def cuda(self) -> dict[str, Any]: ...
    @property
    def warnings(self) -> list[Warning]: ...
    def to_dict(self) -> dict[str, Any]:
        """The `dive-rs --json` document (schema v4)."""
    def report(
        self,
        format: Literal["text", "markdown", "json", "html"] = "text",
        *,
        exact_bytes: bool = False,
    ) -> str:
        """The optimisation report, as `dive-rs report --format FORMAT` prints it."""
    def summary(self, *, top: int = 20, exact_bytes: bool = False) -> str:
        """The text summary `dive-rs IMAGE --summary` prints."""
    def check(
        self,
        rules_path: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        rules_text: Optional[str] = None,
    ) -> GateResult:
        """CI rules (a `.dive-ci` file, or its text) on this image; dive's defaults without."""
    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Saves a scan that `dive_rs.load` and `dive-rs SCAN` open without the image."""

class Rule:
    """One rule's outcome."""

    @property
    def name(self) -> str: ...
    @property
    def section(self) -> Literal["dive", "dive-rs"]: ...
    @property
    def status(self) -> Literal["PASS", "FAIL", "SKIP"]: ...
    @property
    def measured(self) -> Union[int, float, list[str]]: ...
    @property
    def limit(self) -> str: ...
    @property
    def detail(self) -> str: ...

class GateResult:
    """Every rule evaluated on one image."""

    @property
    def passed(self) -> bool: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def rules(self) -> list[Rule]: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def rules_origin(self) -> str: ...
    def render(
        self,
        format: Literal["text", "markdown", "json", "junit"] = "text",
        *,
        exact_bytes: bool = False,
    ) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __bool__(self) -> bool: ...

def analyze(
    source: Source,
    *,
    platform: Optional[str] = None,
    image: Optional[str] = None,
    verify: bool = False,
    families: Optional[Union[str, "os.PathLike[str]"]] = None,
    limits: Optional[Mapping[str, Union[int, str]]] = None,
    progress: Optional[Callable[[ProgressEvent], Optional[bool]]] = None,
    gpu_arch: Optional[Union[str, Sequence[str]]] = None,
    cuda_deep: bool = False,
    threads: Optional[int] = None,
) -> Analysis:
    """Analyses an image with the GIL released; `progress` may return False to stop it.

    Raises ImageError (AnalysisStopped when stopped), RulesError for a bad families file,
    and KeyboardInterrupt on Ctrl-C, which stops the analysis within milliseconds at any
    stage (its note says which).
    """

def load(path: Union[str, "os.PathLike[str]"]) -> Analysis:
    """Opens a scan saved by `Analysis.save` or `dive-rs --save`."""

def diff(
    old: Union[Source, Analysis], new: Union[Source, Analysis], *, top: int = 20
) -> dict[str, Any]:
    """The `dive-rs diff --format json` document of two images."""

def main() -> int:
    """Runs the `dive-rs` command line with `sys.argv`; returns its exit status."""

class DiveError(Exception):
    """Every error dive_rs raises on purpose, with where it happened, as far as known."""

    input: Optional[str]
    layer: Optional[int]
    layer_digest: Optional[str]
    offset: Optional[int]
    entry: Optional[str]

class ImageError(DiveError):
    """The image could not be read."""

class RulesError(DiveError):
    """A rules or families file is malformed (`input` names it)."""

class AnalysisStopped(ImageError):
    """The progress callback returned False, and the analysis ended early."""
