"""Build the local database images from Debian packages.

Why this exists: no container registry is reachable on the project's machines,
but Debian's archive is.  A recipe (see :mod:`harness.images.catalog`) is
turned into an image in two stages:

1. *rootfs*: ``debootstrap --variant=minbase --include=<packages>`` into a
   scratch directory, trimmed (docs, locales, apt caches, the data directory
   the package's postinst created), then ``tar | docker import`` as
   ``element-harness/rootfs:<recipe>-<hash>``.  This is the slow, network
   bound stage (about a minute), so it is keyed on its own inputs only (suite,
   packages, prune lists) and reused when just the recipe's scripts change.
   Downloaded ``.deb`` files are kept in a per-suite cache so that a rebuild
   downloads nothing new.
2. *image*: ``docker build`` of the recipe directory (plus shared dirs such as
   ``common/``) ``FROM`` that rootfs.  Its ``RUN`` step initialises the seed
   data directory, so containers start in about a second.

The final image carries ``element-harness.*`` labels; ``element-harness.recipe``
is a hash of everything the image is made from, which is how
:mod:`harness.images.ensure` knows an image is up to date.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from harness.images.catalog import COMMON_PRUNE, Recipe

#: Bump when the way a rootfs or image is produced changes in a way that the
#: hashed inputs do not show (e.g. a new pruning rule in this module).
ROOTFS_FORMAT = "2"
RECIPE_FORMAT = "1"

LABEL_BACKEND = "element-harness.backend"
LABEL_SERVER_VERSION = "element-harness.server-version"
LABEL_RECIPE = "element-harness.recipe"
LABEL_RECIPE_NAME = "element-harness.recipe-name"
LABEL_OFFICIAL = "element-harness.stands-in-for"
LABEL_ROOTFS = "element-harness.rootfs"

ROOTFS_REPOSITORY = "element-harness/rootfs"

DEBIAN_MIRROR = os.environ.get("HARNESS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
#: Persistent cache of downloaded .deb files, one subdirectory per suite.
CACHE_DIR = Path(
    os.environ.get("HARNESS_DEBOOTSTRAP_CACHE", "/var/cache/element-harness/debootstrap")
)
#: Scratch space for rootfs trees (about 1 GB each while building) and logs.
WORK_DIR = Path(os.environ.get("HARNESS_IMAGES_WORKDIR", "/var/tmp/element-harness"))

# Timeouts (seconds): generous, but a hung step must not hang CI for 90 min.
DEBOOTSTRAP_TIMEOUT = 1500
IMPORT_TIMEOUT = 600
DOCKER_BUILD_TIMEOUT = 1200
VERSION_TIMEOUT = 60

#: Files in a recipe directory that are not part of the recipe.
_IGNORED = re.compile(r"(^|/)(__pycache__|\.git)(/|$)|\.pyc$|~$|\.swp$|^\.#|/\.#")

Progress = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """A build step failed; names the image, the step and its last output lines."""

    def __init__(
        self, image: str, step: str, message: str, tail: Iterable[str] = (), log: Path | None = None
    ) -> None:
        self.image = image
        self.step = step
        self.tail = list(tail)
        self.log = log
        text = f"building {image}: {step} failed: {message}"
        if self.tail:
            text += "\n  last output:\n" + "\n".join("    " + line for line in self.tail)
        if log is not None:
            text += f"\n  full log: {log}"
        super().__init__(text)


@dataclass(frozen=True)
class BuildResult:
    """What one build produced and how long its steps took."""

    recipe: str
    tag: str
    image_id: str
    server_version: str
    recipe_hash: str
    size_bytes: int
    seconds: float
    rootfs_reused: bool
    step_seconds: dict[str, float] = field(default_factory=dict)
    #: Nothing was built: an image with the same recipe hash was already tagged.
    up_to_date: bool = False


# --------------------------------------------------------------------------- hashing


def recipe_files(recipe: Recipe) -> list[tuple[str, Path]]:
    """The files of a recipe as (name in the build context, path), sorted.

    Shared directories appear under their own name (``common/...``), exactly
    as they are laid out in the build context.
    """
    found: list[tuple[str, Path]] = []
    roots = [(Path("."), recipe.recipe_dir)] + [(Path(d.name), d) for d in recipe.shared_dirs]
    for prefix, root in roots:
        if not root.is_dir():
            raise FileNotFoundError(f"recipe directory {root} of {recipe.name} does not exist")
        for path in root.rglob("*"):
            rel = (prefix / path.relative_to(root)).as_posix()
            if path.is_file() and not _IGNORED.search(rel):
                found.append((rel, path))
    return sorted(found)


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        # Length-prefixed, so that no two different inputs concatenate alike.
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def rootfs_hash(recipe: Recipe) -> str:
    """Hash of the inputs of the rootfs stage (not the recipe's scripts)."""
    parts = [ROOTFS_FORMAT, recipe.suite, "minbase", *recipe.packages, "--prune--"]
    parts += [*COMMON_PRUNE, *recipe.prune]
    return _digest(p.encode() for p in parts)


def recipe_hash(recipe: Recipe) -> str:
    """Hash of everything an image is made from: rootfs inputs and recipe files.

    File modes count too: an entrypoint that lost its executable bit makes a
    different (broken) image.
    """

    def parts() -> Iterator[bytes]:
        yield RECIPE_FORMAT.encode()
        yield recipe.name.encode()
        yield rootfs_hash(recipe).encode()
        for rel, path in recipe_files(recipe):
            yield rel.encode()
            yield b"x" if os.access(path, os.X_OK) else b"-"
            yield path.read_bytes()

    return _digest(parts())


def rootfs_tag(recipe: Recipe) -> str:
    """Tag of the imported rootfs of a recipe."""
    return f"{ROOTFS_REPOSITORY}:{recipe.name}-{rootfs_hash(recipe)[:12]}"


# --------------------------------------------------------------------------- steps


class _Step:
    """Runs the subprocesses of one build, logging to a file and keeping a tail.

    The tail goes into :class:`ImageBuildError`, so a failure reads as "which
    image, which step, what it said" without opening the log.
    """

    def __init__(self, recipe: Recipe, log_path: Path, progress: Progress) -> None:
        self.recipe = recipe
        self.log_path = log_path
        self.progress = progress
        self.tail: deque[str] = deque(maxlen=25)
        self.times: dict[str, float] = {}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[str] = log_path.open("w", encoding="utf-8", errors="replace")

    def close(self) -> None:
        self._log.close()

    def write(self, line: str) -> None:
        line = line.rstrip("\n")
        self._log.write(line + "\n")
        self._log.flush()
        if line.strip():
            self.tail.append(line)

    def fail(self, step: str, message: str) -> ImageBuildError:
        return ImageBuildError(self.recipe.name, step, message, self.tail, self.log_path)

    @contextlib.contextmanager
    def timed(self, step: str) -> Iterator[None]:
        self.progress(f"[{self.recipe.name}] {step} ...")
        self.write(f"===== {step}")
        self.tail.clear()
        start = time.monotonic()
        yield
        self.times[step] = round(time.monotonic() - start, 1)
        self.progress(f"[{self.recipe.name}] {step}: done in {self.times[step]:.1f} s")

    def run(
        self,
        step: str,
        argv: list[str],
        timeout: float,
        stdin: IO[bytes] | int | None = subprocess.DEVNULL,
    ) -> str:
        """Run a command to completion; its output goes to the log. Returns stdout+stderr."""
        self.write("$ " + " ".join(argv))
        try:
            proc = subprocess.Popen(
                argv,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so that a timeout kills its children too
            )
        except OSError as exc:
            raise self.fail(step, f"cannot run {argv[0]}: {exc}") from exc
        output: list[str] = []
        reader = threading.Thread(target=self._pump, args=(proc, output), daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            reader.join(5)
            raise self.fail(step, f"timed out after {timeout:.0f} s") from None
        reader.join(30)
        if proc.returncode != 0:
            raise self.fail(step, f"{argv[0]} exited with status {proc.returncode}")
        return "".join(output)

    def _pump(self, proc: subprocess.Popen[bytes], output: list[str]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            output.append(line)
            self.write(line)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def _mounts_under(root: Path) -> list[str]:
    """Mount points at or below root (debootstrap mounts /proc, /sys, maybe /dev)."""
    prefix = str(root.resolve())
    points: list[str] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return points


def remove_tree(root: Path) -> None:
    """Delete a scratch rootfs, never through a mount left by a failed debootstrap.

    A bind mount of the host's /dev under the rootfs would otherwise be emptied.
    """
    if not root.exists():
        return
    for point in sorted(_mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, timeout=60)
    left = _mounts_under(root)
    if left:
        raise RuntimeError(f"not deleting {root}: still mounted: {', '.join(left)}")
    shutil.rmtree(root)


def prune_rootfs(root: Path, patterns: Iterable[str]) -> None:
    """Remove paths (globs relative to root) from a rootfs, without following symlinks."""
    for pattern in patterns:
        for path in root.glob(pattern):
            if path.is_symlink() or not path.is_dir():
                path.unlink(missing_ok=True)
            else:
                shutil.rmtree(path)


def parse_server_version(text: str) -> str | None:
    """The version in a server's ``--version`` output, as ``SELECT VERSION()`` reports it.

    ``mysqld  Ver 9.7.4-2 for Linux`` gives ``9.7.4-2``; ``mariadbd  Ver
    11.8.9-MariaDB-0+deb13u1 from Debian for debian-linux-gnu`` gives
    ``11.8.9-MariaDB-0+deb13u1 from Debian``; ``postgres (PostgreSQL) 15.14
    (Debian ...)`` gives ``15.14`` (``SHOW server_version`` adds the Debian part).
    """
    match = (
        re.search(r"\bVer\s+(.+?)\s+for\s", text)
        or re.search(r"\bVer\s+(\S+)", text)
        or re.search(r"\(PostgreSQL\)\s+(\S+)", text)
    )
    return match.group(1) if match else None


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except FileExistsError:
        pass
    except OSError:
        shutil.copy2(src, dst)


# --------------------------------------------------------------------------- build


class ImageBuilder:
    """Builds one recipe.  Separate instances may run in parallel threads.

    Each build debootstraps with a private cache directory filled with hard
    links from the shared per-suite cache (and links new downloads back
    afterwards), so that two builds of the same suite never write the same
    file at the same time.
    """

    def __init__(
        self,
        recipe: Recipe,
        *,
        force: bool = False,
        progress: Progress | None = None,
        cache_dir: Path = CACHE_DIR,
        work_dir: Path = WORK_DIR,
        mirror: str = DEBIAN_MIRROR,
    ) -> None:
        self.recipe = recipe
        self.force = force
        self.progress: Progress = progress or _stderr_progress
        self.cache_dir = cache_dir
        self.work_dir = work_dir
        self.mirror = mirror

    def build(self) -> BuildResult:
        """Build the image unless up to date (or forced); raises :class:`ImageBuildError`.

        ``force`` rebuilds everything, the rootfs included (downloaded .debs
        are still taken from the cache when their checksums match).
        """
        import docker  # imported late: the catalog and hashing work without the SDK

        recipe = self.recipe
        start = time.monotonic()
        step = _Step(recipe, self.work_dir / "logs" / f"{recipe.name}.log", self.progress)
        try:
            try:
                client = docker.from_env(timeout=DOCKER_BUILD_TIMEOUT)
                client.ping()
            except docker.errors.DockerException as exc:
                raise step.fail(
                    "connect to docker", f"{exc} (is the engine running? see scripts/ensure-docker)"
                ) from exc
            expected = recipe_hash(recipe)
            current = None if self.force else _get_image(client, recipe.tag)
            if current is not None and (current.labels or {}).get(LABEL_RECIPE) == expected:
                self.progress(f"[{recipe.name}] up to date ({recipe.tag})")
                return BuildResult(
                    recipe=recipe.name,
                    tag=recipe.tag,
                    image_id=current.id,
                    server_version=(current.labels or {}).get(LABEL_SERVER_VERSION, ""),
                    recipe_hash=expected,
                    size_bytes=int(current.attrs.get("Size", 0)),
                    seconds=round(time.monotonic() - start, 1),
                    rootfs_reused=True,
                    up_to_date=True,
                )
            base = rootfs_tag(recipe)
            base_image = None if self.force else _get_image(client, base)
            if base_image is None:
                self._make_rootfs(step, base)
                base_image = client.images.get(base)
            version = (base_image.labels or {}).get(LABEL_SERVER_VERSION, "")
            old_id = getattr(_get_image(client, recipe.tag), "id", None)
            labels = {
                LABEL_BACKEND: recipe.backend,
                LABEL_SERVER_VERSION: version,
                LABEL_RECIPE: expected,
                LABEL_RECIPE_NAME: recipe.name,
                LABEL_OFFICIAL: recipe.official_image,
                LABEL_ROOTFS: base,
            }
            with step.timed("docker build"):
                image_id = self._docker_build(step, client, base, labels)
            image = client.images.get(recipe.tag)
            self._remove_stale(client, old_id, image_id, base)
            return BuildResult(
                recipe=recipe.name,
                tag=recipe.tag,
                image_id=image_id,
                server_version=version,
                recipe_hash=labels[LABEL_RECIPE],
                size_bytes=int(image.attrs.get("Size", 0)),
                seconds=round(time.monotonic() - start, 1),
                rootfs_reused="debootstrap" not in step.times,
                step_seconds=dict(step.times),
            )
        finally:
            step.close()

    # -- stage 1: rootfs

    def _make_rootfs(self, step: _Step, base_tag: str) -> None:
        recipe = self.recipe
        if os.geteuid() != 0:
            raise step.fail("debootstrap", "must run as root (debootstrap, chroot)")
        if shutil.which("debootstrap") is None:
            raise step.fail(
                "debootstrap", "debootstrap is not installed (apt-get install -y debootstrap)"
            )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"{recipe.name}-", dir=self.work_dir))
        root = scratch / "rootfs"
        debs = scratch / "debs"
        shared = self.cache_dir / recipe.suite
        try:
            debs.mkdir()
            shared.mkdir(parents=True, exist_ok=True)
            for deb in shared.glob("*.deb"):
                _link_or_copy(deb, debs / deb.name)
            with step.timed("debootstrap"):
                step.run(
                    "debootstrap",
                    [
                        "debootstrap",
                        "--variant=minbase",
                        "--include=" + ",".join(recipe.packages),
                        f"--cache-dir={debs}",
                        recipe.suite,
                        str(root),
                        self.mirror,
                    ],
                    DEBOOTSTRAP_TIMEOUT,
                )
            for deb in debs.glob("*.deb"):
                _link_or_copy(deb, shared / deb.name)
            version = self._server_version(step, root)
            with step.timed("trim rootfs"):
                prune_rootfs(root, (*COMMON_PRUNE, *recipe.prune))
            with step.timed("docker import"):
                self._import(step, root, base_tag, version)
        finally:
            remove_tree(scratch)

    def _server_version(self, step: _Step, root: Path) -> str:
        """Exact server version, from the installed server binary itself."""
        recipe = self.recipe
        out = step.run(
            "server version",
            ["chroot", str(root), recipe.server_binary, "--version"],
            VERSION_TIMEOUT,
        )
        version = parse_server_version(out)
        if not version:
            raise step.fail("server version", f"cannot parse {recipe.server_binary} --version")
        step.write(f"server version: {version}")
        return version

    def _import(self, step: _Step, root: Path, base_tag: str, version: str) -> None:
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(root), "-cf", "-", "."],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            assert tar.stdout is not None
            step.run(
                "docker import",
                [
                    "docker",
                    "import",
                    "--change",
                    f'LABEL {LABEL_SERVER_VERSION}="{version}"',
                    "--change",
                    f'LABEL {LABEL_ROOTFS}="{self.recipe.suite}:{",".join(self.recipe.packages)}"',
                    "-",
                    base_tag,
                ],
                IMPORT_TIMEOUT,
                stdin=tar.stdout,
            )
            tar.stdout.close()
            if tar.wait(60) != 0:
                raise step.fail("docker import", f"tar exited with status {tar.returncode}")
        finally:
            if tar.poll() is None:
                _kill_group(tar)

    # -- stage 2: docker build

    def _docker_build(self, step: _Step, client: Any, base_tag: str, labels: dict[str, str]) -> str:
        recipe = self.recipe
        deadline = time.monotonic() + DOCKER_BUILD_TIMEOUT
        with tempfile.TemporaryDirectory(prefix=f"ctx-{recipe.name}-") as ctx:
            for rel, path in recipe_files(recipe):
                dst = Path(ctx) / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dst)
            if recipe_hash(recipe) != labels[LABEL_RECIPE]:
                # The label must describe what was copied into the context.
                raise step.fail("docker build", "recipe files changed during the build; run again")
            image_id = ""
            try:
                stream = client.api.build(
                    path=ctx,
                    tag=recipe.tag,
                    buildargs={"BASE": base_tag},
                    labels=labels,
                    rm=True,
                    forcerm=True,
                    pull=False,
                    decode=True,
                )
                for chunk in stream:
                    if "stream" in chunk:
                        for line in str(chunk["stream"]).splitlines():
                            step.write(line)
                    if "error" in chunk:
                        raise step.fail("docker build", str(chunk["error"]).strip())
                    aux = chunk.get("aux")
                    if isinstance(aux, dict) and "ID" in aux:
                        image_id = str(aux["ID"])
                    if time.monotonic() > deadline:
                        raise step.fail("docker build", f"timed out after {DOCKER_BUILD_TIMEOUT} s")
            except ImageBuildError:
                raise
            except Exception as exc:  # docker SDK / HTTP errors
                raise step.fail("docker build", f"{type(exc).__name__}: {exc}") from exc
        if not image_id:
            raise step.fail("docker build", "the engine reported no image id")
        return image_id

    def _remove_stale(self, client: Any, old_id: str | None, new_id: str, base: str) -> None:
        """Drop the image this build replaced and older rootfs tags of the recipe.

        Each is a few hundred MB; a failure (e.g. a container still uses it) is
        not an error of the build.
        """
        import docker

        stale: list[str] = []
        if old_id and old_id != new_id:
            stale.append(old_id)
        prefix = f"{ROOTFS_REPOSITORY}:{self.recipe.name}-"
        for image in client.images.list(name=ROOTFS_REPOSITORY):
            stale += [t for t in image.tags if t.startswith(prefix) and t != base]
        for ref in stale:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(ref)


def _get_image(client: Any, ref: str) -> Any:
    import docker

    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


def _stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_image(
    recipe: Recipe, *, force: bool = False, progress: Progress | None = None
) -> BuildResult:
    """Build one recipe (see :class:`ImageBuilder`)."""
    return ImageBuilder(recipe, force=force, progress=progress).build()


def build_images(
    recipes: Iterable[Recipe],
    *,
    jobs: int = 2,
    force: bool = False,
    progress: Progress | None = None,
) -> list[BuildResult | ImageBuildError]:
    """Build several recipes, ``jobs`` at a time, in the given order.

    debootstrap is mostly network bound, so two builds in parallel nearly
    halve the wall time on a 2-core machine.  Failures are returned in place
    of results (not raised) so that one broken recipe does not hide the others.
    """

    def one(recipe: Recipe) -> BuildResult | ImageBuildError:
        try:
            return build_image(recipe, force=force, progress=progress)
        except ImageBuildError as exc:
            return exc
        except Exception as exc:  # keep the other builds going; report which one broke
            return ImageBuildError(recipe.name, "build", f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, list(recipes)))
