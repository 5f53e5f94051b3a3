"""Documents and media through read_file (feature `docs`), with real files made
at test time by real producers (fpdf2, python-docx, openpyxl, xlwt,
python-pptx, Pillow; installed by scripts/peers.sh), over stdio and Streamable HTTP in both
eras, behind the schema-validating taps. Hostile inputs (a zip bomb named
.docx, a pixel-bomb PNG, a truncated PDF, a PDF whose page tree is a cycle)
and an .xls whose two sheets span A1:IV65536 must each give a tool error
quickly, keep the server's peak RSS under a ceiling, and leave it answering."""
import base64
import csv
import io
import struct
import time
import zipfile
import zlib

import pytest
from fs_support import lmcp, peak_rss_kb, server_pids, text  # noqa: F401 (lmcp: fixture)

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
# Peak RSS allowed after the hostile files (a debug build's heap included);
# without the limits, the zip bomb alone would need 100 MiB and the pixel
# bomb 7 GiB.
RSS_CEILING_KB = 96 * 1024
# Each hostile file must be refused this fast (measured well under a second
# even in a debug build; the margin absorbs a loaded CI machine).
HOSTILE_SECONDS = 3.0


def make_pdf(path, scan_png):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=14)
    pdf.add_page()
    pdf.cell(text="MARKER-PAGE-ONE alpha")
    pdf.add_page()  # a scanned page: an image, no text layer
    pdf.image(str(scan_png), x=10, y=10, w=120)
    pdf.add_page()
    pdf.cell(text="MARKER-PAGE-THREE gamma")
    pdf.add_page()
    pdf.cell(text="MARKER-PAGE-FOUR delta")
    pdf.output(str(path))


def make_docx(path):
    import docx

    d = docx.Document()
    d.add_heading("Quarterly Report", level=1)
    d.add_paragraph("The DOCX-MARKER paragraph says hello.")
    d.add_heading("Details", level=2)
    d.add_paragraph("first point", style="List Bullet")
    d.add_paragraph("second point", style="List Bullet")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "Region", "Sales"
    t.cell(1, 0).text, t.cell(1, 1).text = "North", "42"
    d.save(str(path))


def make_xlsx(path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["name", "qty", "price"])
    for i in range(1, 51):
        ws.append([f"item{i}", i, i * 1.5])
    s = wb.create_sheet("Summary")
    s["A1"], s["B1"] = "TOTAL-MARKER", 1275
    wb.save(str(path))


def make_xls(path, hostile=False):
    """An Excel 97-2003 workbook written by xlwt (BIFF8 in an OLE2 file): a
    small table with a formula and a second sheet, or (hostile) two sheets
    each with one value at A1 and one at IV65536."""
    import xlwt

    wb = xlwt.Workbook()
    if hostile:
        for name in ("One", "Two"):
            ws = wb.add_sheet(name)
            ws.write(0, 0, 1)
            ws.write(65535, 255, 2)
    else:
        ws = wb.add_sheet("Data")
        for col, head in enumerate(["name", "qty", "price", "total"]):
            ws.write(0, col, head)
        for i in range(1, 6):
            ws.write(i, 0, f"item{i}")
            ws.write(i, 1, i)
            ws.write(i, 2, i * 1.5)
            ws.write(i, 3, xlwt.Formula(f"B{i + 1}*C{i + 1}"))
        wb.add_sheet("Summary").write(0, 0, "XLS-MARKER")
    wb.save(str(path))


def make_pptx(path):
    from pptx import Presentation

    p = Presentation()
    for i, (title, body) in enumerate([("Opening Slide", "SLIDE-ONE-BODY"), ("Closing Slide", "SLIDE-TWO-BODY")]):
        s = p.slides.add_slide(p.slide_layouts[1])
        s.shapes.title.text = title
        s.placeholders[1].text = body
    p.save(str(path))


def make_images(root):
    from PIL import Image

    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(root / "big.png")
    Image.new("RGB", (300, 200), (200, 30, 30)).save(root / "small.jpg", quality=90)
    Image.new("RGB", (2000, 500), (0, 0, 0)).save(root / "wide.bmp")
    Image.new("RGB", (120, 80), (250, 200, 30)).save(root / "scan.png")


def pixel_bomb():
    """A PNG of a few hundred bytes whose header claims 50,000 x 50,000 pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * 50_000 * 8, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def zip_bomb_docx(path):
    """A .docx whose document.xml inflates to 100 MiB (the file is ~100 KiB)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            block = b"<w:p>" + b" " * (1 << 20)
            for _ in range(100):
                f.write(block)


