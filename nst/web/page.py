"""The page of ``nst serve``: the form's checks, the run behind the start button, and the Blocks layout.

A run on the page is :func:`nst.run.run_style_transfer` with a
:class:`nst.run.config.RunConfig` made from the form, as ``nst train`` makes one
from its options, and one consumer of its own (:class:`PageFeed`) that hands G
and the costs to the page every few steps. The run goes on in a thread of its
own while the start button's callback, a generator, turns what the feed gives
into page updates; the stop button asks the run to stop after its current step,
as Ctrl-C does, and the image so far is kept.

Nothing the page sends is a path: uploads arrive as Gradio's temporary files,
are checked (bytes, then pixels from the header, then decoded) before any run
starts, and are copied into the run's own folder under the server's output
folder, where everything the run writes goes. The layout is built only by
:func:`build_page`; the rest of the module works without Gradio, so its checks are
tested without a browser.
"""
import io
import os
import queue
import re
import shutil
import threading
import traceback
from typing import Any, NamedTuple

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from nst.algorithm import colors, images
from nst.errors import NSTError
from nst.run import presets
from nst.run.config import OPTIMIZERS
from nst.run.consumers import Consumer
from nst.run.figure import PANELS, figure_bytes, png_bytes
from nst.run.interrupt import StopRequest
from nst.run.masks import check_aspect
from nst.run.loop import run_style_transfer
from nst.run.outputs import CONTENT_IMAGE, style_image_names

MAX_UPLOAD_BYTES = 20 * 2**20  # a photo, not a raw scan
MAX_UPLOAD_PIXELS = 40_000_000  # checked from the header, before decoding
RANGES = {"max_side": (images.MIN_SIDE, 1024), "iterations": (1, 5000), "refresh_every": (1, 1000)}
INTEGERS = ("max_side", "iterations", "refresh_every")
NO_COLORS = "off"
RUN_PREFIX = "run-"
UPLOADS = "uploads"  # in the run's folder: the uploaded files as they came
UPLOAD_EXTENSIONS = images.IMAGE_EXTENSIONS + (".gif",)  # kept on the copies; any other name: no extension
CACHE_DELETION = (3600, 86400)  # (every, older than) seconds
PAGE_WAIT = 10.0  # seconds a run waits for the page to take its last G (a closed page stops the run anyway)
FIGURE = "c_plus_s_equals_g.png"
GRADIO_CACHE = ".gradio"  # in the server's output folder: Gradio's copies of uploads and of what the page shows
MARKDOWN_SIGNS = re.compile(r"([\\`*_\[\]<>~|&#])")  # what could mark up a name inside a line
NAME_CHARS = 80  # an uploaded file's name is shown whole up to this length
# Gradio cuts a file's name to fit its row ("g….jpg"); on this page it wraps instead
PAGE_CSS = ("#content-upload .stem, #style-upload .stem, #mask-upload .stem "
            "{white-space: normal; overflow-wrap: anywhere}")
LABELS = {  # a setting's name on the page: what an error message calls it
    "max_side": "size (longer side, px)", "iterations": "iterations", "optimizer": "optimizer",
    "alpha": "content weight α", "beta": "style weight β", "tv_weight": "TV weight",
    "preserve_colors": "preserve colours", "refresh_every": "refresh G every", "preset": "preset",
    "max_pixels": "nst serve --max-pixels",
}
FORM = ("preset", "max_side", "iterations", "optimizer", "alpha", "beta", "tv_weight", "preserve_colors",
        "refresh_every")


def label(setting):
    return LABELS.get(setting, setting)


class Limits(NamedTuple):
    """What the server accepts from the page."""

    upload_bytes: int = MAX_UPLOAD_BYTES
    pixels: int = MAX_UPLOAD_PIXELS


def preset_form(name):
    """The form's values of preset ``name``: what its fields show when it is chosen."""
    config = presets.config(name)
    return {"max_side": config.max_side or images.DEFAULT_MAX_SIDE, "iterations": config.iterations,
            "optimizer": config.optimizer, "alpha": config.alpha, "beta": config.beta,
            "tv_weight": config.tv_weight}


