"""Frames in and a video out: what ``nst video`` reads and writes, with one-line errors.

A video is probed (its size checked against --max-pixels from the header, before any frame is
decoded), timed (each frame's timestamp, from a decode to 2x2 pixels) and read through imageio's
ffmpeg plugin, one frame per frame of the file (``-fps_mode passthrough``: a variable frame rate
is not resampled); a folder is its image files in name order, at 25 fps. The ``imageio-ffmpeg``
wheel brings the ffmpeg binary (7.0 or later: ``-fps_mode``, the concat script's ``option``).
The stylised video is H.264 in the container its extension names, each frame shown for as long
as its input frame was, with the input's audio track from the first kept frame on, when it has
one; the file appears only when complete.
"""
import bisect
import os
import re
import subprocess
import tempfile
from typing import NamedTuple, Tuple

import numpy as np

from nst.algorithm import images
from nst.errors import NSTError

FOLDER_FPS = 25.0  # a folder of frames has no frame rate of its own
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}  # --output's: H.264, any timing
FFMPEG_INT_MAX = 2**31 - 1  # ffmpeg's -max_pixels is an int
MICROSECONDS = 1_000_000  # the output's time base: each frame's start to the microsecond
TOLERANCE = 1e-6  # seconds: a frame at 2.4999999 s is the frame at 2.5 s


class Source(NamedTuple):
    """A video or a folder of frames, and what is known before its frames are read."""

    path: str
    times: Tuple[float, ...]  # each frame's start (s, from the first frame's), then the end of the last
    has_audio: bool
    files: tuple = ()  # a folder's frame files, in order

    @property
    def frames(self):
        return len(self.times) - 1


def ffmpeg():
    """The ffmpeg binary of the imageio-ffmpeg wheel."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise NSTError("nst video needs imageio-ffmpeg: pip install 'nst[video]'") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def check_output(path):
    """Refuse an output whose extension names no container H.264 with any frame timing goes into."""
    extension = os.path.splitext(str(path))[1].lower()
    if extension not in CONTAINERS:
        allowed = ", ".join(CONTAINERS)
        raise NSTError(f"{{option}} {path}: nst video writes {allowed} (H.264 with the input's timing), not "
                       f"{extension or 'a name without an extension'}", "output")


def open_source(path, max_pixels=images.DEFAULT_MAX_PIXELS):
    """The :class:`Source` at ``path``; one clear error for what is missing, empty, unreadable or too large."""
    if os.path.isdir(path):
        files = tuple(os.path.join(path, name) for name in sorted(os.listdir(path)) if images.is_image_path(name))
        if not files:
            raise NSTError(f"{path}: a folder with no image files (frames are read from .png, .jpg, ...)")
        return Source(path, tuple(n / FOLDER_FPS for n in range(len(files) + 1)), False, files)
    if not os.path.exists(path):
        raise NSTError(f"{path}: no such file or folder")
    if not os.path.isfile(path):
        raise NSTError(f"{path}: not a regular file")
    if os.path.getsize(path) == 0:
        raise NSTError(f"{path}: the file is empty")
    has_audio = _probe(path, max_pixels)
    return Source(path, _frame_times(path, max_pixels), has_audio, ())


def _decoding(max_pixels):
    """ffmpeg's input options: its decoder refuses larger frames too, should a stream change size."""
    return ["-max_pixels", str(min(max_pixels, FFMPEG_INT_MAX))]


def _probe(path, max_pixels):
    """Whether the file has an audio track; refuse one without a video stream ffmpeg decodes, or whose
    frames (from the header: no frame is decoded) are over ``max_pixels``, as ``nst train`` refuses an image."""
    done = subprocess.run([ffmpeg(), "-hide_banner", *_decoding(max_pixels), "-i", path], capture_output=True,
                          text=True, errors="replace")
    streams = [line.strip() for line in done.stderr.splitlines() if line.strip().startswith("Stream #")]
    if not streams:
        raise NSTError(f"{path}: not a video ffmpeg can read ({_first_line(done.stderr)})")
    video = [line for line in streams if ": Video: " in line and "(attached pic)" not in line]
    if not video:
        kinds = ", ".join(line.split(": ", 1)[-1].split(",")[0] for line in streams)
        raise NSTError(f"{path}: no video stream (only {kinds})")
    codec = video[0].split(": Video: ", 1)[1].split(",")[0].strip()
    if codec.startswith("none") or "unknown" in codec:
        raise NSTError(f"{path}: its video codec is not one this ffmpeg decodes ({codec})")
    # the header's size, else (an AVI's MJPEG) the one the decoder refused; ' 0x31637661)', a codec tag, is no size
    size = re.search(r"Picture size (\d+)x(\d+) exceeds", done.stderr) or re.search(r" (\d+)x(\d+)[ ,]", video[0])
    if size:
        images.check_pixel_count(path, (int(size[1]), int(size[2])), max_pixels, "its frames are")
    return any(": Audio: " in line for line in streams)


