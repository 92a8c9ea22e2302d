"""Does a lock still satisfy the requirements files it stands in for?
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from dockerlock.diagnostics import Finding, Level
from dockerlock.lockfile.pylock import Lock, LockedPackage
from dockerlock.lockfile.requirements import RequirementLine, _format_vars
from dockerlock.lockfile.target import _evaluate, _url_filename

# --------------------------------------------------------------------------------------------------
# Drift


def _names_prerelease(specifier: SpecifierSet) -> bool:
    for spec in specifier:
        try:
            if Version(spec.version.rstrip(".*")).is_prerelease:
                return True
        except InvalidVersion:
            continue
    return False


def _normal_url(url: str) -> str:
    """Compare URLs by what they fetch: no fragment, no credentials, no trailing / or .git, host lower."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return f"{parts.scheme.lower()}://{host.lower()}{path}"


_VCS_PREFIX = re.compile(r"^(git|hg|svn|bzr)\+")


def _split_vcs(url: str) -> tuple[str, str | None]:
    """``git+https://host/x.git@rev#egg=x`` -> (normalised repository URL, revision or None).

    Lock entries spell the URL without the ``git+`` prefix (and the revision separately), so both
    sides go through here before comparing.
    """
    rest = _VCS_PREFIX.sub("", url.split("#", 1)[0])
    parts = urlsplit(rest)
    path = parts.path
    revision = None
    if "@" in path:
        path, revision = path.rsplit("@", 1)
    return _normal_url(parts._replace(path=path).geturl()), revision or None


def _is_vcs_url(url: str) -> bool:
    return bool(_VCS_PREFIX.match(url))


_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")


def _entry_applies(package: LockedPackage, environment: Mapping[str, str] | None) -> bool:
    return environment is None or package.marker is None or _evaluate(package.marker, environment, "lock_file")


def check_drift(requirements: list[RequirementLine], lock: Lock, *,
                environment: Mapping[str, str] | None = None,
                compiled_from: Callable[[RequirementLine], bool] | None = None) -> list[Finding]:
    """Check that the lock still satisfies the requirements files it stands in for.

    With ``environment`` (a full marker environment, see ``marker_environment``) requirements whose
    marker is false are skipped and only lock entries installed there count, and every such entry
    must satisfy the requirement. Without it the lock is taken as universal: every requirement must
    be locked, and it is enough that one of a name's entries satisfies it (uv splits a package by
    marker when different environments resolve differently, which this check cannot see through).
    The other direction (lock entries no requirement explains) needs the lock's dependency graph:
    see ``stale_packages``.
    """
    findings: list[Finding] = []
    for item in requirements:
        where, line = str(item.file), item.line
        if item.error is not None:
            if item.unresolved_vars:
                findings.append(Finding(
                    "DLK226", Level.WARNING,
                    f"{item.text!r} {item.error}; it was not compared with the lock",
                    path=where, line=line,
                ))
            else:
                findings.append(Finding("DLK228", Level.ERROR,
                                        f"cannot read requirement {item.text!r}: {item.error}",
                                        path=where, line=line))
            continue
        if item.option is not None:
            continue
        if item.requirement is None:
            if not item.is_constraint:
                findings.append(Finding(
                    "DLK229", Level.NOTE,
                    f"{'editable ' if item.editable else ''}local path requirement {item.path!r} was not "
                    "compared with the lock",
                    path=where, line=line,
                ))
            continue
        requirement = item.requirement
        if item.unresolved_vars:
            findings.append(Finding(
                "DLK226", Level.WARNING,
                f"{requirement.name} uses {_format_vars(item.unresolved_vars)}, expanded only at "
                "install time; its URL was not compared with the lock",
                path=where, line=line,
            ))
        if environment is not None and requirement.marker is not None and not _evaluate(
                requirement.marker, environment, "requirement"):
            continue
        entries = [p for p in lock.by_name(requirement.name) if _entry_applies(p, environment)]
        if item.is_constraint:
            findings.extend(_check_constraint(item, requirement, entries))
            continue
        if not entries:
            elsewhere = lock.by_name(requirement.name)
            detail = (f"; it is locked only for other environments ({', '.join(str(p.marker) for p in elsewhere)})"
                      if elsewhere else "")
            findings.append(Finding(
                "DLK220", Level.ERROR,
                f"{requirement} is required but {requirement.name} is not in {lock.path.name}{detail}",
                path=where, line=line, hint="regenerate the lock (dockerlock lock)",
            ))
            continue
        if requirement.extras and not (compiled_from and compiled_from(item)):
            # uv's lock has no dependency graph: only a lock compiled from this very line shows
            # that what the extras pull in (urllib3[socks] -> PySocks) is in it
            findings.append(Finding(
                "DLK225", Level.ERROR,
                f"{requirement.name}[{','.join(sorted(requirement.extras))}] is required, and the lock cannot "
                f"show that it holds what those extras pull in (it records no dependencies); a lock made by "
                "`dockerlock lock` from this file's current content can",
                path=where, line=line, hint="regenerate the lock (dockerlock lock)",
            ))
        findings.extend(_check_version(item, requirement, entries, universal=environment is None))
        if requirement.url and not item.unresolved_vars:
            findings.extend(_check_url(item, requirement, entries, universal=environment is None))
    return findings


