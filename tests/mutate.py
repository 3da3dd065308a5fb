"""Sampled mutation testing of the engine modules: do the tests notice a small change?

Each mutant is one small change to one module of the engine (a comparison flipped,
``and`` made ``or``, a constant moved by one, a table entry dropped, a statement
deleted...). The script draws a sample of them with a fixed seed, runs the suite
against each in a copy of the tree, and reports the mutants the suite let through
("survivors"): behaviour no test pins down, unless the change makes no difference.

    python tests/mutate.py                     # 100 mutants, seed 1, two workers
    python tests/mutate.py --count 20 --module _headers --module _origins
    python tests/mutate.py --list              # how many mutants each module has
    python tests/mutate.py --id _engine:41     # one mutant, by the id --list/-v shows

A mutant that does not compile or import is skipped and not counted; one that makes
the suite run longer than the timeout counts as killed, and is reported.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "aiohttp_cors"
#: The engine: what is mutated (not the browser model, the command line or the tools).
MODULES = (
    "_headers",
    "_origins",
    "resource_options",
    "_config",
    "_memo",
    "_policy",
    "_decision",
    "_engine",
    "_router",
    "mixin",
    "_app",
    "cors_config",
    "_csrf",
    "_cached",
)
PYTEST = ("-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not browser")
#: Hypothesis draws the same examples for every mutant (its database is emptied too).
HYPOTHESIS = ("--hypothesis-seed=0",)
#: Not copied into the workers' trees.
IGNORED = shutil.ignore_patterns(
    ".git", ".venv*", "__pycache__", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache"
)
COMPARISONS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
#: Statements deleted (replaced by ``pass``); imports, asserts (type narrowing) and
#: definitions are left alone.
DELETABLE = (
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Expr,
    ast.Raise,
    ast.Delete,
    ast.Continue,
    ast.Break,
)
#: Names whose assignments are not behaviour.
NOT_BEHAVIOUR = frozenset({"__all__", "__slots__"})


# -- the mutants ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    """One change: the byte span ``start:end`` of the module's source replaced."""

    module: str
    index: int
    operator: str
    line: int
    start: int
    end: int
    original: str
    shown: str  # the replacement as the report shows it
    replacement: str

    @property
    def ident(self) -> str:
        return f"{self.module}:{self.index}"

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.replacement.encode() + source[self.end :]

    def describe(self, source_lines: Sequence[str]) -> str:
        shown = f"{short(self.original)} -> {short(self.shown)}"
        code = source_lines[self.line - 1].strip()
        return f"{self.module}:{self.line}  {shown}  [{self.operator}, {self.ident}]\n    {code}"


