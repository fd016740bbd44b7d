"""The four dashboards of the wall screen, as rows of panels (adding a panel is adding a row).

No panel reads more of the raw points (`telemetry`, kept 90 days) than its last hour, the live
current; state changes (`machine_state`) are few and read raw. Everything else reads the
rollups, so a year costs what a day does: the latest minute (what a machine draws now, when a
gateway was last heard) and unattributed use per minute; hours in each state, energy, peak
current and samples per hour (those panels count the whole hours of their range). Durations
are sample counts times `$sample_s`, the gateways' telemetry interval (1 s by default).
"""

# InfluxQL made of constants and Grafana variables, which Grafana (not us) fills in.
# ruff: noqa: S608

from __future__ import annotations

from dashboards.panels import Dashboard, Panel, PanelKind, Query, Variable, VariableKind
from dashboards.rollups import (
    STATES_1H_SOURCE,
    TELEMETRY_1H_SOURCE,
    TELEMETRY_1M_SOURCE,
    UNATTRIBUTED_1M_SOURCE,
    UNATTRIBUTED_THRESHOLDS,
)

WHERE = '"site" =~ /^$site$/ AND "machine" =~ /^$machine$/ AND $timeFilter'
BY_MACHINE = 'GROUP BY "machine"'

SITE = Variable(
    name="site",
    label="Site",
    kind=VariableKind.QUERY,
    definition='SHOW TAG VALUES FROM "telemetry" WITH KEY = "site"',
    multi=True,
    include_all=True,
)
MACHINE = Variable(
    name="machine",
    label="Machine",
    kind=VariableKind.QUERY,
    definition='SHOW TAG VALUES FROM "telemetry" WITH KEY = "machine" WHERE "site" =~ /^$site$/',
    multi=True,
    include_all=True,
)
SAMPLE_S = Variable(
    name="sample_s",
    label="Seconds between samples",
    kind=VariableKind.CONSTANT,
    definition="1",
    description="The gateways' telemetry interval; durations are sample counts times this.",
)
UNATTRIBUTED_AMPS = Variable(
    name="unattributed_amps",
    label="Unattributed above (A)",
    kind=VariableKind.CUSTOM,
    # The thresholds the rollup counts samples over, one field each.
    definition=",".join(UNATTRIBUTED_THRESHOLDS),
    description="Current on a locked machine at or above this is use nobody badged in for.",
)
BUCKET = Variable(
    name="bucket",
    label="Per",
    kind=VariableKind.CUSTOM,
    definition="1d,7d,30d",
    description="Group hours and energy per day, week or month.",
)
MACHINE_VARIABLES = (SITE, MACHINE, SAMPLE_S)


def _hours(state: str, *, per: str) -> Query:
    return Query(
        influxql=(
            f'SELECT sum("{state}") * $sample_s / 3600 AS "{state}" FROM {STATES_1H_SOURCE} '
            f'WHERE {WHERE} GROUP BY time({per}), "machine" fill(0)'
        ),
        alias=f"$tag_machine {state}",
    )


