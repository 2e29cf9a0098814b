"""Benchmark suites: variants trained side by side under one pinned protocol, with reports and plots.

suite.py parses and checks a suite file; runner.py trains and evaluates every (variant, seed), one after
another; parallel.py runs them at once (``--jobs``, ``--executor``), each through worker.py in a process or
job that launchers.py starts;
results.py reads and writes results.json and summarizes it; report.py, plots.py and compare.py
turn results into report.md, PNGs and baseline comparisons; live.py is the live view.
"""
