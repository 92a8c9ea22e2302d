"""migrate and revert over the real Dockerfiles in ../shared/corpus (skipped when absent).

With --no-lock-check --include-gpu: no crash, every output parses with BuildKit's
parser, untouched instructions are unchanged (enforced by the engine, re-checked
here), the second run is a no-op, and revert restores the input exactly.
"""

from __future__ import annotations

import collections
import difflib
import re
from pathlib import Path

import dockerfile
import pytest

from conftest import corpus_dockerfiles, corpus_params
from dockerlock.diagnostics import DockerlockError
from dockerlock.engine import migrate_dockerfile
from dockerlock.model import Dockerfile
from dockerlock.rules.revert import revert_dockerfile
from dockerlock.loading import ContextLoader
from dockerlock.settings import Settings

SETTINGS = Settings(lock_check=False, include_gpu=True)


def _migrate(path: Path, data: bytes):
    df = Dockerfile.from_bytes(data, str(path))
    ctx = ContextLoader().load(path, df, SETTINGS)
    return df, ctx, migrate_dockerfile(df, ctx, SETTINGS)


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_corpus_migrate_invariants(path):
    data = path.read_bytes()
    try:
        df, ctx, result = _migrate(path, data)
    except DockerlockError:
        pytest.skip("not a Dockerfile dockerlock accepts (see test_model DELIBERATE)")
    assert result.error is None, str(result.error)
    if result.new_text is None:
        return
    out = df.source.encode(result.new_text)
    dockerfile.parse_string(out.decode("utf-8-sig"))  # BuildKit accepts it
    after = Dockerfile.from_bytes(out, str(path))
    old_texts = [i.text(df.source) for i in df.instructions]
    new_texts = [i.text(after.source) for i in after.instructions]
    matcher = difflib.SequenceMatcher(a=old_texts, b=new_texts, autojunk=False)
    for op, a1, a2, _b1, _b2 in matcher.get_opcodes():
        if op in ("replace", "delete"):
            # only the stanza's own instructions (the pip RUN, the requirements COPY) may change
            assert {df.instructions[k].keyword for k in range(a1, a2)} <= {"RUN", "COPY", "ADD"}
    second = migrate_dockerfile(after, ctx, SETTINGS)
    assert second.new_text is None and second.error is None
    back = revert_dockerfile(after, ctx, SETTINGS)
    assert back.error is None and after.source.encode(back.new_text) == data
    again = migrate_dockerfile(Dockerfile.from_bytes(after.source.encode(back.new_text), str(path)), ctx,
                               SETTINGS)
    assert again.new_text == result.new_text


# An independent reading of "this RUN runs pip with a requirements file": pip (any launcher
# spelling, or a variable launcher such as ${PIP_CMD}), then `install` (or wheel/download) and a
# -r/--requirement option in the same command.
PIP_REQUIREMENTS = re.compile(r"(?<!uv )(?:(?<![\w-])pip[0-9.]*|\$\{?[A-Za-z_]\w*\}?)[\"']?(?:\s+[^&;|\n]*?)?\s(?:install|wheel|download)\b"
                              r"[^&;|\n]*?\s(?:-r|--requirements?)(?:[\s=]|(?=[\"'$/\w]))", re.I)


def _pip_requirement_runs(df) -> dict[int, int]:
    """RUN line -> how many pip requirements commands its text holds (continuations joined)."""
    runs = {}
    for ins in df.instructions:
        if ins.keyword == "RUN":
            text = ins.logical.text + "".join(h.body for h in ins.heredocs)
            text = text.replace("\\\n", " ")
            found = len(PIP_REQUIREMENTS.findall(text))
            if found:
                runs[ins.start_line] = found
    return runs


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_every_pip_requirements_install_gets_a_decision(path):
    """Issue 13: converted, refused or deferred, each with its code; never passed over."""
    from dockerlock.rules import decision_of

    settings = Settings(lock_check=False)
    try:
        df = Dockerfile.from_bytes(path.read_bytes(), str(path))
    except DockerlockError:
        pytest.skip("not a Dockerfile dockerlock accepts (see test_model DELIBERATE)")
    ctx = ContextLoader().load(path, df, settings)
    result = migrate_dockerfile(df, ctx, settings)
    decided = collections.Counter(f.line for f in result.findings if decision_of(f.code) is not None)
    for line, count in _pip_requirement_runs(df).items():
        assert decided[line] >= count, f"{path.name}:{line}: {count} pip -r command(s), {decided[line]} decided"


@pytest.mark.corpus
def test_corpus_summary(capsys):
    files = corpus_dockerfiles()
    if not files:
        pytest.skip("corpus absent")
    from dockerlock.rules import decision_of
    from dockerlock.rules.base import Decision

    converted, refused = 0, collections.Counter()
    for path in files:
        try:
            _df, _ctx, result = _migrate(path, path.read_bytes())
        except DockerlockError:
            continue
        converted += result.converted
        for f in result.findings:
            if decision_of(f.code) in (Decision.REFUSED, Decision.DEFERRED):
                reason = f.message.split(" left as is: ", 1)[-1].split(" (")[0][:70]
                refused[f"{f.code} {reason}"] += 1
    completed = sum(_converted_with_its_requirements(path) for path in files)
    with capsys.disabled():
        print(f"\ncorpus: {len(files)} files, {converted} stanzas converted, {sum(refused.values())} refused")
        for reason, n in refused.most_common():
            print(f"  {n:3d}  {reason}")
        print(f"corpus, each file's missing requirements file supplied: {completed} stanzas converted")
    assert converted >= 40  # the corpus holds at least this many convertible stanzas
    assert completed >= converted


_LACKING = re.compile(r"the build context \(.*?\) has no (\S+), which")


def _converted_with_its_requirements(path: Path) -> int:
    """Stanzas converted once the build context has the requirements file a folder COPY was to bring.

    The corpus holds Dockerfiles without their repositories: ``COPY . /app`` then ``pip install -r
    /app/requirements.txt`` is rightly refused when the context has no requirements.txt (DLK118).
    Here each file gets a context of its own with the files DLK118 names, as its repository has.
    """
    import shutil
    import tempfile

    data = path.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".git").mkdir()
        for sibling in path.parent.iterdir():
            if sibling.is_file():
                shutil.copy(sibling, root / sibling.name)
        target = root / path.name
        try:
            df = Dockerfile.from_bytes(data, str(target))
        except DockerlockError:
            return 0
        for _ in range(4):
            result = migrate_dockerfile(df, ContextLoader().load(target, df, SETTINGS), SETTINGS)
            missing = {m.group(1) for f in result.findings if (m := _LACKING.search(f.message))}
            if not missing:
                break
            for rel in missing:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text("six\n")
        return result.converted