FLOOR_NOW = Dashboard(
    uid="officina-floor-now",
    title="Floor now",
    description="Each machine's state, live current, the open session and unattributed use.",
    variables=(*MACHINE_VARIABLES, UNATTRIBUTED_AMPS),
    time_from="now-6h",
    refresh="10s",
    panels=(
        Panel(
            title="State",
            kind=PanelKind.STATE_TIMELINE,
            width=24,
            queries=(
                Query(
                    influxql=f'SELECT "state" FROM "machine_state" WHERE {WHERE} {BY_MACHINE}',
                    alias="$tag_machine",
                ),
            ),
        ),
        Panel(
            title="Live current",
            kind=PanelKind.TIMESERIES,
            unit="amp",
            description="The last hour in 10-second means, whatever the dashboard's range.",
            relative_time="1h",
            min_interval="10s",
            queries=(
                Query(
                    influxql=(
                        f'SELECT mean("amps") FROM "telemetry" WHERE {WHERE} '
                        'GROUP BY time($__interval), "machine" fill(null)'
                    ),
                    alias="$tag_machine",
                ),
            ),
        ),
        Panel(
            title="On it now",
            kind=PanelKind.TABLE,
            description=(
                "Latest state and session per machine, and the mean current of its last minute; "
                "the live board names the member."
            ),
            reads_rollups=True,
            min_interval="1m",
            queries=(
                Query(
                    influxql=(
                        'SELECT last("state") AS "state", "session" FROM "machine_state" '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
                Query(
                    influxql=(
                        f'SELECT last("amps") AS "amps" FROM {TELEMETRY_1M_SOURCE} '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Unattributed use",
            kind=PanelKind.BARCHART,
            unit="m",
            description="Minutes of current on a locked machine: nobody badged in.",
            reads_rollups=True,
            min_interval="1m",
            queries=(
                Query(
                    influxql=(
                        'SELECT sum("over_$unattributed_amps") * $sample_s / 60 AS "minutes" '
                        f"FROM {UNATTRIBUTED_1M_SOURCE} WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
    ),
)

MACHINES = Dashboard(
    uid="officina-machines",
    title="Machines",
    description="Running, idle and unlocked hours per machine, utilisation and energy.",
    variables=(*MACHINE_VARIABLES, BUCKET),
    time_from="now-30d",
    refresh="5m",
    panels=(
        Panel(
            title="Hours per machine",
            kind=PanelKind.BARCHART,
            unit="h",
            width=24,
            reads_rollups=True,
            min_interval="1h",
            queries=tuple(
                _hours(state, per="$bucket") for state in ("running", "idle", "unlocked")
            ),
        ),
        Panel(
            title="Utilisation",
            kind=PanelKind.BARCHART,
            unit="percent",
            description="Running time as a share of the whole range.",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        'SELECT sum("running") * $sample_s * 100 / $__range_s AS "utilisation" '
                        f"FROM {STATES_1H_SOURCE} WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Energy per machine",
            kind=PanelKind.TIMESERIES,
            unit="kwatth",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("energy_wh") / 1000 AS "kWh" FROM {TELEMETRY_1H_SOURCE} '
                        f'WHERE {WHERE} GROUP BY time($bucket), "machine" fill(0)'
                    ),
                    alias="$tag_machine",
                ),
            ),
        ),
    ),
)

ENERGY = Dashboard(
    uid="officina-energy",
    title="Energy and costs",
    description="kWh per machine and site, peak current, and the month projected at this rate.",
    variables=MACHINE_VARIABLES,
    time_from="now-30d",
    refresh="5m",
    panels=(
        Panel(
            title="kWh per machine",
            kind=PanelKind.BARCHART,
            unit="kwatth",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("energy_wh") / 1000 AS "kWh" FROM {TELEMETRY_1H_SOURCE} '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="kWh per day",
            kind=PanelKind.TIMESERIES,
            unit="kwatth",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("energy_wh") / 1000 AS "kWh" FROM {TELEMETRY_1H_SOURCE} '
                        f'WHERE {WHERE} GROUP BY time(1d), "site" fill(0)'
                    ),
                    alias="$tag_site",
                ),
            ),
        ),
        Panel(
            title="Projected kWh for 30 days",
            kind=PanelKind.STAT,
            unit="kwatth",
            description="The range's energy scaled to 30 days: what the month's bill will meter.",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("energy_wh") / 1000 * 2592000 / $__range_s AS "kWh" '
                        f"FROM {TELEMETRY_1H_SOURCE} WHERE {WHERE}"
                    ),
                ),
            ),
        ),
        Panel(
            title="Peak current",
            kind=PanelKind.BARCHART,
            unit="amp",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        f'SELECT max("amps_max") AS "peak" FROM {TELEMETRY_1H_SOURCE} '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
    ),
)

GATEWAYS = Dashboard(
    uid="officina-gateways",
    title="Gateways",
    description="When each machine was last heard, samples per minute, samples lost on the way.",
    variables=MACHINE_VARIABLES,
    time_from="now-24h",
    refresh="30s",
    panels=(
        Panel(
            title="Last heard",
            kind=PanelKind.TABLE,
            description="The minute of each machine's latest sample: a silent gateway shows here.",
            reads_rollups=True,
            min_interval="1m",
            queries=(
                Query(
                    influxql=(
                        f'SELECT last("seq_max") AS "seq" FROM {TELEMETRY_1M_SOURCE} '
                        f"WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
        Panel(
            title="Samples per minute",
            kind=PanelKind.TIMESERIES,
            description="Averaged per hour at least; the current hour is still filling.",
            reads_rollups=True,
            min_interval="1h",
            max_data_points=200,
            queries=(
                Query(
                    influxql=(
                        f'SELECT sum("samples") * 60000 / $__interval_ms AS "per minute" '
                        f"FROM {TELEMETRY_1H_SOURCE} WHERE {WHERE} "
                        'GROUP BY time($__interval), "machine" fill(0)'
                    ),
                    alias="$tag_machine",
                ),
            ),
        ),
        Panel(
            title="Samples lost",
            kind=PanelKind.BARCHART,
            description="Gaps in each gateway's sample counter (a restart resets it).",
            reads_rollups=True,
            min_interval="1h",
            queries=(
                Query(
                    influxql=(
                        'SELECT max("seq_max") - min("seq_min") - sum("samples") + 1 AS "lost" '
                        f"FROM {TELEMETRY_1H_SOURCE} WHERE {WHERE} {BY_MACHINE}"
                    ),
                    table=True,
                ),
            ),
        ),
    ),
)

DASHBOARDS = (FLOOR_NOW, MACHINES, ENERGY, GATEWAYS)
