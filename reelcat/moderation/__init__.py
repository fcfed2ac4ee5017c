"""Which videos need a person and where: severity, segments, decisions, the queue
order; step writes the tables, the heat map and the severity strips."""
