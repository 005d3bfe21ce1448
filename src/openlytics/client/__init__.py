"""The openlytics SDK: `Client` and `AsyncClient` for the native REST API (`/api/v1`).

    from openlytics.client import Client

    with Client("http://127.0.0.1:8000", api_key="...") as client:
        result = client.run_sql("SELECT 42 AS answer")
        print(result.rows, result.to_pandas())

Only httpx is required; `to_arrow()` needs `openlytics[arrow]` and `to_pandas()` `openlytics[pandas]`.
"""

from ._async.client import AsyncClient
from ._async.result import AsyncQueryResult
from ._formats import DATA_FORMATS, format_for_path
from ._sync.client import Client
from ._sync.result import QueryResult
from .exceptions import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    MissingDependencyError,
    NotFoundError,
    OpenlyticsError,
    PermissionDeniedError,
    QueryCancelledError,
    QueryError,
    QueryFailedError,
    QueryTimeoutError,
    RateLimitedError,
    ResultNotLoadedError,
    ResultTooLargeError,
    ServerError,
    SourceUnavailableError,
    TransportError,
    ValidationError,
)
from .models import (
    Alert,
    AlertSubscription,
    ApiKey,
    Column,
    Dashboard,
    Dataset,
    DatasetVersion,
    DataSource,
    Destination,
    Job,
    JobStatus,
    Me,
    Organization,
    OrganizationCreated,
    PublicLink,
    Query,
    Result,
    Run,
    Schedule,
    ScheduleRun,
    Script,
    ScriptRun,
    Table,
    User,
    Visualization,
    Widget,
    WriteResult,
)

__all__ = [
    "DATA_FORMATS",
    "APIStatusError",
    "Alert",
    "AlertSubscription",
    "ApiKey",
    "AsyncClient",
    "AsyncQueryResult",
    "AuthenticationError",
    "Client",
    "Column",
    "ConflictError",
    "Dashboard",
    "DataSource",
    "Dataset",
    "DatasetVersion",
    "Destination",
    "Job",
    "JobStatus",
    "Me",
    "MissingDependencyError",
    "NotFoundError",
    "OpenlyticsError",
    "Organization",
    "OrganizationCreated",
    "PermissionDeniedError",
    "PublicLink",
    "Query",
    "QueryCancelledError",
    "QueryError",
    "QueryFailedError",
    "QueryResult",
    "QueryTimeoutError",
    "RateLimitedError",
    "Result",
    "ResultNotLoadedError",
    "ResultTooLargeError",
    "Run",
    "Schedule",
    "ScheduleRun",
    "Script",
    "ScriptRun",
    "ServerError",
    "SourceUnavailableError",
    "Table",
    "TransportError",
    "User",
    "ValidationError",
    "Visualization",
    "Widget",
    "WriteResult",
    "format_for_path",
]
