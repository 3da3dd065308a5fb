"""The fuzz corpus replays cleanly through the fuzz target (``./run fuzz`` grows it)."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))

import target


def test_every_corpus_input_passes_the_target():
    inputs = sorted(target.CORPUS.iterdir())
    assert len(inputs) >= 50, "the committed corpus is missing"
    failures = []
    for path in inputs:
        try:
            target.check(path.read_bytes())
        except Exception:
            failures.append(f"{path.name}:\n{traceback.format_exc(limit=3)}")
    assert not failures, "\n".join(failures)
