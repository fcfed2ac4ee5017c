"""Finding frames by look: an approximate-nearest-neighbour index over the stored
embeddings (index), extended as batches arrive (step), with exact re-ranking."""