def short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Finder:
    """Every mutant of one module, in source order."""

    def __init__(self, module: str, source: bytes) -> None:
        self.module = module
        self.source = source
        self.offsets = [0]
        for line in source.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(line))
        self.found: list[Mutant] = []
        self.skipped: set[int] = set()  # id() of the nodes not to mutate, nor below them

    def run(self) -> list[Mutant]:
        tree = ast.parse(self.source)
        self._mark_skipped(tree)
        self._visit(tree, None)
        return self.found

    # Where the source of a node is.
    def _span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offsets[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end_line, end_col = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        return start, self.offsets[end_line - 1] + end_col

    def _add(
        self, node: ast.AST, operator: str, replacement: str, dropped: ast.AST | None = None
    ) -> None:
        """Replace *node* by *replacement*; *dropped*: the entry of a table it leaves out."""
        start, end = self._span(node)
        original = self.source[start:end].decode()
        if dropped is not None:  # shown as the entry alone
            span = self._span(dropped)
            original, shown = self.source[span[0] : span[1]].decode(), "(dropped)"
        else:
            shown = replacement
        line = (dropped or node).lineno  # type: ignore[attr-defined]
        self.found.append(
            Mutant(
                self.module,
                len(self.found),
                operator,
                line,
                start,
                end,
                original,
                shown,
                replacement,
            )
        )

    def _mark_skipped(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.Assert, ast.JoinedStr)) or (
                isinstance(node, ast.If) and _is_type_checking(node.test)
            ):
                self.skipped.add(id(node))
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id in NOT_BEHAVIOUR for t in targets):
                    self.skipped.add(id(node))
            # Docstrings, and the annotations (types are not behaviour).
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and _is_docstring(body[0]):
                self.skipped.add(id(body[0]))
            for annotation in _annotations(node):
                self.skipped.add(id(annotation))

    def _visit(self, node: ast.AST, parent: ast.AST | None) -> None:
        if id(node) in self.skipped:
            return
        self._mutate(node, parent)
        for child in ast.iter_child_nodes(node):
            self._visit(child, node)

    def _mutate(self, node: ast.AST, parent: ast.AST | None) -> None:
        if isinstance(node, DELETABLE) and not (isinstance(node, ast.AnnAssign) and not node.value):
            self._add(node, "delete statement", "pass")
        if isinstance(node, ast.Return) and not _is_none(node.value):
            self._add(node, "return None", "return None")
        if isinstance(node, ast.If):
            self._add(node.test, "if True", "True")
            self._add(node.test, "if False", "False")
        elif isinstance(node, ast.IfExp):
            self._add(node, "condition True", f"({ast.unparse(node.body)})")
            self._add(node, "condition False", f"({ast.unparse(node.orelse)})")
        elif isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                flipped = COMPARISONS[type(op)]()
                ops = [*node.ops[:position], flipped, *node.ops[position + 1 :]]
                changed = ast.Compare(node.left, ops, node.comparators)
                self._add(node, "comparison", f"({ast.unparse(changed)})")
        elif isinstance(node, ast.BoolOp):
            other: ast.boolop = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            self._add(node, "and/or", f"({ast.unparse(ast.BoolOp(other, node.values))})")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._add(node, "remove not", f"({ast.unparse(node.operand)})")
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            self._add(node, "constant +1", repr(node.value + 1))
            self._add(node, "constant -1", f"({node.value - 1!r})")
        elif isinstance(node, ast.Dict):
            self._mutate_dict(node)
        elif isinstance(node, ast.Set) or (
            isinstance(node, (ast.Tuple, ast.List)) and _is_name_table(node, parent)
        ):
            self._mutate_table(node)

    def _mutate_dict(self, node: ast.Dict) -> None:
        """A dict display: each entry dropped, each string key or value changed."""
        pairs = list(zip(node.keys, node.values, strict=True))
        for position, (key, value) in enumerate(pairs):
            if len(pairs) > 1 and key is not None:
                rest = pairs[:position] + pairs[position + 1 :]
                dropped = ast.Dict([k for k, _ in rest], [v for _, v in rest])
                self._add(node, "drop entry", f"({ast.unparse(dropped)})", key)
            for part in (key, value):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    self._add(part, "change string", repr(part.value + "_mutated"))

    def _mutate_table(self, node: ast.Set | ast.Tuple | ast.List) -> None:
        """A set, or a tuple or list of names: each entry dropped, each string changed."""
        elements = node.elts
        for position, element in enumerate(elements):
            if isinstance(element, ast.Starred) or (
                isinstance(node, ast.Set) and len(elements) < 2
            ):
                continue  # {x} without x would be a dict
            rest = elements[:position] + elements[position + 1 :]
            if isinstance(node, ast.Set):
                text = f"({ast.unparse(ast.Set(rest))})"
            else:
                text = ast.unparse(type(node)(rest, ast.Load()))
            self._add(node, "drop entry", text, element)
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                self._add(element, "change string", repr(element.value + "_mutated"))


