"""Command line: ``skpose3d <command>`` or ``python -m skpose3d <command>``.

Each command lives in its own module that provides ``add_arguments(parser)`` and ``run(args)``;
``run`` returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> ("module" or "module:object", one-line help); the module or object provides
# add_arguments(parser) and run(args).
COMMANDS = {
    "demo": ("skpose3d.demo", "train and evaluate lifters on the bundled motion capture"),
    "fit": ("skpose3d.cli:fit", "fit a lifter on .npz files (or Human3.6M) and save it"),
    "predict": ("skpose3d.cli:predict", "predict 3D poses for 2D keypoints with a saved model"),
    "evaluate": ("skpose3d.cli:evaluate", "MPJPE, P-MPJPE, N-MPJPE and MPJVE on labelled data"),
    "lift": ("skpose3d._cli_lift:lift", "lift a 2D detector's keypoint file to 3D with a model"),
}


def _load_command(spec: str):
    """The module (or ``module:object``) of a command; None if that module does not exist."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:  # a real import error inside the module
            raise
        return None
    return getattr(module, attr) if attr else module


DESCRIPTION = """\
3D human pose estimation from 2D keypoint videos with temporal convolutions (Pavllo et al.,
CVPR 2019). Run as skpose3d COMMAND or python -m skpose3d COMMAND; skpose3d COMMAND --help
shows the options of a command."""
"""str : The top-level help text (plain text: argparse prints it as it is)."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per entry of ``COMMANDS``."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="skpose3d", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"skpose3d {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (spec, help_text) in COMMANDS.items():
        module = _load_command(spec)
        if module is None:
            continue
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``skpose3d`` command."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): return the code, as commands do
        return exc.code if isinstance(exc.code, int) else 2
    return args._run(args)


if __name__ == "__main__":
    sys.exit(main())
