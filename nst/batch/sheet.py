"""The contact sheet: every result of a batch in one picture, beside its content and style.

A grid with the style images along the top, the content images down the
side, each labelled with its file's name, and each result where its row and
column meet (a blank cell: no result yet). The thumbnails are the pictures as the network saw them, which every
job folder holds (content.png, style.png, final.png).
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from nst.algorithm import images
from nst.errors import NSTError
from nst.run.outputs import CONTENT_IMAGE, FINAL_IMAGE, style_image_names

STYLE_IMAGE = style_image_names(1)[0]
SHEET_FILE = "contact_sheet.jpg"
CELL = 160  # px, the longer side of each thumbnail
GAP = 4
BLANK = (235, 235, 235)


LABEL = 14  # px under the thumbnails of the top row and the left column: the file's name
MAX_SIDE = 65000  # JPEG's limit is 65535 px a side


def _thumbnail(path, cell):
    try:
        with Image.open(path) as image:
            return ImageOps.contain(image.convert("RGB"), (cell, cell))
    except (OSError, ValueError):
        return None


def _first(paths, cell):
    """The first of ``paths`` that is a picture (a failed job's folder has none)."""
    return next((image for image in (_thumbnail(p, cell) for p in paths) if image is not None), None)


class Grid:
    """Cell geometry: as large as CELL, smaller when a side of the sheet would pass JPEG's limit."""

    def __init__(self, rows, columns):
        fit = min(MAX_SIDE // (columns + 1) - GAP, MAX_SIDE // (rows + 1) - GAP - LABEL)
        if fit < 8:
            raise NSTError(f"a contact sheet of {rows} contents x {columns} styles would pass JPEG's 65535 px")
        self.cell = min(CELL, fit)
        self.width, self.height = self.cell + GAP, self.cell + LABEL + GAP
        self.size = ((columns + 1) * self.width, (rows + 1) * self.height)

    def origin(self, row, column):
        return column * self.width, row * self.height


def _paste(sheet, grid, image, row, column):
    if image is not None:
        x, y = grid.origin(row, column)
        sheet.paste(image, (x + (grid.cell - image.width) // 2, y + (grid.cell - image.height) // 2))


def _label(draw, grid, text, row, column):
    x, y = grid.origin(row, column)
    chars = max(1, grid.cell // 6)  # the default font is about 6 px a character
    draw.text((x + 2, y + grid.cell + 1), text if len(text) <= chars else text[:chars - 2] + "..",
              fill="black")


def contact_sheet(folder, jobs):
    """Write the sheet of ``jobs`` (run folders in ``folder``) as ``folder/contact_sheet.jpg``; its path."""
    contents = list(dict.fromkeys(job.content for job in jobs))
    styles = list(dict.fromkeys(job.style for job in jobs))
    grid = Grid(len(contents), len(styles))
    sheet = Image.new("RGB", grid.size, "white")
    draw = ImageDraw.Draw(sheet)
    for row in range(1, len(contents) + 1):
        for column in range(1, len(styles) + 1):
            x, y = grid.origin(row, column)
            draw.rectangle([x, y, x + grid.cell - 1, y + grid.cell - 1], fill=BLANK)
    for job in jobs:
        row, column = contents.index(job.content) + 1, styles.index(job.style) + 1
        _paste(sheet, grid, _thumbnail(os.path.join(folder, job.id, FINAL_IMAGE), grid.cell), row, column)
    for row, content in enumerate(contents, 1):
        paths = [os.path.join(folder, j.id, CONTENT_IMAGE) for j in jobs if j.content == content]
        _paste(sheet, grid, _first(paths, grid.cell), row, 0)
        _label(draw, grid, os.path.basename(content), row, 0)
    for column, style in enumerate(styles, 1):
        paths = [os.path.join(folder, j.id, STYLE_IMAGE) for j in jobs if j.style == style]
        _paste(sheet, grid, _first(paths, grid.cell), 0, column)
        _label(draw, grid, os.path.basename(style), 0, column)
    path = os.path.join(folder, SHEET_FILE)
    images.write_atomic(path, images.encode_image(np.asarray(sheet), path))
    return path