def _is_string(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_none(node: ast.AST | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


def _is_name_table(node: ast.Tuple | ast.List, parent: ast.AST | None) -> bool:
    """A tuple or list of header names, methods...: strings (one at least) and names,
    read, not a row of a bigger table nor a type's parameters."""
    elements = node.elts
    return (
        isinstance(node.ctx, ast.Load)
        and not isinstance(parent, (ast.Tuple, ast.List, ast.Subscript))
        and any(_is_string(e) for e in elements)
        and all(_is_string(e) or isinstance(e, (ast.Name, ast.Attribute)) for e in elements)
    )


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and _is_string(node.value)


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _annotations(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.arg) and node.annotation is not None:
        yield node.annotation
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
        yield node.returns
    elif isinstance(node, ast.AnnAssign):
        yield node.annotation


def all_mutants(modules: Sequence[str]) -> tuple[list[Mutant], dict[str, bytes]]:
    """Every mutant of *modules*, and their sources."""
    sources = {m: (ROOT / PACKAGE / f"{m}.py").read_bytes() for m in modules}
    mutants = [mutant for m in modules for mutant in Finder(m, sources[m]).run()]
    return mutants, sources


def compiles(mutant: Mutant, source: bytes) -> bool:
    try:
        compile(mutant.apply(source), f"{mutant.module}.py", "exec")
    except SyntaxError:
        return False
    return True


# -- running the suite ----------------------------------------------------------------


@dataclass
class Result:
    mutant: Mutant
    status: str  # "killed", "survived", "timeout" or "skipped"
    seconds: float
    detail: str = ""


class Worker:
    """A copy of the tree in a temporary directory, where one mutant at a time is tried."""

    def __init__(self, number: int, base: Path, sources: dict[str, bytes], timeout: float) -> None:
        self.tree = base / f"worker{number}"
        shutil.copytree(ROOT, self.tree, ignore=IGNORED)
        self.sources = sources
        self.timeout = timeout
        # The copy's package first, in the suite and in the processes it starts; no
        # bytecode written (a mutant the same length as the source has the same mtime).
        self.env = {
            **os.environ,
            "PYTHONPATH": str(self.tree),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def path(self, module: str) -> Path:
        return self.tree / PACKAGE / f"{module}.py"

    def imported_package(self) -> str:
        return self._python("-c", f"import {PACKAGE}; print({PACKAGE}.__file__)").stdout.strip()

    def suite(self, extra: Sequence[str] = ()) -> tuple[str, float, str]:
        """Run the suite: ("passed" | "failed" | "timeout", seconds, first failure)."""
        shutil.rmtree(self.tree / ".hypothesis", ignore_errors=True)
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, *PYTEST, *HYPOTHESIS, *extra],
            cwd=self.tree,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return "timeout", time.monotonic() - started, ""
        seconds = time.monotonic() - started
        if process.returncode == 0:
            return "passed", seconds, ""
        failed = [line for line in out.splitlines() if line.startswith(("FAILED ", "ERROR tests"))]
        return "failed", seconds, failed[0] if failed else "".join(out.strip().splitlines()[-1:])

    def try_mutant(self, mutant: Mutant, extra: Sequence[str]) -> Result:
        started = time.monotonic()
        source = self.sources[mutant.module]
        self.path(mutant.module).write_bytes(mutant.apply(source))
        try:
            check = self._python("-c", f"import {PACKAGE}.{mutant.module}")
            if check.returncode != 0:
                last = check.stderr.strip().splitlines()[-1:]
                return Result(mutant, "skipped", time.monotonic() - started, "".join(last))
            outcome, seconds, detail = self.suite(extra)
        finally:
            self.path(mutant.module).write_bytes(source)
        status = {"passed": "survived", "failed": "killed", "timeout": "timeout"}[outcome]
        return Result(mutant, status, seconds, detail)

    def _python(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *argv],
            cwd=self.tree,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def sanity_check(workers: list[Worker], extra: Sequence[str]) -> float:
    """The copies' own package is what the suite imports; the unmutated copy passes and a
    deliberately broken one fails. Returns how long the unmutated suite took."""
    for worker in workers:
        found = Path(worker.imported_package()).resolve()
        if not found.is_relative_to(worker.tree.resolve()):
            sys.exit(f"the copy in {worker.tree} imports {found}: mutants would not be tested")
    broken = workers[1].path("_decision")
    original = broken.read_bytes()
    # Every actual response left without CORS headers.
    broken.write_bytes(original + b"\n\ndef finish_actual(*args, **kwargs):\n    return None\n")
    with ThreadPoolExecutor(2) as pool:
        clean = pool.submit(workers[0].suite, extra)
        spoilt = pool.submit(workers[1].suite, extra)
        (outcome, seconds, detail), (broken_outcome, _, _) = clean.result(), spoilt.result()
    broken.write_bytes(original)
    if outcome != "passed":
        sys.exit(f"the suite fails on the unmutated copy ({outcome}): {detail}")
    if broken_outcome != "failed":
        sys.exit(f"the suite does not notice a broken copy ({broken_outcome})")
    return seconds


class Schedule:
    """Hands out the shuffled mutants in order until *count* of them have been counted
    (a skipped one is replaced by the next): the result is the first *count* mutants
    that import, whichever worker finishes first."""

    def __init__(self, mutants: list[Mutant], count: int) -> None:
        self.mutants = iter(mutants)
        self.count = count
        self.counted = 0
        self.running = 0
        self.condition = threading.Condition()

    def take(self) -> Mutant | None:
        with self.condition:
            while self.counted < self.count:
                if self.counted + self.running < self.count:
                    mutant = next(self.mutants, None)
                    if mutant is not None:
                        self.running += 1
                        return mutant
                    if self.running == 0:
                        return None  # none left
                self.condition.wait()
            return None

    def done(self, result: Result) -> None:
        with self.condition:
            self.running -= 1
            if result.status != "skipped":
                self.counted += 1
            self.condition.notify_all()


def choose(args: argparse.Namespace, mutants: list[Mutant]) -> tuple[list[Mutant], int]:
    """The mutants to try, in order, and how many of them to count."""
    if args.id:
        by_id = {m.ident: m for m in mutants}
        missing = [i for i in args.id if i not in by_id]
        if missing:
            sys.exit(f"no such mutant: {', '.join(missing)}")
        return [by_id[i] for i in args.id], len(args.id)
    shuffled = list(mutants)
    random.Random(args.seed).shuffle(shuffled)
    return shuffled, args.count


def execute(
    args: argparse.Namespace, mutants: list[Mutant], count: int, sources: dict[str, bytes]
) -> tuple[list[Result], float]:
    """Try the mutants on two workers until *count* are counted; the results, the timeout."""
    extra = list(args.pytest_args)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="mutate-") as base:
        workers = [Worker(n, Path(base), sources, args.timeout or 600) for n in range(2)]
        baseline = 60.0
        if not args.no_sanity_check:
            baseline = sanity_check(workers, extra)
            print(f"sanity check passed: the unmutated suite takes {baseline:.0f} s", flush=True)
        timeout: float = args.timeout or max(60.0, 3 * baseline)
        for worker in workers:
            worker.timeout = timeout
        schedule = Schedule(mutants, count)
        lock = threading.Lock()

        def work(worker: Worker) -> None:
            while (mutant := schedule.take()) is not None:
                result = worker.try_mutant(mutant, extra)
                schedule.done(result)
                with lock:
                    results.append(result)
                    if args.verbose:
                        done = sum(r.status != "skipped" for r in results)
                        print(
                            f"[{done}/{count}] {mutant.ident:18} {result.status:8} "
                            f"{result.seconds:5.0f} s  {short(result.detail, 80)}",
                            flush=True,
                        )

        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(work, w) for w in workers]:
                future.result()
    return results, timeout


