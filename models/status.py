"""What became of a model in a run: trained, its baseline scored in its place, or skipped, and why.

A model whose data cannot support it as of the run's date (a source missing, too little history, too
few clients) raises `CannotScore` with the reason in words; `models.jobs.run_all` catches exactly that,
records the reason (ml.model_runs, the model card, the run summary; the report reads them) and goes on
with the next model. Anything else is a bug and stops the run.
"""

from __future__ import annotations

TRAINED = "trained"  # the model, trained on the horizon in the run's row
BASELINE = "baseline"  # the model could not be trained; its baseline scored in its place
SKIPPED = "skipped"  # nothing scored


class CannotScore(Exception):
    """The data as of the run's date cannot support this model; the message says why and what would.
    Retrying does not help: more data (a longer history, another source) does."""

    retryable = False
