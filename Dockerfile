# fakecmon: the CMON RPC v2 API over TLS on port 9501, run by an unprivileged user.
# Pinned: the base (Python 3.11.14 on Debian 12 "bookworm") and every Python package
# (constraints.txt, the versions CI tests), so an image built next month is the one
# tested today. The volume keeps the CA (and, with state persistence, the saved world).

# ---- the wheel, built from the source (the image itself gets no source tree)
FROM python:3.11.14-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY fakecmon ./fakecmon
# fakecmon/data/default.yaml links to fixtures/default.yaml; the wheel holds the file
COPY fixtures ./fixtures
RUN PIP_CONSTRAINT=/src/constraints.txt \
    python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# ---- the image: fakecmon installed as a package, non-root, with a volume
FROM python:3.11.14-slim-bookworm
LABEL org.opencontainers.image.title="fakecmon" \
      org.opencontainers.image.description="A faithful, stateful stand-in for the ClusterControl controller (CMON) and its RPC v2 API" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/fakecmon/fakecmon"
COPY --from=wheel /wheels /tmp/wheels
COPY constraints.txt /tmp/constraints.txt
RUN python -m pip install --no-cache-dir --disable-pip-version-check \
        --constraint /tmp/constraints.txt /tmp/wheels/fakecmon-*.whl \
 && rm -rf /tmp/wheels /tmp/constraints.txt \
 && groupadd --system --gid 10001 fakecmon \
 && useradd --system --uid 10001 --gid fakecmon --home-dir /var/lib/fakecmon \
        --no-create-home --shell /usr/sbin/nologin fakecmon \
 && mkdir -p /var/lib/fakecmon/certs /var/lib/fakecmon/state \
 && chown -R fakecmon:fakecmon /var/lib/fakecmon
# The CA and server certificate live in the volume (made on first start, kept while the
# volume lives); FAKECMON_STATE_DIR is where `serve` saves and restores the world.
# FAKECMON_CERT_HOSTNAMES (comma-separated) adds the names clients use to reach it.
ENV FAKECMON_CERTS_DIR=/var/lib/fakecmon/certs \
    FAKECMON_STATE_DIR=/var/lib/fakecmon/state \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/fakecmon
VOLUME ["/var/lib/fakecmon"]
EXPOSE 9501
# No curl in the image: the standard library asks GET /_fakecmon/health over TLS.
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "fakecmon.healthcheck", "--port", "9501"]
CMD ["fakecmon", "serve", "--bind", "0.0.0.0", "--port", "9501"]
