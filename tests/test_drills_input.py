"""Drills of bad input through the real ``advnets`` command: each case ends in one sentence on
stderr (never a traceback), exit code 2, and no file written.

The cases are those of the issue on bad input: configs that are lists or strings, a YAML alias
bomb, sizes beyond advnets.limits, folders and files that cannot be used, a toy run asked for a
picture, a text file given as samples, and errors nobody foresaw (one line, the traceback only
under ``--debug``).

Each command runs in a process of its own. Importing torch costs a new interpreter seconds of
CPU, so one interpreter (:class:`Advnets`) imports advnets and torch once and forks a child per
command: the child sets its working directory, environment and standard streams, runs
``advnets.cli.main`` and exits with its code, as the installed command would. Under root, that
interpreter runs without the capability to override file permissions, so read-only folders
are read-only to it too. Nothing here touches the network: a download is served from a local
folder of test files (``mirror``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from cli_children import Cache, build_cache

import advnets
from advnets import limits
from advnets.data import mnist

# The forking interpreter: imports once, then for each JSON command on stdin forks a child that
# runs the CLI and exits with its code; the parent writes that code back, one line each.
ZYGOTE = r"""
import io, json, os, signal, subprocess, sys, traceback, urllib.request
from pathlib import Path
import torch, advnets.cli, advnets.training.loop  # imported once, before any fork
from advnets.data import mnist

def offline(*args, **kwargs):
    raise OSError("the tests do not touch the network")

def mirror(folder):
    def urlopen(url, timeout=None):
        path = Path(folder) / url.rsplit("/", 1)[-1]
        if not path.is_file():
            raise OSError(f"{url} is not on the test mirror")
        return io.BytesIO(path.read_bytes())
    return urlopen

def fault(kind):
    def command(args):
        raise {"bug": RuntimeError("a fault put there by the test"),
               "interrupt": KeyboardInterrupt()}[kind]
    return command

def run(command):
    signal.alarm(120)  # a command that hangs is killed, and its test fails
    with open(command["stdout"], "w") as out, open(command["stderr"], "w") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
    os.chdir(command["cwd"])
    os.environ.update(command["env"])
    mnist.SHA256.update(command["sha256"])
    mnist.N_TRAIN, mnist.N_VALID, mnist.N_TEST = command["sizes"]
    subprocess.run = offline
    urllib.request.urlopen = mirror(command["mirror"]) if command["mirror"] else offline
    if command["fault"]:
        advnets.cli.training.cmd_presets = fault(command["fault"])
    try:
        code = advnets.cli.main(command["argv"])
    except SystemExit as exit:  # argparse
        code = exit.code if isinstance(exit.code, int) else 0
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        run(json.loads(line))
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status), flush=True)
"""

N_TRAIN, N_VALID, N_TEST = 300, 100, 100
TINY = {  # an image run in seconds
    "model": {"generator_hidden": [64, 64], "discriminator_units": [32, 32]},
    "training": {"epochs": 1, "batch_size": 20, "threads": 1},
    "evaluation": {"samples": 200, "valid_images": 50, "domain_metrics": False},
    "logging": {"progress": False, "tensorboard": False, "grid_rows": 4},
}
# 324 bytes of YAML whose aliases expand to 9^9 strings (the "billion laughs")
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9) if prev else ','.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
# Under root, file permissions bind only without CAP_DAC_OVERRIDE (and _READ_SEARCH).
AS_ROOT = os.geteuid() == 0
SETPRIV = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def _permissions_bind() -> bool:
    """Whether the children will find read-only folders read-only: always, unless they run as
    root and setpriv cannot take root's permission override away."""
    if not AS_ROOT:
        return True
    return bool(shutil.which("setpriv")) and subprocess.run([*SETPRIV, "true"]).returncode == 0


PERMISSIONS_BIND = _permissions_bind()


@dataclass
class Result:
    """What a command left: its exit code and its standard output and error."""

    code: int
    out: str
    err: str


