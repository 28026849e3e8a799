"""The transposed convolution, explained by running it.

A worked example: a 4x4 input and a 3x3 kernel (stride 1, no padding) give a 2x2 output.
Written as a matrix, that convolution is a sparse 4x16 matrix C acting on the flattened
input; the transposed convolution is C^T (16x4), which takes a 2x2 back to a 4x4: the shape,
not the values (C^T is not an inverse of C). DCGAN's generator up-samples with this
operation. The shape rules are those of Dumoulin & Visin 2016, "A guide to convolution
arithmetic for deep learning"; the checkerboard is that of Odena, Dumoulin & Olah 2016,
"Deconvolution and Checkerboard Artifacts".

Like every deep-learning library, ``torch.nn.functional.conv2d`` computes a
cross-correlation: it slides the kernel over the input without flipping it. Everything here
does the same; a textbook convolution would flip the kernel first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from advnets.figures import transposed_conv as pictures
from advnets.files import check_writable

INPUT = ((3, 5, 0, 4), (6, 7, 1, 2), (7, 0, 0, 9), (9, 8, 8, 1))
KERNEL = ((1, -1, 1), (1, 0, 0), (1, -1, -1))
CHECKERBOARD_SIDE = 8  # the constant input of the checkerboard is 8x8
CHECKERBOARD_STRIDE = 2
CHECKERBOARD_KERNELS = (3, 4)  # the stride divides 4 but not 3
FIGURES = {"upsampling": "upsampling.png", "checkerboard": "checkerboard.png"}


def matrix(rows) -> torch.Tensor:
    """A 2-D float64 tensor: exact for the small integers used here."""
    return torch.tensor(rows, dtype=torch.float64)


def conv2d(x: torch.Tensor, kernel: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """The cross-correlation of one 2-D image with one 2-D kernel, by PyTorch."""
    return F.conv2d(x[None, None], kernel[None, None], stride=stride)[0, 0]


def conv_transpose2d(y: torch.Tensor, kernel: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """The transposed convolution of one 2-D image with one 2-D kernel, by PyTorch."""
    return F.conv_transpose2d(y[None, None], kernel[None, None], stride=stride)[0, 0]


def conv_output_size(i: int, k: int, s: int = 1, p: int = 0) -> int:
    """The side of a convolution's output: o = floor((i + 2p - k) / s) + 1 (Dumoulin & Visin
    2016). The floor means that with s > 1 several input sides give the same o."""
    return (i + 2 * p - k) // s + 1


def transposed_output_size(i: int, k: int, s: int = 1, p: int = 0, output_padding: int = 0) -> int:
    """The side of a transposed convolution's output: o' = s(i - 1) + k - 2p + output_padding
    (Dumoulin & Visin 2016), the smallest side a convolution with the same k, s and p takes to
    i; output_padding (0 to s - 1) picks one of the larger sides it also takes to i."""
    return s * (i - 1) + k - 2 * p + output_padding


def convolution_matrix(
    kernel: torch.Tensor, input_shape: tuple[int, int], stride: int = 1
) -> torch.Tensor:
    """The convolution of an ``input_shape`` image with ``kernel`` as a matrix C, one row per
    output pixel and one column per input pixel (both flattened row by row), so that
    ``C @ x.flatten() == conv2d(x, kernel).flatten()``. The row of output pixel (r, c) holds
    the kernel where that pixel's window lies on the input, and zeros elsewhere."""
    k_h, k_w = kernel.shape
    height, width = input_shape
    out_h = conv_output_size(height, k_h, stride)
    out_w = conv_output_size(width, k_w, stride)
    c = torch.zeros(out_h, out_w, height, width, dtype=kernel.dtype)
    for r in range(out_h):
        for col in range(out_w):
            c[r, col, r * stride : r * stride + k_h, col * stride : col * stride + k_w] = kernel
    return c.reshape(out_h * out_w, height * width)


@dataclass
class KernelCopy:
    """What one input value y[r, c] adds to a transposed convolution's output: the kernel
    scaled by y[r, c], laid with its top-left corner at (top, left)."""

    at: tuple[int, int]
    value: float
    top: int
    left: int
    image: torch.Tensor  # the whole output, zero outside the copy


