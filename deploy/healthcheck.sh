#!/bin/sh
# HEALTHCHECK of the gspo images (deploy/Dockerfile, deploy/Dockerfile.cpu). The container's
# main process decides what "healthy" means:
#   gspo-server: its Prometheus endpoint answers (GSPO_METRICS_PORT, default 9090: start it with
#                --metrics-listen 0.0.0.0:9090 or set the variable to the port you chose);
#   gspo-worker: it has no port; it is healthy while it runs, and Docker already sees it exit.
case "$(tr '\0' ' ' </proc/1/cmdline)" in
  *gspo-server*) exec curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:${GSPO_METRICS_PORT:-9090}/metrics" ;;
  *) exit 0 ;;
esac