class Advnets:
    """Runs ``advnets ARGV`` in a child process forked from one warm interpreter."""

    def __init__(self, cache: Cache, scratch: Path) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        src = str(Path(advnets.__file__).resolve().parents[1])  # the advnets these tests import
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        env.pop("ADVNETS_DEBUG", None)
        prefix = SETPRIV if AS_ROOT and PERMISSIONS_BIND else []
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-W", "ignore::DeprecationWarning", "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.cache, self.scratch, self.count = cache, scratch, 0

    def __call__(
        self,
        *argv: str,
        cwd: Path,
        env: dict[str, str] | None = None,
        mirror: Path | None = None,
        fault: str | None = None,
    ) -> Result:
        self.count += 1
        out, err = self.scratch / f"{self.count}.out", self.scratch / f"{self.count}.err"
        command = {
            "argv": list(argv),
            "cwd": str(cwd),
            "env": {"ADVNETS_DATA_DIR": str(self.cache.path), **(env or {})},
            "sha256": self.cache.sha256,
            "sizes": self.cache.sizes,
            "mirror": str(mirror) if mirror else None,
            "fault": fault,
            "stdout": str(out),
            "stderr": str(err),
        }
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        code = self.process.stdout.readline()
        assert code, "the forking interpreter ended"
        return Result(int(code), out.read_text(), err.read_text())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def tree(*folders: Path) -> dict[str, str]:
    """Every file under ``folders`` (and every folder) with a digest of its bytes."""
    found = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                found[str(path)] = "folder"
    return found


def assert_refused(result: Result, *words: str) -> None:
    """Exit code 2 and one line on stderr holding ``words``, no traceback."""
    assert result.code == 2, result
    assert "Traceback" not in result.err, result.err
    assert len(result.err.splitlines()) == 1, result.err
    for word in words:
        assert word in result.err, result.err


@pytest.fixture(scope="module")
def advnets_cli(tmp_path_factory):
    root = tmp_path_factory.mktemp("drills")
    cache = build_cache(root / "cache", N_TRAIN, N_VALID, N_TEST)
    (root / "streams").mkdir()
    cli = Advnets(cache, root / "streams")
    yield cli
    cli.close()


@pytest.fixture(scope="module")
def runs(advnets_cli, tmp_path_factory) -> dict[str, Path]:
    """A finished image run and a finished toy run, trained through the CLI."""
    root = tmp_path_factory.mktemp("runs")
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    toy = ["--set", "training.epochs=1", "--set", "data.toy_points=200"]
    for argv in (["train", "tiny.yaml", "--out", "image", "--no-eval"],
                 ["train", "toy-ring", "--out", "toy", *toy]):  # fmt: skip
        result = advnets_cli(*argv, cwd=root)
        assert result.code == 0, result.err
    return {"image": root / "image", "toy": root / "toy"}


@pytest.fixture
def cwd(tmp_path) -> Path:
    """A working directory holding a few inputs: a list, a string and a bomb as configs."""
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    (tmp_path / "string.yaml").write_text("hello\n")
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    (tmp_path / "a-file").write_text("not a folder\n")
    return tmp_path


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "list.yaml", "--set", "seed=1"], ["list.yaml", "mapping", "not a list"]),
        (["train", "string.yaml", "--data-dir", "x"], ["string.yaml", "mapping", "not a str"]),
        (["train", "list.yaml", "--device", "cpu"], ["list.yaml", "mapping"]),
        (["train", "bomb.yaml"], ["bomb.yaml", "anchors and aliases", "line 1"]),
        (["train", "toy-ring", "--set", "seed=&a 1"], ["--set 'seed'", "anchors and aliases"]),
        (["train", "toy-ring", "--set", "training.threads=100000"], ["threads", "1,024"]),
        (["train", "toy-ring", "--set", "seed=99999999999999999999"], ["seed", "4,294,967,295"]),
        (["train", "mnist-paper", "--set", "model.noise_dim=100000000"], ["noise_dim", "65,536"]),
        (["train", "toy-ring", "--set", "model.discriminator_units=[8, 100000]"], ["[1]"]),
        (["train", "toy-ring", "--set", "training.lr=.inf"], ["training.lr", "finite"]),
    ],
)
def test_a_config_that_cannot_be_used_is_one_sentence(advnets_cli, cwd, argv, words):
    before = tree(cwd)
    assert_refused(advnets_cli(*argv, cwd=cwd), *words)
    assert tree(cwd) == before