def scatter(y: torch.Tensor, kernel: torch.Tensor, stride: int = 1) -> list[KernelCopy]:
    """The transposed convolution pixel by pixel: each input value lays a scaled copy of the
    kernel onto the output, ``stride`` pixels from its neighbours' copies; the output is the
    sum of the copies. (Copy (r, c) is row (r, c) of C, scaled by y[r, c], as an image.)"""
    k_h, k_w = kernel.shape
    out_shape = (transposed_output_size(y.shape[0], k_h, stride),
                 transposed_output_size(y.shape[1], k_w, stride))  # fmt: skip
    copies = []
    for r in range(y.shape[0]):
        for c in range(y.shape[1]):
            top, left = r * stride, c * stride
            image = torch.zeros(out_shape, dtype=y.dtype)
            image[top : top + k_h, left : left + k_w] = y[r, c] * kernel
            copies.append(KernelCopy((r, c), y[r, c].item(), top, left, image))
    return copies


def entry_arithmetic(x: torch.Tensor, kernel: torch.Tensor, row: int = 0, col: int = 0) -> str:
    """Output pixel (row, col) of ``conv2d(x, kernel)`` worked by hand, e.g.
    ``3*1 + 5*(-1) + ... = 11``: the window of x under the kernel, times the kernel, summed."""
    k_h, k_w = kernel.shape
    window = x[row : row + k_h, col : col + k_w]
    pairs = zip(window.flatten().tolist(), kernel.flatten().tolist(), strict=True)
    terms = [f"{a:g}*{b:g}" if b >= 0 else f"{a:g}*({b:g})" for a, b in pairs]
    return f"{' + '.join(terms)} = {(window * kernel).sum().item():g}"


@dataclass(frozen=True)
class ShapeCase:
    """A transposed convolution of an i x i input (kernel k, stride s, padding p)."""

    i: int
    k: int
    s: int
    p: int
    output_padding: int = 0
    note: str = ""

    def row(self) -> dict:
        """The side o' by the rule and by PyTorch, and the side a convolution with the same
        k, s, p takes o' back to (by the rule and by PyTorch): i again."""
        up = transposed_output_size(self.i, self.k, self.s, self.p, self.output_padding)
        kernel = torch.zeros(1, 1, self.k, self.k)
        up_torch = F.conv_transpose2d(
            torch.zeros(1, 1, self.i, self.i), kernel, stride=self.s, padding=self.p,
            output_padding=self.output_padding,
        ).shape[-1]  # fmt: skip
        back_torch = F.conv2d(
            torch.zeros(1, 1, up_torch, up_torch), kernel, stride=self.s, padding=self.p
        ).shape[-1]
        return {
            "i": self.i, "k": self.k, "s": self.s, "p": self.p,
            "output_padding": self.output_padding, "note": self.note,
            "transposed": up, "transposed_torch": up_torch,
            "back": conv_output_size(up, self.k, self.s, self.p), "back_torch": back_torch,
        }  # fmt: skip


SHAPE_CASES = (
    ShapeCase(2, 3, 1, 0, note="the worked example: 2x2 back to 4x4"),
    ShapeCase(1, 4, 1, 0, note="DCGAN: the noise as a 1x1 image, to 4x4"),
    ShapeCase(4, 4, 2, 1, note="DCGAN 32x32: 4 -> 8"),
    ShapeCase(8, 4, 2, 1, note="8 -> 16"),
    ShapeCase(16, 4, 2, 1, note="16 -> 32"),
    ShapeCase(7, 4, 2, 1, note="DCGAN 28x28: 7 -> 14"),
    ShapeCase(14, 4, 2, 1, note="14 -> 28"),
    ShapeCase(7, 5, 2, 2, 1, note="5x5 kernels: output_padding 1 picks 14 (0 gives 13)"),
    ShapeCase(7, 3, 2, 1, 1, note="3x3 kernels: output_padding 1 picks 14 (0 gives 13)"),
)


def checkerboard(kernel_size: int) -> torch.Tensor:
    """The stride-2 transposed convolution of an 8x8 input of ones with an all-ones kernel:
    each output pixel counts the kernel copies that overlap on it (Odena et al. 2016)."""
    ones = torch.ones(CHECKERBOARD_SIDE, CHECKERBOARD_SIDE, dtype=torch.float64)
    kernel = torch.ones(kernel_size, kernel_size, dtype=torch.float64)
    return conv_transpose2d(ones, kernel, CHECKERBOARD_STRIDE)


