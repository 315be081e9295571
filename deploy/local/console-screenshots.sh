#!/usr/bin/env bash
# Regenerates the console's screenshots in docs/images: a throwaway coordinator on the embedded
# database, a few accounts and records, the browser flows of the console's test with screenshots
# on, then the process owner's pages.
# Needs what deploy/local/install-prerequisites.sh installs; run from the repository's root.
set -euo pipefail
root=$(pwd)
swift build --product itsm >/dev/null
itsm="$root/.build/debug/itsm"
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
chmod 755 "$work"
port=18480
printf 'http: 127.0.0.1:%s\nplugins: [incident, problem, improvement]\n' "$port" > "$work/itsm.yaml"
(cd "$work" && exec "$itsm" serve --config itsm.yaml > serve.log 2>&1) &
server=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 1; done
cli() { (cd "$work" && "$itsm" "$@" --config itsm.yaml); }
echo "rita has a long password" | cli user create rita --display-name "Rita Requester" --role requester --password-stdin
echo "alan has a long password" | cli user create alan --display-name "Alan Agent" --role agent --password-stdin
echo "ada has a long password" | cli user create ada --display-name "Ada Admin" --role administrator --password-stdin
echo "audrey has a long password" | cli user create audrey --display-name "Audrey Auditor" --role auditor --password-stdin
for title in "Mail relay queue growing" "VPN drops every hour" "New starter needs a laptop"; do
    cli call incident.create --params "{\"title\": \"$title\", \"impact\": \"medium\", \"urgency\": \"high\"}" >/dev/null
done
other=$(cli call incident.create --params '{"title": "Someone else'"'"'s laptop", "caller": "bob"}' --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
always='{"timeZone": "UTC", "hours": {"monday": ["00:00-24:00"], "tuesday": ["00:00-24:00"], "wednesday": ["00:00-24:00"], "thursday": ["00:00-24:00"], "friday": ["00:00-24:00"], "saturday": ["00:00-24:00"], "sunday": ["00:00-24:00"]}}'
office='{"timeZone": "Europe/Berlin", "hours": {"monday": ["08:00-18:00"], "tuesday": ["08:00-18:00"], "wednesday": ["08:00-18:00"], "thursday": ["08:00-18:00"], "friday": ["08:00-18:00"]}, "holidays": ["2026-12-25", "2026-12-26"]}'
cli call incident.sla.define --params "{\"priority\": \"P1\", \"responseMinutes\": 15, \"resolutionMinutes\": 240, \"calendar\": $always}" >/dev/null
cli call incident.sla.define --params "{\"priority\": \"P2\", \"responseMinutes\": 30, \"resolutionMinutes\": 480, \"calendar\": $always}" >/dev/null
cli call incident.sla.define --params "{\"priority\": \"P3\", \"responseMinutes\": 240, \"resolutionMinutes\": 1440, \"warningPercent\": 80, \"calendar\": $office}" >/dev/null
cli objective create --title "Incidents reported per month" --kpi incident.created --comparator "<=" --target 40 --period month >/dev/null
cli objective create --title "Known errors published" --kpi problem.known_errors_published --target 2 --period quarter >/dev/null
mkdir -p "$root/docs/images"
python="${ITSM_TOOLS:-$HOME/.cache/itsm-tools/venv}/bin/python"
"$python" "$root/Tests/Browser/console_flows.py" "http://127.0.0.1:$port" "$other" "$root/docs/images"
"$python" "$root/Tests/Browser/owner_pages.py" "http://127.0.0.1:$port" "$root/docs/images"
ls -l "$root"/docs/images/console-*.png
