"""/v2/users: who the caller is."""

from __future__ import annotations

from fakecmon import permissions
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world.views import user_json

PATH = "/v2/users"


@operation(PATH, "whoAmI")
def who_am_i(call: Call) -> Payload:
    user = call.login_user()
    world = call.world
    root = permissions.controller_object(world)
    return {
        "user": user_json(world, user),
        "user_extended_privileges": {
            "class_name": "CmonExtendedPrivileges",
            "can_create_clusters": permissions.can(world, user, root, "x"),
            "can_execute_jobs": permissions.can(world, user, root, "x"),
        },
    }
