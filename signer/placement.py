"""Where the agency's signature and the verification block go (Decree 30/2020, Appendix I).

Two things are placed on a result:

- **The agency's signature**, whose image is the agency's red seal at its
  actual size. It goes where the agency signs: into the template's empty
  signature field named ``seal_field`` when the document has one; else over
  the left third of the official's signature already on the page (box 8 of
  the decree: the seal covers about a third of the signature, on its left);
  else where the operator says (``seal_x``/``seal_y``); else just left of
  the verification block. An electronic copy or attachment is signed with
  no image, in the text-only form at the top right of its first page.
- **The verification block**: the QR seal and the codes a reader checks,
  bottom right of the stamp page by default (``x``/``y``/``width``/
  ``height``), moved up past any signature or earlier block already there.
  Without a seal image it is the signature's own appearance; otherwise it is
  an annotation of its own in the same signed revision.

Positions speak of the page as a viewer shows it (after ``/Rotate``), in
points from its lower-left corner; they are mapped into the page's own
coordinates here, and the appearances are drawn turned to read upright.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from signer.errors import PlacementError

Box = tuple[int, int, int, int]  # left, bottom, right, top in the page's own coordinates
STAMP_GAP = 8.0
MM = 72 / 25.4
BLOCK_NAME = "/KetQuaBlock"  # the /Name of a verification block annotation
FIELD_NAME = "KetQuaAgencySignature"  # ketqua's signature fields: never an official's
COPY_TOP = 14.0  # the copy form's distance from the page's top edge: inside its margin
COPY_RIGHT = 15 * MM  # the right margin, Decree 30/2020 (15-20 mm)


class StampKind(enum.StrEnum):
    """What the signature's widget shows."""

    BLOCK = "block"  # the verification block (no seal image configured)
    SEALED_BLOCK = "sealed_block"  # the seal and the block, both in one widget spanning them
    SEAL = "seal"  # the seal alone, in the template's field (the block is an annotation)
    COPY = "copy"  # the text-only form of an electronic copy or attachment


@dataclass(frozen=True, slots=True)
class Placement:
    """Where things go: the block's page (0-based, -1 = last), corner and size in points.

    ``x``/``y`` of None put the block in the bottom-right corner with a
    ``margin``. ``seal_x``/``seal_y``: the seal's lower-left corner when the
    document names no place for it. ``seal_field``: the template's field.
    """

    page: int = -1
    x: float | None = None
    y: float | None = None
    width: float = 330.0
    # the QR is the height less 8 pt: 128 pt reads from every 100 dpi render of a scanned
    # page (bench/qr_readability.py: 104 pt failed 40 of 40, 112 pt 11 of 40)
    height: float = 136.0
    margin: float = 36.0
    seal_x: float | None = None
    seal_y: float | None = None
    seal_field: str = "agency_seal"

    def __post_init__(self) -> None:
        numbers = [self.width, self.height, self.margin]
        numbers += [v for v in (self.x, self.y, self.seal_x, self.seal_y) if v is not None]
        if not all(math.isfinite(v) for v in numbers):
            raise PlacementError("the stamp's position and size must be finite numbers")
        if self.width < 220 or self.height < 90:
            raise PlacementError("the verification block must be at least 220 x 90 points")
        if (self.seal_x is None) != (self.seal_y is None):
            raise PlacementError("the seal's position needs both X and Y")


@dataclass(frozen=True, slots=True)
class Spot:
    """A rectangle on one page, and that page's display rotation."""

    page_index: int
    box: Box
    rotation: int

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


Inset = tuple[float, float, float, float]  # x, y, width, height inside a widget, as shown


@dataclass(frozen=True, slots=True)
class Plan:
    """Where this document's signature and block go.

    A seal and a block on one page share one widget spanning both (``insets``
    say where each is drawn in it): a signature adds one widget and nothing
    else, so an official's earlier signature sees only form filling. The
    template's field and a copy's first-page form cannot hold the block: it
    is then an annotation of its own (``block``).
    """

    kind: StampKind
    signature: Spot  # the widget of the agency's signature
    new_field: bool  # False: the template's empty field is signed into
    field_name: str
    block: Spot | None = None  # the verification block as an annotation of its own
    insets: dict[str, Inset] | None = None  # SEALED_BLOCK: "seal" and "block" in the widget


