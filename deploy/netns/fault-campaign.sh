#!/usr/bin/env bash
# Runs the fault campaign (Tests/EndToEndTests/FaultCampaignEndToEndTests.swift) on this
# machine: two coordinators, two plugin hosts and PostgreSQL in network namespaces, a stream of
# keyed creates, updates and transitions, and FAULTS random faults (SIGKILL of plugins, agents,
# coordinators and the postmaster, cut cables, SIGSTOP pauses). It ends with the counts: faults
# injected, writes acknowledged, lost and duplicated. Needs root.
#
#   deploy/netns/fault-campaign.sh [FAULTS] [SEED]      # defaults: 1000 faults, a seed from the clock
#
# The same seed gives the same sequence of faults.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ITSM_FAULTS="${1:-1000}"
# Hosts of its own, so the test suite's campaign can run meanwhile.
export ITSM_FAULT_NETWORK="${ITSM_FAULT_NETWORK:-itsml,10.81.0}"
[ -n "${2:-}" ] && export ITSM_FAULT_SEED="$2"
swift build --build-tests
swift test --skip-build --filter FaultCampaignEndToEndTests 2>&1 | grep -E "fault campaign|Test run|recorded an issue|↳ [^/]"
