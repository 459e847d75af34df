"""Read a damaged zip member from its raw bytes, keeping everything before the damage."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


class RawMemberReader:
    """Decompress a stored or deflated zip member from its raw bytes, keeping all it can.

    zipfile.ZipExtFile drops the whole block in which it meets a corrupt deflate stream or a
    CRC mismatch. This reader decompresses small pieces and checks the CRC only at the end, so a
    damaged member yields everything before the damage. The layout of the local file header is
    that of PKWARE's APPNOTE.TXT, section 4.3.7.
    """

    _LOCAL_HEADER = struct.Struct("<4s5H3L2H")
    _PIECE = 4096

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise zipfile.BadZipFile(f"compression method {info.compress_type} is not supported")
        if archive.fp is None:
            raise zipfile.BadZipFile("the archive is closed")
        self._file = archive.fp
        self._file.seek(info.header_offset)
        fields = self._LOCAL_HEADER.unpack(self._file.read(self._LOCAL_HEADER.size))
        if fields[0] != b"PK\x03\x04":
            raise zipfile.BadZipFile("local file header signature is missing")
        # The file name and extra field lengths are the last two fields.
        self._file.seek(fields[9] + fields[10], io.SEEK_CUR)
        self._position = self._file.tell()
        self._left = info.compress_size
        self._crc = 0
        self._expected_crc = info.CRC
        self._damage: zlib.error | None = None
        self._inflater = (
            zlib.decompressobj(-zlib.MAX_WBITS)
            if info.compress_type == zipfile.ZIP_DEFLATED
            else None
        )

    def read1(self, size: int) -> bytes:
        """Return the next decompressed bytes, b"" at the end, or raise at the damage."""
        if self._damage is not None:
            raise self._damage
        output = b""
        while not output and self._left > 0:
            self._file.seek(self._position)
            piece = self._file.read(min(self._PIECE, self._left))
            if not piece:
                raise EOFError("the archive ends inside the member's compressed data")
            self._position += len(piece)
            self._left -= len(piece)
            output = self._inflate(piece)
            if self._damage is not None:
                if not output:
                    raise self._damage
                return output
        if self._left <= 0 and self._inflater is not None:
            output += self._inflater.flush()
            self._inflater = None
        self._crc = zlib.crc32(output, self._crc)
        if not output and self._crc != self._expected_crc:
            raise zipfile.BadZipFile("the member's CRC-32 does not match its data")
        return output

    def read(self, size: int = -1) -> bytes:
        """Return the next decompressed bytes, like read1."""
        return self.read1(size)

    def _inflate(self, piece: bytes) -> bytes:
        if self._inflater is None:
            return piece
        before = self._inflater.copy()
        try:
            return self._inflater.decompress(piece)
        except zlib.error as error:
            self._damage = error

        # Feed the piece again byte by byte to keep what decompresses before the damage.
        output = b""
        for index in range(len(piece)):
            try:
                output += before.decompress(piece[index : index + 1])
            except zlib.error:
                break
        return output
