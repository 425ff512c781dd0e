"""The translation catalogues in ``locale/`` (``make messages``): collect the marked strings of
the product's code and templates into each shipped language's ``django.po``, then compile them.

    python -m devtools.messages          # update the catalogues and compile them
    python -m devtools.messages --check  # what is missing, untranslated or fuzzy; exit 1 if any

The check collects the strings again into a copy of the catalogues, so a string marked since
the last update counts as untranslated. Both need GNU gettext (Debian's ``gettext``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
# What buyers and merchants never see, or what has no Django strings.
IGNORE = [
    ".venv/*",
    "node_modules/*",
    "var/*",
    "tests/*",
    "bench/*",
    "devtools/*",
    "sandbox/*",
    "examples/*",
    "static/*",
    "deploy/*",
    "docs/*",
]
COPIED = ("*.py", "*.html", "*.txt", "*.po")


def languages() -> list[str]:
    _settings()
    from django.conf import settings

    return [code for code, _ in settings.LANGUAGES if code != "en"]


def _settings() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def collect(root: Path) -> None:
    """Bring ``root``'s catalogues up to date with the strings marked under it."""
    command = [sys.executable, str(root / "manage.py"), "makemessages", "--no-obsolete"]
    command += ["--add-location=file", "--no-wrap"]
    for code in languages():
        command += ["-l", code]
    for pattern in IGNORE:
        command += ["--ignore", pattern]
    subprocess.run(command, cwd=root, check=True, stdout=subprocess.DEVNULL)


def compile_all(root: Path = ROOT) -> None:
    for code in languages():
        po = polib.pofile(str(_po(root, code)))
        po.save_as_mofile(str(_po(root, code).with_suffix(".mo")))


def _po(root: Path, code: str) -> Path:
    return root / "locale" / code / "LC_MESSAGES" / "django.po"


@dataclass
class Gaps:
    untranslated: dict[str, list[str]] = field(default_factory=dict)
    fuzzy: dict[str, list[str]] = field(default_factory=dict)
    stale_mo: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(self.untranslated.values()) or any(self.fuzzy.values()) or bool(self.stale_mo)

    def report(self) -> str:
        lines = []
        for kind in ("untranslated", "fuzzy"):
            for code, ids in getattr(self, kind).items():
                lines += [f"{code}: {kind}: {msgid!r}" for msgid in ids]
        lines += [f"{code}: django.mo is not compiled from django.po" for code in self.stale_mo]
        return "\n".join(lines)


def check() -> Gaps:
    """The marked strings each shipped language lacks, in a copy of the tree."""
    gaps = Gaps()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tree"
        ignored = shutil.ignore_patterns(".git", ".venv", "node_modules", "var", "*.mo")
        shutil.copytree(ROOT, copy, ignore=ignored, symlinks=True)
        collect(copy)
        for code in languages():
            po = polib.pofile(str(_po(copy, code)))
            gaps.untranslated[code] = [e.msgid for e in po.untranslated_entries()]
            gaps.fuzzy[code] = [e.msgid for e in po.fuzzy_entries()]
    for code in languages():
        if not _compiled(code):
            gaps.stale_mo.append(code)
    return gaps


def _compiled(code: str) -> bool:
    po_path = _po(ROOT, code)
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists():
        return False

    def pairs(entries: polib._BaseFile) -> set[tuple[str, str, str]]:
        return {
            (e.msgctxt or "", e.msgid, e.msgstr or repr(sorted(e.msgstr_plural.items())))
            for e in entries
            if not e.obsolete and "fuzzy" not in e.flags and _has_text(e)
        }

    return pairs(polib.pofile(str(po_path))) == pairs(polib.mofile(str(mo_path)))


def _has_text(entry: polib._BaseEntry) -> bool:
    return bool(entry.msgstr) or any(entry.msgstr_plural.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make messages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report gaps; change nothing")
    args = parser.parse_args(argv)
    if args.check:
        gaps = check()
        if gaps:
            print(gaps.report())
            return 1
        print("every marked string is translated in " + ", ".join(languages()))
        return 0
    collect(ROOT)
    compile_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