def shown(value, most=60, text=repr):
    """``text(value)``, cut to ``most`` characters: a message stays one readable line whatever the page sent."""
    text = text(value)
    return text if len(text) <= most else text[:most - 1] + "…"


def _number(setting, value):
    """A form number as the setting's type, inside the page's range when it has one."""
    if value is None or value == "":
        raise NSTError("{option} is empty", setting)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise NSTError(f"{{option}}: {shown(value)} is not a number", setting) from None
    got = shown(value, text=str)
    if setting in INTEGERS:
        if not number.is_integer():  # also NaN and infinity
            raise NSTError(f"{{option}} must be a whole number, got {got}", setting)
        number = int(number)
    low, high = RANGES.get(setting, (None, None))
    if low is not None and not low <= number <= high:
        raise NSTError(f"{{option}} must be between {low} and {high}, got {got}", setting)
    return number


def _choice(setting, value, choices, what):
    """A form value that must be one of ``choices``; anything else (a list, a number, a long text) is one line."""
    if not isinstance(value, str) or value not in choices:
        raise NSTError(f"{{option}}: unknown {what} {shown(value)}", setting)
    return value


def form_settings(form):
    """RunConfig settings (and the refresh interval) from the form's values, each checked; NSTError names the field."""
    settings = {name: _number(name, form[name]) for name in ("max_side", "iterations", "alpha", "beta",
                                                               "tv_weight", "refresh_every")}
    _choice("preset", form["preset"], presets.names(), "preset")
    settings["optimizer"] = _choice("optimizer", form["optimizer"], tuple(OPTIMIZERS), "optimizer")
    mode = _choice("preserve_colors", form["preserve_colors"], (NO_COLORS,) + colors.MODES, "mode")
    settings["preserve_colors"] = None if mode == NO_COLORS else mode
    return settings


def check_upload(path, role, limits):
    """Check an uploaded file (Gradio's temporary copy) is an image the run will take; its pixels.

    Bytes first (from its size), then pixels (from its header), then the decode;
    the message names the file as uploaded, not the server's temporary path.
    """
    shown = f"{role} image {os.path.basename(path)}"
    try:
        size = images.check_regular_file(path).st_size
        if size > limits.upload_bytes:
            raise NSTError(f"{path}: {size:,} bytes, over the limit of {limits.upload_bytes:,} bytes "
                           f"({limits.upload_bytes / 2**20:.3g} MB)")
        return images.load_image(path, limits.pixels)
    except NSTError as exc:
        raise NSTError(exc.template.replace(path, shown), exc.options) from None


def page_config(form, content, style, limits, vgg=None, mask=None):
    """The checked RunConfig of a form and its uploads (None: the default image; no mask: everywhere), and the
    refresh interval.

    Nothing is written: the run's folder and copies of the uploads come later.
    """
    settings = form_settings(form)
    every = settings.pop("refresh_every")
    pictures = {role: check_upload(path, role, limits) for path, role in
                ((content, "content"), (style, "style"), (mask, "mask")) if path}
    if mask:  # here, where its name is the uploaded one
        content_shape = pictures["content"].shape if content else images.default_content_image()[0].shape
        check_aspect(f"mask image {os.path.basename(mask)}", pictures["mask"].shape, content_shape, "a content")
    config = presets.config(form["preset"], **settings, content=content, style=(style,) if style else (),
                            style_masks=(mask,) if mask else (), max_pixels=limits.pixels, vgg=vgg, quiet=True)
    return config, every


