"""Reading and writing files: one bounded reader, one transactional writer.

Reading: only regular files (a device, FIFO or socket could be endless or block forever), at
most ``max_bytes``, checked both before and while reading; every failure is an InputError that
names the file and the problem.

Writing: a command declares all its output files first (:meth:`Outputs.add` checks each: not a
directory, the folder exists and is writable, no two outputs share a path, never over an
existing file without ``--force``), then writes each one to a temporary file beside its target
(:meth:`Outputs.write`), and :meth:`Outputs.commit` moves them all into place at the end. Any
error before the commit, an interrupt, SIGTERM or SIGHUP included, removes the temporary files
and leaves every existing file as it was: all outputs or none.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from scalecli.errors import InputError

# Temporary files of the outputs being written, removed on any exit before they are committed.
_PENDING: set[str] = set()


def describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return exc.strerror or str(exc)


# ----- reading ---------------------------------------------------------------------------------------
def read_bytes(path: str | os.PathLike, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, or an InputError naming the problem."""
    p = Path(path)
    try:
        info = os.stat(p)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{what} {str(p)!r} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"{what} {str(p)!r} is not a regular file (a device, pipe or socket); give the path of a file"
            )
        if info.st_size > max_bytes:
            raise InputError(f"{what} {str(p)!r} is {info.st_size:,} bytes; the limit is {max_bytes:,}")
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{what} {str(p)!r} does not exist") from None
    except PermissionError:
        raise InputError(f"{what} {str(p)!r} is not readable (permission denied)") from None
    except OSError as exc:
        raise InputError(f"{what} {str(p)!r} cannot be read: {describe_os_error(exc)}") from None
    if len(data) > max_bytes:
        raise InputError(f"{what} {str(p)!r} is larger than the limit of {max_bytes:,} bytes")
    return data


def decode_text(data: bytes, path: str | os.PathLike, what: str) -> str:
    """UTF-8 text of a file's bytes; binary or non-UTF-8 content is an InputError."""
    if b"\x00" in data:
        raise InputError(f"{what} {str(path)!r} is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} {str(path)!r} is not UTF-8 text") from None


def read_text(path: str | os.PathLike, what: str, max_bytes: int) -> str:
    """A UTF-8 text file of at most ``max_bytes`` (see :func:`read_bytes`)."""
    return decode_text(read_bytes(path, what, max_bytes), path, what)


# ----- writing ---------------------------------------------------------------------------------------
def check_writable(path: str | os.PathLike, force: bool, flag: str = "--out") -> Path:
    """Refuse a directory, a missing or unwritable folder, an over-long name, or an existing file
    (unless force)."""
    text = os.fspath(path)
    p = Path(text)
    if not text or text.endswith(("/", os.sep)):
        raise InputError(f"{flag} {text!r} names a folder; give a file name (e.g. {text}out.yaml)")
    try:
        if p.is_dir():
            raise InputError(f"{flag} {text!r} is a directory; give a file name")
        exists = p.exists() or p.is_symlink()
        parent = p.parent if str(p.parent) else Path(".")
        parent_is_dir = parent.is_dir()
    except OSError as exc:
        raise InputError(f"{flag} {text!r}: {describe_os_error(exc)}") from None
    if len(p.name.encode("utf-8", "surrogateescape")) > 255:
        raise InputError(f"{flag} {text[:40]!r}...: the file name is too long (255 bytes at most)")
    if exists and not force:
        raise InputError(f"{flag} {text!r} already exists; pass --force to overwrite it")
    if not parent_is_dir:
        raise InputError(f"{flag} {text!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {text!r}: folder {str(parent)!r} is not writable (permission denied)")
    return p


class Outputs:
    """The files one command writes, committed together at the end or not at all.

    outputs = Outputs(force)
    outputs.add(out, "--out")                 # checked up front, before any work
    ...
    with outputs:                             # on any exception: temporaries removed
        outputs.write(out, lambda tmp: ...)   # each written beside its target
        print(...)                            # stdout inside: a failed write aborts all
    # leaving the block without an error commits every file
    """

    def __init__(self, force: bool = False) -> None:
        self.force = force
        self._targets: dict[str, tuple[Path, str]] = {}
        self._written: dict[str, str] = {}  # target -> temporary file

    def add(self, path: str | os.PathLike | None, flag: str) -> Path | None:
        if path is None:
            return None
        target = check_writable(path, self.force, flag)
        key = os.path.realpath(target)
        if key in self._targets:
            other = self._targets[key][1]
            raise InputError(f"{flag} and {other} name the same file {os.fspath(path)!r}; give two names")
        self._targets[key] = (target, flag)
        return target

    def write(self, path: str | os.PathLike, produce: Callable[[str], None]) -> None:
        """Call ``produce(tmp_path)`` to write the file's content beside ``path``."""
        key = os.path.realpath(path)
        target, flag = self._targets[key]
        parent = target.parent if str(target.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:200]}.", suffix=".tmp", dir=parent)
        except OSError as exc:
            raise InputError(f"{flag} {str(target)!r}: {describe_os_error(exc)}") from None
        os.close(fd)
        _PENDING.add(tmp)
        self._written[key] = tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the user's usual mode
        try:
            produce(tmp)
        except OSError as exc:
            raise InputError(f"{flag} {str(target)!r}: {describe_os_error(exc)}") from None

    def write_text(self, path: str | os.PathLike, text: str) -> None:
        def produce(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)

        self.write(path, produce)

    def commit(self) -> None:
        """Move every written file into place; never over a file that appeared meanwhile."""
        for key, tmp in list(self._written.items()):
            target, flag = self._targets[key]
            try:
                if self.force:
                    os.replace(tmp, target)
                else:
                    try:
                        os.link(tmp, target)  # atomic: fails if the target exists
                    except FileExistsError:
                        raise InputError(
                            f"{flag} {str(target)!r} already exists; pass --force to overwrite it"
                        ) from None
                    except OSError:  # no hard links here: check, then rename
                        if target.exists():
                            raise InputError(
                                f"{flag} {str(target)!r} already exists; pass --force to overwrite it"
                            ) from None
                        os.replace(tmp, target)
            except OSError as exc:
                raise InputError(f"{flag} {str(target)!r}: {describe_os_error(exc)}") from None
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                _PENDING.discard(tmp)
            del self._written[key]

    def abort(self) -> None:
        for tmp in self._written.values():
            remove_quietly(tmp)
        self._written.clear()

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
    _PENDING.discard(path)


def remove_pending() -> None:
    """Remove every uncommitted temporary file (called on signals and at exit)."""
    for tmp in list(_PENDING):
        remove_quietly(tmp)


def shipped_dir():
    """The presets/ folder (shipped presets and hardware.yaml), installed as the package
    ``scalecli._presets``. In a source checkout without an install, ``presets/`` beside ``scalecli/``."""
    from importlib import resources

    try:
        return resources.files("scalecli._presets")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "presets"


def shipped_text(filename: str) -> str:
    """A data file shipped in presets/ (a preset, hardware.yaml, the preset index)."""
    return (shipped_dir() / filename).read_text(encoding="utf-8")
