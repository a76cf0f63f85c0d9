#!/usr/bin/env bash
# scenario: forged sensor readings published to the broker by an unapproved client
# kind: attack
# vector: data poisoning
# expect: Twin data published by unexpected process
# chain: script
set -euo pipefail
source "$LAB_ENV"
# mosquitto_pub is not the twin's gateway: its readings poison the twin's state
for v in 9999 9999.5 -400; do
	mosquitto_pub -h 127.0.0.1 -p "$DATA_PORT" -q 1 -t sensors/flow \
		-m "{\"sensor\":\"flow\",\"value\":$v}"
done