def cyclic_pdf():
    """A PDF whose page tree points back at itself (and has no leaf page)."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R] /Count 1 >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for o in offsets:
        out.write(b"%010d 00000 n \n" % o)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


@pytest.fixture
def docs(tmp_path):
    root = tmp_path / "docs-root"
    root.mkdir()
    make_images(root)
    make_pdf(root / "report.pdf", root / "scan.png")
    make_docx(root / "report.docx")
    make_xlsx(root / "book.xlsx")
    make_pptx(root / "deck.pptx")
    with open(root / "table.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["city", "pop"])
        w.writerow(["Oslo, Norway", 700000])
        w.writerow(["Lima", 10000000])
    return root


async def ok(c, args):
    r = await c.call_tool("read_file", args)
    assert not r.is_error, f"{args} failed: {text(r)}"
    return r


@pytest.mark.parametrize("mode", MODES)
async def test_documents(lmcp, docs, mode):
    async with lmcp.connect(mode, "--root", str(docs)) as c:
        # PDF: page markers, the scanned page said so, exact page ranges.
        r = await ok(c, {"path": "report.pdf"})
        t = text(r)
        assert "--- page 1 of 4 ---" in t and "MARKER-PAGE-ONE" in t and "MARKER-PAGE-FOUR" in t
        assert "page 2 has no text layer: it is a scanned image" in t
        s = r.structured_content
        assert (s["pages_total"], s["first_page"], s["last_page"]) == (4, 1, 4)
        assert s["scanned_pages"] == [2]
        r = await ok(c, {"path": "report.pdf", "offset": 3, "limit": 1})
        t = text(r)
        assert "MARKER-PAGE-THREE" in t and "MARKER-PAGE-ONE" not in t and "MARKER-PAGE-FOUR" not in t
        assert (r.structured_content["first_page"], r.structured_content["last_page"]) == (3, 3)
        assert "continue with offset=4" in t
        r = await c.call_tool("read_file", {"path": "report.pdf", "offset": 9})
        assert r.is_error and "past the end: the PDF has 4 pages" in text(r)

        # Word: headings, paragraphs, list items and a table as Markdown.
        t = text(await ok(c, {"path": "report.docx"}))
        assert "# Quarterly Report" in t and "## Details" in t
        assert "DOCX-MARKER paragraph" in t and "- first point" in t
        assert "| Region | Sales |" in t and "| North | 42 |" in t

        # Spreadsheets: the first sheet by default, sheets listed with sizes.
        r = await ok(c, {"path": "book.xlsx"})
        t = text(r)
        assert "Sheet: Data" in t and "| 2 | item1 | 1 | 1.5 |" in t and "| 51 | item50 | 50 | 75 |" in t
        sheets = {s["name"]: s for s in r.structured_content["sheets"]}
        assert sheets["Data"]["rows"] == 51 and sheets["Data"]["columns"] == 3
        assert "Summary" in sheets
        for sel in ("Summary", 2):
            t = text(await ok(c, {"path": "book.xlsx", "sheet": sel}))
            assert "Sheet: Summary" in t and "TOTAL-MARKER" in t and "item1" not in t
        t = text(await ok(c, {"path": "book.xlsx", "range": "A3:B4"}))
        assert "| 3 | item2 | 2 |" in t and "| 4 | item3 | 3 |" in t
        assert "item1" not in t and "item4" not in t and "price" not in t
        r = await c.call_tool("read_file", {"path": "book.xlsx", "sheet": "Nope"})
        assert r.is_error and "the sheets are: Data, Summary" in text(r)
        t = text(await ok(c, {"path": "table.csv"}))
        assert "| 2 | Oslo, Norway | 700000 |" in t

        # Slides: titles and text in order, with slide markers; offset counts slides.
        t = text(await ok(c, {"path": "deck.pptx"}))
        assert t.index("--- slide 1 of 2 ---") < t.index("# Opening Slide") < t.index("SLIDE-ONE-BODY")
        assert t.index("SLIDE-ONE-BODY") < t.index("--- slide 2 of 2 ---") < t.index("# Closing Slide")
        t = text(await ok(c, {"path": "deck.pptx", "offset": 2}))
        assert "SLIDE-TWO-BODY" in t and "SLIDE-ONE-BODY" not in t


@pytest.mark.parametrize("mode", MODES)
async def test_images(lmcp, docs, mode):
    from PIL import Image

    async with lmcp.connect(mode, "--root", str(docs)) as c:
        r = await ok(c, {"path": "big.png"})
        img = Image.open(io.BytesIO(base64.b64decode(r.content[0].data)))
        assert img.size == (1568, 1176), "the longest edge is cut to 1568 px, the aspect kept"
        s = r.structured_content
        assert (s["width"], s["height"], s["sent_width"], s["sent_height"]) == (4000, 3000, 1568, 1176)
        # Small images pass through as they are; BMP is re-encoded (PNG).
        r = await ok(c, {"path": "small.jpg"})
        assert base64.b64decode(r.content[0].data) == (docs / "small.jpg").read_bytes()
        r = await ok(c, {"path": "wide.bmp"})
        assert r.content[0].mime_type == "image/png"
        assert Image.open(io.BytesIO(base64.b64decode(r.content[0].data))).size == (1568, 392)


@pytest.mark.parametrize("mode", MODES)
async def test_image_max_edge_flag(lmcp, docs, mode):
    from PIL import Image

    async with lmcp.connect(mode, "--root", str(docs), "--image-max-edge", "400") as c:
        r = await ok(c, {"path": "big.png"})
        assert Image.open(io.BytesIO(base64.b64decode(r.content[0].data))).size == (400, 300)


@pytest.mark.parametrize("mode", MODES)
async def test_hostile_files(lmcp, docs, mode):
    (docs / "bomb.docx").unlink(missing_ok=True)
    zip_bomb_docx(docs / "bomb.docx")
    (docs / "bomb.png").write_bytes(pixel_bomb())
    whole = (docs / "report.pdf").read_bytes()
    (docs / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    (docs / "cyclic.pdf").write_bytes(cyclic_pdf())
    async with lmcp.connect(mode, "--root", str(docs)) as c:
        for name, expect in [
            ("bomb.docx", "zip bomb"),
            ("bomb.png", "50000×50000"),
            ("truncated.pdf", "PDF"),
            ("cyclic.pdf", "PDF"),
        ]:
            t0 = time.monotonic()
            r = await c.call_tool("read_file", {"path": name})
            took = time.monotonic() - t0
            assert r.is_error, f"{name} should fail: {text(r)}"
            assert expect in text(r), f"{name}: {text(r)}"
            assert took < HOSTILE_SECONDS, f"{name} took {took:.2f}s"
        # Still answering, and its peak memory stayed bounded.
        assert "MARKER-PAGE-ONE" in text(await ok(c, {"path": "report.pdf", "limit": 1}))
        pids = server_pids(str(docs))
        assert pids, "the server process was not found"
        for pid in pids:
            assert peak_rss_kb(pid) < RSS_CEILING_KB, f"peak RSS {peak_rss_kb(pid)} KiB"


@pytest.mark.parametrize("mode", MODES)
async def test_xls_workbooks(lmcp, docs, mode):
    """Issue 22: an .xls is read as a Markdown table; one whose sheets would
    expand to 2 x 16.7 million cells (a 5 KB file) is refused by the pre-scan
    before calamine builds them, quickly and with the server's memory low."""
    make_xls(docs / "book.xls")
    make_xls(docs / "bomb.xls", hostile=True)
    assert (docs / "bomb.xls").stat().st_size < 16 * 1024
    async with lmcp.connect(mode, "--root", str(docs)) as c:
        r = await ok(c, {"path": "book.xls"})
        t = text(r)
        assert "Sheet: Data" in t and "| | A | B | C | D |" in t, t
        assert "| 1 | name | qty | price | total |" in t and "| 2 | item1 | 1 | 1.5 |" in t, t
        # xlwt stores a formula without a computed result, and read_file
        # shows the cached values: column D is there, empty.
        assert "| 6 | item5 | 5 | 7.5 |  |" in t, t
        s = r.structured_content
        assert s["format"] == "xls" and [x["name"] for x in s["sheets"]] == ["Data", "Summary"]
        assert (s["sheets"][0]["rows"], s["sheets"][0]["columns"]) == (6, 4)
        t = text(await ok(c, {"path": "book.xls", "sheet": "Summary"}))
        assert "XLS-MARKER" in t and "item1" not in t
        t0 = time.monotonic()
        r = await c.call_tool("read_file", {"path": "bomb.xls"})
        took = time.monotonic() - t0
        assert r.is_error, f"bomb.xls should fail: {text(r)}"
        msg = text(r)
        assert "would expand to" in msg and "more than the limit of 2000000" in msg, msg
        assert "as .xlsx or .csv" in msg, msg
        assert took < HOSTILE_SECONDS, f"bomb.xls took {took:.2f}s"
        # Still answering, and its peak memory stayed bounded (calamine
        # would have needed over 1 GB for the two grids).
        assert "XLS-MARKER" in text(await ok(c, {"path": "book.xls", "sheet": 2}))
        pids = server_pids(str(docs))
        assert pids, "the server process was not found"
        for pid in pids:
            assert peak_rss_kb(pid) < RSS_CEILING_KB, f"peak RSS {peak_rss_kb(pid)} KiB"
