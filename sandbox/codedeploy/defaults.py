"""What CodeDeploy fills in when a request leaves a member out (pure).

Clients written by others read these members from Get*/BatchGet* responses; a missing one is a
crash in someone else's tool. Each value carries its source. "awscli example" means the response
examples bundled with the AWS CLI (awscli/examples/deploy/*.rst, real outputs); "model" means the
member's documentation in botocore's codedeploy/2014-10-06/service-2.json (the API reference text).
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.codedeploy import configs
from sandbox.codedeploy.vocabulary import DeploymentReadyAction, InstanceAction

BLUE_GREEN = {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
IN_PLACE = {"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"}

# deploymentStyle by compute platform. Server: awscli example batch-get-deployment-groups.rst
# (groups created without a style show IN_PLACE / WITHOUT_TRAFFIC_CONTROL; the CloudFormation and
# Pulumi references name the same defaults). ECS and Lambda: the only style they support (ECS user
# guide: an ECS deployment group is blue/green with traffic control); AWS documents no default for
# them, so an omitted style takes the only valid one rather than being refused.
DEPLOYMENT_STYLE = {"Server": IN_PLACE, "ECS": BLUE_GREEN, "Lambda": BLUE_GREEN}

# Members of DeploymentGroupInfo present even when the request left them out.
_GROUP_COMMON: dict[str, Any] = {
    # awscli examples get-deployment-group.rst and batch-get-deployment-groups.rst: empty lists.
    "ec2TagFilters": [],
    "onPremisesInstanceTagFilters": [],
    "autoScalingGroups": [],
    "triggerConfigurations": [],
    # awscli example batch-get-deployment-groups.rst: {"enabled": false} when none was set.
    "autoRollbackConfiguration": {"enabled": False},
    # awscli example batch-get-deployment-groups.rst: an empty tag set list when none was set.
    "onPremisesTagSet": {"onPremisesTagSetList": []},
    # model, DeploymentGroupInfo.outdatedInstancesStrategy: "If this option is set to UPDATE or is
    # unspecified, CodeDeploy initiates ... 'auto-update outdated instances' deployments".
    "outdatedInstancesStrategy": "UPDATE",
    # model, CreateDeploymentGroupInput.terminationHookEnabled: a boolean, off unless asked for.
    "terminationHookEnabled": False,
}

# model, AlarmConfiguration.ignorePollAlarmFailure: "The default value is false"; enabled and alarms
# as a client that sent only some members would read them back.
_ALARM_CONFIGURATION = {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []}

# BlueGreenDeploymentConfiguration of ECS groups: the original task set is deleted right after the
# traffic shift, and traffic is rerouted as soon as the replacement is ready (CONTINUE_DEPLOYMENT:
# model, DeploymentReadyOption.actionOnTimeout; the console's defaults for ECS groups).
ECS_BLUE_GREEN: dict[str, Any] = {
    "terminateBlueInstancesOnDeploymentSuccess": {
        "action": InstanceAction.TERMINATE.value,
        "terminationWaitTimeInMinutes": 0,
    },
    "deploymentReadyOption": {
        "actionOnTimeout": DeploymentReadyAction.CONTINUE_DEPLOYMENT.value,
        "waitTimeInMinutes": 0,
    },
}


def group_spec(platform: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A deployment group request with what CodeDeploy fills in (stored, so the engine sees it too)."""
    filled = copy.deepcopy(spec)
    # model, CreateDeploymentGroupInput.deploymentConfigName: "CodeDeployDefault.OneAtATime is the
    # default deployment configuration" (Server); ECS and Lambda take their all-at-once config (the
    # only platform-valid predefined default; CDK's EcsDeploymentGroup default is ECSAllAtOnce).
    filled.setdefault("deploymentConfigName", configs.DEFAULT_CONFIG_FOR_PLATFORM[platform])
    filled.setdefault("deploymentStyle", dict(DEPLOYMENT_STYLE[platform]))
    if platform == "ECS":
        blue_green = filled.setdefault("blueGreenDeploymentConfiguration", {})
        for key, value in ECS_BLUE_GREEN.items():
            blue_green.setdefault(key, copy.deepcopy(value))
    return filled


def group_info_members(spec: dict[str, Any]) -> dict[str, Any]:
    """The members of DeploymentGroupInfo that come from the stored spec, defaults included."""
    info = copy.deepcopy(_GROUP_COMMON)
    info.update(copy.deepcopy(spec))
    if "alarmConfiguration" in spec:
        info["alarmConfiguration"] = {**_ALARM_CONFIGURATION, **spec["alarmConfiguration"]}
    return info


# DeploymentInfo members a CreateDeployment request may leave out, with the value AWS then reports.
DEPLOYMENT_REQUEST_DEFAULTS: dict[str, Any] = {
    # model, CreateDeploymentInput.ignoreApplicationStopFailures: "If false or not specified ...";
    # awscli example get-deployment.rst shows false.
    "ignoreApplicationStopFailures": False,
    # model, CreateDeploymentInput.updateOutdatedInstancesOnly: a boolean, false unless asked for.
    "updateOutdatedInstancesOnly": False,
    # model, CreateDeploymentInput.fileExistsBehavior: "DISALLOW: ... This is also the default
    # behavior if no option is specified."
    "fileExistsBehavior": "DISALLOW",
    # model, CreateDeploymentInput.deploymentMode: "STANDARD: ... This is the default behavior if
    # deploymentMode is not specified."
    "deploymentMode": "STANDARD",
}
