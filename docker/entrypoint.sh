#!/bin/sh
# The image's entrypoint. `serve` (the default command): bring the store's schema up to
# date, create the first admin key if REMAP_BOOTSTRAP_ADMIN_KEY_FILE names a file and no
# admin key exists yet (the key goes to that file only, never to the log), then serve.
# Any other command runs as `remap ARGS` (e.g. `docker run ... remap-image keys list`).
# A store folder the container's user (uid 1000) cannot write stops it here with one
# line naming the folder and the uid (remap migrate checks it), not a traceback.
set -eu
if [ "${1:-}" = "serve" ]; then
  remap migrate
  if [ -n "${REMAP_BOOTSTRAP_ADMIN_KEY_FILE:-}" ]; then
    remap keys bootstrap
  fi
fi
exec remap "$@"
