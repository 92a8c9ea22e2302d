"""Make a tree of N corpus-sized Dockerfiles (from ../shared/corpus when present, else built-in)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus"

BUILTIN = [
    "FROM python:3.11 AS builder\nENV PATH=\"/opt/venv/bin:$PATH\"\nRUN python -m venv /opt/venv\n"
    "COPY requirements.txt /tmp/requirements.txt\nRUN pip install --no-cache-dir --upgrade -r /tmp/requirements.txt\n"
    "FROM python:3.11-slim\nWORKDIR /app\nRUN apt-get update && \\\n    apt-get -y install ffmpeg curl && \\\n"
    "    rm -rf /var/lib/apt/lists/*\nCOPY --from=builder /opt/venv /opt/venv\nCOPY . .\nEXPOSE 8080\n"
    'CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8080"]\n',
]


def samples() -> list[bytes]:
    if CORPUS.is_dir():
        files = sorted(p for p in CORPUS.glob("*/*") if p.is_file() and p.name != "INDEX.tsv"
                       and "requirements" not in p.name and "pylock" not in p.name)
        return [p.read_bytes() for p in files]
    return [t.encode() for t in BUILTIN]


def largest_sample() -> bytes:
    """The largest real Dockerfile available (the built-in sample without the corpus)."""
    return max(samples(), key=len)


def make_tree(root: Path, count: int = 1000) -> list[Path]:
    data = samples()
    paths = []
    for i in range(count):
        folder = root / f"svc{i:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "requirements.txt").write_text("six\n")
        p = folder / "Dockerfile"
        p.write_bytes(data[i % len(data)])
        paths.append(p)
    return paths
