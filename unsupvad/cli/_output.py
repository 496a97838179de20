"""What the commands print and write: metric lines and strict JSON reports."""

from __future__ import annotations

import json
import math


def _metrics_line(name: str, m: dict) -> str:
    return (f"{name:>16}: micro AUC {m['micro_auc']:.3f}  macro AUC {m['macro_auc']:.3f}  "
            f"AP {m['ap']:.3f}  EER {m['eer']:.3f}")


def _json_text(report: dict) -> str:
    """Strict JSON: NaN (e.g. a macro AUC with no video holding both classes) becomes null."""
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return json.dumps(clean(report), indent=2, allow_nan=False)

