"""Config validation: one clear sentence before any work starts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from advnets.config import ConfigError, RunConfig, load_config, preset_names


def test_presets_load_and_validate():
    assert {"mnist-paper", "mnist-quick"} <= set(preset_names())
    for name in preset_names():
        if name.startswith("dcgan-folder"):  # the user's own images: their folder must be given
            with pytest.raises(ConfigError, match=r"--set data\.folder=PATH"):
                load_config(name)
            load_config(name, ["data.folder=images"])
        elif name == "cyclegan-folders":  # two folders of the user's images
            with pytest.raises(ConfigError, match=r"--set data\.folder=PATH"):
                load_config(name)
            load_config(name, ["data.folder=horses", "data.folder_b=zebras"])
        else:
            load_config(name)


def test_paper_preset_has_the_paper_values():
    config = load_config("mnist-paper")
    t = config.training
    assert (t.batch_size, t.k, t.lr, t.lr_decay, t.lr_min) == (100, 1, 0.1, 1.000004, 1e-6)
    assert (t.momentum_start, t.momentum_end, t.momentum_saturate_epoch) == (0.5, 0.7, 250)
    assert (t.optimizer, t.generator_loss) == ("sgd", "non_saturating")
    m = config.model
    assert m.generator_hidden == [1200, 1200] and m.discriminator_units == [240, 240]
    assert (m.discriminator_input_keep, m.discriminator_hidden_keep) == (0.8, 0.5)


@pytest.mark.parametrize(
    "override, words",
    [
        ("training.lrr=0.1", ["Unknown config key 'training.lrr'", "Did you mean 'lr'"]),
        ("trainin.lr=0.1", ["Unknown config key 'trainin'", "Did you mean 'training'"]),
        ("training.lr=fast", ["training.lr", "wrong type", "a number"]),
        ("training.lr=-0.1", ["training.lr must be > 0"]),
        ("training.k=0", ["training.k must be >= 1"]),
        ("training.generator_loss=wgan", ["'minimax'", "'non_saturating'"]),
        ("training.epochs=2.5", ["training.epochs", "an integer"]),
        ("model.discriminator_input_keep=1.5", ["discriminator_input_keep must be in (0, 1]"]),
        ("training.k=3", ["training.update: alternating"]),
        ("model.max_col_norm=0", ["model.max_col_norm must be > 0"]),
        ("evaluation.select=last", ["'parzen'", "'reference-ll'"]),
    ],
)
def test_bad_values_give_one_clear_sentence(override, words):
    with pytest.raises(ConfigError) as info:
        load_config("mnist-paper", [override])
    for word in words:
        assert word in str(info.value)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="mnist-paper"):
        load_config("mnist-papr")


def test_yaml_file_and_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("seed: 7\ntraining:\n  optimizer: adam\n  lr: 0.0002\n")
    config = load_config(str(path), ["training.update=alternating", "training.k=2"])
    assert (config.seed, config.training.optimizer, config.training.k) == (7, "adam", 2)
    assert config.model.generator_hidden == [1200, 1200]  # defaults fill the rest


@pytest.mark.parametrize("text, value", [("1e-4", 1e-4), ("2.5E-3", 2.5e-3), ("1.0e+2", 100.0)])
def test_numbers_in_exponent_notation_are_numbers(text, value):
    assert load_config("mnist-paper", [f"training.lr={text}"]).training.lr == value


# --- fuzz: whatever the YAML and the --set strings, only ConfigError ------------------------

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)  # encodable as UTF-8
SECTIONS = list(RunConfig().to_dict())
KEYS = [f"{s}.{k}" for s, v in RunConfig().to_dict().items() if isinstance(v, dict) for k in v]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(SECTIONS) | TEXT | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)
SHAPED = st.dictionaries(  # the schema's sections and keys, with values of any type
    st.sampled_from(SECTIONS),
    st.dictionaries(st.sampled_from([k.split(".")[1] for k in KEYS]), VALUES, max_size=4),
    max_size=4,
)
DOCUMENTS = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=200),  # any text at all
    VALUES.map(yaml.safe_dump),
    SHAPED.map(yaml.safe_dump),
)
OVERRIDES = st.lists(
    TEXT
    | st.builds(
        lambda key, value: f"{key}={value}",
        st.sampled_from(KEYS) | TEXT,
        TEXT | VALUES.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()),
    ),
    max_size=4,
)


@FUZZ
@given(document=DOCUMENTS, overrides=OVERRIDES)
def test_the_config_loader_raises_nothing_but_config_errors(document, overrides):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(document, encoding="utf-8")
        try:
            load_config(str(path), overrides)
        except ConfigError as err:
            assert "\n" not in str(err)  # one line, whatever the input


def test_the_toy_family_takes_only_the_priors_its_lab_integrates():
    with pytest.raises(ConfigError, match="takes uniform or gaussian noise"):
        load_config("toy-1d", ["model.noise=uniform-pm1"])
