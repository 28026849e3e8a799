"""Typed run configuration: the schema, the presets, and validation.

A run is described by one YAML document (a preset under ``advnets/presets`` or a
user's file) plus ``--set section.key=value`` overrides. Every setting is
declared once below with its default, its allowed values and a comment on what
it means. Validation happens before any work starts and fails with one
sentence that names the offending key and the valid choices.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
import reprlib
import textwrap
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from advnets import limits


class ConfigError(ValueError):
    """A configuration that cannot be run; the message names the key and the valid choices."""


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    """A size within its bounds (advnets.limits), or one sentence naming value and limit."""
    problem = limits.out_of_range(value, low, high, name)
    if problem:
        raise ConfigError(problem)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 60


def _shorten(text: str) -> str:
    """Free text on one line, cut short."""
    return textwrap.shorten(text, width=120, placeholder=" ...")


def _show(value: Any) -> str:
    """repr(value) cut short: a message quotes a value, never a megabyte of it."""
    try:
        return _SHORT.repr(value)
    except ValueError:  # an int too long to print
        return f"a {type(value).__name__}"


# points (advnets.data.toy)
TOY_DATASETS = ("gaussian-1d", "mixture-1d", "ring", "grid", "ring-pacgan")
# (C, H, W) of the image data sets whose images have a fixed shape
DATASET_SHAPES = {
    "mnist": (1, 28, 28),
    "fashion-mnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
    "mnist-digits": (1, 28, 28),
    "digits": (1, 28, 28),
}
# labelled sets of ten classes, one of which data.exclude_class can leave out
TEN_CLASS_DATASETS = ("mnist", "fashion-mnist", "cifar10", "digits")
# unpaired two-domain sets (advnets.data.registry): what the cyclegan family trains on
TWO_DOMAIN_DATASETS = ("mnist-digits", "folder-pair")
CHANNEL_KINDS = {1: "grey (1 channel)", 3: "colour (3 channels)"}


@dataclass
class DataConfig:
    """Where the training data come from."""

    # mnist: the standard 50k/10k/10k split (the reference code's); fashion-mnist: MNIST's
    #   split of Fashion-MNIST; cifar10: 45k/5k/10k RGB 32x32; folder: the images of data.folder
    #   (advnets.data.registry); gaussian-1d, mixture-1d, ring, grid, ring-pacgan: points
    #   (advnets.data.toy). Two unpaired domains A and B (the cyclegan family's): mnist-digits,
    #   MNIST (A) and scikit-learn's 8x8 digits up-sampled to 28x28 (B, advnets.data.digits);
    #   folder-pair, the images of data.folder (A) and of data.folder_b (B); digits: those 8x8
    #   digits alone (1,437 / 180 / 180, labelled), a small image set that needs no download
    dataset: Literal[
        "mnist",
        "fashion-mnist",
        "cifar10",
        "folder",
        "digits",
        "mnist-digits",
        "folder-pair",
        "gaussian-1d",
        "mixture-1d",
        "ring",
        "grid",
        "ring-pacgan",
    ] = "mnist"
    data_dir: str | None = None  # cache directory; None: $ADVNETS_DATA_DIR or ~/.cache/advnets
    download: bool = True  # fetch missing files from the checksummed sources
    # use only the first N training images (tests, quick trials); a two-domain set: of domain A
    train_subset: int | None = None
    toy_points: int = 10000  # training points of a toy dataset (one epoch)
    folder: str | None = None  # dataset folder: a folder of PNG/JPEG images (class sub-folders)
    folder_b: str | None = None  # dataset folder-pair: the folder of domain B (data.folder: A's)
    image_size: int = 32  # dataset folder: the side its images are centre-cropped and resized to
    # channels the run's images must have: 1 (grey) or 3 (RGB); null: the data's own. A
    #   folder's images are converted to it (null: RGB); other data must already have it
    channels: int | None = None

    # leave this class (e.g. a digit of mnist or digits) out of the training and validation images
    #   (anomaly detection: it is then the anomaly; the test set keeps every class); None: none
    exclude_class: int | None = None
    # ssgan-mlp: labelled training images per class (Salimans et al. 2016: 10 on MNIST), drawn
    #   as `advnets semisupervised` draws them (advnets.data.labelled); the other training
    #   images are the unlabelled ones. null: every other family (which reads no labels so)
    labelled_per_class: int | None = None
    label_draw_seed: int = 0  # ssgan-mlp: the seed of that draw (the same seed, the same images)

    def _check_folders(self) -> None:
        """data.folder for the folder sets, data.folder_b for folder-pair, neither elsewhere."""
        folders = self.dataset in ("folder", "folder-pair")
        _check(
            not folders or self.folder is not None,
            f"data.dataset = {self.dataset!r} trains on your own images: give their folder with "
            "--set data.folder=PATH (PNG or JPEG files, or one sub-folder per class).",
        )
        _check(
            folders or self.folder is None,
            f"data.folder names the image folder of data.dataset = 'folder' or 'folder-pair' "
            f"only; data.dataset is {self.dataset!r}.",
        )
        pair = self.dataset == "folder-pair"
        _check(
            not pair or self.folder_b is not None,
            "data.dataset = 'folder-pair' translates between two folders of your images: give "
            "domain B's with --set data.folder_b=PATH (data.folder is domain A's).",
        )
        _check(
            pair or self.folder_b is None,
            f"data.folder_b names domain B's folder of data.dataset = 'folder-pair' only; "
            f"data.dataset is {self.dataset!r}.",
        )

    def validate(self) -> None:
        _check(
            self.train_subset is None or self.train_subset >= 1,
            "data.train_subset must be >= 1 or null.",
        )
        _check_range("data.toy_points", self.toy_points, 1, limits.MAX_TOY_POINTS)
        _check(
            self.channels in (None, 1, 3),
            f"data.channels = {_show(self.channels)} is not valid; choose 1 (grey), 3 (RGB) "
            "or null (the data's own).",
        )
        have = DATASET_SHAPES.get(self.dataset, (None,))[0]
        _check(
            self.channels is None or have is None or have == self.channels,
            f"data.channels = {self.channels}: this run is made for "
            f"{CHANNEL_KINDS.get(self.channels)} images, but {self.dataset} images are "
            f"{CHANNEL_KINDS.get(have)}; choose data that fit the preset, or another preset.",
        )
        _check_range("data.image_size", self.image_size, 1, limits.MAX_IMAGE_SIDE)
        if self.labelled_per_class is not None:
            _check_range("data.labelled_per_class", self.labelled_per_class, 1, limits.MAX_BATCH)
        _check_range("data.label_draw_seed", self.label_draw_seed, 0, limits.MAX_SEED)
        self._check_folders()
        if self.exclude_class is not None:
            _check_range("data.exclude_class", self.exclude_class, 0, 9)
            _check(
                self.dataset in TEN_CLASS_DATASETS,
                f"data.exclude_class leaves one class out of a labelled set of ten "
                f"({', '.join(TEN_CLASS_DATASETS)}); data.dataset is {self.dataset!r}.",
            )


AUTOENCODER_FAMILIES = ("mlp-ae", "conv-ae", "vae")  # trained alone, no discriminator
# families that play a game of their own, not the paper's: they ignore its settings
OWN_GAME_FAMILIES = (*AUTOENCODER_FAMILIES, "cyclegan")

# model.* options that only some families read (advnets.models.registry), and those families:
# elsewhere they stay at their defaults
FAMILY_OPTIONS = {
    "generator_init_range": ("mlp-maxout", "cgan-mlp"),
    "discriminator_init_range": ("mlp-maxout", "cgan-mlp"),
    "generator_batchnorm": ("mlp-maxout",),
    "max_col_norm": ("mlp-maxout",),
    "discriminator_minibatch_std": ("mlp-maxout", "mlp-toy"),
    "generator_skip": ("mlp-toy",),
    "toy_layers": ("mlp-toy",),
    "discriminator_pack": ("mlp-toy",),
    "num_classes": ("cgan-mlp", "acgan", "ssgan-mlp"),
    "dcgan_hidden": ("dcgan", "acgan"),
    "discriminator_input_noise": ("ssgan-mlp",),
    "discriminator_hidden_noise": ("ssgan-mlp",),
    "context_mask": ("context-encoder",),
    "generator_hidden_keep": ("cgan-mlp",),
    "generator_sampling_dropout": ("cgan-mlp",),
    "cycle_weight": ("cyclegan",),
    "identity_weight": ("cyclegan",),
    "image_pool": ("cyclegan",),
    "residual_blocks": ("cyclegan",),
    "patch_layers": ("cyclegan",),
    "encoder_hidden": ("bigan",),
}

# The theory lab's named remedies for mode collapse (``advnets toy ring --remedy NAME``) and
# the settings each one stands for; the logic of each lives in advnets.games.
REMEDIES = {
    "none": [],  # Algorithm 1 as it is
    # PacGAN (Lin et al. 2018): D judges packs of m samples, all real or all fake
    "pack2": ["model.discriminator_pack=2"],
    # 3 does not divide the lab's 100 samples per minibatch: 99 of them make 33 packs
    "pack3": ["model.discriminator_pack=3", "training.batch_size=99"],
    "pack4": ["model.discriminator_pack=4"],
    # minibatch standard deviation (Karras et al. 2018) over groups of 4 samples
    "minibatch-std": ["model.discriminator_minibatch_std=4"],
    # unrolled GAN (Metz et al. 2017): G's step against D advanced 5 steps, first order
    "unrolled5": ["training.unrolled_steps=5"],
    # the same with G's gradient through the 5 steps, as Metz et al. train it (second order)
    "unrolled5-exact": ["training.unrolled_steps=5", "training.unrolled_second_order=true"],
    # packs of 4 whose D also sees the minibatch standard deviation over all 50 packs of a
    #   minibatch of 200 (Karras et al. 2018 take it over the whole minibatch; minibatch-std
    #   above over groups of 4), the minibatch set here so that every preset divides into them
    "pack4-std": [
        "model.discriminator_pack=4",
        "model.discriminator_minibatch_std=50",
        "training.batch_size=200",
    ],
}


def remedy_overrides(name: str) -> list[str]:
    """The ``key=value`` settings of a named remedy (:data:`REMEDIES`)."""
    if name not in REMEDIES:
        choices = ", ".join(REMEDIES)
        raise ConfigError(f"remedy {_show(name)} is not valid; choose one of {choices}.")
    return list(REMEDIES[name])


@dataclass
class ModelConfig:
    """The paper's MNIST adversarial net (Goodfellow et al. 2014, reference config)."""

    # mlp-maxout: the paper's ReLU/sigmoid MLP G and maxout D; mlp-toy: small MLPs for points;
    #   dcgan: DCGAN's transposed-convolution G and strided-convolution D (Radford et al. 2016);
    #   cgan-mlp: the conditional adversarial net's MLPs, G(z | y) and D(x | y) (Mirza &
    #   Osindero 2014; advnets.models.conditional), trained on labelled images
    #   acgan: AC-GAN with DCGAN's networks, D also classifies (Odena et al. 2017)
    #   ssgan-mlp: the semi-supervised GAN, a K+1-class D and G trained by feature matching
    #   (Salimans et al. 2016; advnets.models.ssgan), from data.labelled_per_class labels
    #   context-encoder: a network completing images with a hidden region, trained on
    #   reconstruction and against DCGAN's D (Pathak et al. 2016; advnets.models.context_encoder)
    #   mlp-ae, conv-ae: an MLP or convolutional autoencoder, vae: the variational autoencoder
    #   (Kingma & Welling 2014), each trained alone; samples decode Gaussian codes
    #   (advnets.models.autoencoder)
    #   bigan: BiGAN/ALI (Donahue et al. 2017), G and an encoder E trained together against a
    #   joint D(x, z), MLPs with batch norm and leaky ReLUs (advnets.models.bigan)
    #   cyclegan: CycleGAN (Zhu et al. 2017), two generators G: A -> B and F: B -> A and two
    #   PatchGAN discriminators, trained on an unpaired two-domain set (advnets.models.cyclegan)
    family: Literal[
        "mlp-maxout",
        "mlp-toy",
        "dcgan",
        "cgan-mlp",
        "acgan",
        "ssgan-mlp",
        "context-encoder",
        "mlp-ae",
        "conv-ae",
        "vae",
        "cyclegan",
        "bigan",
    ] = "mlp-maxout"
    noise_dim: int = 100  # dimension of z; mlp-ae, conv-ae, vae: the code's (the latent's) size
    # uniform: on [-sqrt3, sqrt3] (unit variance, the paper's); uniform-pm1: on [-1, 1]
    #   (DCGAN's); uniform-01: on [0, 1]; gaussian: N(0, I) (advnets.models.latent)
    noise: Literal["uniform", "uniform-pm1", "uniform-01", "gaussian"] = "uniform"
    generator_hidden: list[int] = field(default_factory=lambda: [1200, 1200])  # ReLU layers
    generator_init_range: float = 0.05  # weights ~ U(-r, r)
    # not in the paper: batch normalisation before each hidden ReLU of G (DCGAN's generator);
    #   mlp-maxout only. Keeps samples diverse from the first epoch (the main job's preset)
    generator_batchnorm: bool = False
    # maxout units per hidden layer of D; bigan: the widths of D(x, z)'s leaky-ReLU layers
    discriminator_units: list[int] = field(default_factory=lambda: [240, 240])
    discriminator_pieces: int = 5  # linear pieces per maxout unit
    discriminator_init_range: float = 0.005  # weights ~ U(-r, r)
    discriminator_input_keep: float = 0.8  # dropout keep probability on D's input
    discriminator_hidden_keep: float = 0.5  # dropout keep probability on D's hidden layers
    # not in the published config: the earliest reference config (late May 2014) limited the
    #   norm of each unit's incoming weights (each maxout piece's), in every layer of G and D,
    #   to 1.9365 after each update (Pylearn2's max_col_norm); removed days later. None: no
    #   limit (the paper's). mlp-maxout only
    max_col_norm: float | None = None
    # not in the paper: minibatch standard deviation (Karras et al. 2018), groups of this many
    #   samples give D their spread as one more feature, so a G that collapses is seen at once;
    #   0: off. mlp-maxout and mlp-toy; the minibatch (per process) must divide into whole groups
    discriminator_minibatch_std: int = 0
    # mlp-toy only: add a linear path z -> A z to G, so the affine map that carries Gaussian
    #   noise onto a Gaussian is always within reach and no saturated unit can cut off a tail
    generator_skip: bool = False
    # mlp-toy only: smooth: SiLU G, leaky-ReLU D (the lab's own); pacgan: G of ReLU layers with
    #   batch normalisation, D of maxout layers of model.discriminator_pieces pieces (the 2-D
    #   experiments of Lin et al. 2018, PacGAN)
    toy_layers: Literal["smooth", "pacgan"] = "smooth"
    # not in the paper: PacGAN's packing (Lin et al. 2018), D judges m samples at once, their
    #   coordinates concatenated (m x d inputs), packs all real or all fake; 1: off (one sample).
    #   mlp-toy only; the minibatch (per process) must divide into whole packs
    discriminator_pack: int = 1
    # PacGAN's code: G draws the m members of the packs in m calls of its own (slot i of every
    #   pack from call i), so G's batch normalisation sees each slot's samples apart; false: one
    #   call for the whole minibatch. Only batch norm tells them apart; with packs of 1 (and
    #   so outside mlp-toy, the only family that packs) the two are the same
    pack_slots_apart: bool = False
    # dcgan, acgan: channels of D's first and G's last hidden layer, doubling towards the
    #   middle (advnets.models.dcgan); conv-ae, context-encoder: channels of the encoder's
    #   first convolution (and of the context encoder's D's); cyclegan: k of its generators'
    #   c7s1-k and its discriminators' first layer (Zhu: 64)
    base_channels: int = 32
    # dcgan, acgan: units of a fully connected hidden layer (batch norm, ReLU in G, LeakyReLU
    #   in D) between z and G's projection and between D's convolutions and its output, as
    #   in the DCGAN authors' MNIST code (1024); 0: none, the paper's all-convolutional nets
    dcgan_hidden: int = 0
    # cgan-mlp, acgan: the classes y of G(z | y); ssgan-mlp: D's K real classes; the data's
    num_classes: int = 10
    # ssgan-mlp: the standard deviation of the Gaussian noise added to D's input and to each
    #   hidden layer's output in training (Salimans et al.'s MNIST code: 0.3 and 0.5)
    discriminator_input_noise: float = 0.3
    discriminator_hidden_noise: float = 0.5
    # context-encoder: the regions hidden in training; center: the middle half of each side
    #   (Pathak et al.'s central region); random-blocks: 4 squares of a quarter of the side at
    #   random places, at most a quarter of the image (their random blocks)
    context_mask: Literal["center", "random-blocks"] = "center"
    # cgan-mlp: dropout keep probability on G's hidden layers (Mirza & Osindero: 0.5); the
    #   other families' G has no dropout
    generator_hidden_keep: float = 1.0
    # cgan-mlp: draw samples with G's dropout on (its masks part of G's noise) instead of
    #   without it; the conditional net's MNIST samples score far higher so (BENCHMARKS.md)
    generator_sampling_dropout: bool = False
    # mlp-ae, vae: tanh units of the encoder's and of the decoder's hidden layer (K&W: 500)
    autoencoder_hidden: int = 500
    # mlp-ae, conv-ae: the reconstruction error minimised, summed over pixels; bce: binary
    #   cross-entropy (nats), mse: squared error (the vae's is always its Bernoulli log p(x|z))
    autoencoder_loss: Literal["bce", "mse"] = "bce"
    autoencoder_init_std: float = 0.01  # mlp-ae, vae: weights ~ N(0, std^2), K&W's 0.01
    autoencoder_activation: Literal["relu", "leaky-relu"] = "relu"  # conv-ae: after each layer
    # conv-ae: how the decoder doubles the side; transposed: transposed convolutions; nearest:
    #   nearest-neighbour up-sampling and a 3x3 convolution (no checkerboard pattern)
    autoencoder_upsampling: Literal["transposed", "nearest"] = "transposed"
    # cyclegan (Zhu et al. 2017, Eq. 3): lambda, the weight of the L1 cycle-consistency loss
    cycle_weight: float = 10.0
    # cyclegan: the identity loss's weight as a multiple of lambda (Section 5.2: 0.5 for
    #   photo <-> painting); 0: off, as in the paper's other experiments
    identity_weight: float = 0.0
    # cyclegan: the discriminators see fakes from a pool of this many earlier ones (Section 4,
    #   after Shrivastava et al. 2017: 50); 0: the newest fakes only
    image_pool: int = 50
    # cyclegan: residual blocks at the middle of each generator (Zhu: 6 at 128x128, 9 above)
    residual_blocks: int = 9
    # cyclegan: stride-2 layers of the PatchGAN discriminators (3: 70x70 patches, Zhu's; 2:
    #   34x34; 1: 16x16)
    patch_layers: int = 3
    # bigan: widths of the encoder E(x)'s leaky-ReLU hidden layers (Donahue et al.: 1024 each)
    encoder_hidden: list[int] = field(default_factory=lambda: [1024, 1024])

    def validate(self) -> None:
        _check_range("model.noise_dim", self.noise_dim, 1, limits.MAX_WIDTH)
        _check_range("model.base_channels", self.base_channels, 1, limits.MAX_WIDTH)
        _check_range("model.dcgan_hidden", self.dcgan_hidden, 0, limits.MAX_WIDTH)
        _check_range("model.autoencoder_hidden", self.autoencoder_hidden, 1, limits.MAX_WIDTH)
        _check(
            self.family not in AUTOENCODER_FAMILIES or self.noise == "gaussian",
            f"model.noise = {self.noise!r}: the {self.family} family decodes Gaussian codes; "
            "set model.noise: gaussian.",
        )
        _check(
            self.family != "mlp-toy" or self.noise in ("uniform", "gaussian"),
            f"model.noise = {self.noise!r}: the mlp-toy family takes uniform or gaussian noise.",
        )
        for name in ("generator_hidden", "discriminator_units", "encoder_hidden"):
            sizes = getattr(self, name)
            _check_range(f"the number of layers in model.{name}", len(sizes), 1, limits.MAX_LAYERS)
            for index, size in enumerate(sizes):
                _check_range(f"model.{name}[{index}]", size, 1, limits.MAX_WIDTH)
        _check_range("model.discriminator_pieces", self.discriminator_pieces, 1, limits.MAX_PIECES)
        defaults = dataclasses.asdict(ModelConfig())
        for name, owners in FAMILY_OPTIONS.items():
            _check(
                getattr(self, name) == defaults[name] or self.family in owners,
                f"model.{name} is an option of the {' and '.join(owners)} "
                f"famil{'ies' if len(owners) > 1 else 'y'} only, not of {self.family}.",
            )
        _check_range("model.discriminator_pack", self.discriminator_pack, 1, limits.MAX_BATCH)
        _check_range(
            "model.discriminator_minibatch_std",
            self.discriminator_minibatch_std,
            0,
            limits.MAX_BATCH,
        )
        for name in ("generator_init_range", "discriminator_init_range", "autoencoder_init_std"):
            _check(getattr(self, name) > 0, f"model.{name} must be > 0, got {getattr(self, name)}.")
        _check(
            self.max_col_norm is None or self.max_col_norm > 0,
            f"model.max_col_norm must be > 0 (or null: no limit), got {self.max_col_norm}.",
        )
        for name in ("discriminator_input_noise", "discriminator_hidden_noise"):
            value = getattr(self, name)
            _check(0 <= value <= 10, f"model.{name} must be in [0, 10], got {value}.")
        keeps = ("discriminator_input_keep", "discriminator_hidden_keep", "generator_hidden_keep")
        for name in keeps:
            value = getattr(self, name)
            _check(0 < value <= 1, f"model.{name} must be in (0, 1], got {value}.")
        _check_range("model.num_classes", self.num_classes, 2, limits.MAX_CLASSES)
        for name in ("cycle_weight", "identity_weight"):
            value = getattr(self, name)
            _check(value >= 0, f"model.{name} must be >= 0, got {value}.")
        _check_range("model.image_pool", self.image_pool, 0, limits.MAX_BATCH)
        _check_range("model.residual_blocks", self.residual_blocks, 0, limits.MAX_LAYERS)
        _check_range("model.patch_layers", self.patch_layers, 1, limits.MAX_LAYERS)