def test_a_model_larger_than_memory_is_refused_before_it_is_built(advnets_cli, cwd):
    wide = ",".join(["65536"] * limits.MAX_LAYERS)  # 2.7e11 weights: terabytes to train
    before = tree(cwd)
    result = advnets_cli(
        "toy", "ring", "--out", "lab", "--set", f"model.generator_hidden=[{wide}]", cwd=cwd
    )
    assert_refused(result, "the model", "parameters", "GiB", "available")
    assert tree(cwd) == before


@pytest.mark.parametrize(
    "argv, words",
    [
        (["-n", "100000000"], ["-n", "100,000,000", "1,000,000"]),
        (["-n", "0"], ["-n", "0 is outside"]),
        (["--seed", "99999999999999999999"], ["--seed", "4,294,967,295"]),
        (["--scale", "0"], ["--scale", "1 .. 32"]),
        (["--scale", "-3"], ["--scale", "-3"]),
        (["--scale", "100000"], ["--scale", "100,000"]),
        (["-n", "1000000", "--scale", "1"], ["1,000,000 images", "pixels", "268,435,456"]),
    ],
)
def test_sample_sizes_beyond_the_limits_are_refused(advnets_cli, runs, cwd, argv, words):
    before = tree(cwd, runs["image"])
    assert_refused(advnets_cli("sample", str(runs["image"]), "-o", "x.png", *argv, cwd=cwd), *words)
    assert tree(cwd, runs["image"]) == before


def test_sample_within_the_limits_works(advnets_cli, runs, cwd):
    """60,000 samples, as many as MNIST's training images, are within the limits."""
    result = advnets_cli("sample", str(runs["toy"]), "-n", "60000", "-o", "x.npy", cwd=cwd)
    assert result.code == 0, result.err
    assert np.load(cwd / "x.npy").shape == (60000, 2)


def test_a_picture_of_a_toy_run_is_refused(advnets_cli, runs, cwd):
    before = tree(cwd, runs["toy"])
    result = advnets_cli("sample", str(runs["toy"]), "-o", "x.png", cwd=cwd)
    assert_refused(result, "theory-lab run", "points", "-o OUT.npy")
    assert tree(cwd, runs["toy"]) == before


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--rows", "0", ["--rows", "0 is outside"]),
        ("--columns", "-1", ["--columns", "-1 is outside"]),
        ("--steps", "1", ["--steps", "2 .. 100"]),
        ("--rows", "many", ["--rows", "not an integer"]),
    ],
)
def test_figures_sizes_are_refused_before_anything_is_written(
    advnets_cli, runs, cwd, flag, value, words
):
    before = tree(runs["image"])
    assert_refused(advnets_cli("figures", str(runs["image"]), flag, value, cwd=cwd), *words)
    assert tree(runs["image"]) == before


def test_output_paths_that_cannot_be_used_are_named(advnets_cli, runs, cwd):
    (cwd / "out.png").mkdir()
    before = tree(cwd, runs["image"])
    image = str(runs["image"])
    cases = [
        (["sample", image, "-o", "out.png"], ["out.png", "it is a directory"]),
        (["sample", image, "-o", "a-file/x.png"], ["a-file/x.png", "a-file is not a directory"]),
        (["train", "toy-ring", "--out", "a-file"], ["a-file", "a file stands where a folder"]),
    ]
    for argv, words in cases:
        assert_refused(advnets_cli(*argv, cwd=cwd), *words)
    assert tree(cwd, runs["image"]) == before


def samples_file(folder: Path) -> Path:
    path = folder / "samples.npy"
    np.save(path, np.full((5, 784), 0.5, np.float32))
    return path


