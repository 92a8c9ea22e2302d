"""migrate and revert over the real Dockerfiles in ../shared/corpus (skipped when absent).

With --no-lock-check --include-gpu: no crash, every output parses with BuildKit's
parser, untouched instructions are unchanged (enforced by the engine, re-checked
here), the second run is a no-op, and revert restores the input exactly.
"""

from __future__ import annotations

import collections
import difflib
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


@pytest.mark.corpus
def test_corpus_summary(capsys):
    files = corpus_dockerfiles()
    if not files:
        pytest.skip("corpus absent")
    converted, refused = 0, collections.Counter()
    for path in files:
        try:
            _df, _ctx, result = _migrate(path, path.read_bytes())
        except DockerlockError:
            continue
        converted += result.converted
        for f in result.findings:
            if f.code in ("DLK102", "DLK103"):
                reason = f.message.split(": ", 1)[-1].split(" (")[0][:70]
                refused[reason] += 1
    with capsys.disabled():
        print(f"\ncorpus: {len(files)} files, {converted} stanzas converted, {sum(refused.values())} refused")
        for reason, n in refused.most_common():
            print(f"  {n:3d}  {reason}")
    assert converted >= 40  # the corpus holds at least this many convertible stanzas
