"""Upload checks and private storage.

Files are judged by their content, not their name: the first bytes must be those of an allowed
format (a renamed executable is refused whatever its extension), the extension must agree with
the content, and the size is capped. Regulatory scans (licences, certificates, ID-related
proofs) are stored outside MEDIA_ROOT and served only through views that check permissions.

    from marketplace.uploads import validate_scan, sniff_file

    validate_scan(uploaded_file)      # ValidationError with a translated message and a code
    sniff_file(uploaded_file)         # "pdf" | "png" | "jpeg" | "ofd" | None

Error codes: ``file_empty``, ``file_too_large``, ``file_executable`` (an executable, whatever its
name), ``file_type`` (not an accepted format), ``file_extension_mismatch``, ``file_unreadable``.
"""

from __future__ import annotations

import hashlib
import os
import uuid
import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# format -> (magic prefixes, allowed extensions, content type)
FORMATS: dict[str, tuple[tuple[bytes, ...], tuple[str, ...], str]] = {
    "pdf": ((b"%PDF-",), (".pdf",), "application/pdf"),
    "png": ((b"\x89PNG\r\n\x1a\n",), (".png",), "image/png"),
    "jpeg": ((b"\xff\xd8\xff",), (".jpg", ".jpeg"), "image/jpeg"),
    # OFD (the Chinese fixed-layout standard, GB/T 33190) is a ZIP container whose root holds
    # OFD.xml; any other ZIP (an Office file, a Java archive …) is not an OFD.
    "ofd": ((b"PK\x03\x04",), (".ofd",), "application/ofd"),
}
SCAN_FORMATS = ("pdf", "png", "jpeg", "ofd")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
HEAD_BYTES = 16

# Executable and script signatures, refused with their own message whatever the name says.
EXECUTABLE_MAGICS: tuple[bytes, ...] = (
    b"\x7fELF",  # Linux / Unix ELF
    b"MZ",  # Windows PE (.exe, .dll, .scr)
    b"\xfe\xed\xfa\xce",  # Mach-O 32-bit
    b"\xfe\xed\xfa\xcf",  # Mach-O 64-bit
    b"\xce\xfa\xed\xfe",  # Mach-O 32-bit, little-endian
    b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit, little-endian
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary / Java class
    b"#!",  # a script with a shebang
)


def sniff(head: bytes) -> str | None:
    """The accepted format whose magic bytes start ``head``, or None."""
    for name, (magics, _exts, _ctype) in FORMATS.items():
        if any(head.startswith(m) for m in magics):
            return name
    return None


def is_executable(head: bytes) -> bool:
    return any(head.startswith(m) for m in EXECUTABLE_MAGICS)


def content_type(kind: str) -> str:
    """The content type to serve a file of format ``kind`` with (from ``sniff``)."""
    return FORMATS[kind][2]


def _file_size(file) -> int | None:
    size = getattr(file, "size", None)
    if size is not None:
        return size
    try:
        position = file.tell()
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(position)
    except (AttributeError, OSError, ValueError):
        return None
    return size


def _read_head(file, n: int = HEAD_BYTES) -> bytes:
    position = file.tell() if hasattr(file, "tell") else None
    try:
        file.seek(0)
        head = file.read(n)
    finally:
        if position is not None:
            file.seek(position)
    if isinstance(head, str):
        head = head.encode("latin-1", "replace")
    return head or b""


def _is_ofd_container(file) -> bool:
    """A real OFD package: a readable ZIP with ``OFD.xml`` at its root."""
    position = file.tell() if hasattr(file, "tell") else None
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            return any(name.lower() == "ofd.xml" for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    finally:
        if position is not None:
            file.seek(position)


def sniff_file(file) -> str | None:
    """The accepted format of an open file by its content (an OFD is also opened as a ZIP)."""
    kind = sniff(_read_head(file))
    if kind == "ofd" and not _is_ofd_container(file):
        return None
    return kind


def _megabytes(n: int) -> str:
    """Sizes in MB for messages, never rounded down to a misleading "0"."""
    value = n / 1024 / 1024
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


@deconstructible
class FileContentValidator:
    """Validates an uploaded file's real format (magic bytes), its extension and its size.
    The checks, in order: empty, too large, executable, not an accepted format, extension
    not matching the content. An uploaded name without an extension is judged by content."""

    def __init__(self, formats=SCAN_FORMATS, max_bytes: int = DEFAULT_MAX_BYTES):
        self.formats = tuple(formats)
        self.max_bytes = max_bytes

    def __call__(self, file) -> None:
        if file is None:
            return
        size = _file_size(file)
        if size == 0:
            raise ValidationError(_("The file is empty."), code="file_empty")
        if size is not None and size > self.max_bytes:
            raise ValidationError(
                _("The file is too large (%(size)s MB); the limit is %(limit)s MB."),
                code="file_too_large",
                params={"size": _megabytes(size), "limit": _megabytes(self.max_bytes)},
            )
        try:
            head = _read_head(file)
        except (OSError, ValueError) as exc:
            raise ValidationError(
                _("The file could not be read; please upload it again."), code="file_unreadable"
            ) from exc
        if not head:
            raise ValidationError(_("The file is empty."), code="file_empty")
        allowed = ", ".join(self.formats).upper()
        if is_executable(head):
            raise ValidationError(
                _(
                    "This file is a program, not a document, and is refused whatever its "
                    "name. Accepted formats: %(allowed)s."
                ),
                code="file_executable",
                params={"allowed": allowed},
            )
        kind = sniff(head)
        if kind == "ofd" and not _is_ofd_container(file):
            kind = None
        if kind is None or kind not in self.formats:
            raise ValidationError(
                _("This file is not an accepted format (%(allowed)s); its content was checked."),
                code="file_type",
                params={"allowed": allowed},
            )
        ext = os.path.splitext(getattr(file, "name", "") or "")[1].lower()
        if ext and ext not in FORMATS[kind][1]:
            raise ValidationError(
                _("The file's extension %(ext)s does not match its content (%(kind)s)."),
                code="file_extension_mismatch",
                params={"ext": ext, "kind": kind.upper()},
            )

    def __eq__(self, other):
        return (
            isinstance(other, FileContentValidator)
            and self.formats == other.formats
            and self.max_bytes == other.max_bytes
        )

    def __hash__(self):
        return hash((self.formats, self.max_bytes))


validate_scan = FileContentValidator()


def private_storage():
    """Storage for confidential uploads, outside MEDIA_ROOT (never served by the web server).
    A callable, so tests and deployments can point PRIVATE_MEDIA_ROOT elsewhere."""
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)


def private_upload_to(prefix: str):
    """An ``upload_to`` storing the file under ``prefix`` with a random name: the original
    name is never used on disk (it may be anything the uploader typed)."""

    def upload_to(instance, filename: str) -> str:
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
        return f"{prefix}/{uuid.uuid4().hex}.{ext[:8]}"

    upload_to.__qualname__ = upload_to.__name__ = f"upload_to_{prefix}"
    return upload_to


def sha256_of(upload) -> str:
    """The SHA-256 of an uploaded file, read in chunks, left rewound (stored beside evidence
    and deliverables so the file can be proven unchanged)."""
    digest = hashlib.sha256()
    upload.seek(0)
    chunks = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(65536), b"")
    for chunk in chunks:
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()