@dataclass
class TrainingConfig:
    """Algorithm 1 of the paper and its optimiser (Section 5; the reference code's mnist.yaml)."""

    epochs: int = 300  # passes over the training set
    max_steps: int | None = None  # stop after this many generator updates (None: no limit)
    batch_size: int = 100  # m, images (and noise vectors) per minibatch
    # simultaneous: the reference code's update, D and G gradients from one shared forward pass,
    #   applied together; alternating: Algorithm 1 as printed, k D steps then one G step.
    update: Literal["simultaneous", "alternating"] = "simultaneous"
    k: int = 1  # discriminator steps per generator step (alternating update only)
    generator_loss: Literal["non_saturating", "minimax"] = "non_saturating"
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.1  # initial learning rate
    # not in the paper: D's own initial learning rate, the schedules moving it as they move lr
    #   (two time scales, Heusel et al. 2017's TTUR); null: training.lr for both players
    discriminator_lr: float | None = None
    lr_decay: float = 1.000004  # sgd: lr is divided by this after every update
    lr_min: float = 1e-6  # sgd: floor of the decayed learning rate
    # not in the paper: after this many updates (of each network) divide lr by anneal_decay
    #   per update instead of lr_decay, from where the schedule stood: the end of the paper's
    #   schedule compressed (e.g. 240500, epoch 481 at batch 100, with 1.0002: e-fold every
    #   10 epochs). null: lr_decay throughout, as the paper
    anneal_after_updates: int | None = None
    anneal_decay: float = 1.0002
    momentum_start: float = 0.5  # sgd: classical momentum at epoch 1
    momentum_end: float = 0.7  # sgd: momentum reached at `momentum_saturate_epoch`
    momentum_saturate_epoch: int = 250  # sgd: linear ramp over epochs 1..this
    adam_betas: list[float] = field(default_factory=lambda: [0.5, 0.999])  # adam only
    # not in the paper: Zhu et al. 2017's schedule, lr held for this many epochs, then decayed
    #   linearly towards 0 at the end of training.epochs (their 100 + 100), on top of lr_decay;
    #   null: off
    lr_constant_epochs: int | None = None
    # not in the paper: sample from a moving average of G's weights, theta_avg <- d theta_avg +
    #   (1 - d) theta_g after every G update (Yazici et al. 2019); 0: off (G itself), else d
    generator_average: float = 0.0
    # not in the paper: unrolled GAN (Metz et al. 2017), each G step is taken against a copy of
    #   D advanced this many D steps on the current minibatch (first order: no gradient through
    #   the unrolling); D's own update is unchanged. 0: off. Alternating update only
    unrolled_steps: int = 0
    # unrolled GAN as Metz et al. train it: G's gradient also flows through the unrolled D
    #   steps (their Eq. 12's second term: how D would answer a change of G), so each G step
    #   differentiates through K Adam steps (second order). false: first order. Adam only
    unrolled_second_order: bool = False
    threads: int | None = None  # torch CPU threads; None: PyTorch's default
    # auto: a CUDA GPU when PyTorch sees one, else the CPU; under torchrun, GPU LOCAL_RANK
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # fp32: the paper's arithmetic; bf16: autocast matrix products to bfloat16 (fp32's range,
    #   no loss scaling; fast on GPUs and on CPUs with bf16 matrix units), losses and updates
    #   stay fp32; auto: bf16 where it multiplies >= 1.25x faster here (advnets.training.precision)
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    checkpoint_every_steps: int | None = None  # extra mid-epoch checkpoints (None: epoch ends only)
    # the last checkpoint after every N-th epoch (and the final one, a new best, a stop); a
    #   checkpoint of the paper's model costs ~0.16 s, more than an epoch's training on a GPU
    checkpoint_every_epochs: int = 1
    # also keep checkpoints/epoch_NNNNN.safetensors after every K-th epoch, for long runs
    #   (None: only last, the one it replaced, and best; disk grows by one checkpoint per K)
    keep_every_epochs: int | None = None
    # on a CUDA GPU in one process, replay each update as a CUDA graph (advnets.training.graphs):
    #   the same updates without the host launching every kernel; ignored elsewhere
    cuda_graphs: bool = True

    def validate(self) -> None:
        positive = ("epochs", "k", "momentum_saturate_epoch", "checkpoint_every_epochs")
        for name in positive:
            value = getattr(self, name)
            _check(value >= 1, f"training.{name} must be >= 1, got {value}.")
        _check_range("training.batch_size", self.batch_size, 1, limits.MAX_BATCH)
        if self.threads is not None:
            _check_range("training.threads", self.threads, 1, limits.MAX_THREADS)
        _check(
            self.lr_constant_epochs is None or self.lr_constant_epochs >= 0,
            f"training.lr_constant_epochs must be >= 0 or null, got {self.lr_constant_epochs}.",
        )
        for name in ("max_steps", "checkpoint_every_steps", "keep_every_epochs"):
            value = getattr(self, name)
            _check(
                value is None or value >= 1, f"training.{name} must be >= 1 or null, got {value}."
            )
        _check(self.lr > 0, f"training.lr must be > 0, got {self.lr}.")
        _check(
            self.discriminator_lr is None
            or (self.discriminator_lr > 0 and self.discriminator_lr >= self.lr_min),
            f"training.discriminator_lr must be > 0 and >= training.lr_min, or null, got "
            f"{self.discriminator_lr}.",
        )
        _check(self.lr_decay >= 1, f"training.lr_decay must be >= 1, got {self.lr_decay}.")
        _check(
            self.anneal_decay >= 1, f"training.anneal_decay must be >= 1, got {self.anneal_decay}."
        )
        _check(
            self.anneal_after_updates is None or self.anneal_after_updates >= 0,
            f"training.anneal_after_updates must be >= 0 or null, got {self.anneal_after_updates}.",
        )
        _check(
            0 <= self.lr_min <= self.lr, f"training.lr_min must be in [0, lr], got {self.lr_min}."
        )
        for name in ("momentum_start", "momentum_end"):
            value = getattr(self, name)
            _check(0 <= value < 1, f"training.{name} must be in [0, 1), got {value}.")
        _check(
            0 <= self.generator_average < 1,
            f"training.generator_average must be in [0, 1), got {self.generator_average}.",
        )
        _check(
            len(self.adam_betas) == 2 and all(0 <= b < 1 for b in self.adam_betas),
            f"training.adam_betas must be two numbers in [0, 1), got {self.adam_betas}.",
        )
        _check_range("training.unrolled_steps", self.unrolled_steps, 0, limits.MAX_UNROLLED_STEPS)
        _check(
            self.unrolled_steps == 0 or self.update == "alternating",
            f"training.unrolled_steps = {self.unrolled_steps} needs training.update: alternating "
            "(the unrolled D steps come before a separate G step).",
        )
        _check(
            not self.unrolled_second_order
            or (self.unrolled_steps > 0 and self.optimizer == "adam"),
            "training.unrolled_second_order differentiates through unrolled Adam steps: it needs "
            "training.unrolled_steps > 0 and training.optimizer: adam.",
        )
        _check(
            self.k == 1 or self.update == "alternating",
            f"training.k = {self.k} needs training.update: alternating "
            "(the simultaneous update takes one D and one G step per minibatch).",
        )


