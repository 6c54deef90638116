#!/usr/bin/env bash
# The README's two commands work in either order and twice in one environment, and leave an
# `import fastgd` that works from any folder (issue "Trust for a newcomer", item 2).
#
# The commands are read from README.md ("## Two commands": its two `python3 -m pip install`
# lines), or given as the two arguments (e.g. to reproduce a failure with other commands). Each
# scenario gets a fresh virtual environment (python3 -m venv) and a fresh copy of the checkout's
# files (tracked and untracked, not ignored), and runs:
#   A: command 1, command 2, command 2 again
#   B: command 2, command 1, command 1 again
# After every command, from another folder: `import fastgd; fastgd.fit` and `fastgd demo`.
#
# For time, in command 2 the full `python3 -m pytest` is replaced by `python3 -m pytest --version`
# ($QUICK_TESTS: the test extra installed pytest; CI runs the suite with the README's command
# itself), and the checks after each command (import and demo from another folder) are what
# this script is for. INSTALL_ORDER_CUDA=0 leaves the `cuda` extra (NVIDIA's wheels, several
# hundred MB) out of command 2. INSTALL_ORDER_SCENARIOS=A (or B) runs one order: CI runs one per
# run, alternating, and both in the full tier (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
QUICK_TESTS=${QUICK_TESTS:-'python3 -m pytest --version'}

if [ $# -eq 2 ]; then
    command1=$1
    command2=$2
else
    mapfile -t commands < <(awk '/^## /{on = ($0 == "## Two commands"); next}
                                 on && /^python3 -m pip install/' README.md)
    if [ ${#commands[@]} -ne 2 ]; then
        echo "install_order: expected two 'python3 -m pip install' lines under '## Two commands'" \
             "in README.md, found ${#commands[@]}" >&2
        exit 1
    fi
    command1=${commands[0]}
    command2=${commands[1]}
fi
command2=${command2//python3 -m pytest/$QUICK_TESTS}
if [ "${INSTALL_ORDER_CUDA:-1}" = 0 ]; then
    command2=${command2//cuda,/}
fi
echo "install_order: command 1: $command1"
echo "install_order: command 2: $command2"

unset PYTHONPATH PYTHONHOME VIRTUAL_ENV NUMBA_CACHE_DIR NUMBA_ENABLE_CUDASIM
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/elsewhere"

fail() {
    echo "install_order: FAILED: scenario $1, $2" >&2
    [ -f "$work/log" ] && tail -n 40 "$work/log" >&2
    exit 1
}

# run SCENARIO NAME COMMAND: one command in the scenario's environment and copy, then the checks.
run() {
    local scenario=$1 name=$2 command=$3 begin
    begin=$(date +%s)
    (cd "$work/$scenario/src" && PATH="$work/$scenario/venv/bin:$PATH" \
        VIRTUAL_ENV="$work/$scenario/venv" bash -c "$command") >"$work/log" 2>&1 ||
        fail "$scenario" "$name exited $?"
    (cd "$work/elsewhere" && PATH="$work/$scenario/venv/bin:$PATH" python3 -c '
import fastgd
fastgd.fit  # an AttributeError when a left-over folder shadows the package
print(f"import fastgd from {fastgd.__file__}")
' && PATH="$work/$scenario/venv/bin:$PATH" fastgd demo --iters 10) >"$work/log" 2>&1 ||
        fail "$scenario" "import fastgd or fastgd demo from another folder after $name"
    echo "install_order: scenario $scenario: $name, then import and demo elsewhere: ok" \
         "($(( $(date +%s) - begin )) s; $(grep -m1 '^import fastgd from' "$work/log"))"
}

scenarios=${INSTALL_ORDER_SCENARIOS:-A B}  # e.g. INSTALL_ORDER_SCENARIOS=B: one scenario
for scenario in $scenarios; do
    mkdir -p "$work/$scenario/src"
    git ls-files -z --cached --others --exclude-standard |
        tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$work/$scenario/src"
    python3 -m venv "$work/$scenario/venv"
done

for scenario in $scenarios; do
    case $scenario in
        A) first=1 second=2 ;;
        B) first=2 second=1 ;;
        *) echo "install_order: unknown scenario $scenario (A or B)" >&2; exit 1 ;;
    esac
    commands=("$command1" "$command2")
    run "$scenario" "command $first" "${commands[first - 1]}"
    run "$scenario" "command $second" "${commands[second - 1]}"
    run "$scenario" "command $second again" "${commands[second - 1]}"
done

echo "install_order: scenarios $scenarios: ok in $(( $(date +%s) - start )) s"
