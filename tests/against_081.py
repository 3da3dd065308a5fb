"""Run tests/test_defects.py against the published aiohttp-cors 0.8.1: every test must fail.

This proves that each regression test catches the defect it is named after.
A throw-away venv gets ``aiohttp-cors==0.8.1``; the tests run from a copy
outside the repository so that this package cannot be imported instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="aiohttp-cors-081-"))
    try:
        venv.create(work / "venv", with_pip=True)
        python = work / "venv" / "bin" / "python"
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "aiohttp-cors==0.8.1",
                "aiohttp",
                "pytest",
                "pytest-aiohttp",
            ],
            check=True,
        )
        tests = work / "tests"
        tests.mkdir()
        for name in ("__init__.py", "conftest.py", "test_defects.py"):
            shutil.copy(HERE / name, tests / name)
        (work / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
        result = subprocess.run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rN", "tests"],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        failed = re.search(r"(\d+) failed", summary)
        if re.search(r"\d+ passed", summary) or failed is None:
            print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
            print("a defect test passed against 0.8.1: it does not catch its defect")
            return 1
        print(f"each of the {failed.group(1)} defect tests fails against 0.8.1, as it must")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
