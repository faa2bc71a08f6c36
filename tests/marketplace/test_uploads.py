"""Upload checks judge content, not names: real tiny documents pass; renamed executables, a
format under another format's extension, empty and oversized files are refused with a clear
(and translated) message."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.utils import translation

from marketplace.uploads import (
    FileContentValidator,
    content_type,
    private_storage,
    sniff_file,
    validate_scan,
)

# A complete one-page PDF (header, catalog, pages, page, xref, trailer).
TINY_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n158\n%%EOF\n"
)
ELF_HEADER = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
PE_HEADER = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 100


def _image(fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def png() -> bytes:
    return _image("PNG")


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return _image("JPEG")


def _ofd(with_root: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if with_root:
            archive.writestr("OFD.xml", '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>')
        archive.writestr("Doc_0/Document.xml", "<Document/>")
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def refusal(file, validator=validate_scan) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validator(file)
    return info.value


# --- accepted ---------------------------------------------------------------------------------


def test_real_pdf_png_jpeg_and_ofd_are_accepted(png, jpeg):
    for name, data in [
        ("licence.pdf", TINY_PDF),
        ("scan.png", png),
        ("scan.jpg", jpeg),
        ("scan.JPEG", jpeg),
        ("licence.ofd", _ofd()),
    ]:
        validate_scan(upload(name, data))  # no exception


def test_sniff_file_names_the_real_format_and_leaves_the_position(png):
    file = upload("x.png", png)
    file.seek(3)
    assert sniff_file(file) == "png"
    assert file.tell() == 3
    assert content_type("png") == "image/png"


def test_a_file_on_disk_is_checked_too(tmp_path):
    # Large uploads arrive as TemporaryUploadedFile (a real file on disk).
    file = TemporaryUploadedFile("big.pdf", "application/pdf", len(TINY_PDF), None)
    file.write(TINY_PDF)
    file.flush()
    try:
        validate_scan(file)
    finally:
        file.close()


def test_a_file_without_size_attribute_is_measured():
    # A bare file object (no .size): the validator measures it rather than skipping the cap.
    raw = io.BytesIO(b"%PDF-1.4\n" + b"0" * 4096)
    raw.name = "x.pdf"
    with pytest.raises(ValidationError) as info:
        FileContentValidator(max_bytes=1024)(raw)
    assert info.value.code == "file_too_large"


# --- refused ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("licence.pdf", ELF_HEADER),
        ("licence.pdf", PE_HEADER),
        ("scan.jpg", PE_HEADER),
        ("run.sh.png", b"#!/bin/sh\nrm -rf /\n"),
    ],
)
def test_a_renamed_executable_is_refused_whatever_its_name(name, data):
    error = refusal(upload(name, data))
    assert error.code == "file_executable"
    assert "program" in error.messages[0]


def test_a_png_named_pdf_is_refused_as_an_extension_mismatch(png):
    error = refusal(upload("licence.pdf", png))
    assert error.code == "file_extension_mismatch"
    assert error.messages == ["The file's extension .pdf does not match its content (PNG)."]


def test_a_pdf_named_jpg_is_refused(jpeg):
    assert refusal(upload("scan.jpg", TINY_PDF)).code == "file_extension_mismatch"


def test_an_unknown_format_is_refused_even_with_a_good_name():
    error = refusal(upload("licence.pdf", b"GIF89a\x01\x00\x01\x00" + b"\x00" * 40))
    assert error.code == "file_type"
    assert "PDF, PNG, JPEG, OFD" in error.messages[0]


def test_a_zip_that_is_not_an_ofd_package_is_refused():
    # An Office document or a Java archive is a ZIP too; only a package with OFD.xml passes.
    assert refusal(upload("licence.ofd", _ofd(with_root=False))).code == "file_type"
    assert refusal(upload("licence.ofd", b"PK\x03\x04garbage" * 4)).code == "file_type"


def test_a_format_not_allowed_for_this_field_is_refused(png):
    pdf_only = FileContentValidator(formats=("pdf",))
    pdf_only(upload("a.pdf", TINY_PDF))
    error = refusal(upload("a.png", png), pdf_only)
    assert error.code == "file_type"
    assert "(PDF)" in error.messages[0]


def test_too_large_is_refused_with_sizes_in_the_message():
    validator = FileContentValidator(max_bytes=1024 * 1024)
    data = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)
    error = refusal(upload("big.pdf", data), validator)
    assert error.code == "file_too_large"
    assert error.messages == ["The file is too large (3.0 MB); the limit is 1.0 MB."]
    # Exactly at the limit is fine.
    validator(upload("ok.pdf", (b"%PDF-1.4\n" + b"0" * 1024 * 1024)[: 1024 * 1024]))


def test_the_default_limit_is_ten_megabytes():
    data = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
    error = refusal(upload("big.pdf", data))
    assert error.code == "file_too_large"
    assert "the limit is 10 MB" in error.messages[0]


def test_empty_is_refused():
    error = refusal(upload("empty.pdf", b""))
    assert error.code == "file_empty"
    assert error.messages == ["The file is empty."]


# --- in Chinese -------------------------------------------------------------------------------


def test_messages_are_in_chinese_under_zh_hans(png):
    cases = [
        (upload("x.pdf", ELF_HEADER), "程序"),
        (upload("x.pdf", png), "扩展名 .pdf 与文件内容（PNG）不符"),
        (upload("x.pdf", b"GIF89a" + b"\x00" * 20), "不是可接受的格式"),
        (upload("x.pdf", b""), "文件为空"),
    ]
    with translation.override("zh-hans"):
        for file, expected in cases:
            assert expected in refusal(file).messages[0]
        big = refusal(upload("x.pdf", b"%PDF-" + b"0" * 2048), FileContentValidator(max_bytes=1024))
        assert "文件过大" in big.messages[0]


# --- storage ----------------------------------------------------------------------------------


def test_private_storage_lives_outside_media_root(settings, tmp_path):
    storage = private_storage()
    name = storage.save("certificates/x.pdf", ContentFile(TINY_PDF))
    assert (tmp_path / "private" / name).read_bytes() == TINY_PDF
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.pdf"))
