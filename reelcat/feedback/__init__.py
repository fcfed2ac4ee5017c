"""People's answers: the verdict log, the question queue, named groups, the review
session, the learning rule and its adaptation file; step learns from the log."""
