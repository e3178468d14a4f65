"""The product's commands beside the front-ends: ``nst train`` (one image) and ``nst download`` (the weights)."""