def plan(
    reader: PdfFileReader,
    placement: Placement,
    *,
    seal_side: float | None,
    copy_size: tuple[float, float] | None,
    field_name: str,
) -> Plan:
    """Decide the places; PlacementError when the document leaves no room."""
    page_index = _page_index(reader, placement.page)
    page = _Page(reader, page_index)
    template = _template_field(reader, placement.seal_field)
    if copy_size is not None:
        first = _Page(reader, 0)
        width, height = copy_size
        u, v = first.shown_w - COPY_RIGHT - width, first.shown_h - COPY_TOP - height
        if not first.fits(u, v, width, height):
            raise PlacementError("the first page is too small for the copy's signature")
        copy_spot = Spot(0, first.box_at(u, v, width, height), first.rotation)
        taken = [copy_spot.box] if page_index == 0 else []
        block = page.block_spot(placement, extra_taken=taken)
        return Plan(StampKind.COPY, copy_spot, True, field_name, block=block)
    if seal_side is None:
        return Plan(StampKind.BLOCK, page.block_spot(placement), True, field_name)
    if template is not None:
        name, spot = template
        beside = [spot.box] if spot.page_index == page_index else []
        block = page.block_spot(placement, extra_taken=beside)
        return Plan(StampKind.SEAL, spot, False, name, block=block)
    official = page.official_signature()
    if official is not None:
        seal = page.seal_over_left_third(official, seal_side)
        block = page.block_spot(placement, extra_taken=[seal.box])
    elif placement.seal_x is not None and placement.seal_y is not None:
        if not page.fits(placement.seal_x, placement.seal_y, seal_side, seal_side):
            raise PlacementError(
                f"the seal at ({round(placement.seal_x)}, {round(placement.seal_y)}) does not "
                f"fit on page {page_index + 1}"
            )
        box = page.box_at(placement.seal_x, placement.seal_y, seal_side, seal_side)
        seal = Spot(page_index, box, page.rotation)
        block = page.block_spot(placement, extra_taken=[seal.box])
    else:
        block = page.block_spot(placement)
        seal = page.seal_beside(block, seal_side)
    return page.spanning(seal, block, field_name)


