"""Frames in and a video out: what ``nst video`` reads and writes, with one-line errors.

A video is read through imageio's ffmpeg plugin (the ``imageio-ffmpeg``
wheel brings the ffmpeg binary), a folder as its image files in name order.
The stylised video is written by that same ffmpeg binary at the input's frame
rate (divided by ``--every``), with the input's audio track from the first
kept frame on, when it has one; the file appears only when complete.
"""
import os
import re
import subprocess
import tempfile
from typing import NamedTuple, Optional

import numpy as np

from nst.algorithm import images
from nst.errors import NSTError

FOLDER_FPS = 25.0  # a folder of frames has no frame rate of its own
FFMPEG_INT_MAX = 2**31 - 1  # ffmpeg's -max_pixels is an int


class Source(NamedTuple):
    """A video or a folder of frames, and what is known before decoding it."""

    path: str
    fps: float
    frames: Optional[int]  # an estimate for a video (duration x fps), exact for a folder
    has_audio: bool
    files: tuple = ()  # a folder's frame files, in order


def ffmpeg():
    """The ffmpeg binary of the imageio-ffmpeg wheel."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise NSTError("nst video needs imageio-ffmpeg: pip install 'nst[video]'") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def open_source(path, max_pixels=images.DEFAULT_MAX_PIXELS):
    """The :class:`Source` at ``path``; one clear error for what is missing, empty, unreadable or too large."""
    if os.path.isdir(path):
        files = tuple(os.path.join(path, name) for name in sorted(os.listdir(path)) if images.is_image_path(name))
        if not files:
            raise NSTError(f"{path}: a folder with no image files (frames are read from .png, .jpg, ...)")
        return Source(path, FOLDER_FPS, len(files), False, files)
    if not os.path.exists(path):
        raise NSTError(f"{path}: no such file or folder")
    if not os.path.isfile(path):
        raise NSTError(f"{path}: not a regular file")
    if os.path.getsize(path) == 0:
        raise NSTError(f"{path}: the file is empty")
    _probe(path, max_pixels)
    import imageio.v3 as iio

    try:
        meta = iio.immeta(path, plugin="FFMPEG")
    except Exception as exc:
        raise NSTError(f"{path}: not a video ffmpeg can read ({_first_line(exc)})") from None
    fps = float(meta.get("fps") or 0)
    if not (fps > 0 and np.isfinite(fps)):
        raise NSTError(f"{path}: the video has no frame rate (is it a video?)")
    duration = meta.get("duration")
    count = int(round(duration * fps)) if duration and np.isfinite(duration) else None
    return Source(path, fps, count, bool(meta.get("audio_codec")), ())


def _decoding(max_pixels):
    """ffmpeg's input options: its decoder refuses larger frames too, should a stream change size."""
    return ["-max_pixels", str(min(max_pixels, FFMPEG_INT_MAX))]


def _probe(path, max_pixels):
    """Refuse a file without a video stream ffmpeg decodes, or whose frames (from the header: no frame is
    decoded) are over ``max_pixels``, as ``nst train`` refuses an image."""
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


def _first_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def read_frames(source, max_pixels=images.DEFAULT_MAX_PIXELS):
    """Yield each frame of ``source`` as (H, W, 3) float32 on 0..255."""
    if source.files:
        for path in source.files:
            yield images.load_image(path, max_pixels)
        return
    import imageio.v3 as iio

    try:
        for frame in iio.imiter(source.path, plugin="FFMPEG", input_params=_decoding(max_pixels)):
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


def frame_number(position, fps):
    """A (value, unit) position as a frame number at ``fps``."""
    if position is None:
        return None
    value, unit = position
    return int(round(value * fps)) if unit == "s" else value


def keep(index, selection):
    """Whether frame ``index`` is one of (first, end or None, every)'s."""
    first, last, every = selection
    return index >= first and (last is None or index < last) and (index - first) % every == 0


def write_video(path, frames, fps, audio=None, audio_start=0.0):
    """Write uint8 frames (an iterable of (H, W, 3)) as an H.264 mp4 at ``fps``, atomically.

    With ``audio`` (a file with an audio track) its audio from ``audio_start``
    seconds on is added, cut to the video's length.
    """
    import imageio_ffmpeg

    ffmpeg()
    folder = os.path.dirname(os.path.abspath(path))
    fd, silent = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp.mp4")
    os.close(fd)
    final = silent
    try:
        writer, count = None, 0
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
                writer = imageio_ffmpeg.write_frames(silent, (width, height), fps=fps, macro_block_size=2,
                                                     ffmpeg_log_level="error", output_params=["-movflags",
                                                                                              "+faststart"])
                writer.send(None)
            writer.send(np.ascontiguousarray(frame, np.uint8))
            count += 1
        if writer is None:
            raise NSTError(f"{path}: no frames to write")
        writer.close()
        if audio:
            final = silent[:-len(".tmp.mp4")] + ".audio.tmp.mp4"
            _add_audio(silent, audio, audio_start, count / fps, final)
        os.chmod(final, images.file_mode())
        os.replace(final, path)
    except (OSError, RuntimeError) as exc:
        raise NSTError(f"{path}: cannot write the video ({_first_line(exc)})") from None
    finally:
        for name in {silent, final}:
            if os.path.exists(name):
                os.unlink(name)


def _add_audio(video, audio, start, duration, out):
    """Mux ``audio``'s first audio track (``duration`` s from ``start`` s on) into ``video``, whose frames
    are copied, not re-encoded; a shorter track ends early, the video is never cut."""
    command = [ffmpeg(), "-y", "-loglevel", "error", "-i", video, "-ss", f"{start:.6f}", "-t", f"{duration:.6f}",
               "-i", audio, "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", out]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"ffmpeg exited with {done.returncode}")


def write_preview(path, pairs, fps):
    """A side-by-side (input | output) GIF of uint8 frame pairs, at most 5 s long: a quick look."""
    import imageio.v3 as iio

    strip = [np.concatenate([a, b], axis=1) for a, b in pairs]
    if not strip:
        return None
    images.write_atomic(path, iio.imwrite("<bytes>", strip, extension=".gif", duration=1000.0 / fps, loop=0))
    return path
