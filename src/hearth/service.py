"""The composition root: builds every part from `Settings`, serves, and shuts down.

Nothing else constructs collaborators; each part receives what it needs here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial

import botocore.session
import uvicorn

from hearth.api.account import AccountApi, TagsApi
from hearth.api.aliases import AliasesApi
from hearth.api.async_status import AsyncStatusApi
from hearth.api.cloudwatch_api import CloudWatchApi
from hearth.api.cloudwatch_wire import TARGET_PREFIX as CLOUDWATCH_TARGET
from hearth.api.cloudwatch_wire import CloudWatchWire
from hearth.api.code_signing import CodeSigningApi
from hearth.api.code_urls import CodeUrlSigner, register_code_download
from hearth.api.event_config import EventConfigApi
from hearth.api.function_settings import FunctionSettingsApi
from hearth.api.function_urls import FunctionUrlsApi
from hearth.api.functions import FunctionsApi
from hearth.api.guard import (
    EdgeLimits,
    PeerLookup,
    default_max_connections,
    guarded_protocol,
    raise_descriptor_limit,
)
from hearth.api.http import Authenticator, LambdaApp, Request, Response, Router, json_response
from hearth.api.invoke import InvokeApi
from hearth.api.layer_policies import LayerPoliciesApi
from hearth.api.layers import LayersApi
from hearth.api.logs_api import TARGET_PREFIX, LogsApi
from hearth.api.mappings import MappingsApi
from hearth.api.model_check import ModelChecker
from hearth.api.policies import PoliciesApi
from hearth.api.prometheus import PrometheusApi, Snapshot
from hearth.api.provisioned import ProvisionedApi
from hearth.api.sigv4 import S3_PAYLOAD_CLAIMS, Credential, SigV4Verifier
from hearth.api.subscription_filters import SubscriptionFiltersApi
from hearth.api.targets import TargetRoutes
from hearth.api.unsupported import register_unsupported
from hearth.arns import ArnFormatter
from hearth.cluster.forward import InvokeForwarding
from hearth.cluster.logs import ClusterLogStore
from hearth.cluster.mappings import KvPositions, LeasedMappings
from hearth.cluster.metrics import ClusterMetricStore
from hearth.cluster.node import ClusterNode
from hearth.cluster.queue import JetStreamEventQueue
from hearth.cluster.services import SharedServices
from hearth.config import Settings
from hearth.console import serve as console
from hearth.control.account import Account
from hearth.control.aliases import Aliases
from hearth.control.code_signing import CodeSigning
from hearth.control.code_source import CodeSource
from hearth.control.event_config import EventConfigs
from hearth.control.function_settings import FunctionSettings
from hearth.control.function_urls import FunctionUrls
from hearth.control.functions import Functions, Scheduler
from hearth.control.layer_policies import LayerPolicies
from hearth.control.layers import Layers
from hearth.control.mappings import EventSourceMappings
from hearth.control.policies import Policies
from hearth.control.provisioned import ProvisionedConfigs
from hearth.control.tags import Tags
from hearth.events.config import AsyncConfigs
from hearth.events.destinations import BotocoreSink
from hearth.events.dispatcher import Dispatcher
from hearth.events.mapping_supervisor import MappingSupervisor
from hearth.events.ownership import MappingOwnership
from hearth.events.patterns import validate_pattern
from hearth.events.positions import Positions, SqlitePositions
from hearth.events.queue import EventQueue
from hearth.events.sources import SourceClients
from hearth.events.sqlite_queue import SqliteEventQueue
from hearth.http.apigw.botocore_source import BotocoreApiDefinitions
from hearth.http.apigw.server import ApiGatewayServer
from hearth.http.front import HttpIn
from hearth.http.function_urls import FunctionUrlServer
from hearth.http.streaming import StreamingInvokeApi
from hearth.invoke.builder import EnvironmentBuilder
from hearth.invoke.identities import SandboxIdentities
from hearth.invoke.invoker import Invoker
from hearth.invoke.launchers import Launchers
from hearth.invoke.leases import Leases, load_limits
from hearth.invoke.pool import Pool
from hearth.invoke.process_identities import ProcessIdentities
from hearth.invoke.provisioner import Provisioner
from hearth.invoke.snapstart_publisher import SnapStartPublisher
from hearth.logs.store import LogStore, SqliteLogStore
from hearth.logs.subscription_delivery import SubscriptionDelivery
from hearth.logs.subscriptions import FileSubscriptions
from hearth.logs.writer import LogWriter
from hearth.metrics import emf
from hearth.metrics.recorder import LambdaMetrics
from hearth.metrics.store import RETENTION_SECONDS, MetricStore, SqliteMetricStore
from hearth.sandbox.cgroups import Cgroups
from hearth.sandbox.choice import IsolationChoice
from hearth.sandbox.host_relay import HostRelay
from hearth.sandbox.isolation import (
    RUNTIME_DIR,
    Network,
    Sandboxes,
    SandboxSettings,
    ServiceReach,
)
from hearth.sandbox.tmp_disks import TmpDisks
from hearth.services import hooks as service_hooks
from hearth.services import schedule_hooks
from hearth.services.credentials import FunctionCredentials, load_or_create_key
from hearth.services.embedded import EmbeddedServices
from hearth.services.function_access import FunctionAccess, peer_lookup, process_peer_lookup
from hearth.services.function_env import FunctionServiceEnvironment, SdkDirs
from hearth.services.gateway import AsgiApp, Gateway
from hearth.services.relay_guard import RelayGuard
from hearth.services.role_policies import EmbeddedIamPolicies, NoPolicies, RolePolicies
from hearth.services.role_sessions import (
    ConfiguredCredentials,
    DerivedSessions,
    EmbeddedSts,
    RoleSessions,
    SessionIssuer,
)
from hearth.services.s3_objects import BotocoreObjects
from hearth.services.s3_permissions import NotificationPermissions
from hearth.services.schedule_jobs import MotoJobs
from hearth.services.schedule_runner import FileFireTimes, ScheduleRunner
from hearth.services.scope import EMBEDDED_BACKENDS
from hearth.services.snapshots import Snapshots
from hearth.services.trace_headers import keep_trace_header
from hearth.services.triggers import QueueTriggers
from hearth.store.code import CodeStore
from hearth.store.datadir import (
    CODE,
    CODE_SIGNING_CONFIGS,
    FUNCTION_CREDENTIALS_KEY,
    LOG_SUBSCRIPTIONS,
    LOGS,
    POSITIONS,
    QUEUE,
    REGISTRY,
    RESERVE,
    SCHEDULE_FIRES,
    SERVICES_SNAPSHOT,
    TMP_DISKS,
    check_data_dir,
    load_or_create_code_url_key,
)
from hearth.store.documents import JsonDocuments
from hearth.store.notifying import NotifyingRegistry
from hearth.store.registry import Registry
from hearth.store.reserve import DiskReserve
from hearth.store.sqlite import SCHEMA_VERSION, SqliteRegistry

logger = logging.getLogger("hearth")

# How often a released disk reserve is looked at, to be taken back when there is room.
RESERVE_CHECK_SECONDS = 5.0


# Standby Node.js runtimes (hearth.invoke.standby): two cover a burst of cold starts while
# the pool refills, at about 40 MB of memory each, paid only once a Node.js function runs.
NODE_STANDBYS = 2


@dataclass
class Hearth:
    """Every long-lived part of one Hearth server."""

    settings: Settings
    registry: Registry
    code_store: CodeStore
    functions: Functions
    invoker: Invoker
    environments: EnvironmentBuilder
    provisioner: Provisioner
    snapstart: SnapStartPublisher
    launchers: Launchers
    log_store: LogStore
    log_writer: LogWriter
    metric_store: MetricStore
    metrics: LambdaMetrics
    app: HttpIn
    events: EventQueue
    dispatcher: Dispatcher
    reserve: DiskReserve
    mappings: MappingSupervisor
    positions: Positions
    # What listens on the port (`app` itself: HttpIn, in front of the embedded services'
    # gateway, in front of the Lambda API).
    asgi: AsgiApp
    embedded: EmbeddedServices | None
    function_services: FunctionServiceEnvironment
    sink: BotocoreSink
    snapshots: Snapshots | None
    # Where API Gateway's APIs are defined: read from the embedded services once Hearth
    # listens, unless --aws-endpoint-url names another place.
    api_definitions: BotocoreApiDefinitions | None
    # Where CreateFunction & co. read code given as S3Bucket/S3Key.
    objects: BotocoreObjects | None
    # Cluster mode: this node's part of the cluster (None on one machine).
    node: ClusterNode | None = None
    # Fires rules' and Scheduler's schedules (with the embedded services only).
    schedules: ScheduleRunner | None = None
    # Delivers log events to subscription filters' functions.
    log_subscriptions: SubscriptionDelivery | None = None
    # Where sandboxes with no network reach AWS_ENDPOINT_URL (sandboxed servers only).
    host_relay: HostRelay | None = None
    # Which function each sandbox uid is (None: not sandboxed, so connections are not asked).
    identities: SandboxIdentities | None = None
    # Cluster mode: the embedded services shared by the nodes (None on one machine).
    shared: SharedServices | None = None
    # The embedded services' edge (None without them).
    gateway: Gateway | None = None
    # Which function each plain-process environment is (`--isolation process` on Linux).
    processes: ProcessIdentities | None = None

    def listening_at(self, url: str) -> None:
        """Hearth's own URL, once it listens: where functions and destinations reach the
        embedded services."""
        if self.node is not None:
            self.node.members.set_endpoint(url)  # what the other nodes see in /_hearth/cluster
        if self.embedded is None:
            return
        self.function_services.endpoint_url = url
        self.sink.point_at(url, self._sink_key())
        if self.objects is not None and self.objects.embedded:
            self.objects.point_at(url, self._sink_key())
        if self.api_definitions is not None and self.settings.aws_endpoint_url is None:
            self.api_definitions.point_at(url, self._sink_key())

    def stop_waiting(self) -> None:
        """A stop begins: requests that only wait (SQS long polls) answer now, so the graceful
        shutdown does not wait them out (a cluster node's own pollers make such requests)."""
        if self.gateway is not None:
            self.gateway.stopping.set()

    def _sink_key(self) -> tuple[str, str]:
        if self.settings.access_keys:
            key = self.settings.access_keys[0]
            return key.access_key_id, key.secret_access_key
        return "hearth", "hearth"

    async def close(self) -> None:
        if self.node is not None:
            self.node.rpc.close()  # other nodes ask the next node from now on
        # Pollers stop first: a batch in flight is read again from its committed position.
        await self.mappings.stop()
        self.positions.close()
        if self.schedules is not None:
            await self.schedules.close()
        if self.log_subscriptions is not None:
            self.log_writer.flush()
            await self.log_subscriptions.close()  # what it holds goes into the queue
        # Dispatching stops next: events still running stay leased and run after a restart.
        await self.dispatcher.stop()
        await self.provisioner.close()
        await self.snapstart.close()
        await self.invoker.close()
        await self.environments.templates.close()
        self.environments.close()
        await self.launchers.close()
        if self.host_relay is not None:
            await self.host_relay.close()
        self.log_writer.flush()
        self.log_store.close()
        await self.metrics.stop()
        self.metric_store.close()
        await self.events.close()
        if self.snapshots is not None:
            await self.snapshots.close()
        if self.shared is not None:
            await asyncio.to_thread(self.shared.close)  # a last snapshot, the lease handed on
        if self.embedded is not None:
            self.embedded.close()
        self.registry.close()
        if self.node is not None:
            self.node.close()


def _register_the_rest(router: Router, registry: NotifyingRegistry, arns: ArnFormatter) -> None:
    """Function settings, layer version permissions, and the operations Hearth refuses."""
    FunctionSettingsApi(FunctionSettings(registry, arns), arns).register(router)
    LayerPoliciesApi(LayerPolicies(registry, arns)).register(router)
    register_unsupported(router)


def build(  # noqa: PLR0912, PLR0915 - the composition root builds every part, in order
    settings: Settings, schedule: Scheduler, isolation: IsolationChoice
) -> Hearth:
    data_dir = settings.data_dir
    # Before anything opens or creates a file: start-up collects unreferenced code, and a
    # lost or foreign registry would make that every function's code. (A cluster node's
    # registry is in NATS; what it collects are its own copies of the cluster's code.)
    if not settings.clustered:
        check_data_dir(data_dir, registry_schema=SCHEMA_VERSION)
    data_dir.mkdir(parents=True, exist_ok=True)
    reserve = DiskReserve(data_dir / RESERVE)
    reserve.restore()
    node: ClusterNode | None = None
    storage: Registry
    code_store: CodeStore
    if settings.clustered:
        node = ClusterNode.join(settings, data_dir / CODE)
        storage, code_store = node.registry, node.code
        # The control plane writes through `registry`; the caches read the node's replica
        # without the cluster's lease, and hear of other nodes' commits through its watch.
        registry = NotifyingRegistry(storage, reads=node.registry.local())
        node.follow(registry, asyncio.get_running_loop())
    else:
        storage = SqliteRegistry(data_dir / REGISTRY)
        # The control plane writes through `registry`, which tells the caches below after
        # every write; they (the invoke path) are given a view that can only read.
        registry = NotifyingRegistry(storage)
        code_store = CodeStore(data_dir / CODE)
    reads = registry.reader()
    arns = ArnFormatter(settings.region, settings.account_id)
    signer = CodeUrlSigner(load_or_create_code_url_key(data_dir))

    functions = Functions(
        registry, code_store, arns, schedule, settings.settle_delay_seconds, reserve
    )
    log_store = SqliteLogStore(
        data_dir / LOGS,
        retention_seconds=settings.log_retention_seconds,
        max_bytes=settings.log_max_bytes,
        require_room=reserve.require_room,
    )
    metric_store = SqliteMetricStore(data_dir / "metrics.sqlite3")
    log_writer = LogWriter(log_store, [lambda events: metric_store.add(emf.points(events))])
    metrics = LambdaMetrics(metric_store)
    launchers = Launchers(sandboxed=isolation.sandboxed)
    limit = settings.concurrency_limit
    credentials = FunctionCredentials(load_or_create_key(data_dir / FUNCTION_CREDENTIALS_KEY))
    # Created before anything that asks moto (the functions' sessions); moto itself is
    # imported later, on its own thread.
    embedded = EmbeddedServices(settings.account_id) if settings.embedded_services else None
    sessions = RoleSessions(_session_issuer(settings, embedded, credentials))
    identities = SandboxIdentities() if isolation.sandboxed else None
    # Not sandboxed, environments share Hearth's uid: their sockets tell them apart (Linux).
    processes = (
        ProcessIdentities()
        if not isolation.sandboxed and sys.platform.startswith("linux")
        else None
    )
    sdk = SdkDirs(settings.aws_sdk_dir) if settings.aws_sdk_dir is not None else None
    host_relay = HostRelay() if isolation.sandboxed else None
    function_services = FunctionServiceEnvironment(
        sessions,
        sdk,
        endpoint_url=settings.aws_endpoint_url,
        service_endpoints=settings.service_endpoints,
    )
    environments = EnvironmentBuilder(
        code_store,
        arns,
        log_writer,
        launchers.for_runtime,
        interpreter_for=launchers.interpreter_for,
        sandboxes=_sandboxes_factory(
            settings, isolation, host_relay.reach if host_relay is not None else None
        ),
        extra_environment=function_services.variables,
        identities=identities,
        processes=processes,
        snapstart_latest=settings.snapstart_latest,
        snapstart_spare=settings.snapstart_spare,
        # Node.js runtimes kept booted ahead of need, from the first Node.js cold start on.
        node_standbys=NODE_STANDBYS if shutil.which("node") else 0,
    )
    pool = Pool(environments.start, settings.keep_alive_seconds, settings.memory_budget_mb)
    if node is not None:
        cluster = node
        leases = Leases(lambda: cluster.share(load_limits(reads, limit)))
    else:
        leases = Leases(lambda: load_limits(reads, limit))
    invoker = Invoker(reads, arns, pool, leases, metrics)
    owned: LeasedMappings | None = None
    if node is not None:
        loop = asyncio.get_running_loop()
        owned = LeasedMappings(node.leases, node.members)
        mapped = owned

        def members_changed() -> None:
            # Each node's share of the limits changes, and which mappings it polls.
            loop.call_soon_threadsafe(invoker.leases.invalidate)
            mapped.members_changed()

        node.members.set_listener(members_changed)
        # What this node's share has no room for runs on another node (cluster/forward.py).
        forwarding = InvokeForwarding(node.rpc, invoker, loop)
        forwarding.start()
        invoker.overflow = forwarding
        node.members.set_hints(forwarding.hints)
    provisioner = Provisioner(reads, invoker.pool)
    snapstart = SnapStartPublisher(
        reads, environments.templates.get, environments.templates.forget, functions.settle_snapstart
    )
    registry.subscribe(snapstart.invalidate)
    registry.subscribe(invoker.invalidate)
    registry.subscribe(provisioner.invalidate)
    events: EventQueue = (
        JetStreamEventQueue(
            node.link,
            replicas=settings.cluster_replicas,
            ack_wait_seconds=settings.cluster_ack_wait_seconds,
        )
        if node is not None
        else SqliteEventQueue(data_dir / QUEUE)
    )
    async_configs = AsyncConfigs(reads)
    registry.subscribe(async_configs.invalidate)
    sink = BotocoreSink(settings.aws_endpoint_url)
    objects = _code_objects(settings)
    dispatcher = Dispatcher(
        events,
        invoker.invoke,
        async_configs,
        sink,
        arns,
        concurrency=settings.async_concurrency,
        base_retry_delay_seconds=settings.async_retry_delay_seconds,
        observer=metrics,
        make_room=reserve.release,
    )
    supervisor, positions, mappings = _event_sources(
        settings, storage, registry, arns, invoker, metrics, (node, owned)
    )
    router = Router()
    MappingsApi(mappings).register(router)
    router.add(
        "MappingStatus",
        "GET",
        "/_hearth/event-source-mappings",
        _mapping_status(supervisor),
        max_body=0,
    )
    InvokeApi(invoker, events, dispatcher.notify, reserve.require_room).register(router)
    AsyncStatusApi(events, dispatcher).register(router)
    triggers = QueueTriggers(events, dispatcher.notify, asyncio.get_running_loop())
    policies = Policies(registry, arns)
    subscriptions = FileSubscriptions(data_dir / LOG_SUBSCRIPTIONS)
    log_subscriptions = SubscriptionDelivery(
        subscriptions, triggers.enqueue, settings.account_id, _function_log_groups(registry)
    )
    log_writer.observe(log_subscriptions.observe)
    filters_api = SubscriptionFiltersApi(
        log_store, subscriptions, policies.allows_service, settings.region, settings.account_id
    )
    # What the Logs and CloudWatch APIs read: in a cluster, every node's (cluster/logs.py
    # says why by scatter-gather); the writers above stay on this node's stores.
    queried_logs: LogStore = log_store
    queried_metrics: MetricStore = metric_store
    if node is not None:
        here = asyncio.get_running_loop()

        def flush_figures() -> None:  # EMF lines become figures once written
            log_writer.flush()
            metrics.flush()

        cluster_logs = ClusterLogStore(log_store, node.rpc, log_writer.flush, here)
        cluster_metrics = ClusterMetricStore(metric_store, node.rpc, flush_figures, here)
        cluster_logs.serve()
        cluster_metrics.serve()
        queried_logs, queried_metrics = cluster_logs, cluster_metrics
    _observability(
        router,
        settings,
        queried_logs,
        log_writer,
        (filters_api, log_subscriptions),
        queried_metrics,
        metrics,
        invoker,
        events,
    )
    code_source = CodeSource(objects)
    signing = CodeSigning(JsonDocuments(data_dir / CODE_SIGNING_CONFIGS), registry, arns)
    CodeSigningApi(signing).register(router)
    FunctionsApi(functions, arns, signer, code_source, signing).register(router)
    AliasesApi(Aliases(registry, arns), arns).register(router)
    PoliciesApi(policies).register(router)
    layers = Layers(registry, arns, functions, code_store)
    LayersApi(layers, arns, signer, code_source).register(router)
    AccountApi(Account(registry, arns, limit)).register(router)
    provisioned = ProvisionedConfigs(registry, arns, limit, provisioner.progress)
    ProvisionedApi(provisioned, arns).register(router)
    TagsApi(Tags(registry, arns, mappings)).register(router)
    EventConfigApi(EventConfigs(registry, arns), arns).register(router)
    _register_the_rest(router, registry, arns)
    FunctionUrlsApi(FunctionUrls(registry, arns), arns).register(router)
    register_code_download(router, signer, functions.code_path)
    router.add("Health", "GET", "/_hearth/health", _health, authenticated=False, max_body=0)
    if node is not None:
        # (The shared services are made further down, once the gateway's parts exist.)
        router.add(
            "ClusterStatus",
            "GET",
            "/_hearth/cluster",
            _cluster_status(node, lambda: shared),
            max_body=0,
        )

    checker = ModelChecker(botocore.session.get_session().get_service_model("lambda"))
    authenticator = _authenticator(settings, sessions)
    shared: SharedServices | None = None
    role_policies: RolePolicies = (
        EmbeddedIamPolicies(embedded, settings.region) if embedded is not None else NoPolicies()
    )
    if embedded is not None and node is not None:
        # A cluster's embedded services: one state, served by one node (see cluster/services).
        shared = SharedServices(
            node.link,
            node.leases,
            embedded,
            interval_seconds=settings.services_snapshot_seconds,
            region=settings.region,
            replicas=settings.cluster_replicas,
        )
        role_policies = shared
    access = FunctionAccess(sessions, identities, role_policies, arns, processes)
    lambda_app = LambdaApp(
        router,
        authenticator,
        checker.check,
        settings.public_url,
        region=settings.region,
        authorize=access,
    )
    snapshots: Snapshots | None = None
    schedules: ScheduleRunner | None = None
    inner: AsgiApp = lambda_app
    if embedded is not None:
        # moto is imported on its own thread only (two threads importing it at once break
        # its circular imports), before any request and without holding up the start.
        embedded.run_first(
            partial(
                service_hooks.install,
                triggers,
                embedded.current_request,
                settings.region,
                policies.allows_service,
            )
        )
        embedded.run_first(schedule_hooks.install)
        schedules = ScheduleRunner(
            MotoJobs(embedded),
            triggers.enqueue,
            FileFireTimes(data_dir / SCHEDULE_FIRES),
            policies.allows_service,
        )
        if shared is None:
            snapshots = Snapshots(
                data_dir / SERVICES_SNAPSHOT, embedded, settings.services_snapshot_seconds
            )
            snapshots.restore()
        embedded.run_first(embedded.warm)
        if shared is not None:
            shared.start()  # its snapshot, once restored, comes after the hooks' install
        permissions = NotificationPermissions(policies.allows_service, settings.account_id)
        inner = Gateway(
            lambda_app,
            shared or embedded,
            _service_verifiers(settings, sessions),
            interceptors=(access.intercept, permissions),
            external=frozenset(name for name, _ in settings.service_endpoints),
            rewriters=(keep_trace_header,),
        )
        if shared is None:
            # (A cluster node's pollers read through its port: the services may be elsewhere.)
            supervisor.use_in_process(
                embedded, frozenset(name for name, _ in settings.service_endpoints)
            )
    # Function URLs and API Gateway are found by host name or path, before the services'
    # routing by credential scope: HttpIn is what listens on the port.
    app, api_definitions = _http_in(settings, inner, authenticator, access, registry, invoker, arns)
    asgi: AsgiApp = app
    if host_relay is not None:
        asgi = RelayGuard(app, host_relay.peer_of)
    hearth = Hearth(
        settings,
        registry,
        code_store,
        functions,
        invoker,
        environments,
        provisioner,
        snapstart,
        launchers,
        log_store,
        log_writer,
        metric_store,
        metrics,
        app,
        events,
        dispatcher,
        reserve,
        supervisor,
        positions,
        asgi,
        embedded,
        function_services,
        sink,
        snapshots,
        api_definitions,
        objects,
        node,
        schedules,
        log_subscriptions,
        host_relay,
        identities,
        shared,
        inner if isinstance(inner, Gateway) else None,
        processes,
    )
    _recover(hearth)
    return hearth


def _peer_lookup(hearth: Hearth) -> PeerLookup | None:
    if hearth.identities is not None:
        return peer_lookup
    if hearth.processes is not None:
        return process_peer_lookup
    return None


def _code_objects(settings: Settings) -> BotocoreObjects | None:
    """Where code given as S3Bucket/S3Key is read: the S3 endpoint configured for S3, else
    --aws-endpoint-url, else the embedded S3 (None when there is no S3 at all)."""
    url = dict(settings.service_endpoints).get("s3") or settings.aws_endpoint_url
    if url is not None:
        return BotocoreObjects(url, settings.region)
    if settings.embedded_services:
        return BotocoreObjects(None, settings.region, embedded=True)
    return None


def _http_in(
    settings: Settings,
    lambda_app: AsgiApp,
    authenticator: Authenticator | None,
    access: FunctionAccess,
    registry: NotifyingRegistry,
    invoker: Invoker,
    arns: ArnFormatter,
) -> tuple[HttpIn, BotocoreApiDefinitions | None]:
    """The ASGI app: function URLs, API Gateway APIs and streamed invokes in front of the
    Lambda API; and where it reads API definitions."""
    verifier = _verifier(settings)
    url_server = FunctionUrlServer(registry.reader(), invoker, arns, verifier)
    registry.subscribe(url_server.invalidate)
    # API definitions come from API Gateway's control plane, which is not Hearth's: the
    # embedded services (pointed at once Hearth listens) or the configured external endpoint.
    endpoint = settings.aws_endpoint_url
    definitions = (
        BotocoreApiDefinitions(endpoint, settings.region)
        if endpoint or settings.embedded_services
        else None
    )
    apis = ApiGatewayServer(definitions, invoker, registry.reader(), arns)
    registry.subscribe(apis.invalidate)
    streaming = StreamingInvokeApi(invoker, authenticator, access)
    return HttpIn(lambda_app, url_server, streaming, apis), definitions


def _observability(
    router: Router,
    settings: Settings,
    log_store: LogStore,
    log_writer: LogWriter,
    subscriptions: tuple[SubscriptionFiltersApi, SubscriptionDelivery],
    metric_store: MetricStore,
    metrics: LambdaMetrics,
    invoker: Invoker,
    events: EventQueue,
) -> None:
    """CloudWatch Logs and CloudWatch (both on `POST /`, told apart by X-Amz-Target),
    CloudWatch's CBOR path, Prometheus and the console."""
    targets = TargetRoutes()
    filters_api, delivery = subscriptions
    logs_api = LogsApi(
        log_store,
        log_writer.flush,
        settings.region,
        settings.account_id,
        filters_api,
        delivery.observe,
    )
    targets.add(TARGET_PREFIX, "logs", logs_api.dispatch)
    logs_api.register(router)

    def flush_metrics() -> None:
        # Log lines still buffered may carry Embedded Metric Format records: write them first,
        # so a read sees every metric already printed.
        log_writer.flush()
        metrics.flush()

    cloudwatch = CloudWatchWire(CloudWatchApi(metric_store, flush_metrics))
    targets.add(CLOUDWATCH_TARGET, "monitoring", cloudwatch.json)
    targets.register(router)
    cloudwatch.register(router)
    PrometheusApi(metrics.registry, _snapshot(invoker, events)).register(router)
    console.register(router, auth_required=settings.auth_enabled)


def _function_log_groups(registry: NotifyingRegistry) -> Callable[[str], frozenset[str]]:
    """The log groups a function's own output goes to (its versions' LoggingConfig, or
    /aws/lambda/<name>): a log subscription never feeds a function its own lines."""

    def groups(name: str) -> frozenset[str]:
        found = {f"/aws/lambda/{name}"}
        with registry.transaction() as tx:
            found.update(v.log_group for v in tx.list_versions(name) if v.log_group)
        return frozenset(found)

    return groups


def _snapshot(invoker: Invoker, events: EventQueue) -> Callable[[float], Awaitable[Snapshot]]:
    async def take(now: float) -> Snapshot:
        idle, busy = invoker.pool.counts()
        queued = await events.counts(now=now)
        return Snapshot(
            idle,
            busy,
            invoker.pool.memory_used_mb(),
            dict(invoker.leases.usage.per_function),
            queued.ready,
            queued.delayed,
            queued.in_flight,
        )

    return take


async def _housekeeping(hearth: Hearth) -> None:
    """Hourly: log retention and the metrics' 15 days."""
    while True:
        hearth.log_store.expire(int(time.time() * 1000))
        hearth.metric_store.expire(int(time.time()) - RETENTION_SECONDS)
        await asyncio.sleep(3600)


def _event_sources(
    settings: Settings,
    storage: Registry,
    registry: NotifyingRegistry,
    arns: ArnFormatter,
    invoker: Invoker,
    metrics: LambdaMetrics,
    cluster: tuple[ClusterNode | None, LeasedMappings | None],
) -> tuple[MappingSupervisor, Positions, EventSourceMappings]:
    """The pollers of event source mappings and the control plane that configures them (in
    a cluster: this node's share of them, positions in KV)."""
    first_key = settings.access_keys[0] if settings.access_keys else None
    sources = SourceClients(
        settings.event_source_endpoint_url,
        dict(settings.event_source_endpoints),
        (first_key.access_key_id, first_key.secret_access_key) if first_key else None,
    )
    node, owned = cluster
    positions: Positions
    ownership: MappingOwnership | None = None
    if node is not None and owned is not None:
        positions = KvPositions(node.link, owned.holds, replicas=settings.cluster_replicas)
        ownership = owned
    else:
        positions = SqlitePositions(settings.data_dir / POSITIONS)
    supervisor = MappingSupervisor(
        storage,
        sources,
        positions,
        invoker.invoke,
        arns,
        BotocoreSink(settings.event_source_endpoint_url or settings.aws_endpoint_url),
        iterator_age=metrics.iterator_age,
        ownership=ownership,
    )
    mappings = EventSourceMappings(registry, arns, validate_pattern, sources.check)
    registry.subscribe(supervisor.notify)
    return supervisor, positions, mappings


def _sandboxes_factory(
    settings: Settings, isolation: IsolationChoice, services: ServiceReach | None
) -> Callable[[str], Sandboxes] | None:
    if not isolation.sandboxed:
        return None
    expose = settings.sandbox_expose
    sdk = SdkDirs(settings.aws_sdk_dir) if settings.aws_sdk_dir is not None else None
    if sdk is not None and sdk.root.is_dir() and not sdk.in_runtimes_dir:
        # The default one is under /var/runtime already; another is shown where it is.
        expose = (*expose, str(sdk.root))
    sandbox_settings = SandboxSettings(
        network=Network(settings.network),
        expose=expose,
        sdk_node_modules=(
            (str(sdk.node_modules), str(SdkDirs(sdk.seen_from(RUNTIME_DIR)).node_modules))
            if sdk is not None
            else None
        ),
    )
    layout = isolation.cgroups

    def factory(work_dir: str) -> Sandboxes:
        cgroups = Cgroups(layout) if layout is not None else None
        # /tmp on the data dir's disk, as on AWS (None where the host cannot: then tmpfs).
        tmp_disks = TmpDisks.open(settings.data_dir / TMP_DISKS)
        return Sandboxes(sandbox_settings, cgroups, work_dir, services, tmp_disks)

    return factory


def _recover(hearth: Hearth) -> None:
    """Finish what a crash interrupted: settle pending states, drop unreferenced code."""
    with hearth.registry.transaction() as tx:
        names = [f.name for f in tx.list_functions()]
    for name in names:
        hearth.functions.settle(name)
    hearth.functions.collect_garbage()


async def _keep_reserve(reserve: DiskReserve) -> None:
    """Take the disk reserve back once space was freed by hand (deletes do it themselves)."""
    while True:
        await asyncio.sleep(RESERVE_CHECK_SECONDS)
        if not reserve.held:
            await asyncio.to_thread(reserve.restore)


def _verifier(settings: Settings) -> SigV4Verifier | None:
    if not settings.auth_enabled:
        return None
    return SigV4Verifier(
        Credential(k.access_key_id, k.secret_access_key) for k in settings.access_keys
    )


class _SigV4Authenticator:
    """The API edge's `Authenticator` over `SigV4Verifier`."""

    def __init__(self, verifier: SigV4Verifier) -> None:
        self._verifier = verifier

    def check_headers(self, request: Request) -> None:
        self._verifier.check_headers(
            request.method,
            request.raw_path,
            request.query_string,
            request.headers,
            service=request.service,
        )

    def check(self, request: Request) -> None:
        self._verifier.verify(
            request.method,
            request.raw_path,
            request.query_string,
            request.headers,
            request.body,
            service=request.service,
        )


def _authenticator(settings: Settings, sessions: RoleSessions) -> Authenticator | None:
    """SigV4 over the operator's keys and the functions' sessions (which FunctionAccess then
    holds to their roles' policies, as AWS does)."""
    if not settings.auth_enabled:
        return None
    keys = (Credential(k.access_key_id, k.secret_access_key) for k in settings.access_keys)
    return _SigV4Authenticator(SigV4Verifier(keys, more_secrets=sessions.secret_for))


def _session_issuer(
    settings: Settings, embedded: EmbeddedServices | None, keys: FunctionCredentials
) -> SessionIssuer:
    """The embedded STS; with external endpoints, the credentials Hearth itself was given
    (botocore's chain without its network providers: environment, ~/.aws, AWS_PROFILE),
    which those endpoints accept; keys derived from the data dir's key when there are none."""
    if embedded is not None:
        return EmbeddedSts(embedded, settings.region)
    session = botocore.session.get_session()
    resolver = session.get_component("credential_provider")
    for network in ("container-role", "iam-role"):
        # Asking an instance metadata endpoint that is not there holds start-up for seconds.
        resolver.remove(network)
    found = session.get_credentials()
    frozen = found.get_frozen_credentials() if found is not None else None
    if frozen is not None and frozen.access_key and frozen.secret_key:
        return ConfiguredCredentials(frozen.access_key, frozen.secret_key, frozen.token)
    return DerivedSessions(keys)


def _cluster_status(
    node: ClusterNode, shared: Callable[[], SharedServices | None]
) -> Callable[[Request], Awaitable[Response]]:
    async def status(request: Request) -> Response:
        shown = dict(node.status())
        services = shared()
        if services is not None:
            shown["services"] = await services.status()
        return json_response(shown)

    return status


def _mapping_status(supervisor: MappingSupervisor) -> Callable[[Request], Awaitable[Response]]:
    async def status(request: Request) -> Response:
        return json_response(supervisor.status())

    return status


def _service_verifiers(
    settings: Settings, sessions: RoleSessions
) -> dict[str, SigV4Verifier] | None:
    """One verifier per embedded service; functions' own keys are accepted by these only."""
    if not settings.auth_enabled:
        return None
    known = [Credential(k.access_key_id, k.secret_access_key) for k in settings.access_keys]
    return {
        service: SigV4Verifier(
            known,
            service=service,
            more_secrets=sessions.secret_for,
            payload_claims=S3_PAYLOAD_CLAIMS if service == "s3" else frozenset(),
        )
        for service in EMBEDDED_BACKENDS
    }


async def _health(request: Request) -> Response:
    return json_response({"status": "ok"})


def bind(host: str, port: int) -> socket.socket:
    """Bind before serving so port 0 works and the real port can be announced."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    # Not inheritable: every process Hearth starts (zygotes, runtimes) must not hold the
    # API's listening socket (a function could accept the API's clients on it).
    sock.set_inheritable(False)
    return sock


def edge_limits(settings: Settings) -> EdgeLimits:
    return EdgeLimits(
        max_connections=settings.max_connections or default_max_connections(),
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, but a signal ends it with exit status 0.

    uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, so the process would die
    of the signal; Hearth has shut down cleanly by then and says so.
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def _exit(self, sig: int) -> None:
        self._on_exit()  # before the graceful shutdown starts waiting for requests
        self.handle_exit(sig, None)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._exit, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


async def serve(
    settings: Settings, on_ready: Callable[[str], None], isolation: IsolationChoice
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly."""
    loop = asyncio.get_running_loop()

    def schedule(delay: float, callback: Callable[[], None]) -> None:
        loop.call_later(delay, callback)

    raise_descriptor_limit()
    hearth = build(settings, schedule, isolation)
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    loopback = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    hearth.listening_at(
        f"http://[{loopback}]:{port}" if ":" in loopback else f"http://{loopback}:{port}"
    )
    if hearth.host_relay is not None:
        await hearth.host_relay.start(hearth.function_services.endpoint_url)
    config = uvicorn.Config(
        hearth.asgi,
        lifespan="off",
        log_level="warning",
        access_log=False,
        # Every connection's peer is asked once who it is: a sandbox uid, or a socket of
        # an environment's process, is a function, held to its role (FunctionAccess).
        http=guarded_protocol(edge_limits(settings), _peer_lookup(hearth)),
        timeout_keep_alive=max(1, round(settings.idle_timeout_seconds)),
        timeout_graceful_shutdown=5,
    )
    server = _Server(config, hearth.stop_waiting)
    hearth.invoker.pool.start_reaper()
    hearth.provisioner.start()  # brings back provisioned environments after a restart
    hearth.snapstart.start()  # and SnapStart versions' templates (a restart left them Pending)
    hearth.dispatcher.start()
    hearth.metrics.start()
    housekeeping = asyncio.create_task(_housekeeping(hearth))
    # Mappings read from Hearth's own port unless told otherwise (the embedded services).
    own_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    shown = f"[{own_host}]" if ":" in own_host else own_host
    hearth.mappings.set_own_endpoint(f"http://{shown}:{port}")
    hearth.mappings.start()
    if hearth.snapshots is not None:
        hearth.snapshots.start()
    if hearth.schedules is not None:
        hearth.schedules.start()
    if hearth.log_subscriptions is not None:
        hearth.log_subscriptions.start()
    with hearth.registry.transaction() as tx:
        runtimes = {v.runtime for f in tx.list_functions() for v in tx.list_versions(f.name)}
    prewarm = asyncio.create_task(hearth.launchers.prewarm(runtimes))
    hearth.environments.prewarm(runtimes)
    keep_reserve = asyncio.create_task(_keep_reserve(hearth.reserve))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            shown_host = f"[{host}]" if ":" in host else host
            on_ready(f"http://{shown_host}:{port}")
        await task
    finally:
        prewarm.cancel()
        housekeeping.cancel()
        keep_reserve.cancel()
        sock.close()
        await hearth.close()
