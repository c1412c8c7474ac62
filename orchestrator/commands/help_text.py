"""The examples and exit codes `--help` shows (top level and every verb), written once.

Plain strings, no imports: cli.py must stay fast to import. A paragraph that starts with ``\\b``
is printed as written (click would otherwise re-wrap it).
"""

from __future__ import annotations

EXIT_CODES = (
    "\b\n"
    "Exit codes:\n"
    "  0    succeeded (or reached --until; or the command did what it says)\n"
    "  1    the deployment failed, was stopped or rolled back; the group is busy\n"
    "  2    bad input (catalog, flags, files, names; ecs engine: a deployment in flight):\n"
    "       one line, nothing changed in AWS\n"
    "  3    still running when --timeout passed (the deployment keeps running)\n"
    "  4    AWS error after retries (credentials, permissions, throttling)\n"
    "  130  interrupted (the message says how to re-attach)"
)


def epilog(*examples: str) -> str:
    """An epilog: the examples as written, then the exit codes."""
    lines = "\n".join(f"  {example}" for example in examples)
    return f"\b\nExamples:\n{lines}\n\n{EXIT_CODES}"


TOP = epilog(
    "bluegreen deploy product-service --sandbox          # a rehearsal, no AWS account needed",
    "bluegreen deploy product-service --env prod --image REPO/product-service:1.4.2",
    "bluegreen deploy product-service --until ready      # then: bluegreen promote DEPLOYMENT_ID",
    "bluegreen status product-service",
    "bluegreen sandbox serve --env prod                  # paste its export lines into your shell",
)
DEPLOY = epilog(
    "bluegreen deploy product-service --dry-run                 # the plan; no AWS call",
    "bluegreen deploy product-service --sandbox --strategy canary10",
    "bluegreen deploy product-service --sandbox --inject-fault error_rate=0.5",
    "bluegreen deploy product-service --env prod --image REPO/product-service:1.4.2",
    "bluegreen deploy product-service --until ready -o json     # CI: test, then promote",
    "bluegreen deploy product-service --task-definition task-definitions/service.json",
    "bluegreen deploy product-service --engine ecs --strategy canary10   # Amazon ECS runs it",
)
RENDER = epilog(
    "bluegreen render product-service --env prod",
    "bluegreen render product-service --task-definition ARN --out -",
)
STATUS = epilog(
    "bluegreen status d-ABCDEFGHI",
    "bluegreen status arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID   # the ECS engine's",
    "bluegreen status product-service --env prod -o json",
)
WATCH = epilog("bluegreen watch d-ABCDEFGHI", "bluegreen watch d-ABCDEFGHI --until traffic-shifted")
WHY = epilog(
    "bluegreen why d-ABCDEFGHI",
    "bluegreen why arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID -o json",
)
ANALYZE = epilog(
    "bluegreen analyze d-ABCDEFGHI",
    "bluegreen analyze arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID -o json",
)
STOP = epilog("bluegreen stop d-ABCDEFGHI", "bluegreen stop d-ABCDEFGHI --no-rollback")
ROLLBACK = epilog(
    "bluegreen rollback product-service --env prod",
    "bluegreen rollback product-service --to d-ABCDEFGHI   # choose the deployment to go back to",
)
HISTORY = epilog(
    "bluegreen history --env prod                      # every service, the last 30 days",
    "bluegreen history product-service --since 2w -o json",
    "bluegreen history --source api                    # ask the engines, not the ledger",
)
DORA = epilog(
    "bluegreen dora --env prod --since 30d",
    "bluegreen dora --service product-service -o json",
)
PROMOTE = epilog("bluegreen deploy product-service --until ready && bluegreen promote d-ABCDEFGHI")
STRATEGIES = epilog("bluegreen strategies", "bluegreen strategies -o json")
SANDBOX_SERVE = epilog(
    "bluegreen sandbox serve                                # every service of the default environment",
    "bluegreen sandbox serve --env prod --service product-service",
    "# then, in another shell: paste its export lines, and: bluegreen deploy product-service",
)
SCHEMA = epilog(
    "bluegreen schema > bluegreen.schema.json    # anyOf the documents, each in $defs",
    "bluegreen schema | jq -r '.anyOf[].\"$ref\"'    # the documents, by name",
)
MIGRATE = epilog(
    "bluegreen migrate product-service          # dry run: the native request, what does not translate",
    "bluegreen migrate product-service --env prod -o json",
    "bluegreen migrate product-service --apply  # switch it to ECS's own deployments (idempotent)",
)
TIMELINE = epilog(
    "bluegreen timeline d-ABCDEFGHI                     # compact text on the terminal",
    "bluegreen timeline d-ABCDEFGHI --out timeline.html  # one self-contained page (needs [report])",
    "bluegreen timeline ARN --out timeline.svg          # an ECS service deployment; .png works too",
)
FLEET = epilog(
    "bluegreen fleet deploy --all --env dev --dry-run          # the waves and their expected times",
    "bluegreen fleet deploy --all --env dev --image-tag 1.4.2",
    "bluegreen fleet watch fr-20261130t0730z-3f9a --env dev",
)
FLEET_DEPLOY = epilog(
    "bluegreen fleet deploy --all --env dev --dry-run          # waves, order, expected times; no AWS call",
    "bluegreen fleet deploy --all --env dev --image-tag 1.4.2  # each catalog image with tag 1.4.2",
    "bluegreen fleet deploy product-service order-service --env dev --images images.yaml",
    "bluegreen fleet deploy --all --env prod --max-parallel 2 --continue-on-failure",
    "bluegreen fleet deploy --resume fr-20261130t0730z-3f9a --env prod   # after a killed CI job",
)
FLEET_EXPORT = epilog(
    "bluegreen fleet export --all --env prod --out deploy/  # fleet-prod.asl.json, fleet-prod.template.yaml",
    "bluegreen fleet export --all --env dev --image-tag 1.4.2 --max-parallel 4 --out deploy/",
)
FLEET_WATCH = epilog(
    "bluegreen fleet watch fr-20261130t0730z-3f9a --env prod",
    "bluegreen fleet watch fr-20261130t0730z-3f9a --env prod -o json",
)
DRILL = epilog(
    "bluegreen drill product-service --env dev          # exit 0: rolled back within the bound",
    "bluegreen drill product-service --env dev --alarm product-service-5xx-errors -o json",
    "bluegreen drill inventory-service --env dev --fault hook  # the AfterAllowTraffic hook fails",
    "bluegreen drill product-service --env prod --force # production only with --force",
)
