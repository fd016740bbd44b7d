#!/bin/sh
# Runs once, when the InfluxDB 2 container sets itself up (DOCKER_INFLUXDB_INIT_MODE=setup).
# officina speaks the v1 API: map database "$INFLUX_BUCKET" to the raw bucket (90 days) and its
# retention policy "rollups" to a bucket kept for good, then roll raw points up every minute with
# tasks (InfluxDB 2 has no continuous queries), writing what `dashboards/rollups.py` reads.
set -eu

ORG="$DOCKER_INFLUXDB_INIT_ORG"
RAW="$DOCKER_INFLUXDB_INIT_BUCKET"
ROLLUPS="${RAW}_rollups"

raw_id=$(influx bucket list --org "$ORG" --name "$RAW" --hide-headers | cut -f1)
influx bucket create --org "$ORG" --name "$ROLLUPS" --retention 0
rollups_id=$(influx bucket list --org "$ORG" --name "$ROLLUPS" --hide-headers | cut -f1)

influx v1 dbrp create --org "$ORG" --db "$RAW" --rp raw_90d --bucket-id "$raw_id" --default
influx v1 dbrp create --org "$ORG" --db "$RAW" --rp rollups --bucket-id "$rollups_id"

task() {
  # $1: task name, $2: Flux pipeline body after `from(bucket: raw) |> range(start: -5m)`.
  cat > "/tmp/$1.flux" <<FLUX
option task = {name: "$1", every: 1m, offset: 20s}
from(bucket: "$RAW")
  |> range(start: -5m)
  |> filter(fn: (r) => r._measurement == "telemetry")
$2
  |> to(bucket: "$ROLLUPS", org: "$ORG")
FLUX
  influx task create --org "$ORG" --file "/tmp/$1.flux"
}

# telemetry_1m: the fields and names of the 1.x continuous query `telemetry_1m_v1`.
for pair in "amps:mean:amps" "amps:max:amps_max" "volts:mean:volts" "watts:mean:watts" \
            "wh:max:wh" "amps:count:samples"; do
  field=${pair%%:*}; rest=${pair#*:}; fn=${rest%%:*}; name=${rest#*:}
  task "officina_telemetry_1m_${name}" "  |> filter(fn: (r) => r._field == \"$field\")
  |> aggregateWindow(every: 1m, fn: $fn, createEmpty: false)
  |> set(key: \"_measurement\", value: \"telemetry_1m\")
  |> set(key: \"_field\", value: \"$name\")"
done

# telemetry_states_1m: per minute, how many samples were in each state.
for state in running idle unlocked locked; do
  task "officina_telemetry_states_1m_${state}" "  |> filter(fn: (r) => r._field == \"state\" and r._value == \"$state\")
  |> aggregateWindow(every: 1m, fn: count, createEmpty: false)
  |> set(key: \"_measurement\", value: \"telemetry_states_1m\")
  |> set(key: \"_field\", value: \"$state\")"
done
