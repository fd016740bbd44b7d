#!/bin/sh
# Runs once, when the InfluxDB 2 container sets itself up (DOCKER_INFLUXDB_INIT_MODE=setup).
# officina speaks the v1 API: map database "$INFLUX_BUCKET" to the raw bucket (90 days) and its
# retention policy "rollups" to a bucket kept for good, then roll raw points up every minute, and
# the minutes every hour, with tasks (InfluxDB 2 has no continuous queries), writing what
# `dashboards/rollups.py` reads (services/influx/SCHEMA.md). Windows are stamped with their
# start, as InfluxQL's GROUP BY time() stamps them.
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

# telemetry_1m: the fields and names of the 1.x continuous query `telemetry_1m_v2`.
for pair in "amps:mean:amps" "amps:max:amps_max" "volts:mean:volts" "watts:mean:watts" \
            "wh:max:wh" "amps:count:samples" "seq:min:seq_min" "seq:max:seq_max"; do
  field=${pair%%:*}; rest=${pair#*:}; fn=${rest%%:*}; name=${rest#*:}
  task "officina_telemetry_1m_${name}" "  |> filter(fn: (r) => r._field == \"$field\")
  |> aggregateWindow(every: 1m, fn: $fn, createEmpty: false, timeSrc: \"_start\")
  |> set(key: \"_measurement\", value: \"telemetry_1m\")
  |> set(key: \"_field\", value: \"$name\")"
done

# telemetry_states_1m: per minute, how many samples were in each state.
for state in running idle unlocked locked; do
  task "officina_telemetry_states_1m_${state}" "  |> filter(fn: (r) => r._field == \"state\" and r._value == \"$state\")
  |> aggregateWindow(every: 1m, fn: count, createEmpty: false, timeSrc: \"_start\")
  |> set(key: \"_measurement\", value: \"telemetry_states_1m\")
  |> set(key: \"_field\", value: \"$state\")"
done

# unattributed_1m: per minute, samples of a locked machine drawing at least each threshold.
for pair in "0.5:0.5" "1:1.0" "2:2.0" "5:5.0"; do
  name=${pair%%:*}; amps=${pair#*:}
  task "officina_unattributed_1m_over_${name}" "  |> filter(fn: (r) => r._field == \"amps\" or r._field == \"state\")
  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")
  |> filter(fn: (r) => r.state == \"locked\" and r.amps >= $amps)
  |> map(fn: (r) => ({r with _field: \"over_$name\", _value: 1}))
  |> keep(columns: [\"_time\", \"_start\", \"_stop\", \"site\", \"machine\", \"_field\", \"_value\"])
  |> aggregateWindow(every: 1m, fn: sum, createEmpty: false, timeSrc: \"_start\")
  |> set(key: \"_measurement\", value: \"unattributed_1m\")"
done

# telemetry_1h and telemetry_states_1h: the minutes summed up per hour, over whole hours only (a window cut at its
# start would overwrite the hour with a part of it), redone every five minutes.
cat > /tmp/officina_telemetry_1h.flux <<FLUX
import "date"

option task = {name: "officina_telemetry_1h", every: 5m, offset: 40s}

start = date.truncate(t: date.sub(d: 2h, from: now()), unit: 1h)
minutes = from(bucket: "$ROLLUPS")
  |> range(start: start)
  |> filter(fn: (r) => r._measurement == "telemetry_1m")
per_hour = (field, fn, name) => minutes
  |> filter(fn: (r) => r._field == field)
  |> aggregateWindow(every: 1h, fn: fn, createEmpty: false, timeSrc: "_start")
  |> set(key: "_field", value: name)

union(tables: [
  per_hour(field: "watts", fn: sum, name: "energy_wh")
    |> map(fn: (r) => ({r with _value: r._value / 60.0})),
  per_hour(field: "amps_max", fn: max, name: "amps_max"),
  per_hour(field: "samples", fn: sum, name: "samples"),
  per_hour(field: "seq_min", fn: min, name: "seq_min"),
  per_hour(field: "seq_max", fn: max, name: "seq_max"),
])
  |> set(key: "_measurement", value: "telemetry_1h")
  |> to(bucket: "$ROLLUPS", org: "$ORG")

from(bucket: "$ROLLUPS")
  |> range(start: start)
  |> filter(fn: (r) => r._measurement == "telemetry_states_1m")
  |> aggregateWindow(every: 1h, fn: sum, createEmpty: false, timeSrc: "_start")
  |> set(key: "_measurement", value: "telemetry_states_1h")
  |> to(bucket: "$ROLLUPS", org: "$ORG")
FLUX
influx task create --org "$ORG" --file /tmp/officina_telemetry_1h.flux
