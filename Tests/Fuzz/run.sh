#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (swiftc -sanitize=fuzzer,address) of the parsers that
# take outside input: protocol JSON and messages, Prometheus text, CSV, line framing, and
# calendar definitions, and incident import mappings.
#
#   Tests/Fuzz/run.sh [SECONDS_PER_TARGET] [TARGET ...]
#
# Each target is compiled from the project's own source files, seeded with the committed corpus
# in Tests/Fuzz/Corpus/<target>, and run for the given time (default 30 s). New inputs go to a
# scratch directory, not the committed corpus. A crash, trap or failed invariant fails the run
# and leaves the input under .build/fuzz/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(protocol prometheus csv lineframer calendar import)

sources() {
    case "$1" in
        protocol) find Sources/ITSMProtocol -name '*.swift' ;;
        prometheus) echo Plugins/Capacity/CapacityProcess/PrometheusText.swift Plugins/Capacity/CapacityProtocol/Sample.swift ;;
        csv) echo Sources/itsm/Support/CSVReader.swift ;;
        lineframer) echo Sources/ITSMTransport/LineFramer.swift ;;
        calendar) find Sources/ITSMCalendar -name '*.swift' ;;
        import) echo Plugins/Incident/IncidentProcess/{IncidentImport,Lifecycle,PriorityMatrix}.swift \
                    Plugins/Incident/IncidentProtocol/{Incident,IncidentStatus,Priority,ImportParams}.swift ;;
        *) echo "unknown fuzz target $1" >&2; exit 2 ;;
    esac
}

failed=0
for target in "${targets[@]}"; do
    out=".build/fuzz/$target"
    mkdir -p "$out/corpus"
    imports=()
    if [ "$target" = protocol ] || [ "$target" = calendar ] || [ "$target" = import ]; then
        mkdir -p "$out/modules"
        # ITSMProtocol's one dependency, the part of ITSMSystem it uses (the rest needs C modules).
        swiftc -sanitize=fuzzer,address -parse-as-library -module-name ITSMSystem -O -g -wmo -c \
            -emit-module -emit-module-path "$out/modules/ITSMSystem.swiftmodule" \
            Sources/ITSMSystem/CivilDays.swift -o "$out/system.o" 2> "$out/build.log" || { cat "$out/build.log" >&2; exit 1; }
        imports=(-I "$out/modules" "$out/system.o")
    fi
    # A target whose sources import ITSMProtocol gets it as a module of its own, built first.
    if [ "$target" = calendar ] || [ "$target" = import ]; then
        # shellcheck disable=SC2046
        swiftc -sanitize=fuzzer,address -parse-as-library -module-name ITSMProtocol -O -g -wmo -c "${imports[@]:0:2}" \
            -emit-module -emit-module-path "$out/modules/ITSMProtocol.swiftmodule" \
            $(sources protocol) -o "$out/protocol.o" 2> "$out/build.log" || { cat "$out/build.log" >&2; exit 1; }
        imports+=("$out/protocol.o")
    fi
    # shellcheck disable=SC2046
    swiftc -sanitize=fuzzer,address -parse-as-library -module-name "Fuzz_$target" -O -g "${imports[@]}" \
        $(sources "$target") "Tests/Fuzz/Targets/$target.swift" -o "$out/fuzz" 2> "$out/build.log" || {
        cat "$out/build.log" >&2; exit 1; }
    echo "fuzz $target: ${seconds} s"
    if ! (cd "$out" && ./fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="./" corpus "../../../Tests/Fuzz/Corpus/$target" > run.log 2>&1); then
        echo "fuzz $target: FAILED; input and log in $out" >&2
        tail -n 30 "$out/run.log" >&2
        failed=1
    else
        grep -E "stat::number_of_executed_units|Done" "$out/run.log" | tail -n 2 | sed "s/^/fuzz $target: /"
    fi
done
exit $failed
