"""Provision the catalog's infrastructure for one environment in moto and the CodeDeploy emulator.

For each service: task definition, an ECS service with the CODE_DEPLOY deployment controller and
a primary task set on the blue target group, blue and green target groups, a production and a
test listener on the environment's load balancer (each on the port its router bound on loopback,
so the hooks' smoke URLs reach the router), the CodeDeploy deployment group with alarm and auto
rollback configuration, and the alarms of ``alarms/``. Every call is plain boto3 against moto or
the emulator; nothing here knows about the fleet.

An ecs-engine service (catalog ``engine: ecs``) has no CodeDeploy deployment group: its ECS service
has the ECS deployment controller and a native BLUE_GREEN ``deploymentConfiguration``, created
through the sandbox's ECS endpoint (the native ECS emulator records what moto drops), and its
production and test traffic go through a listener rule per listener (``listener_rule``), the rules
ECS moves traffic on. Its original revision is the service's own (the emulator lists it), not a
task set.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from orchestrator.aws.ledger import create_table_request
from orchestrator.catalog import Catalog, ResolvedService
from orchestrator.files.taskdef import load_task_definition
from orchestrator.vocabulary import (
    ROLLBACK_ON,
    ComputePlatform,
    DeploymentControllerType,
    DeploymentReadyAction,
    EngineName,
    InstanceAction,
    NativeStrategy,
)
from sandbox.load_balancer.target_health import HealthCheck

# Every target group's health check (the load balancer runs it in virtual time: sandbox.load_balancer).
HEALTH_CHECK = HealthCheck(interval=15.0, timeout=5.0, healthy_threshold=2, unhealthy_threshold=2)
VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDRS = ("10.0.1.0/24", "10.0.2.0/24")
AUTO_ROLLBACK_EVENTS = list(ROLLBACK_ON)


@dataclass
class ServiceInfra:
    """What was provisioned for one service: the ARNs the fleet, the routers and the metrics need."""

    service: ResolvedService
    load_balancer_arn: str
    production_listener_arn: str
    test_listener_arn: str
    production_port: int
    test_port: int
    target_groups: dict[str, str]  # target group name -> ARN (blue, green)
    task_definition_arn: str
    original_task_set_arn: str  # "" for an ecs-engine service (its original revision is no task set)
    alarm_names: list[str] = field(default_factory=list)
    # An ecs-engine service's listener rules (seam: priority 1, path-pattern /*, forward blue/green).
    production_rule_arn: str = ""
    test_rule_arn: str = ""

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def engine(self) -> EngineName:
        return self.service.settings.engine

    @property
    def ruled_listener_arns(self) -> list[str]:
        """The listeners that route by a rule (an ecs-engine service's), not their default action."""
        rules = (
            (self.production_listener_arn, self.production_rule_arn),
            (self.test_listener_arn, self.test_rule_arn),
        )
        return [listener for listener, rule in rules if rule]

    @property
    def cluster(self) -> str:
        return self.service.settings.cluster

    @property
    def ecs_service(self) -> str:
        return self.service.settings.ecs_service

    @property
    def load_balancer_dimension(self) -> str:
        """The LoadBalancer dimension of ALB metrics: ``app/<name>/<id>``."""
        return self.load_balancer_arn.split(":loadbalancer/", 1)[1]


def target_group_dimension(target_group_arn: str) -> str:
    """The TargetGroup dimension of ALB metrics: ``targetgroup/<name>/<id>``."""
    return target_group_arn.rsplit(":", 1)[1]


@dataclass
class Network:
    """The VPC and subnets the load balancers and target groups live in."""

    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str


def ensure_network(ec2: Any, region: str) -> Network:
    """One VPC with two subnets in two availability zones (an ALB needs two)."""
    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for cidr, zone in zip(SUBNET_CIDRS, ("a", "c"), strict=True)
    ]
    group = ec2.create_security_group(
        GroupName="bluegreen-sandbox-tasks", Description="sandbox tasks", VpcId=vpc_id
    )
    return Network(vpc_id, subnets, group["GroupId"])


def ensure_codedeploy_role(iam: Any, project: str, environment: str) -> str:
    """The CodeDeploy service role (AWSCodeDeployRoleForECS attached), created once."""
    name = f"{project}-{environment}-codedeploy"
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
        '{"Service":"codedeploy.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    )
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"])


