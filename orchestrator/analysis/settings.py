"""A service's canary analysis settings in the catalog (`analysis:` at any layer). Pure.

SEAM (issue 14): the judge's owner completes this model (metrics, weights, thresholds, the no-data
rule) and its validation; the catalog only holds it as a field of ServiceSettings.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AnalysisSettings(BaseModel):
    """How the judge compares green with blue for one service in one environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
