"""The gap list as a file (spec §4 `export uncovered`, spec §8 `GET /export/uncovered`): one path for
the rows and one writer per format, shared by the command line and the HTTP download.

Rows are the uncovered divisions in code order with the names on their path from the province down.
CSV and JSON go to a text stream; `.xlsx` is built in memory as a minimal Office Open XML workbook
(one sheet: the header row, then the rows, every cell text), written here with the standard library's
zipfile rather than a spreadsheet library, since one sheet of inline strings is all it needs.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, TextIO
from xml.sax.saxutils import escape

from graph_service.domain.levels import DivisionLevel
from graph_service.domain.model import Division
from graph_service.entrypoints import csv_out, json_out

if TYPE_CHECKING:
    from graph_service.service_layer.services import NetworkService

EXPORT_PAGE_SIZE = 5_000
EXPORT_COLUMNS = ("code", "name", "level", "path")
PATH_SEPARATOR = " / "
FORMATS = ("csv", "json", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

ExportRow = tuple[Division, list[str]]
"""An uncovered division and the names on its path, from the province down to itself."""


def uncovered_rows(
    service: NetworkService, under: str, level: DivisionLevel, day: date
) -> Iterator[ExportRow]:
    """The gap list's rows. The first page is read before this returns, so a bad `under` or `level`
    raises here (NotFound, BadUserInput), not half-way through writing a file."""
    pages = _uncovered_pages(service, under, level, day)
    first_page = next(pages)
    return _with_paths(service, itertools.chain([first_page], pages))


def _uncovered_pages(
    service: NetworkService, under: str, level: DivisionLevel, day: date
) -> Iterator[list[Division]]:
    """Every page of the uncovered divisions, in code order (at least one page, maybe empty)."""
    after: str | None = None
    while True:
        page = service.uncovered(under, level, day, after, EXPORT_PAGE_SIZE)
        yield page.items
        if not page.has_next or not page.items:
            return
        after = page.items[-1].code


def _with_paths(service: NetworkService, pages: Iterable[list[Division]]) -> Iterator[ExportRow]:
    """Each division with the names on its path, the path above it looked up once per parent."""
    paths: dict[str | None, list[str]] = {None: []}

    def path_above(division: Division) -> list[str]:
        if division.parent_code not in paths:
            paths[division.parent_code] = [a.name for a in service.views.ancestors(division.code)]
        return paths[division.parent_code]

    for page in pages:
        for division in page:
            yield division, [*path_above(division), division.name]


def table_row(row: ExportRow) -> tuple[str, str, str, str]:
    """A row as the CSV and xlsx cells: code, name, level, and the path joined by PATH_SEPARATOR."""
    division, path = row
    return division.code, division.name, str(division.level), PATH_SEPARATOR.join(path)


def write_csv(rows: Iterable[ExportRow], out: TextIO) -> int:
    """The rows as spreadsheet-safe CSV (spec §7, `csv_out`), header first; returns the row count."""
    count = csv_out.write_csv(out, EXPORT_COLUMNS, (table_row(row) for row in rows))
    out.flush()
    return count


def write_json(rows: Iterable[ExportRow], out: TextIO) -> int:
    """The rows as a JSON array of objects (path as a list); returns how many rows were written."""
    records = (
        {"code": division.code, "name": division.name, "level": str(division.level), "path": path}
        for division, path in rows
    )
    return json_out.write_json_array(records, out)


def csv_bytes(rows: Iterable[ExportRow]) -> tuple[bytes, int]:
    """The CSV file's bytes (UTF-8) and its row count."""
    out = io.StringIO()
    count = write_csv(rows, out)
    return out.getvalue().encode("utf-8"), count


def xlsx_bytes(rows: Iterable[ExportRow], sheet: str = "uncovered") -> tuple[bytes, int]:
    """The rows as an `.xlsx` workbook of one sheet (header row, then the rows, as text) and the count."""
    table = [EXPORT_COLUMNS, *(table_row(row) for row in rows)]
    return build_xlsx(table, sheet), len(table) - 1


# --- a minimal Office Open XML workbook ----------------------------------------------------------

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)


def build_xlsx(table: Sequence[Sequence[str]], sheet: str) -> bytes:
    """A workbook holding `table` (rows of text cells, as inline strings) on one sheet named `sheet`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=_xml_text(sheet[:31])))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", _sheet_xml(table))
    return out.getvalue()


def _sheet_xml(table: Sequence[Sequence[str]]) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    ]
    for number, row in enumerate(table, start=1):
        cells = "".join(
            f'<c r="{_column_name(index)}{number}" t="inlineStr"><is><t xml:space="preserve">'
            f"{_xml_text(value)}</t></is></c>"
            for index, value in enumerate(row)
        )
        parts.append(f'<row r="{number}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


def _column_name(index: int) -> str:
    """The spreadsheet column letters of a 0-based column index: A, B, ..., Z, AA, ..."""
    name = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        name = chr(ord("A") + remainder) + name
    return name


def _xml_text(value: str) -> str:
    """`value` escaped for XML text or attributes, without the characters XML 1.0 cannot hold."""
    return escape(_XML_ILLEGAL.sub("", value), {'"': "&quot;"})
