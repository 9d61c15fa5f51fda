"""The code passes the linter and the formatter check configured in pyproject.toml (ruff)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ruff_finds_nothing():
  result = subprocess.run(
    [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
    cwd=ROOT,
    capture_output=True,
    text=True,
  )
  assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing():
  result = subprocess.run(
    [sys.executable, "-m", "ruff", "format", "--no-cache", "--check", "."],
    cwd=ROOT,
    capture_output=True,
    text=True,
  )
  assert result.returncode == 0, "run `make format`:\n" + result.stdout + result.stderr
