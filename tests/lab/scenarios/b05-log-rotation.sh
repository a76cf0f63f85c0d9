#!/usr/bin/env bash
# scenario: logrotate rotates the engine's log and tells it to reopen (SIGUSR1)
# kind: benign
set -euo pipefail
source "$LAB_ENV"
conf=$LAB/run/logrotate.conf
cat >"$conf" <<EOT
$LAB/log/engine.log {
	rotate 3
	missingok
	create 0640 root root
	postrotate
		kill -USR1 $ENGINE_PID
	endscript
}
EOT
logrotate -f -s "$LAB/run/logrotate.state" "$conf"
