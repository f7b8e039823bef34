"""The two sides of a release check: what the user named, made into a directory to import from.

A side is a published version (``0.2.3``: installed with ``pip install --target``
into a directory of its own), a source tree (``.``, ``../element-event``) or a git
ref of ``--repo`` (exported with ``git archive``). Whatever the form, the result is
a :class:`Side` whose ``root`` is the one directory its package must be imported
from, and whose label is never empty: a tree is labelled by the version it
declares (``0.2.5 (.)``), so a report says *which* releases it compared.
"""

from __future__ import annotations

import ast
import configparser
import dataclasses
import io
import re
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError, HarnessError

#: Seconds for ``git`` and ``pip`` steps.
GIT_TIMEOUT = 60.0
PIP_TIMEOUT = 600.0

VERSION, DIRECTORY, GIT = "version", "directory", "git"
_VERSION_TEXT = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+!_-]*\Z")


@dataclass(frozen=True)
class ElementRef:
    """The Element as the user named it: its spec (if any), import package and distribution."""

    name: str
    package: str
    distribution: str
    spec: Any = None


@dataclass(frozen=True)
class PipOptions:
    """Where ``pip`` looks for published versions (passed through as given)."""

    index_url: str | None = None
    find_links: tuple[str, ...] = ()

    def arguments(self) -> list[str]:
        args = ["--index-url", self.index_url] if self.index_url else []
        for location in self.find_links:
            args += ["--find-links", location]
        return args


@dataclass(frozen=True)
class Side:
    """One release, ready to be checked: import ``package`` from ``root`` and nowhere else."""

    role: str  # "from" or "to"
    text: str  # what the user typed
    kind: str  # VERSION, DIRECTORY or GIT
    root: Path
    version: str | None
    commit: str | None = None
    #: The spec's light dependencies (``with``) installed for a tree, after ``root`` on the path.
    deps: Path | None = None

    @property
    def label(self) -> str:
        """``0.2.3``, ``0.2.5 (.)``, ``1.0 (v1.0 @ 3fa9c1d2e4b5)``; never empty."""
        version = self.version or "version unknown"
        if self.kind == VERSION:
            return self.text
        if self.kind == GIT:
            return f"{version} ({self.text} @ {(self.commit or '')[:12]})"
        return f"{version} ({self.text})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "text": self.text,
            "kind": self.kind,
            "label": self.label,
            "version": self.version,
            "commit": self.commit,
            "root": str(self.root),
            "deps": str(self.deps) if self.deps else None,
        }


def resolve_element(name: str) -> ElementRef:
    """A spec name (``element-event``) or a package/distribution name (``sample_evolving``)."""
    from harness.elements.spec import find_spec, load_spec

    path = find_spec(name)
    if path is None and "_" in name:  # the package of a spec: element_event -> element-event
        path = find_spec(name.replace("_", "-"))
        if path is not None and load_spec(path).package != name:
            path = None
    if path is None:
        package = name.replace("-", "_")
        if not package.isidentifier():
            raise ConfigurationError(
                f"{name!r} is neither a known spec nor a package name",
                hint="give a spec name (`harness check --list`) or the Element's package",
            )
        return ElementRef(name=name, package=package, distribution=name)
    spec = load_spec(path)
    distribution = spec.name
    if spec.install is not None and spec.install_requirement_path is None:
        requirement = spec.install.requirement.strip()
        if "://" not in requirement:
            distribution = re.split(r"[\s\[=<>!~;@]", requirement, maxsplit=1)[0]
    return ElementRef(name=spec.name, package=spec.package, distribution=distribution, spec=spec)


def _run(command: Sequence[str], timeout: float, what: str, hint: str | None = None) -> bytes:
    try:
        done = subprocess.run(list(command), capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{what} took more than {timeout:g} s") from None
    except FileNotFoundError:
        raise ConfigurationError(f"{what}: {command[0]} is not installed") from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-6:]
        raise ConfigurationError(f"{what} failed:\n" + "\n".join(tail), hint=hint)
    return done.stdout


# ------------------------------------------------------------------ versions in a tree


