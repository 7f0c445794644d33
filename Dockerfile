FROM python:3.11 AS base
USER app
HEALTHCHECK CMD true
FROM base
USER app
