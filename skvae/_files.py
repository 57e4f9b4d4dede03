"""One path for everything skvae writes: model files, CSV files, pictures.

Rules, the same for every output:

* An output that is the same file as an input, or as another output, is
  refused before any work is done (:func:`check_distinct`).
* A regular file is written whole to a temporary file in its directory,
  flushed and synced, then renamed over the old one (:func:`write_file`):
  a reader never sees half a file, and a failed write (no space left, a
  file-size limit, no permission) leaves the previous file byte-identical.
  A symbolic link is followed: its target is replaced and the link kept.
  An existing file keeps its permission bits; a new one gets those of the
  umask, as ``open`` would give it.
* A target that is not a regular file (the null device, a named pipe) is
  written in place, never replaced.
* A write error is an :class:`OutputError` (an ``OSError``) whose one-line
  message names the file, the cause and that the previous file is intact.
"""

import contextlib
import errno
import os
import stat
import tempfile
import threading

_UMASK_LOCK = threading.Lock()


class OutputError(OSError):
    """A file skvae was writing could not be written; the previous one is intact."""


def _umask():
    """The process's umask (read by setting it and setting it back, under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def normal_path(path):
    """``path`` as a file name: ``~`` expanded, a ``file://`` address read as its path.

    pandas reads both spellings, so the same-file check must see through them.
    """
    path = os.fspath(path)
    if isinstance(path, str) and path.startswith("file:"):
        from urllib.parse import unquote, urlparse

        path = unquote(urlparse(path).path)
    return os.path.expanduser(path)


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name one file (after links; existing or not)."""
    a, b = normal_path(a), normal_path(b)
    with contextlib.suppress(OSError):
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_distinct(inputs, outputs):
    """Refuse an output that is an input or another output, before any work.

    ``inputs`` and ``outputs`` map what the user calls each file (an option
    name) to its path, or to None when not given. Raises ValueError.
    """
    # "-" is standard output for an output; an input "-" is the file of that name
    outputs = [(name, path) for name, path in outputs.items() if path not in (None, "-")]
    inputs = [(name, path) for name, path in inputs.items() if path is not None]
    for i, (name, path) in enumerate(outputs):
        for other, source in inputs:
            if same_file(path, source):
                raise ValueError(
                    f"{name} {path} is the same file as {other} {source}: writing it "
                    "would destroy the input. Choose another output name."
                )
        for other, earlier in outputs[:i]:
            if same_file(path, earlier):
                raise ValueError(
                    f"{name} and {other} both name {path}: one would overwrite the "
                    "other. Give them different names."
                )


def write_file(path, write, *, binary=True):
    """Write a file through ``write(fileobj)`` by the rules of this module.

    Returns the path written (a link's target for a link). Raises
    :class:`OutputError` when the file cannot be written; the previous file,
    if any, is then unchanged.
    """
    path = os.fspath(path)
    target = os.path.realpath(path)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise _error(path, exc, None) from None
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise _error(path, IsADirectoryError(errno.EISDIR, "is a directory"), old)
    mode = "wb" if binary else "w"
    if old is not None and not stat.S_ISREG(old.st_mode):
        # a device or a named pipe: written in place, never replaced
        try:
            with open(target, mode, **({} if binary else {"newline": ""})) as handle:
                write(handle)
        except OSError as exc:
            raise _error(path, exc, None) from None
        return target
    directory = os.path.dirname(target) or "."
    try:
        # a short name of its own: the target's name may be as long as names go
        fd, temporary = tempfile.mkstemp(prefix=".skvae-", suffix=".partial", dir=directory)
    except OSError as exc:
        raise _error(path, exc, old) from None
    try:
        with os.fdopen(fd, mode, **({} if binary else {"newline": ""})) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        permissions = stat.S_IMODE(old.st_mode) if old is not None else 0o666 & ~_umask()
        os.chmod(temporary, permissions)
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise _error(path, exc, old) from None
        raise
    return target


def _error(path, exc, old):
    cause = exc.strerror or str(exc) or type(exc).__name__
    kept = "the previous file is unchanged" if old is not None else "nothing was written"
    return OutputError(exc.errno, f"could not write {path}: {cause}; {kept}")
