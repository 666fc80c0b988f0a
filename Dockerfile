# syntax=docker/dockerfile:1
# The runner image: what CI jobs and operators run Shipyard's playbooks in. It holds the pinned Python packages
# (ansible, boto3, ...: versions from requirements.txt), this collection installed from its built artifact, the
# Docker CLI (the image role builds and pushes the service image against the job's engine: mount its socket or set
# DOCKER_HOST) and the deploy step of the GitHub workflow (/opt/shipyard/ci/github/deploy). It runs as a non-root
# user and carries no credentials or state: AWS access comes from the job's environment at run time.
#
#   docker build -t shipyard-runner .
#   docker run --rm --network host -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#       -v "$PWD:/work" -w /work -e AWS_REGION -e AWS_ACCESS_KEY_ID ... shipyard-runner \
#       ansible-playbook shipyard.fargate.deploy -i inventories/production --limit web
#
# BASE_IMAGE: any Debian bookworm image with python3 and its venv module. Default: the official Python image.
# BUILD_IMAGE: the image of the build stage only (default: BASE_IMAGE). Where no image hub is reachable,
# `scripts/base-image python` builds both from Debian packages; its build image trusts the machine's CA (a
# TLS-inspecting proxy to PyPI and Debian), and that CA never reaches the final stage.
ARG BASE_IMAGE=python:3.11-slim-bookworm
ARG BUILD_IMAGE=${BASE_IMAGE}

FROM ${BUILD_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The Docker CLI from Debian's docker.io package: only its client binary (it links nothing but libc), not the engine.
ARG DOCKER_IO_VERSION=20.10.24+dfsg1-1+deb12u1+b6
WORKDIR /tmp/docker-cli
RUN apt-get update -q \
    && apt-get download -q "docker.io=${DOCKER_IO_VERSION}" \
    && dpkg-deb --fsys-tarfile docker.io_*.deb | tar -x ./usr/bin/docker \
    && install -m 0755 usr/bin/docker /usr/local/bin/docker \
    && rm -rf /tmp/docker-cli/* /var/lib/apt/lists/*

# Python packages in a virtualenv: ansible and the collection's run-time packages (meta/ee-requirements.txt), at the
# versions of requirements.txt (used as constraints: the test and lint tools it also pins are not installed).
WORKDIR /src
COPY requirements.txt ./
COPY meta/ee-requirements.txt meta/
RUN python3 -m venv /opt/shipyard/venv \
    && /opt/shipyard/venv/bin/pip install --no-cache-dir --no-compile --quiet -c requirements.txt \
        ansible -r meta/ee-requirements.txt

# The collection, from its built artifact, into the system-wide collections path every ansible command reads.
# --offline: its dependencies (amazon.aws, community.aws, community.docker) come with the ansible package.
COPY . ./
RUN /opt/shipyard/venv/bin/ansible-galaxy collection build --output-path /tmp/dist . \
    && /opt/shipyard/venv/bin/ansible-galaxy collection install --offline \
        --collections-path /usr/share/ansible/collections /tmp/dist/shipyard-fargate-*.tar.gz \
    && rm -rf /tmp/dist

FROM ${BASE_IMAGE} AS runtime
ARG VERSION=dev
ARG SOURCE_REVISION=unknown
LABEL org.opencontainers.image.title="shipyard-runner" \
      org.opencontainers.image.description="Runs shipyard.fargate playbooks: ansible, boto3, the collection, the Docker CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}"
COPY --from=build /usr/local/bin/docker /usr/local/bin/docker
COPY --from=build /opt/shipyard/venv /opt/shipyard/venv
COPY --from=build /usr/share/ansible/collections /usr/share/ansible/collections
COPY --from=build /src/ci /opt/shipyard/ci
# git: the image role tags an image with its source's commit, and actions/checkout needs it for a real checkout.
ARG GIT_VERSION=1:2.39.5-0+deb12u3
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends "git=${GIT_VERSION}" \
    && rm -rf /var/lib/apt/lists/*
# A numeric user with a home (Ansible writes ~/.ansible/tmp); the Docker socket's group is added at run time.
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/shipyard --shell /bin/bash shipyard
ENV PATH=/opt/shipyard/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    ANSIBLE_FORCE_COLOR=0 \
    ANSIBLE_HOST_KEY_CHECKING=0 \
    ANSIBLE_GATHERING=explicit \
    ANSIBLE_INTERPRETER_PYTHON=/opt/shipyard/venv/bin/python
USER 10001:10001
WORKDIR /home/shipyard
CMD ["ansible-playbook", "--version"]