@dataclass
class EvaluationConfig:
    """Model selection during training: a cheap validation Parzen estimate (Section 5)."""

    every_epochs: int = 5  # validation Parzen every this many epochs (and at the end)
    samples: int = 10000  # generated samples in the Parzen window
    valid_images: int = 1000  # validation images that choose sigma and are scored
    patience: int | None = None  # stop when validation Parzen has not improved this many times
    domain_metrics: bool = True  # also FID, KID, IS, precision/recall... vs validation (MNIST only)
    # what picks the best checkpoint: parzen, the validation Parzen estimate (the paper's);
    #   fid, the validation FID in the shipped classifier's features (needs domain_metrics;
    #   MNIST only), which follows the convolutional families' progress where Parzen does not;
    #   reference-ll, the estimate the reference code monitored (100 samples per 100
    #   validation images, sigma 0.2; advnets.evaluation.parzen.reference_monitor_ll)
    select: Literal["parzen", "fid", "reference-ll"] = "parzen"


@dataclass
class LoggingConfig:
    """What a run writes besides checkpoints."""

    progress: bool = True  # tqdm progress bar
    tensorboard: bool = True  # scalars and sample grids under tensorboard/
    log_every_steps: int = 50  # metrics.jsonl and TensorBoard scalar cadence
    grid_rows: int = 10  # the sample grid is grid_rows x grid_rows, drawn every epoch


