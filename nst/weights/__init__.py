"""Where the VGG-19 weights come from: routes that each leave one checked ``.mat`` in the cache.

Reading order: ``digests`` (what makes a file trusted), ``http`` (fetching
with TLS verified, or unverified only behind a known digest), ``matfile``
(writing a converted ``.mat`` and its provenance), ``keras_h5`` and
``torch_legacy`` (reading the two other formats), ``routes`` (the ordered
sources). Everything after a route reads only ``.mat`` files.
"""
