"""From embeddings to tags: the CLIP model and vocabulary, scoring, thresholds, the
stored scores read back (scores); step scores the archive."""
