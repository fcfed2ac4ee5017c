"""People's answers: the verdict log, the question queue, named groups, the review
session and the learning rule; step learns from the log."""