class _Page:
    """One page's visible area and what already takes room on it."""

    def __init__(self, reader: PdfFileReader, index: int) -> None:
        self.index = index
        page = reader.find_page_for_modification(index)[0].get_object()
        self.rotation = _rotation(page)
        # what a viewer shows and a printer prints is the crop box (default: the media box)
        media = _inherited_box(page, "/MediaBox") or (0.0, 0.0, 595.0, 842.0)
        crop = _inherited_box(page, "/CropBox") or media
        self.x0, self.y0 = max(media[0], crop[0]), max(media[1], crop[1])
        self.x1, self.y1 = min(media[2], crop[2]), min(media[3], crop[3])
        sideways = self.rotation in (90, 270)
        self.shown_w = self.y1 - self.y0 if sideways else self.x1 - self.x0
        self.shown_h = self.x1 - self.x0 if sideways else self.y1 - self.y0
        self.signatures = list(_signature_widgets(page))
        self.blocks = list(_blocks(page))

    def _to_page(self, du: float, dv: float) -> tuple[float, float]:
        # a point of the page as shown -> the page's own coordinates
        if self.rotation == 90:
            return self.x1 - dv, self.y0 + du
        if self.rotation == 180:
            return self.x1 - du, self.y1 - dv
        if self.rotation == 270:
            return self.x0 + dv, self.y1 - du
        return self.x0 + du, self.y0 + dv

    def _to_shown(self, x: float, y: float) -> tuple[float, float]:
        if self.rotation == 90:
            return y - self.y0, self.x1 - x
        if self.rotation == 180:
            return self.x1 - x, self.y1 - y
        if self.rotation == 270:
            return self.y1 - y, x - self.x0
        return x - self.x0, y - self.y0

    def box_at(self, u: float, v: float, width: float, height: float) -> Box:
        corners = [self._to_page(u + du, v + dv) for du in (0, width) for dv in (0, height)]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        return (round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))

    def shown(self, box: Box) -> tuple[float, float, float, float]:
        """A page rectangle as the viewer shows it: (u0, v0, u1, v1)."""
        a, b = self._to_shown(box[0], box[1]), self._to_shown(box[2], box[3])
        return (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))

    def fits(self, u: float, v: float, width: float, height: float) -> bool:
        return u >= 0 and v >= 0 and u + width <= self.shown_w and v + height <= self.shown_h

    def block_spot(self, placement: Placement, extra_taken: list[Box] | None = None) -> Spot:
        """The verification block's place: as asked, or the first free one from the bottom."""
        width, height = placement.width, placement.height
        taken = [(name, rect) for name, rect, _ in self.signatures]
        taken += [("ketqua", rect) for rect in self.blocks]
        taken += [("seal", tuple(float(v) for v in box)) for box in extra_taken or []]
        u = placement.x if placement.x is not None else self.shown_w - placement.margin - width
        v = placement.y if placement.y is not None else placement.margin
        if not self.fits(u, v, width, height):
            raise PlacementError(
                f"the stamp at ({round(u)}, {round(v)}) sized {round(width)} x "
                f"{round(height)} does not fit on page {self.index + 1}, whose visible "
                f"area is {round(self.shown_w)} x {round(self.shown_h)}"
            )
        box = self.box_at(u, v, width, height)
        while (clash := next((n for n, rect in taken if _overlap(box, rect)), None)) is not None:
            if placement.y is not None:
                what = "the agency's seal" if clash == "seal" else f"the signature {clash!r}"
                raise PlacementError(f"the stamp would cover {what} on the page")
            # the default place is taken (a document signed before): the next free one above
            v += height + STAMP_GAP
            if not self.fits(u, v, width, height):
                raise PlacementError(
                    f"no free place for the stamp on page {self.index + 1}: signatures "
                    "already fill it"
                )
            box = self.box_at(u, v, width, height)
        return Spot(self.index, box, self.rotation)

    def spanning(self, seal: Spot, block: Spot, field_name: str) -> Plan:
        """One widget over the seal and the block, and where each is drawn inside it."""
        box = (
            min(seal.box[0], block.box[0]),
            min(seal.box[1], block.box[1]),
            max(seal.box[2], block.box[2]),
            max(seal.box[3], block.box[3]),
        )
        u0, v0, _, _ = self.shown(box)

        def inset(part: Spot) -> Inset:
            a0, b0, a1, b1 = self.shown(part.box)
            return (a0 - u0, b0 - v0, a1 - a0, b1 - b0)

        insets = {"seal": inset(seal), "block": inset(block)}
        spot = Spot(self.index, box, self.rotation)
        return Plan(StampKind.SEALED_BLOCK, spot, True, field_name, insets=insets)

    def official_signature(self) -> tuple[float, ...] | None:
        """The rectangle of the last filled, visible signature on the page (an official's)."""
        filled = [rect for _, rect, official in self.signatures if official]
        return filled[-1] if filled else None

    def seal_over_left_third(self, signature: tuple[float, ...], side: float) -> Spot:
        """The seal covering about a third of the signature, on its left (Decree 30, box 8)."""
        u0, v0, u1, v1 = self.shown(tuple(round(c) for c in signature))  # type: ignore[arg-type]
        right = u0 + (u1 - u0) / 3
        u = max(0.0, right - side)
        v = min(max(0.0, (v0 + v1) / 2 - side / 2), self.shown_h - side)
        if not self.fits(u, v, side, side):
            raise PlacementError("the seal does not fit beside the official's signature")
        return Spot(self.index, self.box_at(u, v, side, side), self.rotation)

    def seal_beside(self, block: Spot, side: float) -> Spot:
        """No place named for the seal: left of the verification block, level with it."""
        u0, v0, _, v1 = self.shown(block.box)
        u = u0 - STAMP_GAP - side
        v = max(0.0, (v0 + v1) / 2 - side / 2)
        if not self.fits(u, v, side, side):
            raise PlacementError(
                f"no room for the seal left of the stamp on page {self.index + 1}; "
                "name its place (seal position) or the template's field"
            )
        return Spot(self.index, self.box_at(u, v, side, side), self.rotation)


