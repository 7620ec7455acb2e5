#!/usr/bin/env bash
# cable.sh -- pull (and restore) the "cable" of a simulated device of the
# demo: every TCP packet to or from its loopback port is silently dropped,
# as if the cable were pulled or the device lost power. Needs root and nft.
#   tools/cable.sh pull PORT     e.g. 5001 for press1 in the demo
#   tools/cable.sh restore
# The rules live in a table of their own, on the loopback interface only,
# and "restore" deletes that table.
set -euo pipefail
table=gatewayd_demo_cable

case "${1:-}" in
pull)
	port=${2:?usage: tools/cable.sh pull PORT}
	case $port in *[!0-9]*|"") echo "cable.sh: bad port: $port" >&2; exit 64 ;; esac
	nft -f - <<NFT
table inet $table
delete table inet $table
table inet $table {
	chain input {
		type filter hook input priority -10; policy accept;
		iif "lo" tcp dport $port drop
		iif "lo" tcp sport $port drop
	}
}
NFT
	echo "cable of port $port pulled (tools/cable.sh restore to plug it back)"
	;;
restore)
	nft delete table inet "$table" 2>/dev/null || true
	echo "cable restored"
	;;
*)
	echo "usage: tools/cable.sh pull PORT | restore" >&2
	exit 64
	;;
esac
