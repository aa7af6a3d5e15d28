# shellcheck shell=bash disable=SC2034 # the arrays are used by the scripts that source this file
# The Debian 12 packages Plateau needs: the one list that scripts/run and
# scripts/test install from. Add a package here, and only here, when code or
# a test starts to use it; check the name first with `apt-cache policy NAME`.
#
# A name counts as present when a package of that name is installed, or when
# an installed package provides it (the NodeSource "nodejs" package, for
# instance, provides "npm").

# Compilers, build tools and the -dev packages of every library the core and
# the plugins link against.
PLATEAU_BUILD_PACKAGES=(
    build-essential
    cmake
    ninja-build
    pkg-config
    libuv1-dev          # the event loop (core)
    libyaml-dev         # configuration parsing (core)
    libcmocka-dev       # unit tests and the SDK's fake host
    libsqlite3-dev      # storage_sqlite
    libpq-dev           # storage_pg
    libsodium-dev       # password hashing (web)
    libjansson-dev      # JSON (web, reporting)
    liblua5.4-dev       # call scripts (lua)
    libwebsockets-dev   # HTTP and WebSocket (web)
    libsofia-sip-ua-dev # SIP (sip)
    libspandsp-dev      # DTMF, tones, detectors (sip media)
    libsndfile1-dev     # WAV files (recording, prompts)
    libglib2.0-dev      # time zones of contacts (dialer: GTimeZone, ADR 0014)
)

# Needed to run Plateau, not to build it.
PLATEAU_RUNTIME_PACKAGES=(
    libwebsockets-evlib-uv # lws event-loop plugin for libuv, loaded at run time
    sqlite3                # the sqlite3 shell, to look into the embedded database
)

# Needed only by the test suite: peers, fixtures and checkers.
PLATEAU_TEST_PACKAGES=(
    postgresql  # a throw-away PostgreSQL server for storage_pg tests
    sip-tester  # SIPp, the SIP peer of the integration tests
    espeak-ng   # synthetic speech for media and detection fixtures
    sox         # audio fixtures and checks on recordings
    chromium    # headless browser for the browser tests
    nodejs      # runs the browser tests (playwright-core)
    npm
    valgrind    # memory checks where ASan cannot see (uninstrumented libraries)
)