def _check_own_game(family: str, training: TrainingConfig) -> None:
    """Refuse, for a family that plays a game of its own (trained alone, no discriminator;
    CycleGAN's), the settings of the paper's adversarial game, which it would ignore."""
    if family not in OWN_GAME_FAMILIES:
        return
    adversarial = [
        (training.k != 1, "training.k"),
        (training.generator_average != 0, "training.generator_average"),
        (training.generator_loss != "non_saturating", "training.generator_loss"),
        (
            family in AUTOENCODER_FAMILIES and training.discriminator_lr is not None,
            "training.discriminator_lr",
        ),
    ]
    found = [name for refused, name in adversarial if refused]
    plays = "trains one network alone" if family in AUTOENCODER_FAMILIES else "plays its own game"
    _check(
        not found,
        f"{', '.join(found)} belong to the adversarial game; the {family} family {plays}: "
        "leave them unset.",
    )


def _check_bidirectional(family: str, training: TrainingConfig) -> None:
    """Refuse, for BiGAN, the settings of the paper's game that its one update does not take."""
    if family != "bigan":
        return
    _check(
        training.update == "simultaneous",
        "training.update = 'alternating': the bigan family updates D and G with E from one "
        "forward pass (training.update: simultaneous).",
    )
    _check(
        training.generator_average == 0,
        "training.generator_average belongs to the paper's game; the bigan family samples "
        "from G itself: leave it unset.",
    )


