#!/usr/bin/env bash
# The crash campaign (crash-campaign.sh) on S3 through moto: one kill in `make test` (moto is
# slow), more with KILLS (make soak).
CAMPAIGN_STORAGE=s3 KILLS=${KILLS:-1} exec "$(dirname "$0")/crash-campaign.sh" "$@"