def ensure_load_balancer(elbv2: Any, name: str, network: Network) -> str:
    found = elbv2.describe_load_balancers()["LoadBalancers"]
    for balancer in found:
        if balancer["LoadBalancerName"] == name:
            return str(balancer["LoadBalancerArn"])
    created = elbv2.create_load_balancer(
        Name=name, Subnets=network.subnet_ids, Scheme="internal", Type="application", IpAddressType="ipv4"
    )
    return str(created["LoadBalancers"][0]["LoadBalancerArn"])


def create_target_group(elbv2: Any, name: str, service: ResolvedService, vpc_id: str) -> str:
    created = elbv2.create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=service.container_port,
        VpcId=vpc_id,
        TargetType="ip",
        HealthCheckPath=service.settings.health_path,
        HealthCheckIntervalSeconds=int(HEALTH_CHECK.interval),
        HealthCheckTimeoutSeconds=int(HEALTH_CHECK.timeout),
        HealthyThresholdCount=HEALTH_CHECK.healthy_threshold,
        UnhealthyThresholdCount=HEALTH_CHECK.unhealthy_threshold,
    )
    return str(created["TargetGroups"][0]["TargetGroupArn"])


def create_listener(elbv2: Any, load_balancer_arn: str, port: int, target_group_arn: str) -> str:
    created = elbv2.create_listener(
        LoadBalancerArn=load_balancer_arn,
        Protocol="HTTP",
        Port=port,
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": target_group_arn, "Weight": 1}]},
            }
        ],
    )
    return str(created["Listeners"][0]["ListenerArn"])


# The listener rule an ecs-engine service's traffic goes through (one per listener): every path.
RULE_PRIORITY = 1
RULE_PATH_PATTERN = "/*"


def listener_rule(elbv2: Any, listener_arn: str, blue_arn: str, green_arn: str) -> str:
    """The rule Amazon ECS moves traffic on (``productionListenerRule`` / ``testListenerRule`` must be
    rule ARNs on an ALB): priority 1, every path, forward blue 100 / green 0. ECS's ModifyRule
    changes the weights; the sandbox's load balancer routes by them (``routing_weights``)."""
    created = elbv2.create_rule(
        ListenerArn=listener_arn,
        Priority=RULE_PRIORITY,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [RULE_PATH_PATTERN]}}],
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": blue_arn, "Weight": 100},
                        {"TargetGroupArn": green_arn, "Weight": 0},
                    ]
                },
            }
        ],
    )
    return str(created["Rules"][0]["RuleArn"])


def ensure_cluster(ecs: Any, name: str) -> None:
    ecs.create_cluster(clusterName=name)


def _network_configuration(service: ResolvedService, network: Network) -> dict[str, Any]:
    # The sandbox's own subnets: moto checks that CreateService's subnets exist, and the catalog's
    # are the real account's. (Replacement task sets get the AppSpec's, which moto does not check.)
    return {
        "awsvpcConfiguration": {
            "subnets": network.subnet_ids,
            "securityGroups": [network.security_group_id],
            "assignPublicIp": service.settings.network.assign_public_ip,
        }
    }


def create_ecs_service(
    ecs: Any, service: ResolvedService, task_definition_arn: str, blue_arn: str, network: Network
) -> str:
    """The ECS service (CODE_DEPLOY controller) and its primary task set on the blue target group.

    The task set is created without ``scale``: moto 5.2.5 then launches no tasks (launching awsvpc
    tasks crashes it) and reports 100 %; the fleet runs the tasks instead.
    """
    settings = service.settings
    load_balancers = [
        {
            "targetGroupArn": blue_arn,
            "containerName": settings.container_name,
            "containerPort": service.container_port,
        }
    ]
    ecs.create_service(
        cluster=settings.cluster,
        serviceName=settings.ecs_service,
        taskDefinition=task_definition_arn,
        desiredCount=settings.tasks.desired,
        deploymentController={"type": "CODE_DEPLOY"},
        launchType="FARGATE",
        networkConfiguration=_network_configuration(service, network),
        loadBalancers=load_balancers,
    )
    task_set = ecs.create_task_set(
        cluster=settings.cluster,
        service=settings.ecs_service,
        taskDefinition=task_definition_arn,
        launchType="FARGATE",
        networkConfiguration=_network_configuration(service, network),
        loadBalancers=load_balancers,
    )["taskSet"]
    ecs.update_service_primary_task_set(
        cluster=settings.cluster, service=settings.ecs_service, primaryTaskSet=task_set["taskSetArn"]
    )
    return str(task_set["taskSetArn"])


