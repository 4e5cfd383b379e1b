"""Command line: ``skpose3d <command>`` or ``python -m skpose3d <command>``.

Each command lives in its own module that provides ``add_arguments(parser)`` and ``run(args)``;
``run`` returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, one-line help)
COMMANDS = {
    "demo": ("skpose3d.demo", "train and evaluate lifters on the bundled motion capture"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per entry of ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="skpose3d", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``skpose3d`` command."""
    args = build_parser().parse_args(argv)
    return args._run(args)


if __name__ == "__main__":
    sys.exit(main())
