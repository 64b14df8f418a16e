"""One module per RPC v2 path; importing this package registers every operation."""

from fakecmon.api import auth, clusters, info, users  # noqa: F401