@pytest.mark.skipif(not PERMISSIONS_BIND, reason="root without setpriv ignores permissions")
def test_read_only_folders_are_named(advnets_cli, runs, cwd, tmp_path_factory):
    samples = samples_file(tmp_path_factory.mktemp("samples"))
    read_only = cwd / "read-only"
    read_only.mkdir()
    read_only.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        before = tree(cwd, runs["image"])
        cases = [
            (["sample", str(runs["image"]), "-o", "x.png"], ["x.png", "Permission denied"]),
            (["train", "toy-ring"], ["runs", "Permission denied"]),
        ]
        for argv, words in cases:  # a read-only working directory
            assert_refused(advnets_cli(*argv, cwd=read_only), *words)
        mirror = advnets_cli.cache.path  # the test MNIST, downloaded into a read-only cache
        result = advnets_cli(
            "parzen", str(samples), cwd=cwd, env={"ADVNETS_DATA_DIR": str(read_only)}, mirror=mirror
        )
        assert_refused(result, str(read_only / mnist.IDX_NAMES[0]), "Permission denied")
        assert tree(cwd, runs["image"]) == before
    finally:
        read_only.chmod(stat.S_IRWXU)


def test_a_folder_where_a_cache_file_belongs_is_named(advnets_cli, cwd, tmp_path_factory):
    samples = samples_file(tmp_path_factory.mktemp("samples"))
    cache = cwd / "cache"
    (cache / mnist.IDX_NAMES[0]).mkdir(parents=True)
    before = tree(cwd)
    result = advnets_cli(
        "parzen", str(samples), cwd=cwd, env={"ADVNETS_DATA_DIR": str(cache)},
        mirror=advnets_cli.cache.path,
    )  # fmt: skip
    assert_refused(result, str(cache / mnist.IDX_NAMES[0]), "Is a directory")
    assert tree(cwd) == before


def npy_header(path: Path, shape: tuple[int, ...], descr: str = "<f4") -> Path:
    """A .npy file that is only a header: it claims ``shape`` and holds no data."""
    with path.open("wb") as handle:
        header = {"descr": descr, "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(handle, header)
    return path


def test_sample_files_are_checked_from_their_header(advnets_cli, cwd):
    (cwd / "text.npy").write_text("0.5 0.5 0.5\n")
    np.save(cwd / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    cases = [
        (npy_header(cwd / "rows.npy", (10**9, 784)), ["rows", "1,000,000,000", "1,000,000"]),
        (npy_header(cwd / "wide.npy", (10, 10**12)), ["10 x 1,000,000,000,000", "GiB"]),
        (npy_header(cwd / "short.npy", (10, 784)), ["truncated", "31,360 bytes"]),
        (cwd / "text.npy", ["text.npy", "not a .npy array file"]),
        (cwd / "objects.npy", ["objects.npy", "Python objects"]),
    ]
    before = tree(cwd)
    for path, words in cases:
        result = advnets_cli("parzen", str(path), cwd=cwd)
        assert_refused(result, *words)
        assert "pickle" not in result.err, result.err  # never suggest loading it unsafely
    assert tree(cwd) == before


def test_an_unexpected_error_is_one_line_with_a_hint_and_its_traceback_under_debug(
    advnets_cli, cwd
):
    result = advnets_cli("presets", cwd=cwd, fault="bug")
    assert_refused(result, "unexpected RuntimeError", "a fault put there", "--debug")
    for argv, env in ((["--debug", "presets"], {}), (["presets"], {"ADVNETS_DEBUG": "1"})):
        result = advnets_cli(*argv, cwd=cwd, env=env, fault="bug")
        assert result.code == 2
        assert result.err.startswith("Traceback (most recent call last):"), result.err
        assert result.err.splitlines()[-1].startswith("advnets: error: unexpected RuntimeError")
    result = advnets_cli("--debug", "train", "list.yaml", cwd=cwd)  # a known error, traced
    assert result.code == 2 and "Traceback" in result.err and "ConfigError" in result.err


def test_an_interrupt_still_exits_130(advnets_cli, cwd):
    result = advnets_cli("presets", cwd=cwd, fault="interrupt")
    assert result.code == 130
    assert len(result.err.splitlines()) == 1 and "interrupted" in result.err
