"""Shipyard's local environment: an AWS API emulator, a Docker engine and an ECR-like registry on 127.0.0.1.

This package is a development environment, not part of the ``shipyard.fargate`` collection
artifact. Its entry point is ``python -m shipyard_local {up,down,status,env}`` (the Makefile's
``up``/``down``/``status`` targets call it).
"""
