"""Reports over traces: leaderboards with fast_p, run comparison, HTML export."""
