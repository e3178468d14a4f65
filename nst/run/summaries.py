"""TensorBoard logs of a run (``--logdir``): the costs every step, G at every save point.

Summaries are built as protocol buffers in Python and written with
``tf.summary.FileWriter``, so no summary op enters the graph and the costs are
the same with or without a log. The graph itself is not written: the curves
and images need nothing from it.
"""
from nst.algorithm.images import encode_image
from nst.algorithm.tf1 import tf
from nst.errors import NSTError


class SummaryLog:
    """An event file in ``logdir``; ``tensorboard --logdir DIR`` shows its curves and images."""

    def __init__(self, logdir):
        try:
            self.writer = tf.summary.FileWriter(logdir)
        except Exception as exc:  # TF raises its own error types for an unusable directory
            raise NSTError(f"{logdir}: cannot write TensorBoard logs there ({exc})") from None
        self.logdir = logdir

    def scalars(self, step, values):
        """One point on each curve: ``values`` maps a tag (J, J_content, ...) to a number."""
        summary = tf.Summary(value=[tf.Summary.Value(tag=tag, simple_value=float(v)) for tag, v in values.items()])
        self.writer.add_summary(summary, step)

    def image(self, step, tag, pixels):
        """A picture, (H, W, 3) uint8, shown under ``tag`` at ``step``."""
        height, width, _ = pixels.shape
        encoded = encode_image(pixels, "image.png")
        picture = tf.Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=encoded)
        self.writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag=tag, image=picture)]), step)
        self.writer.flush()

    def close(self):
        self.writer.close()
