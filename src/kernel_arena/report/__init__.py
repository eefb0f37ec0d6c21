"""Reports over traces: leaderboards with fast_p (``leaderboard.py``, the one aggregation rule),
comparison of runs or Solutions (``compare.py``), chart series and SVGs (``charts.py``,
``svg.py``; ``traffic.py``: the bytes a workload moves), text formats (``render.py``), the run
summary (``summary.py``), timing marks (``marks.py``) and the HTML export (``html.py``)."""
