import httpx, sqlalchemy as sa
from openlytics.store.models import ActivityEvent
from tests.api.test_account import usage, user_activity


def test_dbg(server, new_org):
    query = new_org.editor.post("/api/v1/queries", json={"name": "keyed", "sql": "SELECT 1 AS one"}).json()
    issued = new_org.editor.post(f"/api/v1/queries/{query['id']}/api-keys", json={"name": "embed"})
    server.core.activity.flush()
    with server.core.db.session() as s:
        n0 = s.scalar(sa.select(sa.func.max(ActivityEvent.id)))
    httpx.get(
        f"{server.url}/api/v1/queries/{query['id']}",
        headers={"Authorization": f"Bearer {issued.json()['key']}"},
    )
    user_activity(new_org)
    server.core.activity.flush()
    with server.core.db.session() as s:
        for e in s.scalars(
            sa.select(ActivityEvent).where(ActivityEvent.id > n0, ActivityEvent.org_id == new_org.id)
        ):
            print("EV", e.user_id, e.kind, e.channel, e.object_type)
    print("users", new_org.admin_user_id, new_org.editor_user_id)
    assert 0