def _check_labels(config: RunConfig) -> None:
    """Refuse labels per class for a family that reads none, and none for ssgan-mlp."""
    data, family = config.data, config.model.family
    if family != "ssgan-mlp":
        _check(
            data.labelled_per_class is None and data.label_draw_seed == 0,
            "data.labelled_per_class and data.label_draw_seed are read by the ssgan-mlp family "
            f"only, not by {family}.",
        )
        return
    _check(
        data.labelled_per_class is not None,
        "the ssgan-mlp family learns from a few labels: set data.labelled_per_class (e.g. 10).",
    )


# families whose game takes one D step then one step of its other network each minibatch, with
#   a loss of its own (advnets.games): the settings of Algorithm 1's variants do not apply
ONE_STEP_FAMILIES = {
    "ssgan-mlp": "G descends the feature-matching loss",
    "context-encoder": "the context encoder descends its reconstruction and adversarial loss",
}


def _check_one_step(family: str, training: TrainingConfig) -> None:
    """Refuse, for a family of :data:`ONE_STEP_FAMILIES`, the settings its game does not play."""
    if family not in ONE_STEP_FAMILIES:
        return
    refused = [
        (training.update != "alternating" or training.k != 1, "training.update: alternating, k 1"),
        (training.generator_loss != "non_saturating", "training.generator_loss unset"),
        (training.unrolled_steps != 0, "training.unrolled_steps: 0"),
        (
            family == "context-encoder" and training.generator_average != 0,
            "training.generator_average: 0",
        ),
    ]
    found = [need for refuse, need in refused if refuse]
    _check(
        not found,
        f"the {family} family takes one D step, then one step in which "
        f"{ONE_STEP_FAMILIES[family]}: set {', '.join(found)}.",
    )