def new_run_folder(output):
    """A new numbered folder under ``output`` (run-0001, ...), taken atomically: two runs never share one."""
    taken = [int(n[len(RUN_PREFIX):]) for n in os.listdir(output) if n.startswith(RUN_PREFIX)
             and n[len(RUN_PREFIX):].isdigit()]
    number = max(taken, default=0) + 1
    while True:
        path = os.path.join(output, f"{RUN_PREFIX}{number:04d}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            number += 1


def place_run(config, output):
    """``config`` writing into a new run folder under ``output``, its uploads copied in: what the run reads."""
    folder = new_run_folder(output)
    copies = {}
    for role, path in (("content", config.content), ("style", config.style[0] if config.style else None),
                       ("mask", config.style_masks[0] if config.style_masks else None)):
        if path:
            os.makedirs(os.path.join(folder, UPLOADS), exist_ok=True)
            extension = os.path.splitext(path)[1].lower()  # the uploaded name's, if it is an image's
            copies[role] = os.path.join(folder, UPLOADS, role + (extension if extension in UPLOAD_EXTENSIONS else ""))
            shutil.copyfile(path, copies[role])
    return config.replace(output=folder, content=copies.get("content"),
                          style=(copies["style"],) if "style" in copies else (),
                          style_masks=(copies["mask"],) if "mask" in copies else ())


class Snapshot(NamedTuple):
    """What the page shows during a run."""

    iteration: int
    picture: Any  # G's uint8 pixels, as the run saves them
    rows: list  # the costs so far (Steps without images)


class PageFeed(Consumer):
    """The page's consumer of the run: G every ``every`` steps, and the costs so far, into a queue.

    The run hands over a G only once the page has taken the one before (``shown``), waiting at most
    :data:`PAGE_WAIT` seconds: the page shows every G it asked for, and never lags behind the run,
    so a stop ends the run at most a refresh after the G on the screen.
    """

    def __init__(self, every):
        self.every, self.rows, self.updates, self.picture = every, [], queue.Queue(), None
        self.shown = threading.Event()
        self.shown.set()

    def begin(self, problem):
        self.picture = problem.picture

    def step(self, step):
        self.rows.append(step._replace(image=None))
        if step.iteration % self.every == 0:
            self._publish(step)

    def save(self, step, name, last=False):
        if last and step.iteration % self.every:
            self._publish(step)

    def _publish(self, step):
        self.shown.wait(PAGE_WAIT)
        self.shown.clear()
        self.updates.put(Snapshot(step.iteration, self.picture(step.image), list(self.rows)))


class RunEnd:
    """How the run's thread ended: a Result, or the error to show."""

    result = None
    error = None


def run_in_thread(config, feed, stop):
    """Start the run; the feed's queue gets its snapshots, then the :class:`RunEnd` when it ends."""
    outcome = RunEnd()

    def work():
        try:
            outcome.result = run_style_transfer(config, consumers=[feed], stop=stop)
        except NSTError as exc:
            outcome.error = exc.message(label)
        except Exception as exc:  # the page shows it and the server goes on; the trace goes to the log
            traceback.print_exc()
            outcome.error = f"the run failed: {type(exc).__name__}: {exc}"
        finally:
            feed.updates.put(outcome)

    thread = threading.Thread(target=work, name="nst-run", daemon=True)
    thread.start()
    return thread


def cost_curves(rows):
    """The three cost curves, J, J_content and J_style, against the step, on a log scale; RGB pixels."""
    fig = Figure(figsize=(5, 3), dpi=80)
    ax = fig.subplots()
    steps = [r.iteration for r in rows]
    for name in ("J", "J_content", "J_style"):
        values = [getattr(r, name) for r in rows]
        ax.plot(steps, values, label=name, marker="." if len(rows) < 30 else None)
    if all(getattr(r, n) > 0 for r in rows for n in ("J", "J_content", "J_style")):
        ax.set_yscale("log")
    ax.set(xlabel="step")
    # beside the axes, where it covers no curve; the PNG is trimmed to the figure's content, legend included
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    return np.asarray(Image.open(io.BytesIO(png_bytes(fig))).convert("RGB"))


def progress_text(rows, total, started=False):
    """'step 12 / 40: J = ...; 3.1 s so far, about 7 s left'."""
    if not rows:
        return "reading the images and building the graph…" if started else ""
    last = rows[-1]
    left = last.seconds / max(last.iteration, 1) * (total - last.iteration)
    return (f"step {last.iteration} / {total}: J = {last.J:.4g} (J_content = {last.J_content:.4g}, "
            f"J_style = {last.J_style:.4g}); {last.seconds:.1f} s so far, about {left:.0f} s left")


def finish(config, result):
    """The files to download (PNG, JPEG), the C + S = G picture, and the closing line."""
    folder = config.output
    kept = result.saved[-1]  # final.png, or the image saved when the run was stopped
    pixels = images.load_image(kept).astype(np.uint8)
    jpeg = os.path.splitext(kept)[0] + ".jpg"
    images.write_atomic(jpeg, images.encode_image(pixels, jpeg))
    pictures = [images.load_image(os.path.join(folder, name)) for name in (CONTENT_IMAGE, style_image_names(1)[0])]
    figure = os.path.join(folder, FIGURE)
    images.write_atomic(figure, figure_bytes(pictures + [pixels], [title for _, title in PANELS]))
    last = result.history[-1]
    how = f"stopped after {last.iteration} steps, the image so far kept" if result.interrupted else \
        f"done: {last.iteration} steps"
    text = (f"{how}; J = {last.J:.4g} after {last.seconds:.1f} s. "
            f"Files in {os.path.basename(folder)}/ of the server's output folder.")
    return [kept, jpeg], figure, text, pixels


class Server:
    """The state of one ``nst serve``: its output folder, its limits, and the stop requests of running runs."""

    def __init__(self, output, limits=Limits(), vgg=None):
        self.output, self.limits, self.vgg = os.path.abspath(output), limits, vgg
        self.stops, self.lock = {}, threading.Lock()

    @property
    def uploads(self):
        """Gradio's folder (its copies of uploads): the only files the page may name."""
        return os.path.join(self.output, GRADIO_CACHE)

    def check_upload(self, path, role):
        """(preview pixels or None, message) for an upload: the page says at once what is wrong."""
        if not path:
            return default_picture(role), ""
        try:
            pixels = check_upload(path, role, self.limits).astype(np.uint8)
        except NSTError as exc:
            return None, error_text(exc)
        return pixels, upload_text(path, role, pixels)

    def run(self, session, content, style, form, mask=None):
        """Check the form, run, and yield (status, G, curves, downloads, figure) as the run goes."""
        try:
            config, every = page_config(form, content, style, self.limits, self.vgg, mask)
            config = place_run(config, self.output)
        except NSTError as exc:
            yield error_text(exc), None, None, None, None
            return
        except OSError as exc:  # the server's folder: full disk, removed, not writable
            yield f"**Error:** {self.output}: cannot start a run there ({exc.strerror or exc})", None, None, None, None
            return
        stop, feed = StopRequest(), PageFeed(every)
        thread = run_in_thread(config, feed, stop)
        with self.lock:
            self.stops[session] = stop, thread
        try:
            yield from self._follow(config, feed, thread)
        finally:  # also when the page is closed mid-run: the run stops and keeps its image
            stop.request()
            feed.shown.set()
            with self.lock:
                self.stops.pop(session, None)

    def _follow(self, config, feed, thread):
        yield progress_text([], config.iterations, started=True), None, None, None, None
        while True:
            update = feed.updates.get()
            if isinstance(update, RunEnd):
                break
            yield (progress_text(update.rows, config.iterations), update.picture, cost_curves(update.rows),
                   None, None)
            feed.shown.set()  # Gradio asks for the next update once it has sent this one
        thread.join()
        if update.error:
            yield f"**Error:** {update.error}", None, None, None, None
            return
        try:
            files, figure, text, pixels = finish(config, update.result)
        except (NSTError, OSError) as exc:
            yield f"**Error:** the run ended, but its result could not be written: {exc}", None, None, None, None
            return
        yield text, pixels, cost_curves(update.result.history), files, figure

    def stop(self, session):
        """Ask this visitor's run to stop after its current step; the image so far is kept."""
        with self.lock:
            stop, _ = self.stops.get(session, (None, None))
        if stop is not None:
            stop.request()
        return "stopping after the current step…" if stop is not None else "no run to stop"

    def stop_all(self, timeout=60):
        """Stop every run (the server is closing) and wait while each saves its image so far."""
        with self.lock:
            running = list(self.stops.values())
        for stop, thread in running:
            stop.request()
        for stop, thread in running:
            thread.join(timeout)


def default_picture(role):
    """What the run takes when nothing is uploaded: the package's own default images."""
    if role == "mask":
        return np.full((64, 64, 3), 255, np.uint8)  # white: the style everywhere
    picture = images.default_content_image()[0] if role == "content" else images.default_style_image((256, 256))[0]
    return picture.astype(np.uint8)


def error_text(exc):
    return f"**Error:** {exc.message(label)}"


def file_name(name, most=NAME_CHARS):
    """``name`` whole, or, when longer than ``most``, the start and end of its stem around "…", its extension kept."""
    if len(name) <= most:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension) > most // 4:  # a dot late in a long name, not an extension
        stem, extension = name, ""
    keep = most - len(extension) - 1
    return stem[:keep - keep // 3] + "…" + stem[len(stem) - keep // 3:] + extension


def plain(text):
    """``text`` in Markdown that shows it as it is (a file named ``_draft_.png`` is not set in italics)."""
    return MARKDOWN_SIGNS.sub(r"\\\1", text)


def upload_text(path, role, pixels):
    """The line under an accepted upload: its whole name (the upload box cuts it) and its size."""
    height, width = pixels.shape[:2]
    return f"{role} image {plain(file_name(os.path.basename(path)))}: {width}x{height} px"


def upload_path(value):
    """The path of an upload as the run's callback gets it (unprocessed, so that its own checks speak): Gradio's
    file record, already held to its upload folder by :func:`guard_inputs`, or None."""
    return value["path"] if value else None


def inside(path, folder):
    try:
        return os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)
    except ValueError:  # a NUL byte
        return False


