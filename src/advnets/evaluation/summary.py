"""The end of a training run in words: what the test-set scores say to a newcomer.

``summarise`` turns an ``evaluation.json`` record (``advnets.evaluation.runs``)
into a few lines: each score with what good looks like, and a verdict that
names a collapse in words rather than leaving it to be read off the numbers.
The reference values quoted are measured on real MNIST digits with the same
protocol (BENCHMARKS.md, "Calibration on real data" and Table 1's ceiling row).
"""

from __future__ import annotations

# What real digits score under the same protocols, quoted beside a run's scores.
PAPER_PARZEN = "225 ± 2"  # Table 1, adversarial nets
# the published MNIST estimate of each family that has one (its paper's, same protocol)
FAMILY_PARZEN = {"mlp-maxout": PAPER_PARZEN, "cgan-mlp": "132 ± 1.8 (Mirza & Osindero 2014)"}
REAL_PARZEN = 241  # 10,000 training images scored as if they were samples
REAL_FID = 0.2  # held-out test digits against the test set
COLLAPSED_CLASSES = 3  # at most this many digit classes: the generator has collapsed
PARTIAL_CLASSES = 9  # fewer than ten but more than COLLAPSED_CLASSES: some digits are missing
LOW_RECALL = 0.3  # below this, samples cover little of the real digits' variety


def verdict(domain: dict, digits: bool = True) -> str:
    """One sentence on the samples' variety: collapsed, missing classes, or healthy (in words
    for digits, or for ``digits=False`` the classes of other images)."""
    counts = domain["class_counts"]
    covered = domain["classes_covered"]
    top = max(range(len(counts)), key=counts.__getitem__)
    top_share = counts[top] / max(sum(counts), 1)
    kind, tops = ("digits", f"{top}s") if digits else ("classes", f"class {top}")
    if covered <= COLLAPSED_CLASSES:
        return (
            f"COLLAPSED: the samples show only {covered} of the 10 {kind} "
            f"({top_share:.0%} are {tops}); the generator found a few outputs that fool D "
            "and stopped exploring. Try another seed or a smaller training.lr."
        )
    if covered <= PARTIAL_CLASSES or domain["recall"] < LOW_RECALL:
        return (
            f"PARTIAL: {covered} of 10 {kind}, recall {domain['recall']:.2f}; some {kind} or "
            f"styles are missing (the most common, {tops}, is {top_share:.0%} of samples)."
        )
    return (
        f"HEALTHY: all 10 {kind} in near-equal numbers (KL to uniform "
        f"{domain['class_kl']:.3f}) and recall {domain['recall']:.2f}."
    )


def likelihood_line(evaluation: dict) -> str | None:
    """A VAE's test ELBO and importance-weighted log-likelihood in words (None for other runs)."""
    bounds = evaluation.get("likelihood")
    if not bounds:
        return None
    return (
        f"  VAE test ELBO {bounds['test_elbo']:.2f} ± {bounds['test_elbo_se']:.2f} nats, "
        f"importance-weighted log-likelihood {bounds['test_ll']:.2f} ± {bounds['test_se']:.2f} "
        f"(k = {bounds['k']:,} on {bounds['n_test']:,} test images, {bounds['seconds']:.0f} s); "
        "higher is better, on pixels in [0, 1] a cross-entropy, not on the Parzen scale"
    )


def paper_parzen(evaluation: dict) -> str | None:
    """The published Parzen estimate a run's test score compares with: its family's paper's
    on MNIST (records from before families were named are the paper's model's); None on
    other data or for a family without one."""
    if evaluation.get("dataset", "mnist") != "mnist":
        return None
    return FAMILY_PARZEN.get(evaluation.get("family", "mlp-maxout"))


def class_accuracy_line(conditional: dict) -> str:
    """A conditional run's class accuracy in words, with its worst class."""
    by_class = conditional["per_class_accuracy"]
    worst = min(range(len(by_class)), key=by_class.__getitem__)
    return (
        f"class accuracy {conditional['accuracy']:.2f}: the share of samples drawn for class y "
        f"that the classifier reads as y (1 is best; worst: class {worst}, {by_class[worst]:.2f})"
    )


def summarise(evaluation: dict) -> list[str]:
    """The lines printed at the end of ``advnets train``: scores, each with its yardstick."""
    parzen, memo, domain = evaluation["parzen"], evaluation["memorisation"], evaluation["domain"]
    dataset = evaluation.get("dataset", "mnist")  # records from before it was kept: MNIST's
    mnist, real = dataset == "mnist", "digits" if dataset in ("mnist", "digits") else "images"
    paper = paper_parzen(evaluation)
    yardstick = f"; the paper: {paper}" if paper else ""
    if mnist:
        yardstick += f", real digits about {REAL_PARZEN}"
    lines = [
        f"Test scores of the {evaluation['checkpoint']} checkpoint (epoch {evaluation['epoch']}), "
        f"{parzen['n_samples']:,} samples against the {parzen['n_test']:,} test images:",
        f"  Parzen log-likelihood {parzen['test_ll']:7.1f} ± {parzen['test_se']:.1f} nats   "
        f"higher is better{yardstick}",
    ]
    if domain:
        fid_yardstick = f"; real digits about {REAL_FID}" if mnist else ""
        lines += [
            f"  FID                   {domain['fid']:7.2f}            lower is better"
            f"{fid_yardstick} (classifier features)",
            f"  recall                {domain['recall']:7.2f}            share of real {real} "
            "the samples reach; 1 is best",
            f"  classes               {domain['classes_covered']:4d}/10, KL to uniform "
            f"{domain['class_kl']:.3f}   all 10 with KL near 0 is best",
        ]
    lines.append(
        f"  memorised             {memo['fraction_below_test_p1']:7.1%}            closer to a "
        "training image than test images are; about 1% means no copying"
    )
    if evaluation.get("conditional"):
        lines.append("  " + class_accuracy_line(evaluation["conditional"]))
    lines += [line for line in [likelihood_line(evaluation)] if line]
    if domain:
        lines.append(verdict(domain, digits=real == "digits"))
    elif evaluation.get("domain_unavailable"):
        lines.append(f"  no domain metrics: {evaluation['domain_unavailable']}")
    return lines
