"""What each video is about: timelines and segments, tf-idf rankings, one-line
summaries; step writes the tables and pictures."""