def foreign_file(value, folder):
    """Why ``value``, sent for a file field, is not one of the page's uploads; None if it is one, or is empty."""
    if value is None:
        return None
    path = value.get("path") if isinstance(value, dict) else None
    if not isinstance(path, str):
        return f"{shown(value)}: not a file record"
    if not inside(path, folder):
        name = os.path.basename(path)
        return f"{shown(name, text=str if name.isprintable() else repr)}: not a file uploaded to this page"
    return None


def refused_upload(components, values, files, folder):
    """The message for the first file field (of ``files``, (component, role) pairs) whose value is not one of the
    page's uploads; None if every one is."""
    for component, value in zip(components, values):
        role = next((role for field, role in files if field is component), None)
        why = foreign_file(value, folder) if role else None
        if why:
            return f"{role} image {why}; upload the file again"
    return None


def guard_inputs(page, files, folder):
    """What Gradio refuses before a callback runs becomes one line on the page, with no traceback on the console.

    Gradio prints a traceback and the page shows a bare "Error" for a path outside its upload folder, a file
    record that is not one, or a value its own checks turn down; ``files`` ((component, role) pairs) are checked
    here first, so the message names the field.
    """
    import gradio as gr
    from gradio.exceptions import ComponentProcessingError, InvalidPathError
    from pydantic import ValidationError

    preprocess = page.preprocess_data

    async def preprocess_data(block_fn, inputs, *args, **kwargs):
        refused = refused_upload(block_fn.inputs, inputs, files, folder)
        if refused:
            raise gr.Error(refused, print_exception=False)
        try:
            return await preprocess(block_fn, inputs, *args, **kwargs)
        except (InvalidPathError, ValidationError, ComponentProcessingError, gr.Error) as exc:
            reason = " ".join(str(getattr(exc, "message", None) or str(exc).splitlines()[0]).split())
            raise gr.Error(f"the page sent a value it does not take ({reason}); reload the page",
                           print_exception=False) from None

    page.preprocess_data = preprocess_data  # Gradio calls it for every event, as self.preprocess_data


