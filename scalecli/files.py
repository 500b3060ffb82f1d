"""Writing files safely: never over an existing file without force, and atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from scalecli.errors import InputError


def check_writable(path: str | os.PathLike, force: bool, flag: str = "--out") -> Path:
    """Refuse an existing file (unless force), a directory, or a missing parent folder."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{flag} {str(p)!r} is a directory; give a file name")
    if p.exists() and not force:
        raise InputError(f"{flag} {str(p)!r} already exists; pass --force to overwrite it")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{flag} {str(p)!r}: folder {str(parent)!r} does not exist")
    return p


def write_atomic(
    path: str | os.PathLike, write: Callable[[str], None], force: bool = False, flag: str = "--out"
) -> Path:
    """Call ``write(tmp_path)`` to produce the file beside ``path``, then rename it into place.

    Readers never see a half-written file, and an error leaves the old file (if any) untouched.
    """
    target = check_writable(path, force, flag)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the user's usual mode
    try:
        write(tmp)
        if target.exists() and not force:  # appeared while we were writing
            raise InputError(f"{flag} {str(target)!r} already exists; pass --force to overwrite it")
        os.replace(tmp, target)
    except PermissionError:
        raise InputError(f"{flag} {str(target)!r}: permission denied") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def write_text_atomic(path: str | os.PathLike, text: str, force: bool = False, flag: str = "--out") -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    return write_atomic(path, write, force, flag)
