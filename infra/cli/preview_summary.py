"""`python -m infra preview-summary STACK=PREVIEW.json ... [--out FILE]`: the MR comment of `pulumi preview --json`.

Reads each stack's saved `pulumi preview --json` output and prints one markdown summary (infra/ops/preview_summary):
per stack the counts, then protected or stateful resources that would be replaced or deleted, first and loudly.
Exit code 0 when every file could be read (a failed or destructive preview is reported in the text, not the exit
code: the preview job itself decides whether to fail); 2 on an unreadable file or a bad argument.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preview-summary", help="markdown summary of saved `pulumi preview --json` outputs (for the MR comment)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("previews", nargs="+", metavar="STACK=FILE", help="a stack and its preview JSON file")
    parser.add_argument("--out", type=Path, help="write the markdown here as well as to stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra.ops.preview_summary import load_preview, render

    previews = []
    for item in args.previews:
        stack, sep, path = item.partition("=")
        if not sep or not stack or not path:
            print(f"preview-summary: {item!r}: expected STACK=FILE, e.g. prod-a=.work/preview/prod-a.json",
                  file=sys.stderr)
            return 2
        try:
            previews.append(load_preview(stack, Path(path)))
        except (OSError, ValueError) as error:
            print(f"preview-summary: {error}", file=sys.stderr)
            return 2
    text = render(previews)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0