@dataclass
class RunConfig:
    """A complete, validated description of one training run."""

    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def validate(self) -> RunConfig:
        _check_range("seed", self.seed, 0, limits.MAX_SEED)
        self.model.validate()
        self.training.validate()
        group, pack = self.model.discriminator_minibatch_std, self.model.discriminator_pack
        _check(
            self.training.batch_size % pack == 0,
            f"training.batch_size = {self.training.batch_size} must divide into whole packs of "
            f"model.discriminator_pack = {pack}.",
        )
        what = "examples" if pack == 1 else f"packs of model.discriminator_pack = {pack}"
        _check(
            group == 0 or (self.training.batch_size // pack) % group == 0,
            f"training.batch_size = {self.training.batch_size} must give whole groups of "
            f"model.discriminator_minibatch_std = {group} {what}.",
        )
        _check(self.evaluation.every_epochs >= 1, "evaluation.every_epochs must be >= 1.")
        _check_range("evaluation.samples", self.evaluation.samples, 1, limits.MAX_SAMPLES)
        _check(self.evaluation.valid_images >= 1, "evaluation.valid_images must be >= 1.")
        _check(
            self.evaluation.patience is None or self.evaluation.patience >= 1,
            "evaluation.patience must be >= 1 or null.",
        )
        _check(self.logging.log_every_steps >= 1, "logging.log_every_steps must be >= 1.")
        _check_range("logging.grid_rows", self.logging.grid_rows, 1, limits.MAX_GRID)
        self.data.validate()
        _check_own_game(self.model.family, self.training)
        _check_bidirectional(self.model.family, self.training)
        _check_labels(self)
        _check_one_step(self.model.family, self.training)
        reasons = {  # the data only one family trains on, and why
            "cyclegan": (
                TWO_DOMAIN_DATASETS,
                "the cyclegan family translates between the two domains of "
                f"{' or '.join(TWO_DOMAIN_DATASETS)}, which no other family trains on.",
            ),
            "mlp-toy": (
                TOY_DATASETS,
                f"use mlp-toy for the toy datasets ({', '.join(TOY_DATASETS)}) and an image "
                "family for images.",
            ),
        }
        for owner, (datasets, reason) in reasons.items():
            _check(
                (self.data.dataset in datasets) == (self.model.family == owner),
                f"model.family = {self.model.family!r} does not fit data.dataset = "
                f"{self.data.dataset!r}: {reason}",
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    return {type(None): "null", bool: "true/false", int: "an integer", float: "a number"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


_YAML11_MISSED_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _finite(value: float | int | str, key: str) -> float:
    """``value`` as a finite float, or ConfigError naming ``key``."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ConfigError(f"{key} = {_show(value)} is not a finite number.")
    return number


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Return ``value`` as type ``tp`` or raise ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        if value in args:
            return value
        raise ConfigError(f"{key} = {_show(value)} is not valid; choose {_type_name(tp)}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                pass
        raise ConfigError(f"{key} = {_show(value)} has the wrong type; expected {_type_name(tp)}.")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(
                f"{key} = {_show(value)} has the wrong type; expected {_type_name(tp)}."
            )
        return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite(value, key)
    if tp is float and isinstance(value, str) and _YAML11_MISSED_FLOAT.match(value):
        return _finite(value, key)  # 1e-4: YAML 1.1 (PyYAML) reads exponents only as 1.0e-4
    if tp is str and isinstance(value, str):
        return value
    raise ConfigError(f"{key} = {_show(value)} has the wrong type; expected {_type_name(tp)}.")


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix or 'the config'} must be a mapping, got {_show(values)}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in fields:
            where = _show(f"{prefix}.{key}" if prefix else str(key))
            near = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" Did you mean '{near[0]}'?" if near else ""
            raise ConfigError(
                f"Unknown config key {where}.{hint} Valid keys"
                f"{' in ' + prefix if prefix else ''}: {', '.join(fields)}."
            )
    kwargs = {}
    for name, value in values.items():
        key = f"{prefix}.{name}" if prefix else name
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value, key)
        else:
            kwargs[name] = _coerce(value, tp, key)
    return cls(**kwargs)


def config_from_dict(values: dict[str, Any]) -> RunConfig:
    """A validated RunConfig from a nested mapping (e.g. parsed YAML)."""
    return _build(RunConfig, values or {}, "").validate()


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values parsed as YAML) to a nested mapping."""
    if not isinstance(values, dict):
        raise ConfigError(f"a config must be a mapping of sections, got {_show(values)}.")
    result = copy.deepcopy(values)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"Override {_show(item)} must look like section.key=value.")
        dotted, raw = item.split("=", 1)
        *parents, leaf = dotted.strip().split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Override {_show(item)}: {_show(part)} is not a section.")
        node[leaf] = parse_yaml(raw, f"the value of --set {_show(dotted)}")
    return result


def preset_names() -> list[str]:
    """Names of the presets shipped with the package."""
    folder = resources.files("advnets") / "presets"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_summary(name: str) -> str:
    """The one-line description of a preset (its first comment line)."""
    text = (resources.files("advnets") / "presets" / f"{name}.yaml").read_text()
    first = text.splitlines()[0] if text else ""
    return first.lstrip("# ").strip()


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data, no ``!!python`` tags) that also refuses anchors and
    aliases (``&name``, ``*name``): a few hundred bytes of nested aliases expand into
    gigabytes, and no config needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:  # an anchor, or an alias to one
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def parse_yaml(text: str, source: str) -> Any:
    """The data of one YAML document, read safely and without aliases.

    Raises ConfigError with one sentence naming ``source`` if the text is not such a document.
    """
    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = " ".join(filter(None, [err.context, err.problem]))
        raise ConfigError(f"{source} is not valid YAML: {_shorten(problem)}{where}.") from err
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as err:
        # values PyYAML fails to build (a 5,000-digit integer, a date like 2024-13-01), or
        # nesting deeper than Python's recursion limit
        raise ConfigError(f"{source} is not valid YAML: {_shorten(str(err))}.") from err


def parse_yaml_mapping(text: str, source: str) -> dict[str, Any]:
    """The mapping in a YAML document (an empty document is an empty mapping), read safely.

    Raises ConfigError with one sentence naming ``source`` if it holds anything else.
    """
    values = parse_yaml(text, source)
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(
            f"{source} must hold a mapping of sections (seed, data, model, training, "
            f"evaluation, logging), not a {type(values).__name__}."
        )
    return values


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML file, read safely (:func:`parse_yaml_mapping`).

    Raises ConfigError with one sentence naming the file if it cannot be read or is larger
    than a config can be.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limits.MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path} holds {size:,} bytes, more than a config's limit of "
                f"{limits.MAX_CONFIG_BYTES:,}: it is not a config file."
            )
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror or err}.") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path} is not a text file (not UTF-8).") from err
    return parse_yaml_mapping(text, str(path))


def load_config_source(source: str) -> dict[str, Any]:
    """The raw mapping of a preset name or a YAML file path."""
    if source in preset_names():
        text = (resources.files("advnets") / "presets" / f"{source}.yaml").read_text()
        return parse_yaml_mapping(text, f"preset {source}")
    if not Path(source).is_file():
        raise ConfigError(
            f"'{source}' is neither a preset nor a YAML file; presets: {', '.join(preset_names())}."
        )
    return read_yaml_mapping(source)


def load_config(source: str, overrides: list[str] | None = None) -> RunConfig:
    """Resolve a preset or YAML file plus overrides into a validated RunConfig."""
    return config_from_dict(apply_overrides(load_config_source(source), overrides or []))
