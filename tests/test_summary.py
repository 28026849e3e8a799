"""The end-of-training summary names a collapse in words, not only in numbers."""

import math

from advnets.evaluation.summary import summarise, verdict


def domain(counts: list[int], recall: float) -> dict:
    total = sum(counts)
    shares = [c / total for c in counts if c]
    return {
        "class_counts": counts,
        "classes_covered": sum(c / total >= 0.02 for c in counts),
        "class_kl": sum(s * math.log(10 * s) for s in shares),
        "recall": recall,
        "fid": 3.0,
    }


def test_one_digit_is_called_a_collapse() -> None:
    text = verdict(domain([0, 9900, 0, 0, 0, 0, 0, 100, 0, 0], recall=0.02))
    assert text.startswith("COLLAPSED") and "99% are 1s" in text


def test_missing_digits_are_called_partial() -> None:
    text = verdict(domain([0, 1500, 1100, 1100, 1100, 1100, 1100, 1000, 1000, 1000], 0.6))
    assert text.startswith("PARTIAL") and "9 of 10" in text


def test_other_images_are_spoken_of_as_classes_not_digits() -> None:
    text = verdict(domain([0, 9900, 0, 0, 0, 0, 0, 100, 0, 0], recall=0.02), digits=False)
    assert "of the 10 classes" in text and "99% are class 1" in text and "digit" not in text


def test_all_digits_and_high_recall_is_healthy() -> None:
    assert verdict(domain([1000] * 10, recall=0.7)).startswith("HEALTHY")


def test_summary_gives_each_score_with_its_yardstick() -> None:
    evaluation = {
        "checkpoint": "best",
        "epoch": 12,
        "parzen": PARZEN,
        "memorisation": {"fraction_below_test_p1": 0.004},
        "domain": domain([1000] * 10, recall=0.7),
    }
    text = "\n".join(summarise(evaluation))
    for expected in ("150.2 ± 2.1 nats", "higher is better", "FID", "lower is better", "0.4%"):
        assert expected in text
    assert "the paper: 225 ± 2" in text and "10,000 samples against the 9,000 test" in text
    assert text.splitlines()[-1].startswith("HEALTHY")


PARZEN = {"test_ll": 150.2, "test_se": 2.1, "n_samples": 10_000, "n_test": 9_000}


def test_the_yardstick_is_the_family_s_own_paper_and_only_for_mnist() -> None:
    evaluation = {
        "checkpoint": "best",
        "epoch": 3,
        "family": "cgan-mlp",
        "parzen": PARZEN,
        "memorisation": {"fraction_below_test_p1": 0.01},
        "domain": None,
    }
    assert "132 ± 1.8 (Mirza & Osindero 2014)" in "\n".join(summarise(evaluation))
    evaluation.update(dataset="cifar10", domain_unavailable="no classifier of cifar10 images")
    text = "\n".join(summarise(evaluation))
    assert "the paper" not in text and "digits" not in text
    assert text.splitlines()[-1] == "  no domain metrics: no classifier of cifar10 images"
