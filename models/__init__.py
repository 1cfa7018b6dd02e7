"""scikit-learn jobs over the warehouse: value segments, churn risk, lead scoring, sales forecast and
next best actions, each computed as of a date from the data before it, backtested against baselines in
the same run, and written to schema `ml`. Entry point: `models.jobs.run_all`; see docs/models.md."""
