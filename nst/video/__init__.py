"""``nst video``: temporally consistent style transfer of a video (Ruder, Dosovitskiy and Brox, 2016).

``command`` (the command line) -> ``engine`` (the frame loop over :func:`nst.run.problem.prepare`
and :func:`nst.run.loop.follow`) with ``settings`` (the video's settings and its state file),
``io`` (frames in, video out, through ffmpeg) and ``flow`` (optical flow, OpenCV's DIS).
"""
