"""The text of a document file: .txt / .md (UTF-8), .pdf (its text layer, pypdf) or
.html (its visible text, BeautifulSoup). Every failure is one short ``InvalidInput``
that names the file, never a path or a library's traceback. Blocking (a PDF can take a
while): call it in a worker thread."""

from __future__ import annotations

import io
import logging
import re
from pathlib import PurePath

from ..errors import InvalidInput
from ..tasks.base import printable

#: The file types a library takes.
SUFFIXES = (".txt", ".md", ".markdown", ".pdf", ".html", ".htm")
#: Characters of text one document may have (about 2,000 pages of prose).
MAX_DOCUMENT_CHARS = 5_000_000
#: Pages of a PDF read at most.
MAX_PDF_PAGES = 2_000

_BLANK_LINES = re.compile(r"\n[ \t]*(\n[ \t]*)+")
_SPACES = re.compile(r"[ \t\u00a0]+")


def check_name(name: str) -> str:
    """A document's name (its file name without folders), or why it cannot be one."""
    base = PurePath(name.replace("\\", "/")).name.strip()
    if not base or len(base) > 200:
        raise InvalidInput("A document needs a file name of at most 200 characters.")
    if PurePath(base).suffix.lower() not in SUFFIXES:
        raise InvalidInput(f"{base}: only {', '.join(SUFFIXES)} files can be added.")
    return printable(base)


def extract_text(name: str, data: bytes) -> str:
    """The text of the file ``name`` holding ``data``."""
    name = check_name(name)
    if not data.strip():
        raise InvalidInput(f"{name} is empty.")
    suffix = PurePath(name).suffix.lower()
    if suffix == ".pdf":
        text = _pdf_text(name, data)
    else:
        text = _decode(name, data)
        if suffix in (".html", ".htm"):
            text = _html_text(text)
    text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", printable(text))).strip()
    if not text:
        raise InvalidInput(f"{name} has no text.")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InvalidInput(f"{name} is too long: more than {MAX_DOCUMENT_CHARS:,} characters.")
    return text


def _decode(name: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name} is not UTF-8 text.") from None
    if "\x00" in text or len(re.findall(r"[\x01-\x08\x0e-\x1f]", text)) > len(text) // 20:
        raise InvalidInput(f"{name} looks like binary data, not text.")
    return text


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    return soup.get_text("\n")


def _pdf_text(name: str, data: bytes) -> str:
    import pypdf
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are about the file
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput(f"{name} is password-protected.")
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
    except InvalidInput:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError):
        raise InvalidInput(f"{name} is not a PDF that can be read.") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise InvalidInput(
            f"{name} has no text layer (a scanned PDF?): run it through OCR first, "
            "or add its text as a .txt file."
        )
    return text
