"""/v2/metatype: the metatype catalogue (``s9s metatype --list`` / ``--list-properties``)."""

from __future__ import annotations

from fakecmon.errors import invalid, not_found
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import metatypes

PATH = "/v2/metatype"


@operation(PATH, "getMetaTypes", kind="world-data")
def get_meta_types(call: Call) -> Payload:
    call.login_user()
    return {"metatype_info": [t.to_json() for t in metatypes.metatypes()]}


@operation(PATH, "getMetaTypeInfo", kind="world-data")
def get_meta_type_info(call: Call) -> Payload:
    """The properties of one type; s9s names it ``type-name``, others ``type_name``."""
    call.login_user()
    field = "type-name" if "type-name" in call.body else "type_name"
    name = call.arg(field, str, "")
    if not name:
        raise invalid("Missing 'type-name' field in the request.")
    meta = metatypes.find(name)
    if meta is None:
        raise not_found(f"Type '{name}' is not found.")
    payload: Payload = meta.to_json()
    payload["metatype_info"] = metatypes.properties(name)
    return payload
