"""VQD accuracy on the labelled evaluation set (``xueliang.quality.evalset``).

    .venv/bin/python bench/vqd_eval.py [--per-defect 150] [--clean 300] [--pairs 120] [--seed 7]

Prints per-defect precision, recall and F1 at the documented severities, the false-alarm
rate on clean images (a clean image flagged with any defect) and on clean pairs, and the
recall at the HARD severities.  Targets (the issue's acceptance criteria): F1 >= 0.95 for
every single-image defect, false alarms <= 1 % on clean images.  Needs scikit-image.
"""

from __future__ import annotations

import argparse
import collections
import time

from xueliang.quality import evalset
from xueliang.quality.model import SINGLE_IMAGE_KINDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-defect", type=int, default=150)
    parser.add_argument("--clean", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mistakes", action="store_true", help="list misjudged cases")
    args = parser.parse_args()
    start = time.perf_counter()
    samples = evalset.build(
        per_defect=args.per_defect, clean=args.clean, pairs=args.pairs, seed=args.seed, hard=True
    )
    built = time.perf_counter()
    result = evalset.evaluate(samples)
    done = time.perf_counter()
    print(f"{len(samples)} cases (built in {built - start:.1f} s, judged in {done - built:.1f} s)")
    print(f"{'defect':14s} {'P':>6s} {'R':>6s} {'F1':>6s} {'TP':>5s} {'FP':>5s} {'FN':>5s}  target")
    for kind, score in result.kinds.items():
        target = (
            "F1>=0.95 " + ("met" if score.f1 >= 0.95 else "NOT MET") if (kind in SINGLE_IMAGE_KINDS) else "-"
        )
        print(
            f"{kind.value:14s} {score.precision:6.3f} {score.recall:6.3f} {score.f1:6.3f} "
            f"{score.tp:5d} {score.fp:5d} {score.fn:5d}  {target}"
        )
    fa = result.false_alarm_rate
    print(
        f"false alarms on clean images: {result.false_alarms}/{result.clean_images} = "
        f"{fa:.2%}  (target <= 1 %: {'met' if fa <= 0.01 else 'NOT MET'})"
    )
    print(
        f"false alarms on clean pairs:  {result.pair_false_alarms}/{result.clean_pairs} = "
        f"{result.pair_false_alarm_rate:.2%}"
    )
    print(
        "recall at HARD severities: " + ", ".join(f"{k.value} {v:.2f}" for k, v in result.hard_recall.items())
    )
    if args.mistakes:
        for line in result.mistakes:
            print("  " + line)
    else:
        counts = collections.Counter(m.split("/")[0] + " -> " + m.split(": ")[1] for m in result.mistakes)
        print("most common mistakes: " + "; ".join(f"{n}× {k}" for k, n in counts.most_common(8)))


if __name__ == "__main__":
    main()
