"""The source text of one Dockerfile and the mapping between offsets and positions.

Units used everywhere in mldlint:

* an *offset* is an index into :attr:`SourceFile.text` (a Python ``str``, so it counts code
  points), 0-based;
* a *position* is ``(line, column)``, both 1-based, columns counting code points;
* a *span* is a half-open pair of offsets ``(start, end)``; its end position points one past the
  last character (SARIF's convention).

The bytes are decoded as UTF-8 with ``surrogateescape``, so invalid bytes (a latin-1 comment)
survive: :meth:`SourceFile.encode` gives back exactly the bytes that were read. A UTF-8 byte order
mark is kept in :attr:`SourceFile.bom` and is not part of :attr:`SourceFile.text`.
"""

from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass, field

UTF8_BOM = codecs.BOM_UTF8


#: characters of a file's start that are looked at to tell binary data without NUL bytes
_SAMPLE = 4096
#: what text does not have: bytes that are not UTF-8 (kept as lone surrogates) and control
#: characters other than tab, line feed, vertical tab, form feed, carriage return and escape.
#: A latin-1 comment has a few; random or compressed data has about half.
_NON_TEXT_RE = re.compile("[\udc80-\udcff\x01-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def _looks_like_utf16(head: bytes) -> bool:
    """ASCII-range text in UTF-16 without a BOM: one half of the bytes (odd or even positions)
    nearly all NUL, the other half printable ASCII (an ELF or image header is neither)."""
    if len(head) < 4:
        return False
    for zeros, chars in ((head[1::2], head[0::2]), (head[0::2], head[1::2])):
        if zeros.count(0) * 4 >= len(zeros) * 3 and sum(
                1 for b in chars if 32 <= b < 127 or b in (9, 10, 13)) * 10 >= len(chars) * 9:
            return True
    return False


class BinaryFileError(ValueError):
    """Raised by :meth:`SourceFile.from_bytes` for input that is not text (NUL bytes, UTF-16 without
    a decodable BOM). The message says why."""


@dataclass
class SourceFile:
    """One Dockerfile's text.

    Attributes:
        path: the path as given or discovered (``"-"`` or the ``--stdin-filename`` for stdin).
        text: the decoded text without the BOM (str; offsets index into it).
        bom: the byte order mark that preceded the text (``b""`` when none).
        encoding: ``"utf-8"`` or ``"utf-16"`` (the latter only for files with a UTF-16 BOM).
    """

    path: str
    text: str
    bom: bytes = b""
    encoding: str = "utf-8"
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        starts = [0]
        text = self.text
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self._line_starts = starts

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_bytes(cls, data: bytes, path: str = "-") -> "SourceFile":
        """Decode ``data`` losslessly.

        Raises:
            BinaryFileError: the data contains NUL bytes (and no UTF-16 BOM), 30% or more of its
                first 4,096 characters are neither UTF-8 text nor whitespace (random or
                compressed data), it is UTF-32, or a UTF-16 file cannot be decoded.
        """
        if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
            raise BinaryFileError("UTF-32 text is not supported (save the file as UTF-8)")
        if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
            bom = data[:2]
            try:
                text = data[2:].decode("utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be")
            except UnicodeDecodeError as exc:
                raise BinaryFileError(f"invalid UTF-16 text at byte {exc.start + 2}: "
                                      f"{exc.reason}") from None
            if "\x00" in text:
                raise BinaryFileError(f"binary file (UTF-16 NUL character at character "
                                      f"{text.index(chr(0))})")
            return cls(path=path, text=text, bom=bom, encoding="utf-16")
        if b"\x00" in data:
            pos = data.index(b"\x00")
            head = data[:200]
            if _looks_like_utf16(head):
                raise BinaryFileError(f"binary file (NUL byte at byte offset {pos}): looks like "
                                      "UTF-16 without a byte order mark (save it as UTF-8)")
            raise BinaryFileError(f"binary file (NUL byte at byte offset {pos})")
        bom = b""
        if data.startswith(UTF8_BOM):
            bom, data = UTF8_BOM, data[len(UTF8_BOM):]
        text = data.decode("utf-8", "surrogateescape")
        sample = text[:_SAMPLE]
        bad = len(_NON_TEXT_RE.findall(sample))
        if len(sample) >= 32 and bad * 10 >= len(sample) * 3:
            raise BinaryFileError(f"binary file ({bad} of the first {len(sample)} characters "
                                  "are neither UTF-8 text nor whitespace)")
        return cls(path=path, text=text, bom=bom)

    @classmethod
    def from_text(cls, text: str, path: str = "-") -> "SourceFile":
        """Build from an already decoded string (tests, rule examples). A leading U+FEFF is
        treated as a BOM."""
        if text.startswith("\ufeff"):
            return cls(path=path, text=text[1:], bom=UTF8_BOM)
        return cls(path=path, text=text)

    def encode(self, text: str | None = None) -> bytes:
        """Bytes for ``text`` (default: this file's text) in this file's encoding, BOM included."""
        text = self.text if text is None else text
        if self.encoding == "utf-16":
            codec = "utf-16-le" if self.bom == codecs.BOM_UTF16_LE else "utf-16-be"
            return self.bom + text.encode(codec, "surrogatepass")
        return self.bom + text.encode("utf-8", "surrogateescape")

    # ------------------------------------------------------------------ positions
    @property
    def newline(self) -> str:
        """The file's dominant newline: ``"\\r\\n"`` when most lines end with CRLF, else ``"\\n"``."""
        crlf = self.text.count("\r\n")
        return "\r\n" if crlf and crlf * 2 >= self.text.count("\n") else "\n"

    @property
    def line_count(self) -> int:
        """Number of physical lines (a final line without newline counts; an empty text has 1)."""
        n = len(self._line_starts)
        if n > 1 and self._line_starts[-1] == len(self.text):
            return n - 1
        return n

    def line_start(self, line: int) -> int:
        """Offset of the first character of 1-based ``line``."""
        return self._line_starts[line - 1]

    def line_end(self, line: int, keep_newline: bool = False) -> int:
        """Offset just past the last character of 1-based ``line`` (before ``\\r\\n``/``\\n``
        unless ``keep_newline``)."""
        if line < len(self._line_starts):
            end = self._line_starts[line]
            if not keep_newline:
                end -= 1
                if end > 0 and self.text[end - 1] == "\r" and end - 1 >= self._line_starts[line - 1]:
                    end -= 1
            return end
        return len(self.text)

    def line_text(self, line: int) -> str:
        """Text of 1-based ``line`` without its newline."""
        return self.text[self.line_start(line):self.line_end(line)]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based ``(line, column)`` of ``offset`` (0 <= offset <= len(text))."""
        offset = max(0, min(offset, len(self.text)))
        idx = bisect.bisect_right(self._line_starts, offset) - 1
        return idx + 1, offset - self._line_starts[idx] + 1

    def offset(self, line: int, column: int) -> int:
        """Offset of 1-based ``(line, column)``."""
        return self._line_starts[line - 1] + column - 1