def ensure_infrastructure_role(iam: Any, service: ResolvedService) -> str:
    """The role ECS assumes to move the listener rules: the catalog's ``infrastructure_role_arn``, or
    one the sandbox makes (trusted by ecs.amazonaws.com, as template.yaml's is)."""
    if service.settings.infrastructure_role_arn:
        return service.settings.infrastructure_role_arn
    name = f"{service.project}-{service.environment}-ecs-infrastructure"
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
        '{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    )
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"])


def native_deployment_configuration(service: ResolvedService) -> dict[str, Any]:
    """The ECS service's first deploymentConfiguration: BLUE_GREEN, no bake, the catalog's alarms.
    Each deployment brings its own (the engine's UpdateService); this is what the service starts with."""
    settings = service.settings
    return {
        "strategy": NativeStrategy.BLUE_GREEN.value,
        "bakeTimeInMinutes": 0,
        "alarms": {
            "alarmNames": list(settings.alarms),
            "enable": bool(settings.alarms),
            "rollback": settings.deployment.auto_rollback,
        },
    }


def create_native_ecs_service(
    ecs: Any, infra: ServiceInfra, task_definition_arn: str, network: Network, role_arn: str
) -> None:
    """An ecs-engine service: the ECS deployment controller, the native deploymentConfiguration and
    the load balancer's advancedConfiguration (alternate target group, listener rules, role).
    ``ecs`` talks to the sandbox's ECS endpoint, which keeps what moto drops. No task set: ECS runs
    the service's revision itself (the fleet runs what the endpoint lists)."""
    service = infra.service
    settings = service.settings
    ecs.create_service(
        cluster=settings.cluster,
        serviceName=settings.ecs_service,
        taskDefinition=task_definition_arn,
        desiredCount=settings.tasks.desired,
        deploymentController={"type": DeploymentControllerType.ECS.value},
        deploymentConfiguration=native_deployment_configuration(service),
        launchType="FARGATE",
        networkConfiguration=_network_configuration(service, network),
        loadBalancers=[
            {
                "targetGroupArn": infra.target_groups[settings.target_group_blue],
                "containerName": settings.container_name,
                "containerPort": service.container_port,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": infra.target_groups[settings.target_group_green],
                    "productionListenerRule": infra.production_rule_arn,
                    "testListenerRule": infra.test_rule_arn,
                    "roleArn": role_arn,
                },
            }
        ],
    )


def ensure_application(codedeploy: Any, name: str) -> None:
    with contextlib.suppress(codedeploy.exceptions.ApplicationAlreadyExistsException):
        codedeploy.create_application(applicationName=name, computePlatform=ComputePlatform.ECS.value)


def create_deployment_group(codedeploy: Any, infra: ServiceInfra, role_arn: str) -> None:
    """The ECS blue/green deployment group: listeners, target groups, ready option, alarms, rollback."""
    settings = infra.service.settings
    deployment = settings.deployment
    ready: dict[str, Any] = {"actionOnTimeout": deployment.ready_action.value}
    if deployment.ready_action is DeploymentReadyAction.STOP_DEPLOYMENT:
        ready["waitTimeInMinutes"] = deployment.ready_wait_minutes
    codedeploy.create_deployment_group(
        applicationName=settings.application,
        deploymentGroupName=settings.deployment_group,
        serviceRoleArn=role_arn,
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": InstanceAction.TERMINATE.value,
                "terminationWaitTimeInMinutes": deployment.termination_wait_minutes,
            },
            "deploymentReadyOption": ready,
        },
        ecsServices=[{"serviceName": settings.ecs_service, "clusterName": settings.cluster}],
        loadBalancerInfo={
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [
                        {"name": settings.target_group_blue},
                        {"name": settings.target_group_green},
                    ],
                    "prodTrafficRoute": {"listenerArns": [infra.production_listener_arn]},
                    "testTrafficRoute": {"listenerArns": [infra.test_listener_arn]},
                }
            ]
        },
        alarmConfiguration={
            "enabled": bool(settings.alarms),
            "ignorePollAlarmFailure": False,
            "alarms": [{"name": name} for name in settings.alarms],
        },
        autoRollbackConfiguration={"enabled": deployment.auto_rollback, "events": AUTO_ROLLBACK_EVENTS},
    )


