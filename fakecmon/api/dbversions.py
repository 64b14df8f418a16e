"""/v2/dbversions: which database software and versions can be deployed (s9s ``--list-versions``)."""

from __future__ import annotations

from fakecmon.errors import invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import dbtypes

PATH = "/v2/dbversions"


@operation(PATH, "getClusterTypes", kind="world-data")
def get_cluster_types(call: Call) -> Payload:
    """CMON's own type names, the same as getSupportedClusterTypes lists."""
    call.login_user()
    return {"cluster_types": list(dbtypes.TYPE_NAMES)}


@operation(PATH, "getVendors", kind="world-data")
def get_vendors(call: Call) -> Payload:
    """Vendors of all cluster types, or of ``cluster_type`` when given."""
    call.login_user()
    name = call.arg("cluster_type", str, "")
    if not name:
        return {"vendors": dbtypes.vendors()}
    ctype = dbtypes.cluster_type(name)
    if ctype is None:
        raise invalid(f"Unknown cluster type '{name}'.")
    return {"vendors": sorted(ctype.vendors)}


@operation(PATH, "getDbVersions", kind="world-data")
def get_db_versions(call: Call) -> Payload:
    """Major versions of ``vendor``'s software for ``cluster_type``; patch versions with ``patch_number``."""
    call.login_user()
    name = call.arg("cluster_type", str)
    ctype = dbtypes.cluster_type(name)
    if ctype is None:
        raise invalid(f"Unknown cluster type '{name}'.")
    vendor = call.arg("vendor", str).lower()
    if vendor not in ctype.vendors:
        raise invalid(f"Vendor '{vendor}' does not provide {ctype.long_name} "
                      f"(vendors: {', '.join(sorted(ctype.vendors))}).")
    majors = ctype.vendors[vendor]
    if call.arg("patch_number", bool, False):
        return {"db_versions": [v for patches in majors.values() for v in patches]}
    return {"db_versions": list(majors)}
