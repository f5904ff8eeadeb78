"""The README as a user reads it: its Python blocks run as printed, in order, in one session, and
the shapes their comments promise are the shapes they return; every ``foldlens`` command in its
shell blocks is one the command line accepts."""

from __future__ import annotations

import ast
import io
import re
import shlex
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from foldlens.cli import build_parser
from foldlens.models import available
from foldlens.models.registry import unregister

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", README, re.S | re.M)
SHELL_BLOCKS = re.findall(r"^```(?:sh|bash)\n(.*?)^```", README, re.S | re.M)
# "# -> (300, 1, 20, 300)", "# (1, 41, L)": a shape, names standing for any size
SHAPE_COMMENT = re.compile(r"#\s*(?:->\s*)?\(([\w\s,]+)\)")
SAME_SHAPE_COMMENT = re.compile(r"#\s*->\s*shape of (\w+)")


def _comments(source: str) -> dict[int, str]:
    """Line number → the comment that ends it."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.start[0]: token.string for token in tokens if token.type == tokenize.COMMENT}


def _shape_claims(source: str) -> ast.Module:
    """``source`` with every expression or assignment whose comment names a shape followed by an
    assertion of that shape (``"# (1, 41, L)"``: rank 3, sizes 1 and 41, any third size); the
    shape of a value is its ``.shape``, or the value itself when it is a shape."""
    comments = _comments(source)
    tree = ast.parse(source)
    for k, statement in reversed(list(enumerate(tree.body))):
        comment = comments.get(statement.end_lineno or statement.lineno, "")
        if isinstance(statement, ast.Expr):
            value, kept = statement.value, []
        elif isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            value, kept = ast.Name(statement.targets[0].id, ast.Load()), [statement]
        else:
            continue
        if same := SAME_SHAPE_COMMENT.search(comment):
            claim = f"_shape == tuple({same.group(1)}.shape)"
        elif shape := SHAPE_COMMENT.search(comment):
            sizes = [size.strip() for size in shape.group(1).split(",") if size.strip()]
            checks = [f"len(_shape) == {len(sizes)}"] + [
                f"_shape[{axis}] == {size}" for axis, size in enumerate(sizes) if size.isdigit()
            ]
            claim = " and ".join(checks)
        else:
            continue
        check = ast.parse(
            f"_value = None\n_shape = tuple(getattr(_value, 'shape', _value))\n"
            f"assert {claim}, (_shape, {comment!r})"
        ).body
        check[0].value = value  # type: ignore[attr-defined]
        tree.body[k : k + 1] = kept + check
    return ast.fix_missing_locations(tree)


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    """The README registers a user's model: take it away again for the tests that follow."""
    before = set(available())
    yield
    for name in set(available()) - before:
        unregister(name)


def test_the_readme_has_python_blocks_with_shape_claims() -> None:
    assert len(PYTHON_BLOCKS) >= 4
    claims = sum(
        isinstance(node, ast.Assert)
        for block in PYTHON_BLOCKS
        for node in _shape_claims(block).body
    )
    assert claims >= 5


def test_shape_claims_can_fail() -> None:
    with pytest.raises(AssertionError, match="7, 2"):
        exec(
            compile(
                _shape_claims("import torch\ntorch.zeros(3, 2)  # -> (7, 2)\n"), "claim", "exec"
            )
        )


def test_the_python_blocks_run_in_order_in_one_session(
    fresh_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # "runnable from the repository's root"
    namespace: dict[str, object] = {}
    for k, block in enumerate(PYTHON_BLOCKS):
        exec(compile(_shape_claims(block), f"README.md python block {k + 1}", "exec"), namespace)


def _commands(block: str) -> list[list[str]]:
    """The ``foldlens …`` command lines of a shell block, continuation lines joined."""
    lines = block.replace("\\\n", " ").splitlines()
    return [
        shlex.split(line, comments=True)[1:]
        for line in lines
        if line.startswith("foldlens ") or line.startswith(".venv/bin/foldlens ")
    ]


def test_every_shell_command_is_one_the_command_line_accepts() -> None:
    commands = [command for block in SHELL_BLOCKS for command in _commands(block)]
    assert len(commands) >= 8
    parser = build_parser()
    for command in commands:
        try:
            parser.parse_args(command)
        except SystemExit as refused:  # argparse's way of refusing
            raise AssertionError(
                f"the README's `foldlens {shlex.join(command)}` is refused"
            ) from refused
