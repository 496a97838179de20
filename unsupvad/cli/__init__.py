"""The ``unsupvad`` command: demo, extract, fit, score, evaluate and plot, a thin shell over the Python API.

Every command reads files with :mod:`unsupvad.datasets`, fits and scores with
:class:`~unsupvad.InterleavedVAD`, evaluates with :mod:`unsupvad.metrics`,
draws with :mod:`unsupvad.plotting` and stores models with
:mod:`unsupvad.persistence` (the safe model-file format). An error prints one
line, ``unsupvad: error: ...``, and exits with status 2 (1 for an internal
error; ``--traceback`` shows the traceback).

The package: ``_parser`` (the arguments and their help), ``_workflow`` (read
videos, build, fit and score models), ``_commands`` (one function per
command), ``_demo``, ``_score_files`` (score CSVs) and ``_output`` (what the
commands print and write).
"""

from __future__ import annotations

import sys

from ._commands import COMMANDS, check_output_path
from ._demo import run_demo
from ._parser import build_parser
from ._workflow import build_model, fit_model, read_videos, score_videos

__all__ = ["build_model", "build_parser", "check_output_path", "fit_model", "main", "read_videos", "run_demo",
           "score_videos"]


def _check_device(device: str) -> None:
    """Refuse ``--device cuda`` on a machine without CUDA before any work, in command-line terms."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was given, but this machine has no usable CUDA GPU (or torch was built "
                         "without CUDA); use --device cpu, or --device auto to take a GPU when there is one")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing {text}"
    return text


def main(argv=None) -> int:
    """Run the ``unsupvad`` command line; returns the exit status."""
    from ..persistence import ModelFileError

    args = build_parser().parse_args(argv)
    try:
        _check_device(getattr(args, "device", "auto"))
        COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("unsupvad: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ModelFileError, ImportError) as exc:
        if args.traceback:
            raise
        print(f"unsupvad: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line, with the way to see more
        if args.traceback:
            raise
        print(f"unsupvad: error: internal error, {type(exc).__name__}: {_one_line(exc)} (rerun with --traceback "
              "for details)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