def _frame_times(path, max_pixels):
    """Each frame's start (s, from the first's) and the end of the last, as the frames are decoded.

    A decode to 2x2 frames (framecrc: one line per frame, in the stream's time base); the last frame
    lasts its packet's duration, else the median gap.
    """
    command = [ffmpeg(), "-hide_banner", "-loglevel", "error", *_decoding(max_pixels), "-i", path, "-map", "0:V:0",
               "-fps_mode", "passthrough", "-vf", "scale=2:2", "-c:v", "rawvideo", "-enc_time_base:v", "demux",
               "-f", "framecrc", "-"]
    done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    base = re.search(r"^#tb 0: (\d+)/(\d+)$", done.stdout, re.M)
    rows = [line.split(",") for line in done.stdout.splitlines() if line.startswith("0,")]
    if done.returncode != 0 or not (base and rows):
        raise NSTError(f"{path}: cannot decode the video ({_first_line(done.stderr or 'no frames')})")
    tick = int(base[1]) / int(base[2])
    starts = [int(row[2]) * tick for row in rows]
    gaps = np.diff(starts)
    last = int(rows[-1][3]) * tick or (float(np.median(gaps)) if len(gaps) else 1 / FOLDER_FPS)
    return tuple(t - starts[0] for t in starts + [starts[-1] + last])


def _first_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def read_frames(source, max_pixels=images.DEFAULT_MAX_PIXELS):
    """Yield each frame of ``source`` as (H, W, 3) float32 on 0..255: one per frame of the file."""
    if source.files:
        for path in source.files:
            yield images.load_image(path, max_pixels)
        return
    import imageio.v3 as iio

    try:
        for frame in iio.imiter(source.path, plugin="FFMPEG", input_params=_decoding(max_pixels),
                                output_params=["-map", "0:V:0", "-fps_mode", "passthrough"]):
            yield np.asarray(frame[..., :3], np.float32)
    except Exception as exc:
        raise NSTError(f"{source.path}: cannot decode the video ({_first_line(exc)})") from None


def parse_position(text):
    """'12' -> frame 12; '2.5s' -> 2.5 seconds: (value, unit) for --start/--end."""
    text = str(text).strip()
    try:
        if text.endswith("s"):
            value = float(text[:-1])
            if value >= 0 and np.isfinite(value):
                return value, "s"
        else:
            value = int(text)
            if value >= 0:
                return value, "frame"
    except ValueError:
        pass
    raise NSTError(f"{{option}}: {text!r} is neither a frame number (12) nor seconds (2.5s)")


def frame_number(position, times):
    """A (value, unit) position as a frame number: seconds name the first frame shown at or after them."""
    if position is None:
        return None
    value, unit = position
    return bisect.bisect_left(times[:-1], value - TOLERANCE) if unit == "s" else value


def keep(index, selection):
    """Whether frame ``index`` is one of (first, end or None, every)'s."""
    first, last, every = selection
    return index >= first and (last is None or index < last) and (index - first) % every == 0


def kept_times(times, selection, count):
    """The start of each of the first ``count`` kept frames (from the first's) and the end of the last: a kept
    frame lasts until the next; the last, as long as its ``every`` input frames (the video's end at most)."""
    first, _, every = selection
    marks = [times[min(first + k * every, len(times) - 1)] for k in range(count + 1)]
    return tuple(t - marks[0] for t in marks)


