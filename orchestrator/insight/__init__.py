"""Deployment insight: what happened to a deployment after the fact, on both engines.

``why`` (a diagnosis with a root cause), ``history`` (past deployments), the ledger (rows a Lambda
writes from CodeDeploy's and ECS's state-change events), ``dora`` (DORA metrics) and ``timeline``
(a picture of one deployment). The data (``evidence.py``, ``records.py``) and the decisions
(diagnosis, DORA arithmetic, the timeline model) are pure: stdlib only, importable by the Lambda
package; AWS reads go through ``orchestrator/aws/`` and each engine's ``inspect`` / ``history``.
"""
