"""Safe file handling: atomic writes and SHA-256 digests.

Every file advnets writes goes through :func:`atomic_write_bytes`: the bytes land
in a temporary file in the same directory, are flushed to disk, and only then
replace the target with ``os.replace``. A crash part-way leaves the previous
file intact, never a half-written one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path


def _default_mode() -> int:
    """The permissions a plain ``open()`` would give a new file (0o666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(
    path: str | os.PathLike, data: bytes, previous: str | os.PathLike | None = None
) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename). With
    ``previous``, the file it replaces is kept as ``previous`` just before."""
    try:
        return _write_atomically(Path(path), data, previous)
    except OSError as err:  # name the file asked for, not the temporary one
        if err.errno is None:
            raise
        raise OSError(err.errno, err.strerror, str(path)) from err


def _write_atomically(path: Path, data: bytes, previous: str | os.PathLike | None = None) -> Path:
    """:func:`atomic_write_bytes`, its errors naming the temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _default_mode())
        if previous is not None and path.exists():
            _keep_as(path, Path(previous))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _keep_as(path: Path, previous: Path) -> None:
    """Make ``previous`` a copy of ``path`` while ``path`` stays in place: a hard link under
    a temporary name, renamed over ``previous``, so that a reader never finds ``path``
    missing. Where hard links are not possible, ``path`` is renamed (a brief gap)."""
    if not _link_into_place(path, previous):
        os.replace(path, previous)


def _link_into_place(source: Path, target: Path) -> bool:
    """Make ``target`` a hard link to ``source`` (made under a temporary name, renamed over
    ``target``); False where hard links are not possible."""
    link = target.with_name(f".{target.name}.link")
    try:
        link.unlink(missing_ok=True)
        os.link(source, link)
    except OSError:
        return False
    os.replace(link, target)
    return True


def keep_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Make ``target`` a lasting copy of ``source``: a hard link (no bytes copied; files here
    are only ever replaced, never changed in place) renamed into place, or where links are
    not possible an atomic copy."""
    source, target = Path(source), Path(target)
    if not _link_into_place(source, target):
        atomic_write_bytes(target, source.read_bytes())
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


class ShippedFileError(RuntimeError):
    """A file shipped inside the package is missing or does not match its recorded SHA-256."""


def shipped_bytes(package: str, filename: str, sha256: str, remedy: str) -> bytes:
    """The bytes of ``filename`` in ``package``, verified against ``sha256``; a damaged or
    replaced file is refused, never used (``remedy``: what the user can do instead)."""
    from importlib import resources

    resource = resources.files(package).joinpath(filename)
    if not resource.is_file():
        raise ShippedFileError(f"the package has no {filename}; {remedy}")
    blob = resource.read_bytes()
    digest = sha256_bytes(blob)
    if digest != sha256:
        raise ShippedFileError(
            f"{filename} has SHA-256 {digest}, expected {sha256}: the file is damaged or was "
            "replaced; reinstall advnets."
        )
    return blob


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 digest of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def check_writable(path: str | os.PathLike) -> None:
    """Raise OSError naming ``path`` unless a file can be written there: it is not a
    directory, and a file can be created in the nearest existing folder above it."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a directory", str(path))
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is not a directory", str(path))
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as err:
        raise OSError(err.errno, f"{err.strerror} in {folder.resolve()}", str(path)) from err
