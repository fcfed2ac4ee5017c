"""A generator of labelled synthetic video archives (world, archive) and the script that
trains the tiny offline CLIP model on the same rendered world (train)."""