def one_line(callback):
    """``callback`` whose NSTError is a one-line message on the page (gr.Error) and no traceback on the console."""
    import gradio as gr

    def call(*args):
        try:
            return callback(*args)
        except NSTError as exc:
            raise gr.Error(exc.message(label), print_exception=False) from None

    return call


def upload_column(gr, role, label_text, picture_label):
    """An upload box, the line under it (its name and size, or what is wrong) and the picture the run takes."""
    with gr.Column():
        upload = gr.File(label=label_text, type="filepath", elem_id=f"{role}-upload")
        message = gr.Markdown(elem_id=f"{role}-message")
        view = gr.Image(default_picture(role), label=picture_label, interactive=False, height=180,
                        elem_id=f"{role}-view")
    return upload, message, view


def form_fields(gr, course):
    """The settings, by name (FORM), filled with the course's values."""
    number = {"max_side": "max-side", "iterations": "iterations", "alpha": "alpha", "beta": "beta",
              "tv_weight": "tv-weight"}
    fields = {"preset": gr.Dropdown(list(presets.names()), value="course", label=label("preset"))}
    for name, elem_id in number.items():
        fields[name] = gr.Number(course[name], label=label(name), precision=0 if name in INTEGERS else None,
                                 elem_id=elem_id)
    fields["optimizer"] = gr.Radio(list(OPTIMIZERS), value=course["optimizer"], label=label("optimizer"))
    fields["preserve_colors"] = gr.Dropdown([NO_COLORS, *colors.MODES], value=NO_COLORS,
                                            label=label("preserve_colors"))
    fields["refresh_every"] = gr.Number(5, label=label("refresh_every") + " N steps", precision=0,
                                        elem_id="refresh-every")
    return {name: fields[name] for name in FORM}