def overlaps_along_a_row(kernel_size: int) -> torch.Tensor:
    """The 1-D count behind :func:`checkerboard`: how many kernel copies cover each pixel of
    a row. The 2-D count is its outer product with itself."""
    ones = torch.ones(1, 1, CHECKERBOARD_SIDE, dtype=torch.float64)
    kernel = torch.ones(1, 1, kernel_size, dtype=torch.float64)
    return F.conv_transpose1d(ones, kernel, stride=CHECKERBOARD_STRIDE)[0, 0]


def interior(image: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """The image less a border of kernel_size - 1 on each side, where the input's edges
    thin the overlap."""
    border = kernel_size - 1
    return image[border:-border, border:-border]


def checkerboard_summary(kernel_size: int) -> dict:
    """The numbers of :func:`checkerboard`: the output's side, the copies along a row, and
    the interior's smallest and largest count and their ratio (1: even coverage)."""
    board = checkerboard(kernel_size)
    inside = interior(board, kernel_size)
    return {
        "kernel": kernel_size,
        "stride": CHECKERBOARD_STRIDE,
        "input_side": CHECKERBOARD_SIDE,
        "output_side": board.shape[0],
        "overlaps_along_a_row": _ints(overlaps_along_a_row(kernel_size)),
        "interior_min": inside.min().item(),
        "interior_max": inside.max().item(),
        "interior_max_over_min": (inside.max() / inside.min()).item(),
    }


def _ints(t: torch.Tensor) -> list:
    """A tensor of whole numbers as nested lists of ints, for JSON."""
    return t.to(torch.int64).tolist()


def explain(out: str | Path) -> dict:
    """Compute the worked example, the shape table and the checkerboard, check them against
    PyTorch, draw the figures into the folder ``out``; return every number, JSON-ready."""
    paths = {name: Path(out) / file for name, file in FIGURES.items()}
    for path in paths.values():
        check_writable(path)
    x, kernel = matrix(INPUT), matrix(KERNEL)
    y = conv2d(x, kernel)
    back = conv_transpose2d(y, kernel)
    c = convolution_matrix(kernel, tuple(x.shape))
    copies = scatter(y, kernel)
    checker = [checkerboard_summary(k) for k in CHECKERBOARD_KERNELS]
    _draw(paths, y, kernel, copies, back, checker)
    return {
        "input": _ints(x),
        "kernel": _ints(kernel),
        "output": _ints(y),
        "first_entry": entry_arithmetic(x, kernel),
        "output_with_flipped_kernel": _ints(conv2d(x, kernel.flip(0, 1))),
        "C": _ints(c),
        "C_reach": _ints(convolution_matrix(torch.ones_like(kernel), tuple(x.shape))),
        "C_transpose_y": _ints((c.T @ y.flatten()).reshape(x.shape)),
        "checks": {
            "C @ x == conv2d(x, w)": torch.equal(c @ x.flatten(), y.flatten()),
            "C^T @ y == conv_transpose2d(y, w)": torch.equal(c.T @ y.flatten(), back.flatten()),
            "sum of the kernel copies == conv_transpose2d(y, w)": torch.equal(
                sum(copy.image for copy in copies), back
            ),
        },
        "shapes": [case.row() for case in SHAPE_CASES],
        "checkerboard": checker,
        "figures": {name: str(path) for name, path in paths.items()},
    }


def _draw(paths: dict[str, Path], y, kernel, copies: list[KernelCopy], back, checker) -> None:
    """The up-sampling figure and the checkerboard figure."""
    pictures.save_upsampling(
        paths["upsampling"], y.numpy(), kernel.numpy(),
        [(copy.at, copy.value, copy.top, copy.left, copy.image.numpy()) for copy in copies],
        back.numpy(),
    )  # fmt: skip
    panels = [
        (f"k = {row['kernel']}, stride {row['stride']}: interior max/min "
         f"{row['interior_max_over_min']:g}", checkerboard(row["kernel"]).numpy(),
         row["kernel"] - 1)
        for row in checker
    ]  # fmt: skip
    pictures.save_checkerboard(paths["checkerboard"], panels)


def _matrix_lines(rows: list[list[int]], indent: str = "    ", reach=None) -> list[str]:
    """Rows of integers right-aligned; with ``reach``, '.' where reach is 0."""
    width = max(len(str(v)) for row in rows for v in row)
    return [
        indent
        + " ".join(
            f"{'.' if reach is not None and not reach[r][c] else v:>{width}}"
            for c, v in enumerate(row)
        )
        for r, row in enumerate(rows)
    ]


def describe(summary: dict) -> str:
    """The summary of :func:`explain` as text for a terminal."""
    lines = [
        "The transposed convolution, explained by running it",
        *_convolution_lines(summary),
        *_matrix_section(summary),
        *_shape_lines(summary["shapes"]),
        *_checkerboard_lines(summary["checkerboard"]),
        "",
        "figures: " + ", ".join(summary["figures"].values()),
    ]
    return "\n".join(lines)


def _convolution_lines(summary: dict) -> list[str]:
    x, w, y = summary["input"], summary["kernel"], summary["output"]
    return [
        "",
        f"1. A convolution: the {len(x)}x{len(x)} input x and the {len(w)}x{len(w)} kernel w, "
        "stride 1, no padding.",
        "   conv2d slides w over x without flipping it: a cross-correlation, as every",
        "   deep-learning library computes it.",
        "   x =",
        *_matrix_lines(x),
        "   w =",
        *_matrix_lines(w),
        f"   y = conv2d(x, w), {len(y)}x{len(y[0])}:",
        *_matrix_lines(y),
        f"   y[0,0] = {summary['first_entry']}",
        f"   (a textbook convolution flips w first: {summary['output_with_flipped_kernel']})",
    ]


def _matrix_section(summary: dict) -> list[str]:
    c, y, side = summary["C"], summary["output"], len(summary["input"])
    return [
        "",
        f"2. The same convolution as a matrix: y = C x, x flattened row by row; C is "
        f"{len(c)}x{len(c[0])},",
        "   '.' where no kernel value can land:",
        *_matrix_lines(c, reach=summary["C_reach"]),
        "",
        f"3. The transposed convolution: C^T ({len(c[0])}x{len(c)}) takes the "
        f"{len(y)}x{len(y[0])} y back to {side}x{side}:",
        "   the shape, not the values (C^T is not an inverse of C). Each y[r,c] lays a copy",
        "   of w scaled by y[r,c] at (r,c) of the output, and the output is their sum.",
        "   C^T y =",
        *_matrix_lines(summary["C_transpose_y"]),
        *(f"   {check}: {'yes' if ok else 'NO'}" for check, ok in summary["checks"].items()),
    ]


def _shape_lines(rows: list[dict]) -> list[str]:
    lines = [
        "",
        "4. Shapes (Dumoulin & Visin 2016): a convolution gives o = floor((i + 2p - k)/s) + 1;",
        "   a transposed one o' = s(i - 1) + k - 2p + output_padding, which the convolution",
        "   with the same k, s, p takes back to i. (In brackets: what PyTorch gives.)",
        "       i   k  s  p  out_pad    o' (torch)   back (torch)",
    ]
    for r in rows:
        lines.append(
            f"    {r['i']:>4} {r['k']:>3} {r['s']:>2} {r['p']:>2} {r['output_padding']:>8}  "
            f"{r['transposed']:>4} ({r['transposed_torch']:>2})    {r['back']:>4} "
            f"({r['back_torch']:>2})   {r['note']}"
        )
    return lines


def _checkerboard_lines(rows: list[dict]) -> list[str]:
    lines = [
        "",
        "5. The checkerboard (Odena et al. 2016): a stride-2 transposed convolution of a",
        "   constant input with an all-ones kernel counts the kernel copies on each output",
        "   pixel. The copies overlap evenly only where the stride divides the kernel size:",
    ]
    for row in rows:
        even = row["interior_max"] == row["interior_min"]
        lines += [
            f"   k = {row['kernel']}: {row['input_side']}x{row['input_side']} ones -> "
            f"{row['output_side']}x{row['output_side']}; copies along a row: "
            + " ".join(map(str, row["overlaps_along_a_row"])),
            f"          interior {row['interior_min']:g} to {row['interior_max']:g}, max/min "
            f"{row['interior_max_over_min']:g}: "
            + ("even coverage" if even else "uneven overlap, a checkerboard"),
        ]
    return lines