def put_alarms(cloudwatch: Any, catalog: Catalog, infra: ServiceInfra) -> list[str]:
    """The service's alarms from alarms/ (the definitions bluegreen syncs), rendered for its resources."""
    from orchestrator.alarms.definitions import ServiceResources, load_definitions, render_request

    definitions = load_definitions(catalog)
    blue, green = (
        infra.target_groups[infra.service.settings.target_group_blue],
        infra.target_groups[infra.service.settings.target_group_green],
    )
    resources = ServiceResources(
        target_group_blue=target_group_dimension(blue),
        target_group_green=target_group_dimension(green),
        load_balancer=infra.load_balancer_dimension,
    )
    names = []
    for alarm in definitions.for_service(infra.service):
        cloudwatch.put_metric_alarm(**render_request(alarm, infra.service, resources))
        names.append(alarm.name)
    return names


@dataclass
class Clients:
    """boto3 clients for moto (ec2, iam, ecs, elbv2, cloudwatch), the emulator (codedeploy) and the
    sandbox's ECS endpoint (native_ecs: the native ECS emulator; None when the world has none)."""

    ec2: Any
    iam: Any
    ecs: Any
    elbv2: Any
    cloudwatch: Any
    codedeploy: Any
    native_ecs: Any = None


@dataclass
class ListenerPorts:
    """The loopback ports the routers of one service bound (the listeners get these ports)."""

    production: int
    test: int


def provision(
    clients: Clients, catalog: Catalog, services: list[ResolvedService], ports: dict[str, ListenerPorts]
) -> list[ServiceInfra]:
    """Create everything the listed services need in one environment; returns what was made."""
    if not services:
        return []
    first = services[0]
    network = ensure_network(clients.ec2, first.region)
    role_arn = ensure_codedeploy_role(clients.iam, first.project, first.environment)
    out: list[ServiceInfra] = []
    for service in services:
        settings = service.settings
        native = settings.engine is EngineName.ECS
        ensure_cluster(clients.ecs, settings.cluster)
        lb_arn = ensure_load_balancer(clients.elbv2, settings.load_balancer, network)
        groups = {
            name: create_target_group(clients.elbv2, name, service, network.vpc_id)
            for name in (settings.target_group_blue, settings.target_group_green)
        }
        blue_arn, green_arn = groups[settings.target_group_blue], groups[settings.target_group_green]
        port = ports[service.name]
        production = create_listener(clients.elbv2, lb_arn, port.production, blue_arn)
        test = create_listener(clients.elbv2, lb_arn, port.test, blue_arn)
        registered = clients.ecs.register_task_definition(**load_task_definition(service))
        task_definition_arn = str(registered["taskDefinition"]["taskDefinitionArn"])
        infra = ServiceInfra(
            service=service,
            load_balancer_arn=lb_arn,
            production_listener_arn=production,
            test_listener_arn=test,
            production_port=port.production,
            test_port=port.test,
            target_groups=groups,
            task_definition_arn=task_definition_arn,
            original_task_set_arn="",
        )
        infra.alarm_names = put_alarms(clients.cloudwatch, catalog, infra)
        if native:
            infra.production_rule_arn = listener_rule(clients.elbv2, production, blue_arn, green_arn)
            infra.test_rule_arn = listener_rule(clients.elbv2, test, blue_arn, green_arn)
            create_native_ecs_service(
                clients.native_ecs or clients.ecs,
                infra,
                task_definition_arn,
                network,
                ensure_infrastructure_role(clients.iam, service),
            )
        else:
            infra.original_task_set_arn = create_ecs_service(
                clients.ecs, service, task_definition_arn, blue_arn, network
            )
            ensure_application(clients.codedeploy, settings.application)
            create_deployment_group(clients.codedeploy, infra, role_arn)
        out.append(infra)
    return out


def ensure_ledger_table(dynamodb: Any, name: str) -> None:
    """The ledger's table (kept when it exists: one per environment, shared by its services)."""
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(**create_table_request(name))


def ensure_topic(sns: Any, topic_arn: str) -> str:
    """The notification topic the catalog names; returns its ARN as moto made it (the same in the
    sandbox's account and region; CreateTopic is idempotent)."""
    return str(sns.create_topic(Name=topic_arn.rsplit(":", 1)[-1])["TopicArn"])
