"""A benchmark run side by side against an earlier commit (prints figures; not a test).

The earlier commit is checked out into a temporary worktree; each round runs the benchmark
there, then here, one after the other on the same machine, so both see the same load.

    .venv/bin/python -m bench.compare --base <commit> catalog [--rounds 2] [-- --seconds 10]
    .venv/bin/python -m bench.compare --base <commit> checkout
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, arguments


def run(tree: Path, bench: str, args: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}", *args],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        return f"(failed, exit {result.returncode})\n{result.stderr[-2000:]}"
    return result.stdout


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("bench", choices=["catalog", "checkout"])
    parser.add_argument("args", nargs="*", help="passed on to the benchmark (after --)")
    options = parser.parse_args()
    base = subprocess.run(
        ["git", "rev-parse", "--short", options.base],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), base],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            for n in range(1, options.rounds + 1):
                for label, where in ((f"base {base}", tree), (f"this tree ({head}+)", ROOT)):
                    print(f"--- round {n}, {label}", flush=True)
                    print(run(where, options.bench, options.args), flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
            )


if __name__ == "__main__":
    main()
