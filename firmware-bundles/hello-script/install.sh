#!/bin/sh
# Sample "script" bundle payload: the agent runs it once, with the working directory set to a scratch dir.
set -eu
echo "hello from otafleet sample script 1.0.0"
