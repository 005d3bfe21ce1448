"""The application object: builds every service from Settings and owns their lifecycle.

HTTP lives elsewhere (`openlytics.api`); this object is what both the API and the CLI's local
administration use.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path

from openlytics.core.account import AccountService
from openlytics.core.activity import ActivityLog
from openlytics.core.alerts import AlertService
from openlytics.core.assets.service import AssetService
from openlytics.core.assets.services import AssetServices
from openlytics.core.dashboard_views import DashboardViews
from openlytics.core.dashboards import DashboardService
from openlytics.core.datasets.rebuilds import DatasetRebuilds
from openlytics.core.datasets.service import DatasetService
from openlytics.core.datasets.structured_service import StructuredQueryService
from openlytics.core.emails import EmailService
from openlytics.core.favorites import FavoriteService
from openlytics.core.governance.groups import GroupService
from openlytics.core.governance.sharing import SharingService
from openlytics.core.governance.sync import PrincipalSync
from openlytics.core.identity import IdentityService, NewOrganization
from openlytics.core.jobs import JobService
from openlytics.core.jobs.events import JobEvents
from openlytics.core.jobs.retention import Purged, purge_expired
from openlytics.core.jobs.runner import JobRunner
from openlytics.core.notifications import DestinationService, Sender, SmtpConfig
from openlytics.core.oauth import OAuthService, is_access_token
from openlytics.core.pipeline.code_engine import CodeEngine
from openlytics.core.pipeline.event_types import EventTypeService
from openlytics.core.pipeline.inputs import InputService
from openlytics.core.pipeline.metrics import PipelineMetrics
from openlytics.core.pipeline.notifications import PipelineNotifications
from openlytics.core.pipeline.output_tables import OutputTables
from openlytics.core.pipeline.outputs import OutputService
from openlytics.core.pipeline.processor import PipelineProcessor
from openlytics.core.pipeline.restream import RestreamQueue
from openlytics.core.pipeline.samples import SampleStore
from openlytics.core.pipeline.scheduled_queries import ScheduledQueries
from openlytics.core.pipeline.settings import PipelineSettingsService
from openlytics.core.pipeline.spool import IncomingSpool
from openlytics.core.principal import Principal
from openlytics.core.public_links import PublicLinkService
from openlytics.core.queries import QueryService
from openlytics.core.schedules import ScheduleService
from openlytics.core.scripts import ScriptService
from openlytics.core.secrets import SecretBox
from openlytics.core.signed_urls import UrlSigner
from openlytics.core.sources import DataSourceService
from openlytics.core.tasks import BackgroundTaskService
from openlytics.core.teams import TeamService
from openlytics.core.uploads import UploadService
from openlytics.core.user_tokens import UserTokenService, is_user_token
from openlytics.core.visualizations import VisualizationService
from openlytics.engines.base import SourceEngine
from openlytics.engines.registry import EnginePool, open_engine
from openlytics.render.service import DashboardRenderer
from openlytics.results.store import ResultStore
from openlytics.runtime.executor import Executor, LocalExecutor
from openlytics.runtime.input_poller import InputPoller
from openlytics.runtime.leadership import leadership_for
from openlytics.runtime.maintenance import Maintenance
from openlytics.runtime.pipeline_leases import claimers_gone_by_heartbeat, leases_for
from openlytics.runtime.pipeline_worker import PipelineWorker
from openlytics.runtime.sandbox import Limits, Sandbox
from openlytics.runtime.scheduler import Scheduler
from openlytics.runtime.worker_liveness import WorkerLiveness
from openlytics.settings import Settings
from openlytics.store.db import Database
from openlytics.store.models import Schedule
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

SCHEDULE_KINDS = frozenset({"script_run", "query_refresh", "dataset_rebuild"})


class Openlytics:
    """Everything the server runs, wired together."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # The metadata DB, warehouse files and uploads are the server's alone (user code runs as
        # another user, see runtime/sandbox.py).
        settings.data_dir.chmod(0o700)
        self.db = Database(settings.metadata_url)
        self.activity = ActivityLog(self.db)
        self.box = SecretBox(settings.secret_key.get_secret_value())
        self.engines = EnginePool()
        self.results = ResultStore(
            settings.results_url or settings.results_path,
            max_rows=settings.max_result_rows,
            max_bytes=settings.max_result_bytes,
            durable=settings.results_fsync,
        )
        self.sources = DataSourceService(
            self.db,
            self.box,
            engines=self.engines,
            open_engine=self._open_engine,
            warehouse_dir=settings.warehouse_path,
            allowed_file_dirs=settings.allowed_file_dirs,
            warehouse_url=settings.warehouse_url,
        )
        self.identity = IdentityService(
            self.db,
            self.box,
            session_ttl=timedelta(seconds=settings.session_ttl_seconds),
            on_organization_created=self.sources.ensure_warehouse,
        )
        self.oauth = OAuthService(self.db, token_ttl=timedelta(seconds=settings.oauth_token_ttl_seconds))
        self.user_tokens = UserTokenService(self.db, self.box, self.identity)
        self.queries = QueryService(self.db, self.sources)
        self.datasets = DatasetService(self.db, self.sources, self.box, activity=self.activity)
        # Tasks' files (request bodies to load) live in the data directory, which workers share.
        self.tasks = BackgroundTaskService(
            self.db,
            files_dir=settings.data_dir.resolve() / "tasks",
            worker_name=f"{socket.gethostname()}:{os.getpid()}",
        )
        self.visualizations = VisualizationService(self.db)
        self.dashboards = DashboardService(self.db)
        self.favorites = FavoriteService(self.db)
        self.public_links = PublicLinkService(self.db, self.box)
        self.dashboard_views = DashboardViews(
            self.db, self.results, self.dashboards, self.public_links, activity=self.activity
        )
        self.renders = DashboardRenderer(self.dashboard_views, self.public_links, self.tasks)
        self.renders.register(self.tasks)
        self.destinations = DestinationService(self.db, self.box)
        smtp = settings.smtp
        self.sender = Sender(
            SmtpConfig(
                host=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password.get_secret_value(),
                sender=smtp.sender,
                starttls=smtp.starttls,
                ssl=smtp.ssl,
                timeout=smtp.timeout_seconds,
            ),
            webhook_timeout=settings.webhook_timeout_seconds,
        )
        self.emails = EmailService(self.db, self.sender, daily_quota=lambda: settings.email_daily_quota)
        self.download_signer = UrlSigner(
            settings.secret_key.get_secret_value().encode(),
            "downloads",
            ttl_seconds=settings.upload_url_ttl_seconds,
        )
        self.uploads = UploadService(
            self.db,
            settings.data_dir.resolve() / "uploads",
            settings.secret_key.get_secret_value().encode(),
            max_bytes=settings.upload_max_bytes,
            ttl=timedelta(seconds=settings.upload_url_ttl_seconds),
        )
        self.alerts = AlertService(
            self.db, self.results, self.destinations, self.sender, base_url=lambda: settings.public_url
        )
        self.events = JobEvents()
        self.runner = JobRunner(self.db, self.sources, self.results, self.events)
        self.runner.on_query_result.append(self.alerts.on_query_result)
        self.executor: Executor = self._build_executor()
        # With the celery executor: fails jobs of lost workers here, and beats in a worker process.
        self.liveness = WorkerLiveness(
            self.db,
            interval=settings.worker_heartbeat_seconds,
            lost_after=settings.worker_lost_seconds,
            on_failed=self.events.notify,
        )
        self.jobs = JobService(
            self.db,
            self.sources,
            self.results,
            self.events,
            self.executor,
            default_timeout=settings.default_query_timeout,
            max_wait=settings.max_wait_seconds,
            inline_rows=settings.inline_result_rows,
            activity=self.activity,
        )
        self.teams = TeamService(self.db)
        self.groups = GroupService(self.db, self.teams)
        self.sharing = SharingService(self.db, self.groups)
        self.principal_sync = PrincipalSync(self.db, self.identity, self.groups)
        self.datasets.row_filters = self.teams.row_filters
        # Every service that reads or changes a shareable object asks sharing (docs/governance.md).
        self.queries.sharing = self.visualizations.sharing = self.dashboards.sharing = self.sharing
        self.datasets.sharing = self.sources.sharing = self.jobs.sharing = self.sharing
        self.alerts.sharing = self.public_links.sharing = self.identity.sharing = self.sharing
        self.dataset_rebuilds = DatasetRebuilds(self.datasets, self.jobs)
        self.structured_queries = StructuredQueryService(
            self.db, self.jobs, self.datasets.get, row_filters=self.teams.row_filters
        )
        self.schedules = ScheduleService(self.db, known_kinds=lambda: set(SCHEDULE_KINDS))
        scripts = settings.scripts
        self.sandbox = Sandbox(hidden_paths=[settings.data_dir, *scripts.hidden_paths], user=scripts.user)
        self.code_engine = CodeEngine(
            self.db,
            self.box,
            self.sandbox,
            limits=Limits(
                cpu_seconds=scripts.cpu_seconds,
                wall_seconds=scripts.wall_seconds,
                memory_mb=scripts.memory_mb,
            ),
        )
        self.scripts = ScriptService(
            self.db,
            self.identity,
            self.sandbox,
            server_url=lambda: settings.callback_url,
            limits=Limits(
                cpu_seconds=scripts.cpu_seconds,
                wall_seconds=scripts.wall_seconds,
                memory_mb=scripts.memory_mb,
                max_output_bytes=scripts.max_output_bytes,
            ),
            workers=scripts.workers,
            activity=self.activity,
            worker_name=self.runner.worker_name,
        )
        self._wire_workers()
        self.pipeline_settings = PipelineSettingsService(self.db, self.box)
        self.account = AccountService(
            self.db, self.activity, self.sources, limits=lambda: settings.limits.model_dump()
        )
        self.scheduler = Scheduler(
            self.db,
            {
                "query_refresh": self._refresh_query,
                "script_run": self._run_script,
                "dataset_rebuild": self._rebuild_dataset,
            },
            poll_seconds=settings.scheduler_poll_seconds,
            leadership=leadership_for(self.db.engine, "openlytics-scheduler"),
        )
        self.pipeline_outputs = OutputService(self.db, self.box, self.datasets)
        self.output_tables = OutputTables(self.pipeline_outputs, self.datasets, self.db)
        self.scheduled_queries = ScheduledQueries(
            self.db, self.queries, self.schedules, self.scheduler, self.pipeline_outputs
        )
        self._build_pipeline_engine()
        self.maintenance = Maintenance(self.purge, interval=settings.maintenance_interval_seconds)
        # Quiet organizations and sources give their connections back (PostgreSQL's slots are few).
        self.engine_sweeper = Maintenance(
            lambda: self.engines.release_idle(settings.engine_idle_seconds),
            interval=max(1.0, min(60.0, settings.engine_idle_seconds / 2)),
            name="openlytics-engine-sweeper",
        )
        self.bootstrapped: NewOrganization | None = None

    def _build_pipeline_engine(self) -> None:
        """The pipeline's spool, event types, restream queue, samples, metrics and worker."""
        self.pipeline_spool = IncomingSpool(self.settings.pipeline_spool_path)
        self.event_types = EventTypeService(self.db, default_schema=self.pipeline_outputs.default_schema)
        self.restream = RestreamQueue(self.db, self.pipeline_spool)
        self.pipeline_samples = SampleStore(self.db)
        self.event_types.on_deleted.append(self.pipeline_samples.delete_event_type)
        self.pipeline_metrics = PipelineMetrics(self.db)
        self.pipeline_metrics.live_gauges = lambda org_id: (
            self.pipeline_spool.pending(org_id),
            self.restream.size_of(org_id)[0],
        )
        self.restream.on_restreamed.append(
            lambda org_id, n: self.pipeline_metrics.record(org_id, "restream", incoming=n, restreamed=n)
        )
        self.restream.on_restreamed.append(
            lambda org_id, n: self.pipeline_metrics.record(org_id, "pipeline", restreamed=n)
        )
        self.pipeline_notifications = PipelineNotifications(self.db)
        self.pipeline_processor = PipelineProcessor(
            self.db,
            spool=self.pipeline_spool,
            event_types=self.event_types,
            transform=self.code_engine.transform_batch,
            sink_for=self.pipeline_outputs.sink,
            default_schema=self.pipeline_outputs.default_schema,
            restream=self.restream,
            samples=self.pipeline_samples,
            metrics=self.pipeline_metrics,
            notifications=self.pipeline_notifications,
        )
        # Several processes may claim from one spool (PostgreSQL store): per-organization leases keep
        # batches in order, and claims of processes that stopped beating are released by the others.
        self.pipeline_worker = PipelineWorker(
            self.pipeline_spool,
            self.pipeline_processor,
            leases=leases_for(self.db.engine),
            claimers_gone=(
                claimers_gone_by_heartbeat(self.db, lost_after=self.settings.worker_lost_seconds)
                if self._store_is_shared()
                else None
            ),
            recover_seconds=max(1.0, self.settings.worker_heartbeat_seconds),
        )
        self.pipeline_inputs = InputService(
            self.db,
            self.box,
            self.pipeline_spool,
            notify=self.pipeline_notifications.notify,
            allowed_file_dirs=self.settings.allowed_file_dirs,
            uploads_dir=self.settings.data_dir.resolve() / "uploads",
            # The webhook's URL is the dialect's (it serves the webhook): it sets `webhook_url`.
            on_appended=lambda _org_id: self.pipeline_worker.wake(),
        )
        self.pipeline_inputs.sharing = self.sharing
        self.input_poller = InputPoller(self.pipeline_inputs.poll_due)
        self.assets = AssetService(
            AssetServices(
                db=self.db,
                sources=self.sources,
                queries=self.queries,
                visualizations=self.visualizations,
                dashboards=self.dashboards,
                datasets=self.datasets,
                schedules=self.schedules,
                alerts=self.alerts,
                scripts=self.scripts,
                identity=self.identity,
                groups=self.groups,
                sharing=self.sharing,
                inputs=self.pipeline_inputs,
                event_types=self.event_types,
                code_engine=self.code_engine,
            )
        )

    def _build_executor(self) -> Executor:
        if self.settings.executor == "celery":
            # Celery is the `distributed` extra: imported only when chosen.
            from openlytics.runtime.celery_app import celery_app
            from openlytics.runtime.celery_executor import CeleryExecutor

            return CeleryExecutor(celery_app(self.settings, self.runner), self.db)
        return LocalExecutor(self.runner.run, self.runner.interrupt, workers=self.settings.executor_workers)

    def _wire_workers(self) -> None:
        """With the celery executor, script runs execute on workers consuming the scripts queue, and
        background tasks on workers consuming their kind's queue (`loads`, `emails`, ...)."""
        if self.settings.executor != "celery":
            return
        from openlytics.runtime.celery_app import script_dispatch, task_dispatch
        from openlytics.runtime.celery_executor import CeleryExecutor

        assert isinstance(self.executor, CeleryExecutor)
        # A worker executes the runs and tasks it takes with these.
        self.executor.app.scripts = self.scripts
        self.executor.app.background_tasks = self.tasks
        self.scripts.dispatch = script_dispatch(self.executor.app, self.settings.script_queue)
        self.tasks.dispatch = task_dispatch(self.executor.app)

    def _open_engine(self, kind: str, url: str | None, warehouse_file: Path | None) -> SourceEngine:
        return open_engine(kind, url, warehouse_file=warehouse_file, settings=self.settings)

    def _refresh_query(self, schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        outcome = self.jobs.run_saved(
            Principal.system(schedule.org_id),
            schedule.target_id,
            parameters=(schedule.payload or {}).get("parameters") or {},
            max_age=0,
            wait=0,
            schedule_id=schedule.id,
        )
        return outcome.job.id if outcome.job is not None else None

    def _run_script(self, schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        # The run records its schedule; ScheduleRun.job_id points at jobs only, so nothing is returned.
        self.scripts.run(
            Principal.system(schedule.org_id),
            schedule.target_id,
            parameters=(schedule.payload or {}).get("parameters") or {},
            schedule_id=schedule.id,
        )
        return None

    def _rebuild_dataset(self, schedule: Schedule, due_at: datetime, manual: bool) -> int | None:
        # A rebuild runs the source query itself and waits for it; nothing to point the run at.
        self.dataset_rebuilds.rebuild(
            Principal.system(schedule.org_id),
            schedule.target_id,
            (schedule.payload or {}).get("method", "reload"),
        )
        return None

    def authenticate_bearer(self, value: str, *, object_tokens: bool = False) -> Principal:
        """The principal of a bearer credential: an OAuth access token, a user token or an API key.

        Object tokens (which read one object) are refused unless `object_tokens`: only routes
        that serve one object's data accept them, and sharing confines them to that object."""
        if is_access_token(value):
            return self.oauth.authenticate_token(value)
        if is_user_token(value):
            if object_tokens:
                return self.user_tokens.authenticate_scoped(value)[0]
            return self.user_tokens.authenticate(value)
        return self.identity.authenticate_api_key(value)

    def purge(self) -> Purged:
        """Delete jobs and results past their retention (and expired OAuth access and user tokens)."""
        self.oauth.purge_expired_tokens()
        self.user_tokens.purge_expired()
        self.activity.purge(utcnow() - timedelta(days=self.settings.activity_retention_days))
        return purge_expired(
            self.db,
            self.results,
            job_days=self.settings.job_retention_days,
            result_days=self.settings.result_retention_days,
        )

    def start(self) -> None:
        """Migrate, bootstrap the first organization, recover jobs and start the scheduler."""
        self.db.migrate()
        s = self.settings
        self.bootstrapped = self.identity.bootstrap(
            org_name=s.organization_name,
            admin_email=s.admin_email,
            admin_name=s.admin_name,
            admin_password=s.admin_password.get_secret_value() if s.admin_password else None,
            admin_api_key=s.admin_api_key.get_secret_value() if s.admin_api_key else None,
        )

        # Alone on its store (SQLite), whatever a dead process left running is this one's to fail. When
        # other processes may share the store (PostgreSQL: several API processes, workers), only this
        # process's own leftovers fail now; the reaper fails those of processes that stop beating.
        shared = self._store_is_shared()
        if self.tasks.recover_after_restart(worker=self.tasks.worker_name if shared else None):
            log.warning("after restart: unfinished background tasks failed")
        failed, resubmitted = self.jobs.recover_after_restart(
            worker=self.runner.worker_name if shared else None
        )
        if interrupted := self.scripts.recover_after_restart(
            worker=self.runner.worker_name if shared else None
        ):
            log.warning("after restart: %d interrupted script runs failed", interrupted)
        if failed or resubmitted:
            log.warning(
                "after restart: %d interrupted jobs failed, %d pending resubmitted", failed, resubmitted
            )
        if s.scheduler_enabled:
            self.scheduler.start()
            self.input_poller.start()
        self.maintenance.start()
        self.engine_sweeper.start()
        if shared:
            self.liveness.start(heartbeat_name=self._heartbeat_name())
        self.activity.start()
        if s.executor != "celery":  # with celery, `openlytics worker --queues ...,pipeline` runs batches
            self.pipeline_worker.start()

    def _store_is_shared(self) -> bool:
        """Whether other processes may run jobs on this metadata store (so recovery and reaping must
        tell their work from this process's)."""
        return self.settings.executor == "celery" or not self.db.is_sqlite

    def _heartbeat_name(self) -> str | None:
        """This process beats when it runs jobs and script runs itself (the local executor)."""
        return self.runner.worker_name if self.settings.executor == "local" else None

    def start_scheduler(self) -> None:
        """Start as a scheduler process (`openlytics scheduler`): migrations, the scheduler (it fires
        only while it leads: `runtime/leadership.py`), the pipeline's input poller and housekeeping;
        no API, no pipeline worker. Jobs it submits run on the executor (workers, with celery)."""
        self.db.migrate()
        if self._store_is_shared():
            self.liveness.start(heartbeat_name=self._heartbeat_name())
        self.scheduler.start()
        self.input_poller.start()
        self.maintenance.start()
        self.engine_sweeper.start()
        self.activity.start()

    def start_worker(self, *, pipeline: bool = False) -> None:
        """Start as a job worker (`openlytics worker`): no scheduler or input polling; the pipeline's
        batches only with `pipeline` (the worker consumes the `pipeline` queue).

        The schema is the API processes' to migrate. Jobs a previous process of this name left
        STARTED fail; the heartbeat is written before the caller starts taking jobs."""
        if self.settings.executor != "celery":
            raise RuntimeError("a job worker needs OPENLYTICS_EXECUTOR=celery")
        failed, _ = self.jobs.recover_after_restart(worker=self.runner.worker_name, resubmit=False)
        if failed:
            log.warning("after restart: %d interrupted jobs of this worker failed", failed)
        if interrupted := self.scripts.recover_after_restart(worker=self.runner.worker_name, resend=False):
            log.warning("after restart: %d interrupted script runs of this worker failed", interrupted)
        if interrupted := self.tasks.recover_after_restart(worker=self.tasks.worker_name, resend=False):
            log.warning("after restart: %d interrupted background tasks of this worker failed", interrupted)
        if not (self.settings.internal_url or self.settings.public_url):
            log.warning(
                "OPENLYTICS_INTERNAL_URL is not set: scripts on this worker call back %s",
                self.settings.callback_url,
            )
        self.liveness.start(heartbeat_name=self.runner.worker_name)
        self.engine_sweeper.start()
        self.activity.start()
        if pipeline:  # after the first heartbeat: survivors tell this process's claims by it
            self.pipeline_worker.start()

    def stop(self) -> None:
        """Stop the scheduler and executor and close engines and connections."""
        self.scheduler.stop()
        self.input_poller.stop()
        self.maintenance.stop()
        self.engine_sweeper.stop()
        self.pipeline_worker.stop()
        self.code_engine.pool.close_all()
        self.scripts.close()
        self.runner.interrupt_all("shutdown")
        self.executor.shutdown(wait=True)
        self.liveness.stop()
        self.activity.close()
        self.alerts.close()
        self.pipeline_outputs.close()
        self.tasks.close()
        self.renders.close()
        self.engines.close_all()
        self.db.dispose()
