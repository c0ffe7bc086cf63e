# localhost/parley/python-build: the build stage of every service image (deploy/images/base_image.py).
# The runtime base plus uv (copied from the project's .tools/uv, PyPI's uv) and an empty
# virtual environment at /app/.venv on Debian's /usr/bin/python3.11. RUN steps use the exec
# form: there is no shell in the base.
ARG BASE
FROM ${BASE}
USER 0:0
COPY uv /usr/local/bin/uv
# uv installs into $VIRTUAL_ENV, compiles bytecode (the services' root filesystem is
# read-only), copies from its cache (mounted at /uv-cache by deploy/images/build_images.py: the
# host's uv cache, so wheels `./taskw install` already fetched are not fetched again) and
# never downloads a Python; what it does fetch from PyPI is checked against the system's CA
# certificates (Debian's, or the build machine's bundle mounted over them by build_images.py)
ENV VIRTUAL_ENV=/app/.venv \
    UV_NATIVE_TLS=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_CACHE_DIR=/uv-cache \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_PROGRESS=1
RUN ["/usr/local/bin/uv", "venv", "--quiet", "--python", "/usr/bin/python3.11", "/app/.venv"]