def _page_index(reader: PdfFileReader, page: int) -> int:
    count = int(reader.root["/Pages"]["/Count"])
    index = page if page >= 0 else count + page
    if not 0 <= index < count:
        shown = page + 1 if page >= 0 else page  # pages are 1-based for people
        raise PlacementError(f"stamp page {shown} is outside the document's {count} pages")
    return index


def _template_field(reader: PdfFileReader, name: str) -> tuple[str, Spot] | None:
    """The template's empty signature field called ``name``, with a visible widget."""
    for field_name, value, field_ref in enumerate_sig_fields(reader, filled_status=False):
        if field_name != name or value is not None:
            continue
        widget = field_ref.get_object()
        if "/Rect" not in widget:
            continue
        rect = _rectangle([float(v.get_object()) for v in widget["/Rect"].get_object()])
        if rect[2] - rect[0] < 10 or rect[3] - rect[1] < 10:
            continue  # an invisible field: nowhere to draw the seal
        for index in range(int(reader.root["/Pages"]["/Count"])):
            page_obj = reader.find_page_for_modification(index)[0].get_object()
            annots = page_obj.get("/Annots", generic.ArrayObject())
            if any(ref == field_ref for ref in annots):  # its widget is on this page
                box = (round(rect[0]), round(rect[1]), round(rect[2]), round(rect[3]))
                return field_name, Spot(index, box, _rotation(page_obj))
    return None


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _signature_widgets(
    page: generic.DictionaryObject,
) -> Iterator[tuple[str, tuple[float, ...], bool]]:
    """The visible signature fields on ``page``: (name, rectangle, an official's signature)."""
    for ref in page.get("/Annots", generic.ArrayObject()):
        annot = ref.get_object()
        if annot.get("/Subtype") != "/Widget":
            continue
        node, field_type, name, value = annot, None, None, None
        while node is not None and (field_type is None or name is None or value is None):
            field_type = field_type or node.get("/FT")
            name = name or node.get("/T")
            value = value or node.get("/V")
            node = node["/Parent"].get_object() if "/Parent" in node else None
        if field_type != "/Sig" or "/Rect" not in annot:
            continue
        rect = _rectangle([float(v.get_object()) for v in annot["/Rect"].get_object()])
        if rect[2] > rect[0] and rect[3] > rect[1]:  # an invisible field takes no room
            official = value is not None and not str(name).startswith(FIELD_NAME)
            yield str(name), rect, official


def _blocks(page: generic.DictionaryObject) -> Iterator[tuple[float, ...]]:
    """The verification blocks ketqua put on ``page`` before (a result signed again)."""
    for ref in page.get("/Annots", generic.ArrayObject()):
        annot = ref.get_object()
        if annot.get("/Subtype") == "/Stamp" and annot.get("/Name") == BLOCK_NAME:
            yield _rectangle([float(v.get_object()) for v in annot["/Rect"].get_object()])


def _inherited(page: generic.DictionaryObject, key: str) -> Any:
    """A page attribute that may sit on the page or on any of its parents."""
    node = page
    while key not in node and "/Parent" in node:
        node = node["/Parent"].get_object()
    return node[key].get_object() if key in node else None


def _rotation(page: generic.DictionaryObject) -> int:
    try:
        value = int(_inherited(page, "/Rotate") or 0)
    except (TypeError, ValueError):
        return 0
    return value % 360 if value % 90 == 0 else 0


def _inherited_box(page: generic.DictionaryObject, key: str) -> tuple[float, ...] | None:
    array = _inherited(page, key)
    if array is None:
        return None
    values = [float(v.get_object()) for v in array]
    if len(values) != 4:
        raise PlacementError(f"the page's {key} is not a rectangle")
    return _rectangle(values)


def _rectangle(values: list[float]) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a PDF rectangle given by any two opposite corners."""
    left, right = sorted((values[0], values[2]))
    bottom, top = sorted((values[1], values[3]))
    return (left, bottom, right, top)
