"""``nst serve``: ``command`` (the command line, the server's checks) and ``page`` (the Gradio page)."""
