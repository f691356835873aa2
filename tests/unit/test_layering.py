"""core/ and db/ never import the UI, the web framework or the CLI framework."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("streamlit", "fastapi", "typer", "starlette")

SCRIPT = """
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {forbidden!r}:
            raise ImportError('forbidden import: ' + name)
        return None
sys.meta_path.insert(0, Block())
for module in {modules!r}:
    importlib.import_module(module)
print('ok', len({modules!r}))
"""


def modules_of(package: str) -> list[str]:
    path = ROOT / package
    names = [package]
    for info in pkgutil.walk_packages([str(path)], prefix=f"{package}."):
        if ".migrations" not in info.name:
            names.append(info.name)
    return names


def test_core_and_db_import_without_ui_or_web_frameworks() -> None:
    modules = modules_of("core") + modules_of("db")
    script = SCRIPT.format(forbidden=FORBIDDEN, modules=modules)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")


def test_db_does_not_import_core() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "db").rglob("*.py")
        if any(line.startswith(("from core", "import core")) for line in p.read_text().splitlines())
    ]
    assert offenders == []