def build_page(server):
    """The Blocks layout and its events; Gradio is imported here only."""
    import gradio as gr

    course = preset_form("course")
    # Gradio's copies (uploads, each G shown) older than a day are removed hourly; the runs' own files stay
    with gr.Blocks(title="nst: neural style transfer", analytics_enabled=False, delete_cache=CACHE_DELETION) as page:
        gr.Markdown("# nst: neural style transfer\nUpload a content and a style image (or leave one empty for "
                    "the default), choose the settings, and watch the generated image G form.")
        with gr.Row():
            content, content_message, content_view = upload_column(gr, "content", "content image (empty: Grace "
                                                                   "Hopper)", "content C")
            style, style_message, style_view = upload_column(gr, "style", "style image (empty: a painted swirl)",
                                                             "style S")
            mask, mask_message, mask_view = upload_column(gr, "mask", "style mask, of the content's aspect (empty: "
                                                          "everywhere)", "where the style goes (white)")
        with gr.Row():
            fields = form_fields(gr, course)
        with gr.Row():
            start = gr.Button("Start", variant="primary", elem_id="start")
            stop = gr.Button("Stop (keep the image so far)", elem_id="stop")
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            g_view = gr.Image(label="generated G", interactive=False, format="png", height=300, elem_id="g-image")
            curves = gr.Image(label="costs", interactive=False, format="png", height=300, elem_id="curves")
        downloads = gr.File(label="result (PNG, JPEG)", file_count="multiple", interactive=False,
                            elem_id="downloads")
        figure = gr.Image(label="C + S = G", interactive=False, format="png", elem_id="figure")

        editable = [k for k in FORM if k in course]
        # unprocessed: a name outside the choices reaches preset_form, whose refusal is one line
        fields["preset"].change(one_line(lambda name: [preset_form(name)[k] for k in editable]), fields["preset"],
                                [fields[k] for k in editable], queue=False, preprocess=False, api_name="preset")
        for upload, view, message, role in ((content, content_view, content_message, "content"),
                                            (style, style_view, style_message, "style"),
                                            (mask, mask_view, mask_message, "mask")):
            upload.change(lambda path, role=role: server.check_upload(path, role), upload, [view, message],
                          queue=False, api_name=f"check_{role}")

        def run(content_file, style_file, preset, max_side, iterations, optimizer, alpha, beta, tv_weight,
                preserve_colors, refresh_every, mask_file=None, request: gr.Request = None):
            # FORM's order, the mask last (an API call may leave it out); Gradio adds the request
            values = (preset, max_side, iterations, optimizer, alpha, beta, tv_weight, preserve_colors, refresh_every)
            yield from server.run(request.session_hash, upload_path(content_file), upload_path(style_file),
                                  dict(zip(FORM, values)), upload_path(mask_file))

        # unprocessed: every value reaches the form's own checks (Gradio's would refuse with a traceback)
        start.click(run, [content, style, *fields.values(), mask], [status, g_view, curves, downloads, figure],
                    concurrency_limit=1, concurrency_id="run", preprocess=False, api_name="run")

        def stop_run(request: gr.Request):
            return server.stop(request.session_hash)

        stop.click(stop_run, None, status, queue=False, api_name="stop")
    guard_inputs(page, [(content, "content"), (style, "style"), (mask, "mask")], server.uploads)
    return page
