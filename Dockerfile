# The obank image: one codebase, each process chosen by its command (compose.yaml). Built for production: no
# embedded PostgreSQL (OBANK_DATABASE_URL names the server), every dependency installed from requirements.lock
# by hash, a non-root user whose only writable place is the data volume.
# Pin the base by digest for byte-for-byte rebuilds: --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:...
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/obank
WORKDIR /src
# The dependencies alone first (this layer is rebuilt only when a lock changes), each checked against its hash. The
# locked build backend comes first: the few dependencies published only as source, and obank, are built with it
# rather than with whatever an isolated build would fetch unpinned.
COPY requirements-build.lock requirements.lock ./
RUN /opt/obank/bin/pip install --require-hashes --no-deps -r requirements-build.lock \
    && /opt/obank/bin/pip install --require-hashes --no-deps --no-build-isolation -r requirements.lock
# obank itself, with nothing fetched; the build backend then leaves the image.
COPY . .
RUN /opt/obank/bin/pip install --no-deps --no-index --no-build-isolation . \
    && /opt/obank/bin/pip uninstall --yes setuptools \
    && /opt/obank/bin/pip check

FROM ${PYTHON_IMAGE}
# The service user (uid 10001: no login, no home of its own) owns the data volume and nothing else.
RUN groupadd --system --gid 10001 obank \
    && useradd --system --uid 10001 --gid obank --no-create-home --home-dir /var/lib/obank \
        --shell /usr/sbin/nologin obank \
    && install -d -o obank -g obank -m 0750 /var/lib/obank
COPY --from=build /opt/obank /opt/obank
# Every data path derives from OBANK_HOME ($OBANK_HOME/var, $OBANK_HOME/certs); production refuses development
# defaults, so the deployment must give the database, Redis, Kafka, keys and TLS settings.
ENV PATH=/opt/obank/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OBANK_ENV=production \
    OBANK_HOME=/var/lib/obank
VOLUME /var/lib/obank
WORKDIR /var/lib/obank
USER 10001:10001
EXPOSE 8443
# GET /healthz on OBANK_PORT (https, or http for internal roles and a gateway behind its proxy); standard library
# only. A role on another port: `python -m obank.healthcheck http://127.0.0.1:PORT/healthz` in compose.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-m", "obank.healthcheck"]
CMD ["obank", "serve", "--host", "0.0.0.0"]
