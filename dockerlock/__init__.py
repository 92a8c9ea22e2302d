"""dockerlock: rewrite pip requirements installs in Dockerfiles into locked uv installs."""

__version__ = "0.1.0"