def _check_version(item: RequirementLine, requirement: Requirement, entries: list[LockedPackage], *,
                   universal: bool) -> list[Finding]:
    specifier = requirement.specifier
    versioned = [p for p in entries if p.version is not None]
    if not str(specifier) or not versioned:
        return []
    inside = [p for p in versioned if specifier.contains(p.version, prereleases=True)]
    outside = [p for p in versioned if p not in inside]
    # Universal: one satisfying entry is enough (see check_drift); one environment: all must satisfy.
    bad = outside if not universal or not inside else []
    findings = [
        Finding(
            "DLK221", Level.ERROR,
            f"{requirement.name}{specifier} is required but the lock has {package.version} "
            f"({_lock_place(package)})",
            path=str(item.file), line=item.line, hint="regenerate the lock (dockerlock lock)",
        )
        for package in bad
    ]
    if not _names_prerelease(specifier):
        # pip and uv take a pre-release only when the specifier names one (or nothing else exists).
        prereleases = [p for p in inside if p.version is not None and p.version.is_prerelease]
        finals = [p for p in inside if p not in prereleases]
        for package in prereleases if not universal or not finals else []:
            findings.append(Finding(
                "DLK227", Level.WARNING,
                f"{requirement.name} {package.version} ({_lock_place(package)}) is a pre-release, but "
                f"{requirement.name}{specifier} names none",
                path=str(item.file), line=item.line,
                hint="pin the pre-release explicitly if it is intended",
            ))
    return findings


def _lock_place(package: LockedPackage) -> str:
    return f"{package.key}, line {package.line}" if package.line else package.key


def _check_url(item: RequirementLine, requirement: Requirement, entries: list[LockedPackage], *,
               universal: bool) -> list[Finding]:
    assert requirement.url is not None
    where, line = str(item.file), item.line
    problems: list[str] = []
    if _is_vcs_url(requirement.url):
        wanted_url, wanted_revision = _split_vcs(requirement.url)
        for package in entries:
            if package.source_kind != "vcs" or not package.vcs_url:
                origin = package.source_kind if package.source_kind in ("directory", "archive") else "an index"
                problems.append(f"{package.key} installs {package.describe()} from {origin}, not from git")
                continue
            locked_url, _ = _split_vcs(package.vcs_url)
            if locked_url != wanted_url:
                problems.append(f"{package.key} locks {package.vcs_url}, not {wanted_url}")
                continue
            if wanted_revision is None:
                continue
            commit = (package.vcs_commit or "").lower()
            if _COMMIT.fullmatch(wanted_revision):
                if not commit.startswith(wanted_revision.lower()):
                    problems.append(f"{package.key} locks commit {package.vcs_commit}, the requirement "
                                    f"pins {wanted_revision}")
            elif package.vcs_requested_revision not in (None, wanted_revision):
                problems.append(f"{package.key} was locked from revision {package.vcs_requested_revision!r}, "
                                f"the requirement asks for {wanted_revision!r}")
        code = "DLK222"
    else:
        wanted = _normal_url(requirement.url)
        wanted_name = _url_filename(requirement.url)
        for package in entries:
            locked = [u for u in (package.archive_url, package.sdist_url, *package.wheel_urls) if u]
            local = [p for p in (package.archive_path, package.directory_path) if p]
            if any(_normal_url(u) == wanted for u in locked):
                continue
            if requirement.url.startswith("file:") and any(
                    p.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] == (wanted_name or "") for p in local):
                continue
            source = locked[0] if locked else (local[0] if local else package.source_kind)
            problems.append(f"{package.key} locks {source}")
        code = "DLK223"
    matched = len(entries) - len(problems)
    if problems and (not universal or matched == 0):
        return [Finding(code, Level.ERROR,
                        f"{requirement.name} @ {requirement.url} is required but " + "; ".join(problems),
                        path=where, line=line, hint="regenerate the lock (dockerlock lock)")]
    return []


def _check_constraint(item: RequirementLine, requirement: Requirement,
                      entries: list[LockedPackage]) -> list[Finding]:
    # A constraint never adds a package: only entries that exist are checked.
    findings = []
    for package in entries:
        if package.version is None or not str(requirement.specifier):
            continue
        if not requirement.specifier.contains(package.version, prereleases=True):
            findings.append(Finding(
                "DLK224", Level.ERROR,
                f"constraint {requirement.name}{requirement.specifier} is violated: the lock has "
                f"{package.version} ({package.key})",
                path=str(item.file), line=item.line, hint="regenerate the lock (dockerlock lock)",
            ))
    return findings


def stale_packages(requirements: list[RequirementLine], lock: Lock) -> list[Finding] | None:
    """Lock entries that no requirement explains, or ``None`` when the lock cannot tell.

    Only decidable when every entry records ``dependencies`` (PEP 751 allows it; uv's
    ``pip compile`` output does not write it, so for uv locks this returns ``None``). Roots are the
    names in non-constraint requirement lines; local-path requirements have no name, so directory
    entries count as roots too.
    """
    if not lock.packages or any(p.dependencies is None for p in lock.packages):
        return None
    roots = {item.name for item in requirements
             if item.name is not None and not item.is_constraint and item.error is None}
    reachable: set[str] = set()
    pending = [p for p in lock.packages if p.normalized_name in roots or p.source_kind == "directory"]
    while pending:
        package = pending.pop()
        if package.normalized_name in reachable:
            continue
        reachable.add(package.normalized_name)
        for dependency in package.dependencies or ():
            if dependency not in reachable:
                pending.extend(lock.by_name(dependency))
    return [
        Finding("DLK230", Level.WARNING,
                f"{package.describe()} ({package.key}) is in the lock but no requirement needs it",
                path=str(lock.path), line=package.line,
                hint="regenerate the lock; stale entries are installed by `uv pip sync`")
        for package in lock.packages if package.normalized_name not in reachable
    ]