def _assigned_version(path: Path) -> str | None:
    """``__version__ = "1.2"`` at module level of ``path``, read without importing it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            names = [target.id for target in node.targets if isinstance(target, ast.Name)]
            if "__version__" in names and isinstance(node.value.value, str):
                return node.value.value
    return None


def _pyproject_version(directory: Path) -> str | None:
    path = directory / "pyproject.toml"
    if not path.is_file():
        return None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    version = project.get("version") if isinstance(project, dict) else None
    return version if isinstance(version, str) else None


def _setup_version(directory: Path) -> str | None:
    config = directory / "setup.cfg"
    if config.is_file():
        parser = configparser.ConfigParser()
        try:
            parser.read(config, encoding="utf-8")
            value = parser.get("metadata", "version", fallback=None)
        except (configparser.Error, UnicodeDecodeError):
            value = None
        if value and not value.startswith(("attr:", "file:")):
            return value.strip()
    setup = directory / "setup.py"
    if setup.is_file():
        text = setup.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"\bversion\s*=\s*['\"]([^'\"]+)['\"]", text)
        if match:
            return match.group(1)
    return None


def tree_version(directory: Path, root: Path, package: str) -> str | None:
    """The version a source tree declares, read as packaging tools would, never imported.

    ``[project] version`` of ``pyproject.toml``, then ``__version__`` in the
    package's ``version.py`` or ``__init__.py`` (Elements keep it there and have
    ``setup.py`` read it), then a literal ``version=`` of ``setup.cfg``/``setup.py``.
    """
    return (
        _pyproject_version(directory)
        or _assigned_version(root / package / "version.py")
        or _assigned_version(root / package / "__init__.py")
        or _setup_version(directory)
    )


def package_root(directory: Path, package: str) -> Path:
    """The directory to put on ``sys.path`` so ``package`` of ``directory`` imports."""
    directory = directory.resolve()
    if directory.name == package and (directory / "__init__.py").is_file():
        return directory.parent
    for root in (directory, directory / "src"):
        if (root / package / "__init__.py").is_file():
            return root
    raise ConfigurationError(
        f"{directory} holds no package {package} (looked for {package}/__init__.py and "
        f"src/{package}/__init__.py)",
        hint="give the root of the Element's source tree",
    )


# ------------------------------------------------------------------ the three forms


def _pip_target(where: Path, requirements: list[str], no_deps: bool, pip: PipOptions) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(where), *(["--no-deps"] if no_deps else []), *pip.arguments()]
    _run(
        [*command, *requirements],
        PIP_TIMEOUT,
        f"pip install {' '.join(requirements)}",
        hint="check that the version is published (`pip index versions NAME`), or say where "
        "it is with --index-url / --find-links",
    )


def _light_dependencies(side: Side, element: ElementRef, scratch: Path, pip: PipOptions) -> Side:
    """A tree gets the spec's ``with`` packages a version would get, when they are missing."""
    from harness.install import missing_parts

    spec = element.spec
    if spec is None or spec.install is None:
        return side
    missing = [req for req in missing_parts(spec) if req in spec.install.with_]
    if not missing:
        return side
    where = scratch / f"deps-{side.role}"
    _pip_target(where, missing, spec.install.no_deps, pip)
    return dataclasses.replace(side, deps=where)


def _from_directory(role: str, text: str, directory: Path, package: str) -> Side:
    directory = directory.resolve()
    root = package_root(directory, package)
    base = directory.parent if directory == root / package else directory
    return Side(role, text, DIRECTORY, root, tree_version(base, root, package))


def _from_git(role: str, text: str, repo: Path, scratch: Path, package: str) -> Side:
    resolved = _run(
        ["git", "-C", str(repo), "rev-parse", "--verify", f"{text}^{{commit}}"],
        GIT_TIMEOUT,
        f"resolving {text} in {repo}",
        hint="give a branch, tag or commit of --repo (`git -C REPO tag` lists the tags)",
    )
    commit = resolved.decode().strip()
    archive = _run(["git", "-C", str(repo), "archive", commit], GIT_TIMEOUT, f"git archive {text}")
    tree = scratch / f"git-{role}-{commit[:12]}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tree, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            tar.extractall(tree)
    root = package_root(tree, package)
    return Side(role, text, GIT, root, tree_version(tree, root, package), commit)


def _from_version(
    role: str, text: str, element: ElementRef, scratch: Path, pip: PipOptions
) -> Side:
    """``pip install --target`` of ``<distribution>==<version>`` and the spec's light deps."""
    spec = element.spec
    extras = list(spec.install.with_) if spec is not None and spec.install is not None else []
    no_deps = spec.install.no_deps if spec is not None and spec.install is not None else True
    where = scratch / f"pip-{role}-{text}"
    requirement = f"{element.distribution}=={text}"
    _pip_target(where, [requirement, *extras], no_deps, pip)
    if not (where / element.package / "__init__.py").is_file():
        raise ConfigurationError(
            f"pip installed {requirement}, but it holds no package {element.package}",
            hint="check that the distribution name and the import package belong together",
        )
    return Side(role, text, VERSION, where, text)


def prepare_side(
    role: str,
    text: str,
    element: ElementRef,
    *,
    repo: Path | None,
    scratch: Path,
    pip: PipOptions,
) -> Side:
    """Decide what ``text`` is (git ref, directory or version) and make it importable."""
    if repo is not None:
        side = _from_git(role, text, repo, scratch, element.package)
        return _light_dependencies(side, element, scratch, pip)
    if Path(text).is_dir():
        side = _from_directory(role, text, Path(text), element.package)
        return _light_dependencies(side, element, scratch, pip)
    if not _VERSION_TEXT.match(text):
        raise ConfigurationError(
            f"{text!r} is neither a directory nor a version",
            hint="give a version (1.2.0), a source directory, or a git ref with --repo",
        )
    return _from_version(role, text, element, scratch, pip)
