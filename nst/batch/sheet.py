"""The contact sheet: every result of a batch in one picture, beside its content and style.

A grid with the style images along the top, the content images down the
side and each result where its row and column meet (a blank cell: no result
yet). The thumbnails are the pictures as the network saw them, which every
job folder holds (content.png, style.png, final.png).
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from nst.algorithm import images
from nst.run.outputs import CONTENT_IMAGE, FINAL_IMAGE, style_image_names

STYLE_IMAGE = style_image_names(1)[0]
SHEET_FILE = "contact_sheet.jpg"
CELL = 160  # px, the longer side of each thumbnail
GAP = 4
BLANK = (235, 235, 235)


def _thumbnail(path):
    try:
        with Image.open(path) as image:
            return ImageOps.contain(image.convert("RGB"), (CELL, CELL))
    except (OSError, ValueError):
        return None


def _first(paths):
    """The first of ``paths`` that is a picture (a failed job's folder has none)."""
    return next((image for image in map(_thumbnail, paths) if image is not None), None)


def _paste(sheet, image, row, column):
    if image is not None:
        x = column * (CELL + GAP) + (CELL - image.width) // 2
        y = row * (CELL + GAP) + (CELL - image.height) // 2
        sheet.paste(image, (x, y))


def contact_sheet(folder, jobs):
    """Write the sheet of ``jobs`` (run folders in ``folder``) as ``folder/contact_sheet.jpg``; its path."""
    contents = list(dict.fromkeys(job.content for job in jobs))
    styles = list(dict.fromkeys(job.style for job in jobs))
    sheet = Image.new("RGB", ((len(styles) + 1) * (CELL + GAP), (len(contents) + 1) * (CELL + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    for row in range(len(contents)):
        for column in range(len(styles)):
            x, y = (column + 1) * (CELL + GAP), (row + 1) * (CELL + GAP)
            draw.rectangle([x, y, x + CELL - 1, y + CELL - 1], fill=BLANK)
    for job in jobs:
        row, column = contents.index(job.content) + 1, styles.index(job.style) + 1
        _paste(sheet, _thumbnail(os.path.join(folder, job.id, FINAL_IMAGE)), row, column)
    for row, content in enumerate(contents, 1):
        _paste(sheet, _first([os.path.join(folder, j.id, CONTENT_IMAGE) for j in jobs if j.content == content]),
               row, 0)
    for column, style in enumerate(styles, 1):
        _paste(sheet, _first([os.path.join(folder, j.id, STYLE_IMAGE) for j in jobs if j.style == style]),
               0, column)
    path = os.path.join(folder, SHEET_FILE)
    images.write_atomic(path, images.encode_image(np.asarray(sheet), path))
    return path