def report(
    results: list[Result], lines: dict[str, list[str]], seed: object, seconds: float
) -> float:
    """Print the score, the time, the timeouts and the survivors; return the score."""
    counted = [r for r in results if r.status != "skipped"]
    killed = [r for r in counted if r.status in ("killed", "timeout")]
    timeouts = sorted((r.mutant for r in counted if r.status == "timeout"), key=_order)
    survivors = sorted((r.mutant for r in counted if r.status == "survived"), key=_order)
    score = 100 * len(killed) / len(counted) if counted else 100.0
    print()
    print(f"score: {len(killed)}/{len(counted)} killed ({score:.1f}%), seed {seed}")
    print(f"time: {seconds:.0f} s ({seconds / 60:.1f} min)")
    print(f"skipped (do not import, not counted): {len(results) - len(counted)}")
    if timeouts:
        print(f"killed by the timeout: {len(timeouts)}")
        for mutant in timeouts:
            print("  " + mutant.describe(lines[mutant.module]))
    print(f"survivors: {len(survivors)}")
    for mutant in survivors:
        print("  " + mutant.describe(lines[mutant.module]))
    return score


def _order(mutant: Mutant) -> tuple[int, int, int]:
    return MODULES.index(mutant.module), mutant.line, mutant.index


def run(args: argparse.Namespace) -> int:
    modules = args.module or list(MODULES)
    unknown = sorted(set(modules) - set(MODULES))
    if unknown:
        sys.exit(f"not an engine module: {', '.join(unknown)} (choose from {', '.join(MODULES)})")
    mutants, sources = all_mutants(modules)
    if args.list:
        for module in modules:
            print(f"{module:18} {sum(m.module == module for m in mutants):5}")
        print(f"{'total':18} {len(mutants):5}")
        return 0
    chosen, count = choose(args, mutants)
    # Those that do not compile are left out here, those that do not import by the workers.
    valid = [m for m in chosen if compiles(m, sources[m.module])]
    if len(valid) < len(chosen):
        print(f"left out, as they do not compile: {len(chosen) - len(valid)}")
    print(f"{len(mutants)} mutants in {len(modules)} modules; trying {count}", flush=True)
    started = time.monotonic()
    results, timeout = execute(args, valid, count, sources)
    lines = {m: sources[m].decode().splitlines() for m in modules}
    seconds = time.monotonic() - started
    score = report(results, lines, "--" if args.id else args.seed, seconds)
    print(f"timeout: {timeout:.0f} s per run")
    return 0 if score >= args.fail_under else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100, help="mutants in the sample (100)")
    parser.add_argument("--seed", type=int, default=1, help="the sample's seed (1)")
    parser.add_argument(
        "--module", action="append", help="mutate only this module (repeatable): e.g. _headers"
    )
    parser.add_argument(
        "--fail-under", type=float, default=95.0, help="exit 1 below this score (95)"
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds per run (default: 3 times the unmutated suite's)"
    )
    parser.add_argument("--id", action="append", help="run this mutant (repeatable)")
    parser.add_argument("--list", action="store_true", help="count the mutants of each module")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each mutant's result")
    parser.add_argument(
        "--no-sanity-check", action="store_true", help="skip the unmutated and broken runs"
    )
    parser.add_argument(
        "pytest_args", nargs="*", help="after --: passed to pytest (e.g. a test file)"
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