def write_video(path, pictures, times, audio=None, audio_start=0.0):
    """Encode the image files ``pictures`` shown at ``times`` (each one's start, then the end of the last) as
    H.264 in the container ``path``'s extension names, atomically; returns its frames' (width, height).

    An odd side gets one more pixel, a copy of the last row or column: H.264's yuv420p needs even sides.
    With ``audio`` (a file with an audio track) its audio from ``audio_start`` seconds on is added, cut to
    the video's length. The scratch files go into the pictures' folder, where a run folder removes
    what a kill leaves.
    """
    check_output(path)
    script, silent = (_temporary(os.path.dirname(os.path.abspath(pictures[0])), name) for name in ("concat", "h264"))
    final = _temporary(os.path.dirname(os.path.abspath(path)), os.path.basename(path))
    try:
        with open(script, "w") as f:
            f.write(_concat_script(pictures, times))
        height, width = images.load_image(pictures[0]).shape[:2]
        _run_ffmpeg(["-f", "concat", "-safe", "0", "-i", script, "-map", "0:v:0", *_even(width, height),
                     "-fps_mode", "passthrough", "-enc_time_base:v", "demux", "-c:v", "libx264", "-bf", "0",
                     "-pix_fmt", "yuv420p", "-f", "mp4", silent])
        _mux(silent, len(pictures), audio, audio_start, times[-1], path, final)
        os.chmod(final, images.file_mode())
        os.replace(final, path)
        return width + width % 2, height + height % 2
    except (OSError, RuntimeError) as exc:
        raise NSTError(f"{path}: cannot write the video ({_first_line(exc)})") from None
    finally:
        for name in (script, silent, final):
            if os.path.exists(name):
                os.unlink(name)


def _temporary(folder, name):
    """A new hidden scratch file in ``folder``, named as images.write_atomic names its own."""
    fd, path = tempfile.mkstemp(dir=folder, prefix="." + name + images.TEMPORARY_MARK, suffix=".tmp")
    os.close(fd)
    return path


def _concat_script(pictures, times):
    """ffmpeg's concat script showing each picture from its time on, to the microsecond.

    The last picture comes twice: the second copy, cut when muxing, marks where the last frame ends
    (a frame's duration is the gap to the next). ``framerate`` sets each picture's time base.
    """
    ticks = [round(t * MICROSECONDS) for t in times]
    lines = ["ffconcat version 1.0"]
    for n, picture in enumerate([*pictures, pictures[-1]]):
        lines += ["file '" + os.path.abspath(picture).replace("'", "'\\''") + "'", f"option framerate {MICROSECONDS}"]
        if n < len(pictures):
            lines.append(f"duration {max(ticks[n + 1] - ticks[n], 1)}us")
    return "\n".join(lines) + "\n"


def _even(width, height):
    """The filter padding an odd side by a copy of its last row or column (yuv420p needs even sides)."""
    if not (width % 2 or height % 2):
        return []
    return ["-vf", f"pad={width + width % 2}:{height + height % 2}:0:0,"
                   f"fillborders=right={width % 2}:bottom={height % 2}:mode=smear"]


def _mux(video, count, audio, start, duration, path, out):
    """Copy the first ``count`` frames of ``video`` (no B-frames: they are its first packets) into the container
    ``path`` names, with ``audio``'s first track from ``start`` s on for ``duration`` s, if given; a shorter
    track ends early, the video is never cut."""
    command = ["-i", video]
    if audio:
        command += ["-ss", f"{start:.6f}", "-t", f"{duration:.6f}", "-i", audio, "-map", "1:a:0", "-c:a", "aac"]
    container = CONTAINERS[os.path.splitext(path)[1].lower()]
    faststart = ["-movflags", "+faststart"] if container in ("mp4", "mov") else []
    _run_ffmpeg([*command, "-map", "0:v:0", "-c:v", "copy", "-frames:v", str(count), *faststart, "-f", container,
                 out])


def _run_ffmpeg(arguments):
    """Run ffmpeg quietly; its last error line as a RuntimeError if it fails."""
    done = subprocess.run([ffmpeg(), "-y", "-hide_banner", "-loglevel", "error", *arguments], capture_output=True,
                          text=True, errors="replace")
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"ffmpeg exited with {done.returncode}")


def write_preview(path, pairs, durations):
    """A side-by-side (input | output) GIF of uint8 frame pairs, each shown its ``durations`` (s): a quick look."""
    import imageio.v3 as iio

    strip = [np.concatenate([a, b], axis=1) for a, b in pairs]
    if not strip:
        return None
    milliseconds = [1000.0 * d for d in durations[:len(strip)]]
    images.write_atomic(path, iio.imwrite("<bytes>", strip, extension=".gif", duration=milliseconds, loop=0))
    return path
