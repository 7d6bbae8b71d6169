"""Pictures of an evaluation (`rag eval --plot FILE.png`): the answer/decline trade-off and a reliability diagram.

Left: for every decline threshold, the share of answerable questions answered with a gold answer (y) against the
share of unanswerable questions declined (x), with the chosen threshold marked. Right: answerable questions
binned by confidence, the share answered correctly in each bin against the bin's mean confidence (a calibrated
reader sits on the diagonal), with the expected calibration error. Needs matplotlib; prints nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .reports import QuestionResult

BINS = 10


def reliability(results: Sequence[QuestionResult], bins: int = BINS) -> tuple[list[dict], float | None]:
    """Per confidence bin of answerable questions: mean confidence, share right, count; and the ECE."""
    rows = [(r.confidence, r.would_be_contained) for r in results if r.answerable and r.would_be_answer is not None]
    if not rows:
        return [], None
    conf = np.array([c for c, _ in rows])
    right = np.array([float(k) for _, k in rows])
    edges = np.linspace(0, 1, bins + 1)
    table, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if inside.any():
            table.append({"low": float(lo), "high": float(hi), "confidence": float(conf[inside].mean()),
                          "accuracy": float(right[inside].mean()), "count": int(inside.sum())})
            ece += inside.sum() / len(conf) * abs(conf[inside].mean() - right[inside].mean())
    return table, float(ece)


def tradeoff(results: Sequence[QuestionResult]) -> list[tuple[float, float, float]]:
    """(threshold, answerable answered right, unanswerable declined) over every threshold that changes them."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    thresholds = sorted({0.0, 1.0001} | {r.confidence for r in results})
    out = []
    for t in thresholds:
        right = sum(r.would_be_contained and r.confidence >= t for r in answerable) / max(1, len(answerable))
        declined = sum(r.would_be_answer is None or r.confidence < t for r in unanswerable) / max(1, len(unanswerable))
        out.append((t, right, declined))
    return out


def plot(results: Sequence[QuestionResult], threshold: float, path, title: str = "") -> dict:
    """Draw both panels into `path` (PNG); return the figures drawn (ECE, the chosen point)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    curve = tradeoff(results)
    has_unanswerable = any(not r.answerable for r in results)
    chosen = min(curve, key=lambda p: abs(p[0] - threshold))
    if has_unanswerable:
        left.plot([p[2] for p in curve], [p[1] for p in curve], "-", color="tab:blue")
        left.plot([chosen[2]], [chosen[1]], "o", color="tab:red", label=f"chosen threshold {threshold:.2f}")
        left.set_xlabel("unanswerable questions declined")
        left.legend(loc="lower left")
    else:
        left.plot([p[0] for p in curve], [p[1] for p in curve], "-", color="tab:blue")
        left.axvline(threshold, color="tab:red", label=f"threshold {threshold:.2f}")
        left.set_xlabel("decline threshold (no unanswerable questions in the set)")
        left.legend(loc="lower left")
    left.set_ylabel("answerable questions answered correctly")
    left.set_xlim(0, 1.02)
    left.set_ylim(0, 1.02)
    left.set_title("answering vs declining")
    left.grid(alpha=0.3)
    table, ece = reliability(results)
    right.plot([0, 1], [0, 1], ":", color="grey")
    if table:
        right.bar([(b["low"] + b["high"]) / 2 for b in table], [b["accuracy"] for b in table], width=0.09,
                  alpha=0.6, color="tab:blue", label="share right")
        right.plot([b["confidence"] for b in table], [b["accuracy"] for b in table], "o-", color="tab:orange",
                   label="share right, at the bin's mean confidence")
    right.set_xlabel("confidence")
    right.set_ylabel("answered correctly (answerable questions)")
    right.set_title("reliability on answerable questions" + (f" (ECE {ece:.3f})" if ece is not None else ""))
    right.set_xlim(0, 1)
    right.set_ylim(0, 1.02)
    right.legend(loc="upper left")
    right.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"ece": ece, "threshold": threshold, "answered_right": chosen[1], "unanswerable_declined": chosen[2]}
