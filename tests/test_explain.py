"""advnets explain transposed-conv: the worked example's numbers, the matrix C and its
transpose against PyTorch, the shape rules, the checkerboard, and the command end to end."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from advnets.cli import main
from advnets.explain import transposed_conv as tc


@pytest.fixture
def example() -> tuple[torch.Tensor, torch.Tensor]:
    return tc.matrix(tc.INPUT), tc.matrix(tc.KERNEL)


def test_the_worked_example_gives_these_four_numbers(example):
    x, kernel = example
    y = tc.conv2d(x, kernel)
    assert y.tolist() == [[11, 7], [0, 7]]  # a cross-correlation, as conv2d computes it
    # by hand: the top-left 3x3 window of x times the kernel, summed
    assert tc.entry_arithmetic(x, kernel) == (
        "3*1 + 5*(-1) + 0*1 + 6*1 + 7*0 + 1*0 + 7*1 + 0*(-1) + 0*(-1) = 11"
    )
    assert tc.entry_arithmetic(x, kernel, 0, 1).endswith("= 7")
    assert tc.conv2d(x, kernel.flip(0, 1)).tolist() == [[0, 10], [-3, 4]]  # textbook convolution


def test_the_convolution_is_the_sparse_matrix_c(example):
    x, kernel = example
    c = tc.convolution_matrix(kernel, (4, 4))
    assert c.shape == (4, 16)
    assert (c != 0).sum(dim=1).tolist() == [7, 7, 7, 7]  # the kernel's 7 non-zeros in each row
    assert c[0].reshape(4, 4)[:3, :3].tolist() == list(map(list, tc.KERNEL))
    assert torch.equal(c @ x.flatten(), F.conv2d(x[None, None], kernel[None, None]).flatten())


def test_the_transposed_convolution_is_c_transpose(example):
    x, kernel = example
    y = tc.conv2d(x, kernel)
    c = tc.convolution_matrix(kernel, (4, 4))
    up = F.conv_transpose2d(y[None, None], kernel[None, None])[0, 0]
    assert torch.equal((c.T @ y.flatten()).reshape(4, 4), up)
    assert up.tolist() == [[11, -4, 4, 7], [11, 14, -7, 7], [11, 3, -18, -7], [0, 7, -7, -7]]
    assert not torch.equal(up, x)  # the shape comes back, not the values
    copies = tc.scatter(y, kernel)
    assert [copy.at for copy in copies] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert torch.equal(sum(copy.image for copy in copies), up)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_c_and_its_transpose_match_torch_with_strides(stride):
    generator = torch.Generator().manual_seed(stride)
    # 9 - 3 and 8 - 2 divide by each stride: no input row or column is left over, so the
    # transposed convolution comes back to 9x8 without output_padding
    x = torch.randint(-9, 10, (9, 8), generator=generator).double()
    kernel = torch.randint(-3, 4, (3, 2), generator=generator).double()
    c = tc.convolution_matrix(kernel, (9, 8), stride)
    y = tc.conv2d(x, kernel, stride)
    assert torch.equal(c @ x.flatten(), y.flatten())
    up = tc.conv_transpose2d(y, kernel, stride)
    assert torch.equal(c.T @ y.flatten(), up.flatten())
    assert torch.equal(sum(copy.image for copy in tc.scatter(y, kernel, stride)), up)


@pytest.mark.parametrize("i", [1, 2, 5, 7, 14])
@pytest.mark.parametrize(("k", "s", "p"), [(3, 1, 0), (3, 1, 1), (4, 2, 1), (5, 2, 2), (3, 2, 1),
                                           (4, 1, 0), (5, 3, 1)])  # fmt: skip
def test_the_shape_rules_match_torch(i, k, s, p):
    for output_padding in range(s):
        up = F.conv_transpose2d(
            torch.zeros(1, 1, i, i), torch.zeros(1, 1, k, k), stride=s, padding=p,
            output_padding=output_padding,
        ).shape[-1]  # fmt: skip
        assert tc.transposed_output_size(i, k, s, p, output_padding) == up
        down = F.conv2d(torch.zeros(1, 1, up, up), torch.zeros(1, 1, k, k), stride=s, padding=p)
        assert tc.conv_output_size(up, k, s, p) == down.shape[-1] == i  # back to i


def test_the_shape_table_holds_the_dcgan_cases():
    rows = [case.row() for case in tc.SHAPE_CASES]
    for row in rows:
        assert row["transposed"] == row["transposed_torch"]
        assert row["back"] == row["back_torch"] == row["i"]
    chain = {(r["i"], r["transposed"]) for r in rows if (r["k"], r["s"], r["p"]) == (4, 2, 1)}
    assert {(7, 14), (14, 28), (4, 8), (8, 16), (16, 32)} <= chain


def test_the_checkerboard_is_uneven_with_kernel_3_and_even_with_kernel_4():
    three, four = tc.checkerboard(3), tc.checkerboard(4)
    assert three.shape == (17, 17) and four.shape == (18, 18)
    for k, board in ((3, three), (4, four)):
        row = tc.overlaps_along_a_row(k)
        assert torch.equal(board, torch.outer(row, row))
    assert tc.overlaps_along_a_row(3).tolist()[:6] == [1, 1, 2, 1, 2, 1]
    inside3, inside4 = tc.interior(three, 3), tc.interior(four, 4)
    assert set(inside3.unique().tolist()) == {1, 2, 4}  # a checkerboard
    assert set(inside4.unique().tolist()) == {4}  # even
    assert tc.checkerboard_summary(3)["interior_max_over_min"] == 4
    assert tc.checkerboard_summary(4)["interior_max_over_min"] == 1


def test_the_command_prints_the_example_and_writes_the_figures(tmp_path, capsys):
    assert main(["explain", "transposed-conv", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cross-correlation" in out and "= 11" in out
    assert "C @ x == conv2d(x, w): yes" in out and "NO" not in out
    assert "max/min 4: uneven overlap" in out and "max/min 1: even coverage" in out
    for name in ("upsampling.png", "checkerboard.png"):
        with Image.open(tmp_path / name) as image:
            assert image.format == "PNG" and image.width > 300

    assert main(["explain", "transposed-conv", "--out", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["output"] == [[11, 7], [0, 7]]
    assert len(summary["C"]) == 4 and len(summary["C"][0]) == 16
    assert all(summary["checks"].values())
    assert [row["interior_max_over_min"] for row in summary["checkerboard"]] == [4, 1]


def test_an_unusable_out_folder_is_one_sentence(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["explain", "transposed-conv", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(blocker) in err and "not a directory" in err
