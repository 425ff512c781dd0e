"""The embedded default keeps its SECRET_KEY and merchant encryption key in var/: for its
owner's eyes only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def _start(var: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "MERCHANT_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL")
    }
    env.update(VAR_DIR=str(var), DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings")
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secret_files_are_made_readable_by_their_owner_only(tmp_path):
    _start(tmp_path)
    for name in ("secret_key", "merchant_keys"):
        assert _mode(tmp_path / name) == 0o600, name
    made = (tmp_path / "secret_key").read_text()
    _start(tmp_path)
    assert (tmp_path / "secret_key").read_text() == made  # made once, then kept


def test_an_older_world_readable_secret_file_is_closed_and_kept(tmp_path):
    key = Fernet.generate_key().decode()
    (tmp_path / "merchant_keys").write_text(key)
    (tmp_path / "merchant_keys").chmod(0o644)
    _start(tmp_path)
    assert _mode(tmp_path / "merchant_keys") == 0o600
    assert (tmp_path / "merchant_keys").read_text() == key
