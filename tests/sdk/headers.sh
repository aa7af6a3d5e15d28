#!/bin/sh
# Every public SDK header compiles on its own, in C and in C++, with the
# flags plugin authors get from plateau.pc: a header that leans on another
# being included first breaks third-party plugins, not ours.
set -eu
: "${PLATEAU_SOURCE_DIR:?}"
inc="$PLATEAU_SOURCE_DIR/sdk/include"
cc=${CC:-cc}
cxx=${CXX:-c++}
fail=0
for h in $(cd "$inc" && find plateau -name '*.h' | sort); do
    printf '#include "%s"\n' "$h" |
        "$cc" -std=gnu11 -Wall -Wextra -Werror -fsyntax-only -I"$inc" -x c - ||
        { echo "FAIL (C): $h is not self-contained"; fail=1; }
    if command -v "$cxx" >/dev/null 2>&1; then
        printf '#include "%s"\n' "$h" |
            "$cxx" -std=c++17 -Wall -Werror -fsyntax-only -I"$inc" -x c++ - ||
            { echo "FAIL (C++): $h does not compile as C++"; fail=1; }
    fi
done
exit $fail
