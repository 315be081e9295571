#!/usr/bin/env bash
# Installs what itsm needs beyond the Swift toolchain, if it is missing:
#   - libpq-dev: the PostgreSQL client library and headers the build links against
#   - libsodium-dev: Argon2id, which hashes people's passwords
#   - zlib1g-dev: deflate and CRC-32, for evidence packs served as zip archives
#   - libldap-dev: OpenLDAP's client library, for directory sign-in (LDAP, Active Directory)
#   - slapd and ldap-utils: a real directory server the sign-in tests start on loopback, and
#     ldapmodify to change it while they run
#   - postgresql: the server programs (initdb, pg_ctl, postgres) for the embedded cluster and tests
#   - python3 and psql: the example Python plugins and the end-to-end tests' fixture plugin
#   - iproute2 (ip): the multi-host test's network namespaces (deploy/netns), when run as root
#   - prometheus-node-exporter: a real exporter for the capacity scrape test (started on loopback)
#   - prometheus: a real server that scrapes the coordinator's /metrics in a test (on loopback)
#   - prometheus-alertmanager: a real Alertmanager posting alerts to the coordinator in a test
#   - dovecot-imapd: a real IMAP server holding the desk's mailbox in a test (started on loopback)
#   - chromium and chromium-driver: a real browser for the console's tests
#   - schemathesis and selenium (PyPI), in a virtual environment of their own ($ITSM_TOOLS,
#     default ~/.cache/itsm-tools/venv): the API checked against its OpenAPI document, and the
#     browser driven through the console, in the tests; aiosmtpd (PyPI) there too, the SMTP
#     server that receives the notification tests' mail; and psycopg (PyPI), the Python SDK's
#     one dependency, for the SDK's tests and the Python change example
# Safe to run again: it does nothing when everything is there.
set -euo pipefail

missing=()
pkg-config --exists libpq 2>/dev/null || missing+=(libpq-dev pkg-config)
pkg-config --exists libsodium 2>/dev/null || missing+=(libsodium-dev pkg-config)
pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev pkg-config)
pkg-config --exists ldap 2>/dev/null || missing+=(libldap-dev pkg-config)
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapmodify >/dev/null 2>&1 || missing+=(ldap-utils)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
have_server=false
for dir in "${ITSM_POSTGRES_BINDIR:-}" "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then have_server=true; break; fi
done
$have_server || missing+=(postgresql)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if [ "$(id -u)" = 0 ]; then command -v ip >/dev/null 2>&1 || missing+=(iproute2); fi
[ -x /usr/bin/prometheus-node-exporter ] || [ -x /usr/bin/node_exporter ] || missing+=(prometheus-node-exporter)
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    missing+=(postgresql) # creates the postgres OS user the server runs as when we are root
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "prerequisites: system packages all present"
else
    echo "prerequisites: installing ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

tools="${ITSM_TOOLS:-$HOME/.cache/itsm-tools/venv}"
if [ ! -x "$tools/bin/schemathesis" ]; then
    echo "prerequisites: installing schemathesis into $tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install -q "schemathesis>=4,<5"
fi
if ! "$tools/bin/python" -c "import selenium" >/dev/null 2>&1; then
    echo "prerequisites: installing selenium into $tools"
    "$tools/bin/pip" install -q "selenium>=4.20,<5"
fi
if ! "$tools/bin/python" -c "import aiosmtpd" >/dev/null 2>&1; then
    echo "prerequisites: installing aiosmtpd into $tools"
    "$tools/bin/pip" install -q "aiosmtpd>=1.4,<2"
fi
if ! "$tools/bin/python" -c "import psycopg" >/dev/null 2>&1; then
    echo "prerequisites: installing psycopg into $tools"
    "$tools/bin/pip" install -q "psycopg>=3.1,<4"
fi
